"""Size degree of expressions: which quantities grow with the instance and which do not.

The engine trains on small instances and must produce rules for large ones. A
literal that scales a quantity growing with the instance size (a clock, a
total, a count, anything compared with them) calibrates the rule to the
training size: ``0.99·t`` or ``1.03·d`` can win on 20 jobs and lose badly on 100.
A literal on a shrinking quantity calibrates just the same: ``91.4·p_j/p_total``
is negligible beside a single item's attribute once the pool holds far more
than 91 items, and dominant when it holds far fewer, so the rule flips with the
size. A literal on a size-independent quantity (a single item's attribute, a
mean, a ratio of two growing quantities) transfers. So new coefficients only
multiply expressions of degree 0, and feature substitution preserves degree.

Degrees are inferred by a generic analysis of the parent program and the
feature vocabulary, without knowing what any name means:

* a name increased inside a loop (``acc += seq[k]``) is an *accumulator*:
  degree 1; the elements of ``seq`` are its increments: degree 0, fixed;
* ``len(...)`` and names assigned from it are counts: degree 1;
  ``sum(e for ...)`` has degree ``deg(e) + 1``; ``max``/``min``/``abs`` keep the
  largest degree of their arguments;
* ``a ± b`` has ``max(deg a, deg b)``; ``a·b`` adds degrees; ``a / b`` subtracts;
* elements of any other sequence get degree 1 when they are added to,
  subtracted from or compared (``max``/``min``) with a degree-1 expression,
  anywhere in the parent or in a vocabulary entry; else 0.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping

_LOOPS = (ast.While, ast.For)


class ScaleModel:
    """Degrees of the names and sequences of one candidate function.

    Parameters
    ----------
    func
        The parent's candidate function (names already bound).
    vocabulary
        Feature expressions with abbreviations already expanded (analysed for
        how quantities are combined).
    """

    def __init__(self, func: ast.FunctionDef, vocabulary: Iterable[ast.expr]) -> None:
        self.names: dict[str, int] = {}
        self.fixed_elements: set[str] = set()
        self.elements: dict[str, int] = {}
        self._accumulators(func)
        groups = [g for tree in [func, *vocabulary] for g in _groups(tree)]
        assignments = [(node.targets[0].id, node.value) for node in ast.walk(func)
                       if isinstance(node, ast.Assign) and len(node.targets) == 1
                       and isinstance(node.targets[0], ast.Name)]
        self._assign(assignments)
        # Propagate until stable: element degrees depend on names and vice versa.
        for _ in range(4):
            before = (dict(self.names), dict(self.elements))
            for group in groups:
                self._propagate(group)
            self._assign(assignments)
            if before == (self.names, self.elements):
                break

    # -- inference -----------------------------------------------------------------------
    def _accumulators(self, func: ast.FunctionDef) -> None:
        for loop in ast.walk(func):
            if not isinstance(loop, _LOOPS):
                continue
            for node in ast.walk(loop):
                if (isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add)
                        and isinstance(node.target, ast.Name)):
                    self.names[node.target.id] = 1
                    seq = _sequence_of(node.value)
                    if seq is not None:
                        self.fixed_elements.add(seq)
                        self.elements[seq] = 0

    def _assign(self, assignments: list[tuple[str, ast.expr]]) -> None:
        for name, value in assignments:
            if name not in self.names:
                deg = self.degree(value)
                if deg is not None and deg != 0:
                    self.names[name] = deg

    def _propagate(self, group: list[ast.expr]) -> None:
        if any(self.degree(e) == 1 for e in group):
            for e in group:
                seq = _sequence_of(e)
                if seq is not None and seq not in self.fixed_elements:
                    self.elements[seq] = 1

    # -- queries -------------------------------------------------------------------------
    def degree(self, node: ast.AST) -> int | None:
        """Size degree of ``node``: 0 size-independent, 1 grows with size, None unknown."""
        if isinstance(node, ast.Constant):
            return 0
        if isinstance(node, ast.Name):
            return self.names.get(node.id, 0)
        if isinstance(node, ast.Subscript):
            seq = _sequence_of(node)
            return self.elements.get(seq, 0) if seq is not None else None
        if isinstance(node, ast.UnaryOp):
            return self.degree(node.operand)
        if isinstance(node, ast.BinOp):
            a, b = self.degree(node.left), self.degree(node.right)
            if a is None or b is None:
                return None
            if isinstance(node.op, (ast.Add, ast.Sub)):
                return max(a, b)
            if isinstance(node.op, ast.Mult):
                return a + b
            if isinstance(node.op, ast.Div):
                return a - b
            return None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self._call_degree(node)
        if isinstance(node, (ast.GeneratorExp, ast.ListComp)):
            return self.degree(node.elt)
        return None

    def _call_degree(self, node: ast.Call) -> int | None:
        assert isinstance(node.func, ast.Name)
        name = node.func.id
        if name == "len":
            return 1
        if name == "sum" and node.args:
            inner = self.degree(node.args[0])
            return None if inner is None else inner + 1
        if name in ("max", "min", "abs", "float", "int", "round") and node.args:
            degrees = [self.degree(a) for a in node.args]
            if any(d is None for d in degrees):
                return None
            return max(d for d in degrees if d is not None)
        return None

    def transferable(self, node: ast.AST) -> bool:
        """Whether a new literal may multiply ``node`` (degree known and exactly 0)."""
        return self.degree(node) == 0

    def violations(self, node: ast.AST) -> int:
        """Literal coefficients on growing or shrinking quantities inside ``node``.

        Every arithmetic region (``+ - * /`` and unary minus) is expanded into
        monomials over its atoms (names, element accesses, calls); a monomial whose
        coefficient is a literal other than ±1 and whose degree is not 0 (e.g.
        ``0.99·t``, ``1.03·d[j]``, ``c·x·y`` from ``x·(1 + c·y)`` with ``x`` growing and
        ``y`` not shrinking, or ``91.4·p[j]/p_total`` with ``p_total`` a pool total)
        counts once. Arguments of calls are regions of their own.
        """
        count = 0
        for region in self._regions(node):
            for coef, deg in self._monomials(region) or ():
                if deg is not None and deg != 0 and coef != 0 and abs(abs(coef) - 1) > 1e-9:
                    count += 1
        return count

    def _regions(self, node: ast.AST) -> list[ast.AST]:
        """Maximal arithmetic sub-expressions of ``node`` (including inside calls)."""
        out: list[ast.AST] = []
        stack = [node]
        while stack:
            cur = stack.pop()
            out.append(cur)
            stack.extend(_atoms_args(cur))
        return out

    def _monomials(self, node: ast.AST) -> list[tuple[float, int | None]] | None:
        """(coefficient, degree) of each monomial of an arithmetic region; None if too big."""
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            return [(float(node.value), 0)]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self._monomials(node.operand)
            return None if inner is None else [(-c, d) for c, d in inner]
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            a, b = self._monomials(node.left), self._monomials(node.right)
            if a is None or b is None:
                return None
            sign = -1.0 if isinstance(node.op, ast.Sub) else 1.0
            return a + [(sign * c, d) for c, d in b]
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
            a = self._monomials(node.left)
            if isinstance(node.op, ast.Div):
                b = self._monomials(node.right)
                if b is not None and len(b) == 1 and b[0][0] != 0:
                    b = [(1 / b[0][0], None if b[0][1] is None else -b[0][1])]
                else:
                    deg = self.degree(node.right)
                    b = [(1.0, None if deg is None else -deg)]
            else:
                b = self._monomials(node.right)
            if a is None or b is None or len(a) * len(b) > 64:
                return None
            return [(ca * cb, None if da is None or db is None else da + db)
                    for ca, da in a for cb, db in b]
        return [(1.0, self.degree(node))]

    def snapshot(self) -> Mapping[str, int]:
        """Known degrees (names and ``seq[]`` elements), for tests and debugging."""
        out = dict(self.names)
        out.update({f"{k}[]": v for k, v in self.elements.items()})
        return out


def _groups(tree: ast.AST) -> list[list[ast.expr]]:
    """Operands that are added, subtracted or compared with each other in ``tree``."""
    out: list[list[ast.expr]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            out.append([node.left, node.right])
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("max", "min") and len(node.args) > 1):
            out.append(list(node.args))
        elif isinstance(node, ast.Compare):
            out.append([node.left, *node.comparators])
    return out


def _atoms_args(node: ast.AST) -> list[ast.AST]:
    """Arguments of the calls (and other non-arithmetic nodes) at the atoms of a region."""
    if isinstance(node, ast.BinOp):
        return [*_atoms_args(node.left), *_atoms_args(node.right)]
    if isinstance(node, ast.UnaryOp):
        return _atoms_args(node.operand)
    if isinstance(node, ast.Call):
        return list(node.args)
    if isinstance(node, (ast.Tuple, ast.List)):
        return list(node.elts)
    if isinstance(node, ast.IfExp):
        return [node.body, node.orelse]
    return []


def _sequence_of(node: ast.AST) -> str | None:
    """``seq`` for an element access ``seq[...]`` (a plain name), else None."""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        return node.value.id
    return None
