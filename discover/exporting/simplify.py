"""Readable winners: simplify a program before export, and state its key as a formula.

Search leaves traces: literal arithmetic, ``x * 1``, nested ``max(max(a, b), a)``,
terms multiplied by zero, the same sub-expression written three times. The
rewrite here is purely syntactic and meaning-preserving for numbers:

- constant folding and neutral elements (:func:`discover.offline.rewrite.fold`);
- ``max``/``min`` flattened (``max(max(a, b), c)`` → ``max(a, b, c)``) and
  repeated arguments dropped;
- dead terms: ``0 * x`` and ``x * 0`` → ``0`` (``x`` free of calls), then folded;
- products of literals across parentheses: a chain of ``*`` with one factor
  that is not a literal, ``1.52 * (1.14 * x)`` or ``(1.52 * x) * 1.14``, becomes
  ``1.7328 * x``, and division by a power of two joins the chain (``x * 2 / 4``
  → ``0.5 * x``, exact). The literal is the exact decimal product of the
  literals as written (not rounded to three digits as the engine's literals
  are: that would change the key by up to 0.5 %);
- dead code: assignments nothing reads whose value is pure, calls of the
  program's own pure helpers included, then the helpers the candidate function
  no longer reaches (:mod:`discover.offline.deadcode`);
- repeated sub-expressions of a ``key=lambda`` named: the lambda becomes a local
  function whose first lines name each repeated part.

Callers must still check that the simplified program behaves identically (the
export does, on every evaluation instance): float evaluation order can change
a tie. Re-associating a product is the rewrite most likely to do so (its last
bit may differ), so it can be switched off (``reassociate=False``) and
:attr:`Simplified.reassociated` says whether it applied.
"""

from __future__ import annotations

import ast
import copy
import decimal
import math
from collections import Counter
from dataclasses import dataclass

from discover.offline.deadcode import remove_dead_assignments, remove_unused_helpers
from discover.offline.rewrite import fold, is_number, node_count, value_of
from discover.offline.sites import find_function

_NAMES = ("a", "b", "c", "e", "f", "g", "h", "q", "r", "s", "u", "v", "w", "z")


@dataclass(frozen=True)
class Simplified:
    """A simplified program.

    Parameters
    ----------
    code
        The simplified source.
    formula
        The priority key of the candidate function, in short notation (parameters
        abbreviated), when it has a ``key=`` lambda; else ``None``.
    changed
        Whether ``code`` differs from the original (after normalising layout).
    reassociated
        Whether a product of literals was folded across parentheses (its value
        may differ from the original's in the last bit).
    """

    code: str
    formula: str | None
    changed: bool
    reassociated: bool = False


def simplify(code: str, function_name: str, abbreviations: dict[str, str] | None = None,
             *, reassociate: bool = True) -> Simplified:
    """Simplify ``code``; see the module docstring for the rewrites.

    Parameters
    ----------
    code
        The program's source.
    function_name
        The candidate function: only it (and dead helpers) is rewritten.
    abbreviations
        Parameter name → short name for the formula (``processing_times`` → ``p``).
    reassociate
        Fold products of literals across parentheses (``a * (b * x)`` → ``(a·b) * x``).

    Returns
    -------
    Simplified
        The simplified program and the key's formula.
    """
    tree = ast.parse(code)
    func = find_function(tree, function_name)
    if func is None:
        return Simplified(code, None, False)
    cleaner = _Cleaner(reassociate)
    cleaner.visit(func)
    remove_dead_assignments(func, tree)
    remove_unused_helpers(tree, function_name)
    formula = _formula(func, abbreviations or {})
    _name_repeats(func, abbreviations or {})
    ast.fix_missing_locations(tree)
    new = ast.unparse(tree) + "\n"
    return Simplified(new, formula, new != ast.unparse(ast.parse(code)) + "\n",
                      cleaner.reassociated)


class _Cleaner(ast.NodeTransformer):
    """Bottom-up: dead products, products of literals, flattened max/min, then folding."""

    def __init__(self, reassociate: bool = True) -> None:
        self.reassociate = reassociate
        self.reassociated = False

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            for zero, other in ((node.left, node.right), (node.right, node.left)):
                if is_number(zero) and value_of(zero) == 0 and _call_free(other):
                    return ast.Constant(0)
        if self.reassociate and isinstance(node, ast.BinOp):
            product = fold_product(node)
            if product is not None:
                self.reassociated = True
                return fold(product)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("max", "min") and not node.keywords
                and len(node.args) >= 2 and not any(isinstance(a, ast.Starred)
                                                    for a in node.args)):
            args: list[ast.expr] = []
            for arg in node.args:
                if (isinstance(arg, ast.Call) and isinstance(arg.func, ast.Name)
                        and arg.func.id == node.func.id and not arg.keywords
                        and len(arg.args) >= 2):
                    args.extend(arg.args)
                else:
                    args.append(arg)
            unique: list[ast.expr] = []
            dumps: set[str] = set()
            for arg in args:
                key = ast.dump(arg)
                if key not in dumps:
                    dumps.add(key)
                    unique.append(arg)
            if len(unique) == 1:
                return unique[0]
            node.args = unique
        if isinstance(node, ast.expr):
            return fold(node)
        return node


