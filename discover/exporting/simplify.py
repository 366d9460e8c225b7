"""Readable winners: simplify a program before export, and state its key as a formula.

Search leaves traces: literal arithmetic, ``x * 1``, nested ``max(max(a, b), a)``,
terms multiplied by zero, the same sub-expression written three times. The
rewrite here is purely syntactic and meaning-preserving for numbers:

- constant folding and neutral elements (:func:`discover.offline.rewrite.fold`);
- ``max``/``min`` flattened (``max(max(a, b), c)`` → ``max(a, b, c)``) and
  repeated arguments dropped;
- dead terms: ``0 * x`` and ``x * 0`` → ``0`` (``x`` free of calls), then folded;
- dead code: assignments nothing reads whose value is pure, calls of the
  program's own pure helpers included, then the helpers the candidate function
  no longer reaches (:mod:`discover.offline.deadcode`);
- repeated sub-expressions of a ``key=lambda`` named: the lambda becomes a local
  function whose first lines name each repeated part.

Callers must still check that the simplified program behaves identically (the
export does, on every evaluation instance): float evaluation order can change
a tie.
"""

from __future__ import annotations

import ast
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
    """

    code: str
    formula: str | None
    changed: bool


def simplify(code: str, function_name: str, abbreviations: dict[str, str] | None = None
             ) -> Simplified:
    """Simplify ``code``; see the module docstring for the rewrites.

    Parameters
    ----------
    abbreviations
        Parameter name → short name for the formula (``processing_times`` → ``p``).
    """
    tree = ast.parse(code)
    func = find_function(tree, function_name)
    if func is None:
        return Simplified(code, None, False)
    _Cleaner().visit(func)
    remove_dead_assignments(func, tree)
    remove_unused_helpers(tree, function_name)
    formula = _formula(func, abbreviations or {})
    _name_repeats(func, abbreviations or {})
    ast.fix_missing_locations(tree)
    new = ast.unparse(tree) + "\n"
    return Simplified(new, formula, new != ast.unparse(ast.parse(code)) + "\n")


class _Cleaner(ast.NodeTransformer):
    """Bottom-up: dead products, flattened max/min, then folding."""

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            for zero, other in ((node.left, node.right), (node.right, node.left)):
                if is_number(zero) and value_of(zero) == 0 and _call_free(other):
                    return ast.Constant(0)
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
    body = _Abbreviate(abbreviations).visit(ast.parse(ast.unparse(lam.body), mode="eval"))
    arg = lam.args.args[0].arg if lam.args.args else "x"
    return f"key({arg}) = {ast.unparse(body)}"


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
