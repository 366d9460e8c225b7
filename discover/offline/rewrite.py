"""Small tree rewrites shared by the operators: numbers, protected division, folding, purity.

Dead-code removal built on :func:`is_pure` lives in :mod:`.deadcode`.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Collection, Iterator

# Calls that neither have side effects nor depend on state other than their arguments;
# an unused assignment whose value only uses these can be dropped.
PURE_CALLS = frozenset({"max", "min", "sum", "len", "abs", "range", "list", "tuple", "sorted",
                        "float", "int", "round"})
_PURE_NODES = (ast.Name, ast.Load, ast.Store, ast.Subscript, ast.Constant, ast.BinOp,
               ast.UnaryOp, ast.operator, ast.unaryop, ast.GeneratorExp, ast.ListComp,
               ast.comprehension, ast.Compare, ast.cmpop, ast.BoolOp, ast.boolop, ast.IfExp,
               ast.Tuple, ast.List, ast.Slice)


def number(value: float) -> ast.Constant:
    """A numeric literal rounded to three significant digits (readable, dedup-friendly)."""
    if value == 0 or not math.isfinite(value):
        return ast.Constant(0.0 if value == 0 else 1.0)
    digits = 2 - math.floor(math.log10(abs(value)))
    rounded = round(value, digits)
    if rounded == int(rounded) and abs(rounded) < 1e6:
        return ast.Constant(float(int(rounded)))
    return ast.Constant(rounded)


def is_number(node: ast.AST) -> bool:
    """A numeric (non-bool) literal, possibly negated."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
            and not isinstance(node.value, bool))


def value_of(node: ast.AST) -> float:
    """Value of a numeric literal accepted by :func:`is_number`."""
    if isinstance(node, ast.UnaryOp):
        return -value_of(node.operand)
    assert isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
    return float(node.value)


def call(name: str, *args: ast.expr) -> ast.Call:
    """``name(*args)``."""
    return ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[])


def protect(denominator: ast.expr) -> ast.expr:
    """A denominator that cannot be zero: ``max(x, 1)`` unless ``x`` is a positive literal.

    Scheduling quantities (times, counts) are integers or at least 1 when not
    zero, so ``max(x, 1)`` leaves them unchanged except at zero — the case that
    would otherwise crash the candidate.
    """
    if is_number(denominator) and value_of(denominator) > 0:
        return denominator
    if is_protected(denominator):
        return denominator
    return call("max", denominator, ast.Constant(1))