def fold_product(node: ast.BinOp) -> ast.expr | None:
    """``c * x`` for a chain of ``*`` of literals and one other factor ``x``, else ``None``.

    Division by a power of two joins the chain as a factor (it is exact), other
    divisions end it. ``c`` is the exact decimal product of the literals as
    written; it stays an integer when they all are and nothing divides. Chains
    with fewer than two literals, a zero literal (see the dead-term rule) or a
    product that is not a finite non-zero float are left alone.

    Parameters
    ----------
    node
        The root of the chain (bottom-up, inner chains are folded already).

    Returns
    -------
    ast.expr or None
        ``c * x`` (``c`` negated when the product is negative), or ``None``.
    """
    # Exact: a literal's repr has at most 17 digits and 2^-k (k <= 64) at most 64.
    with decimal.localcontext(prec=400):
        factors = _factors(node)
        literals = [f for f in factors if isinstance(f, decimal.Decimal | int)]
        others = [f for f in factors if isinstance(f, ast.expr)]
        if len(others) != 1 or len(literals) < 2 or any(v == 0 for v in literals):
            return None
        ints = [v for v in literals if isinstance(v, int)]
        value: int | float
        if len(ints) == len(literals):
            value = math.prod(ints)
        else:
            value = float(math.prod(decimal.Decimal(v) for v in literals))
            if value == 0 or not math.isfinite(value):
                return None
    x = others[0]
    literal = ast.Constant(abs(value))
    coefficient: ast.expr = literal if value > 0 else ast.UnaryOp(ast.USub(), literal)
    return ast.BinOp(coefficient, ast.Mult(), x)


def _factors(node: ast.expr) -> list[ast.expr | decimal.Decimal | int]:
    """The factors of a product: literals as numbers (``/ 2^k`` as ``2^-k``), others as trees."""
    if is_number(node):
        v = value_of(node)
        raw = node.operand if isinstance(node, ast.UnaryOp) else node
        assert isinstance(raw, ast.Constant)
        if type(raw.value) is int:
            return [-raw.value if isinstance(node, ast.UnaryOp) else raw.value]
        return [decimal.Decimal(repr(v))]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return _factors(node.left) + _factors(node.right)
    if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
            and _power_of_two(node.right)):
        return [*_factors(node.left), 1 / decimal.Decimal(repr(value_of(node.right)))]
    return [node]


def _power_of_two(node: ast.expr) -> bool:
    """A positive literal ``2^k`` (``k`` may be negative): dividing by it is exact."""
    if not is_number(node):
        return False
    v = value_of(node)
    return v > 0 and math.isfinite(v) and math.frexp(v)[0] == 0.5 and abs(math.frexp(v)[1]) <= 65


def _call_free(node: ast.AST) -> bool:
    return not any(isinstance(n, (ast.Call, ast.NamedExpr, ast.Await, ast.Yield))
                   for n in ast.walk(node))


def _key_lambdas(func: ast.FunctionDef) -> list[tuple[ast.keyword, ast.Lambda]]:
    out = []
    for node in ast.walk(func):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "key" and isinstance(kw.value, ast.Lambda):
                    out.append((kw, kw.value))
    return out


def _formula(func: ast.FunctionDef, abbreviations: dict[str, str]) -> str | None:
    keys = _key_lambdas(func)
    if not keys:
        return None
    _, lam = keys[0]
    abbreviate = _Abbreviate(abbreviations)
    body = abbreviate.visit(ast.parse(ast.unparse(lam.body), mode="eval"))
    arg = lam.args.args[0].arg if lam.args.args else "x"
    formula = f"key({arg}) = {ast.unparse(body)}"
    # Weights the offline engine computes once per instance (``_inst1 = 1.85 * _inst0``)
    # are part of the key: state them, in the order they are computed.
    hoisted = {t.id: stmt.value for stmt in func.body if isinstance(stmt, ast.Assign)
               for t in stmt.targets if isinstance(t, ast.Name) and t.id.startswith("_inst")}
    wanted: set[str] = set()
    pending = [n.id for n in ast.walk(body) if isinstance(n, ast.Name) and n.id in hoisted]
    while pending:
        name = pending.pop()
        if name not in wanted:
            wanted.add(name)
            pending += [n.id for n in ast.walk(hoisted[name])
                        if isinstance(n, ast.Name) and n.id in hoisted]
    where = [f"{name} = {ast.unparse(abbreviate.visit(copy.deepcopy(value)))}"
             for name, value in hoisted.items() if name in wanted]
    return formula + (" where " + ", ".join(where) if where else "")


class _Abbreviate(ast.NodeTransformer):
    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return ast.Name(self.names.get(node.id, node.id), node.ctx)


def _subscript_name(node: ast.expr, abbreviations: dict[str, str], used: set[str]
                    ) -> str | None:
    """``processing_times[j]`` → ``p_j`` when the parameter has an abbreviation."""
    if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
            and isinstance(node.slice, ast.Name) and node.value.id in abbreviations):
        name = f"{abbreviations[node.value.id]}_{node.slice.id}"
        return None if name in used else name
    return None


def _name_repeats(func: ast.FunctionDef, abbreviations: dict[str, str]) -> None:
    """Turn a ``key=lambda`` with repeated sub-expressions into a local function."""
    for kw, lam in _key_lambdas(func):
        if len(lam.args.args) != 1:
            continue
        counts = Counter(ast.dump(n) for n in ast.walk(lam.body)
                         if isinstance(n, (ast.BinOp, ast.Call, ast.Subscript))
                         and node_count(n) >= 3 and _call_free_or_pure(n))
        repeated = [d for d, c in counts.items() if c >= 2]
        if not repeated:
            continue
        holder = _statement_holding(func, lam)
        if holder is None:
            continue
        body_list, index = holder
        used = {n.id for n in ast.walk(func) if isinstance(n, ast.Name)}
        names = [n for n in _NAMES if n not in used]
        # Largest first, so a named part may contain smaller named parts' text.
        nodes: dict[str, ast.expr] = {ast.dump(n): n for n in ast.walk(lam.body)
                                      if isinstance(n, ast.expr) and ast.dump(n) in repeated}
        order = sorted(repeated, key=lambda d: -node_count(nodes[d]))[: len(names)]
        assigns: list[ast.stmt] = []
        mapping: dict[str, str] = {}
        spare = iter(names)
        for dump in order:
            name = _subscript_name(nodes[dump], abbreviations, used) or next(spare, None)
            if name is None:
                break
            used.add(name)
            mapping[dump] = name
        order = [d for d in order if d in mapping]
        new_body = _replaced(mapping, lam.body)
        # Smaller parts first: a larger part may use them.
        for dump in sorted(order, key=lambda d: node_count(nodes[d])):
            value = _replaced({k: v for k, v in mapping.items() if k != dump and
                               node_count(nodes[k]) < node_count(nodes[dump])}, nodes[dump])
            assigns.append(ast.Assign([ast.Name(mapping[dump], ast.Store())], value, lineno=0))
        fname = "priority"
        while fname in used:
            fname += "_"
        local = ast.FunctionDef(
            name=fname, args=lam.args, body=[*assigns, ast.Return(new_body)],
            decorator_list=[], returns=None, lineno=0)
        body_list.insert(index, local)
        kw.value = ast.Name(fname, ast.Load())
        used.add(fname)


def _call_free_or_pure(node: ast.AST) -> bool:
    return all(not isinstance(n, ast.Call) or (isinstance(n.func, ast.Name)
                                               and n.func.id in ("max", "min", "abs"))
               for n in ast.walk(node))


def _replaced(mapping: dict[str, str], expr: ast.expr) -> ast.expr:
    """A copy of ``expr`` with the sub-expressions in ``mapping`` replaced by names."""
    copy = ast.parse(ast.unparse(expr), mode="eval")
    result = _Replace(mapping).visit(copy)
    assert isinstance(result, ast.Expression)
    return result.body


class _Replace(ast.NodeTransformer):
    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = mapping

    def visit(self, node: ast.AST) -> ast.AST:
        name = self.mapping.get(ast.dump(node))
        if name is not None and isinstance(node, ast.expr):
            return ast.Name(name, ast.Load())
        return super().visit(node)


def _statement_holding(func: ast.FunctionDef, target: ast.AST
                       ) -> tuple[list[ast.stmt], int] | None:
    """The statement list and index of the statement containing ``target``."""
    for node in ast.walk(func):
        for field in ("body", "orelse"):
            stmts = getattr(node, field, None)
            if not isinstance(stmts, list):
                continue
            for i, stmt in enumerate(stmts):
                if isinstance(stmt, ast.stmt) and not isinstance(
                        stmt, (ast.For, ast.While, ast.If, ast.With, ast.FunctionDef)) and \
                        any(n is target for n in ast.walk(stmt)):
                    return stmts, i
    return None