def is_protected(node: ast.AST) -> bool:
    """Whether ``node`` has the form produced by :func:`protect`."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "max" and len(node.args) == 2 and is_number(node.args[1])
            and value_of(node.args[1]) > 0)


def guard_divisions(node: ast.AST) -> int:
    """Protect every denominator under ``node`` (``/``, ``//``, ``%``); returns how many.

    Mutations protect the divisions they introduce, but a later edit may replace a
    protected denominator (crossover grafts ``d[j]`` over ``max(t, 1)``, a literal is
    perturbed to zero), and every descendant would inherit a division that crashes
    on some instance. Re-protecting all denominators of a child closes that hole.
    """
    guarded = 0
    for sub in ast.walk(node):
        if (isinstance(sub, ast.BinOp) and isinstance(sub.op, (ast.Div, ast.FloorDiv, ast.Mod))
                and not (is_number(sub.right) and value_of(sub.right) > 0)
                and not is_protected(sub.right)):
            sub.right = protect(sub.right)
            guarded += 1
    return guarded


def fold(node: ast.expr) -> ast.expr:
    """Algebraic clean-up bottom-up: literal arithmetic, ``x*1``, ``x+0``, ``max(x, x)``."""
    for field, value in ast.iter_fields(node):
        if isinstance(value, ast.expr):
            setattr(node, field, fold(value))
        elif isinstance(value, list):
            setattr(node, field, [fold(v) if isinstance(v, ast.expr) else v for v in value])
    if isinstance(node, ast.BinOp):
        left, right = node.left, node.right
        if is_number(left) and is_number(right):
            try:
                folded = _arith(node.op, value_of(left), value_of(right))
            except (ZeroDivisionError, OverflowError):
                return node
            if math.isfinite(folded):
                return number(folded) if folded >= 0 else ast.UnaryOp(
                    ast.USub(), number(-folded))
        if isinstance(node.op, (ast.Add, ast.Sub)) and is_number(right) and value_of(right) == 0:
            return left
        if isinstance(node.op, ast.Add) and is_number(left) and value_of(left) == 0:
            return right
        if isinstance(node.op, (ast.Mult, ast.Div)) and is_number(right) and value_of(right) == 1:
            return left
        if isinstance(node.op, ast.Mult) and is_number(left) and value_of(left) == 1:
            return right
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in ("max", "min") and len(node.args) == 2 and not node.keywords
            and ast.dump(node.args[0]) == ast.dump(node.args[1])):
        return node.args[0]
    return node


def absorb_negations(node: ast.expr) -> ast.expr:
    """Fold a negative literal leading the right operand of ``+``/``-`` into the operator.

    ``a - -0.5 * x`` becomes ``a + 0.5 * x``, ``a + -2.0`` becomes ``a - 2.0``, bottom-up
    in place (``node`` itself is returned). Negative literals are written as
    ``-c`` (:func:`perturb_constant <discover.offline.numbers.perturb_constant>`,
    :func:`fold`) wherever a slot takes them, which reads as a double sign under a
    ``+``/``-``. The rewrite is exact: ``a - y`` is ``a + (-y)`` in IEEE arithmetic and
    ``(-c) * x`` is ``-(c * x)``, signed zeros included, as long as the product is a
    float. An int product of zero has no sign (``-0.0 - (-3 * 0)`` is ``-0.0`` but
    ``-0.0 + 3 * 0`` is ``0.0``): an int literal is absorbed only when it stands alone
    and is not zero.
    """
    for field, value in ast.iter_fields(node):
        if isinstance(value, ast.expr):
            setattr(node, field, absorb_negations(value))
        elif isinstance(value, list):
            setattr(node, field, [absorb_negations(v) if isinstance(v, ast.expr) else v
                                  for v in value])
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        positive = _without_leading_minus(node.right, alone=True)
        if positive is not None:
            node.op = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
            node.right = positive
    return node


def _without_leading_minus(node: ast.expr, alone: bool) -> ast.expr | None:
    """``node`` with the minus of its leading literal ``-c`` removed (``-c``, or ``-c * x /
    y`` along the left of a product), or None when it does not start so (or when dropping
    the sign might not be exact, see :func:`absorb_negations`)."""
    negated = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
    literal = node.operand if isinstance(node, ast.UnaryOp) and negated else node
    if isinstance(literal, ast.Constant):
        value = literal.value
        if not (isinstance(value, float)
                or (alone and isinstance(value, int) and not isinstance(value, bool)
                    and value != 0)):
            return None
        if negated:
            return literal
        # A negative value held by the literal itself (``number(-0.23)``, as state features
        # write their coefficient) prints the same ``-0.23``.
        return ast.Constant(-value) if math.copysign(1.0, value) < 0 else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
        left = _without_leading_minus(node.left, alone=False)
        if left is not None:
            return ast.BinOp(left, node.op, node.right)
    return None


def _arith(op: ast.operator, a: float, b: float) -> float:
    if isinstance(op, ast.Add):
        return a + b
    if isinstance(op, ast.Sub):
        return a - b
    if isinstance(op, ast.Mult):
        return a * b
    if isinstance(op, ast.Div):
        return a / b
    raise ZeroDivisionError  # other operators are left alone


def node_count(node: ast.AST) -> int:
    """Number of AST nodes (expression contexts and operators excluded)."""
    return sum(1 for n in ast.walk(node)
               if not isinstance(n, (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop)))


def blocks(body: list[ast.stmt]) -> Iterator[list[ast.stmt]]:
    """``body`` and every nested statement list inside it."""
    yield body
    for stmt in body:
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                yield from blocks(inner)
        for handler in getattr(stmt, "handlers", []):
            yield from blocks(handler.body)


def assigned_name(stmt: ast.stmt) -> str | None:
    """``x`` of ``x = ...`` or ``x op= ...`` (a single plain name), else None."""
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
            and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id
    if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
        return stmt.target.id
    return None


def is_pure(node: ast.AST, helpers: frozenset[str] = frozenset()) -> bool:
    """Whether evaluating ``node`` has no side effects.

    Parameters
    ----------
    node
        An expression.
    helpers
        Names of functions known to be pure besides :data:`PURE_CALLS` (the
        module's own helpers, see :func:`.deadcode.pure_helpers`).
    """
    known = PURE_CALLS | helpers
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            if not (isinstance(n.func, ast.Name) and n.func.id in known):
                return False
            # ``max(x, key=print)`` calls its key: a named key must be pure itself.
            if any(kw.arg == "key" and isinstance(kw.value, ast.Name)
                   and kw.value.id not in known for kw in n.keywords):
                return False
        elif not isinstance(n, (*_PURE_NODES, ast.keyword)):
            return False
    return True


_NUMBER_CALLS = frozenset({"abs", "float", "int", "round", "len"})
"""Builtins whose result is always a number."""

_REDUCERS = frozenset({"min", "max", "sum", "sorted", "any", "all", "len"})
"""Builtins that iterate over (or size) their single positional argument."""

_SEQUENCES = frozenset({"list", "tuple", "Sequence", "MutableSequence"})
_NUMBERS = frozenset({"int", "float"})


def number_sequences(signature: str) -> frozenset[str]:
    """Parameters that the ``def`` line ``signature`` annotates as flat sequences of numbers.

    ``def schedule(processing_times: list[int], due_dates: list[int]) -> list[int]:``
    gives both names; ``list[list[int]]`` (a flow shop's rows), an unannotated
    parameter or a signature that does not parse gives none: :func:`misuses` may
    treat an element of a parameter as a number only when the contract says so.
    """
    try:
        tree = ast.parse(signature.strip() + "\n    pass\n")
    except SyntaxError:
        return frozenset()
    func = tree.body[0] if tree.body else None
    if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return frozenset()

    def numbers(node: ast.expr | None) -> bool:
        if not isinstance(node, ast.Subscript):
            return False
        outer = node.value
        name = outer.id if isinstance(outer, ast.Name) else (
            outer.attr if isinstance(outer, ast.Attribute) else None)
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        # ``tuple[int, ...]``: the Ellipsis says "any length", not an element type.
        items = [i for i in items if not (isinstance(i, ast.Constant) and i.value is ...)]
        return name in _SEQUENCES and bool(items) and all(
            isinstance(i, ast.Name) and i.id in _NUMBERS for i in items)

    args = [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]
    return frozenset(a.arg for a in args if numbers(a.annotation))


def misuses(func: ast.FunctionDef, number_sequences: Collection[str] = ()) -> str | None:
    """A type or name error that any run of ``func`` would raise, found statically; or None.

    Edits that move sub-expressions around (subtree crossover, substitutions) can
    leave a generator where a number is expected (``max(t, (… for _i in _top))``),
    a reducer with ``default=`` over a number (``min(max(a, b), default=0)``), a
    reducer or loop over one element of a sequence of numbers
    (``min(processing_times[j], default=0)``), or a short-list whose key reads the
    list being built (``_top = sorted(…, key=lambda j: … _top …)``). Such children
    crash on the first instance: they are rejected before they cost an evaluation.

    Parameters
    ----------
    func
        The candidate function.
    number_sequences
        Parameters known to be flat sequences of numbers (see
        :func:`number_sequences`): an element of one indexed by a scalar is a number.
        Empty (the default): elements of parameters are not judged.
    """
    parents: dict[int, ast.AST] = {}
    for node in ast.walk(func):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
    values: dict[str, list[ast.expr]] = {}
    for node in ast.walk(func):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    values.setdefault(target.id, []).append(node.value)
                else:  # unpacked: its values are unknown
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            values.setdefault(name.id, []).append(ast.List([], ast.Load()))
        elif isinstance(node, (ast.For, ast.comprehension)):
            for name in ast.walk(node.target):
                if isinstance(name, ast.Name):
                    values.setdefault(name.id, []).append(ast.List([], ast.Load()))

    def scalar(arg: ast.expr) -> bool:
        """Certainly a number: arithmetic, a literal, a scalar builtin, or a local name
        every assignment of which is one of these (``t = 0``, ``t += p[best]``)."""
        if isinstance(arg, (ast.BinOp, ast.UnaryOp, ast.Constant, ast.Compare)):
            return True
        if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Name):
            name = arg.func.id
            # min/max of several arguments is one of them; of one, an element (unknown).
            return name in _NUMBER_CALLS or (name in ("min", "max") and len(arg.args) > 1)
        if isinstance(arg, ast.Name) and arg.id in values:
            return all(isinstance(v, (ast.BinOp, ast.UnaryOp, ast.Constant))
                       or (isinstance(v, ast.Call) and isinstance(v.func, ast.Name)
                           and v.func.id in _NUMBER_CALLS) for v in values[arg.id])
        return False

    # A parameter rebound anywhere in ``func`` (an assignment, a loop variable, a parameter
    # of a lambda or nested function) may hold anything there: only untouched ones are judged.
    rebound = set(values) | {
        a.arg for n in ast.walk(func)
        if isinstance(n, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef)) and n is not func
        for a in [*n.args.posonlyargs, *n.args.args, *n.args.kwonlyargs]}
    sequences = set(number_sequences) - rebound

    def element(arg: ast.expr) -> str | None:
        """``seq[i]`` of a sequence of numbers by a scalar index (a name, arithmetic, an
        int): the parameter's name, else None. A slice (``seq[1:]``) is a sequence."""
        if (isinstance(arg, ast.Subscript) and isinstance(arg.value, ast.Name)
                and arg.value.id in sequences
                and (isinstance(arg.slice, (ast.Name, ast.BinOp, ast.UnaryOp))
                     or (isinstance(arg.slice, ast.Constant)
                         and type(arg.slice.value) is int))):
            return arg.value.id
        return None
    for node in ast.walk(func):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in _REDUCERS and len(node.args) == 1
                and (seq := element(node.args[0])) is not None):
            return f"{node.func.id}() over an element of {seq}: {ast.unparse(node)[:60]}"
        if isinstance(node, (ast.For, ast.comprehension)) and element(node.iter) is not None:
            return f"iteration over an element of {element(node.iter)}: " \
                f"{ast.unparse(node.iter)[:60]}"
        if isinstance(node, ast.GeneratorExp):
            parent = parents.get(id(node))
            if not (isinstance(parent, ast.Call) and parent.args == [node]):
                return f"a generator used as a value: {ast.unparse(node)[:60]}"
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("min", "max")
              and any(k.arg == "default" for k in node.keywords)):
            if len(node.args) != 1:
                return f"{node.func.id}() with default= and several arguments"
            if scalar(node.args[0]):
                return f"{node.func.id}() with default= over a number"
        elif isinstance(node, ast.Assign):
            targets = {t.id for t in node.targets if isinstance(t, ast.Name)}
            for lam in (n for n in ast.walk(node.value) if isinstance(n, ast.Lambda)):
                if any(isinstance(n, ast.Name) and n.id in targets for n in ast.walk(lam.body)):
                    return f"a key that reads the list it builds: {sorted(targets)[0]}"
    return None
