"""Duplicate detection before evaluation: a normalised-AST hash and a behaviour fingerprint.

Two cheap filters keep the loop from paying twice for the same program:

* :func:`normalized_hash` catches programs that differ only in formatting,
  comments, docstrings, type annotations or the names of local variables;
* :func:`behaviour_fingerprint` catches programs that are written differently
  but return the same outputs on a few probe instances (for example
  ``a + b`` versus ``b + a``); the loop runs the probe set, fingerprints the
  raw outputs and skips the full evaluation when the fingerprint was seen.

Both return SHA-256 hex digests so they fit in an indexed archive column.
"""

from __future__ import annotations

import ast
import builtins
import functools
import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["behaviour_fingerprint", "canonical_tree", "normalized_hash"]

_BUILTINS = frozenset(dir(builtins))
_SCOPE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ListComp,
                ast.SetComp, ast.DictComp, ast.GeneratorExp)


@functools.lru_cache(maxsize=4096)  # a proposal is hashed by the engine and by the loop
def normalized_hash(code: str) -> str:
    """Hash of ``code`` that ignores formatting, comments, docstrings and local names.

    Parameters
    ----------
    code
        Python source of a candidate program.

    Returns
    -------
    str
        64 hex digits; equal for programs whose canonical trees are equal.

    Raises
    ------
    SyntaxError
        If ``code`` does not parse (the pre-check rejects such programs first).

    Notes
    -----
    Local names (parameters of lambdas and nested functions, assignment and loop
    targets, comprehension variables) are renamed ``_v0, _v1, …`` in order of first
    binding. Names that are part of the program's interface are kept: top-level
    function and class names, the parameters of top-level functions (the
    candidate contract fixes them), module-level globals, imports, attributes,
    keyword-argument names and builtins.
    """
    tree = canonical_tree(code)
    dumped = ast.dump(tree, annotate_fields=False, include_attributes=False)
    return hashlib.sha256(dumped.encode()).hexdigest()


def canonical_tree(code: str) -> ast.Module:
    """Parse ``code`` and return its canonical tree (see :func:`normalized_hash`)."""
    tree = ast.parse(code)
    _strip(tree)
    _Renamer().visit(tree)
    return tree


def _strip(tree: ast.AST) -> None:
    """Remove docstrings and annotations in place (they never change behaviour)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                # A body must not become empty; ``pass`` is what an empty body means.
                node.body = body[1:] or [ast.Pass()]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.returns = None
        if isinstance(node, ast.arg):
            node.annotation = None
        for field in ("body", "orelse", "finalbody"):
            stmts = getattr(node, field, None)
            if isinstance(stmts, list) and stmts and isinstance(stmts[0], ast.stmt):
                setattr(node, field, [_plain_assign(s) for s in stmts])


def _plain_assign(stmt: ast.stmt) -> ast.stmt:
    """``x: T = v`` becomes ``x = v``; a bare ``x: T`` is kept (it makes ``x`` local)."""
    if isinstance(stmt, ast.AnnAssign) and stmt.value is not None and stmt.simple:
        return ast.Assign(targets=[stmt.target], value=stmt.value, lineno=0)
    return stmt


class _Renamer(ast.NodeTransformer):
    """Rename local names scope by scope, in order of first binding."""

    def __init__(self) -> None:
        self.counter = 0
        self.scopes: list[dict[str, str]] = []

    # -- scope handling -------------------------------------------------------------
    def _lookup(self, name: str) -> str:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return name

    def _bind(self, scope: dict[str, str], name: str) -> None:
        if name not in scope:
            scope[name] = f"_v{self.counter}"
            self.counter += 1

    def _enter(self, params: Iterable[str], body: Iterable[ast.AST],
               keep: bool = False) -> dict[str, str]:
        scope: dict[str, str] = {}
        explicit_outer: set[str] = set()
        for child in _walk_scope(body):
            if isinstance(child, (ast.Global, ast.Nonlocal)):
                explicit_outer.update(child.names)
        if keep:
            scope.update({p: p for p in params})
        else:
            for p in params:
                self._bind(scope, p)
        for name in _bound_names(body):
            if name not in explicit_outer:
                self._bind(scope, name)
        return scope

    # -- visitors --------------------------------------------------------------------
    def visit_Module(self, node: ast.Module) -> ast.AST:
        # Module-level names are the program's interface: never renamed.
        self.scopes.append({})
        self.generic_visit(node)
        self.scopes.pop()
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return self._visit_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        return self._visit_function(node)

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        top_level = len(self.scopes) == 1
        if not top_level:
            node.name = self._lookup(node.name)
        for default in [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]:
            self.visit(default)
        for deco in node.decorator_list:
            self.visit(deco)
        params = [a.arg for a in _all_args(node.args)]
        self.scopes.append(self._enter(params, node.body, keep=top_level))
        for a in _all_args(node.args):
            a.arg = self._lookup(a.arg)
        node.body = [self.visit(s) for s in node.body]
        self.scopes.pop()
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        for default in [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]:
            self.visit(default)
        params = [a.arg for a in _all_args(node.args)]
        self.scopes.append(self._enter(params, [node.body]))
        for a in _all_args(node.args):
            a.arg = self._lookup(a.arg)
        node.body = self.visit(node.body)
        self.scopes.pop()
        return node

    def _visit_comprehension(self, node: ast.ListComp | ast.SetComp | ast.DictComp
                             | ast.GeneratorExp) -> ast.AST:
        # The first iterable is evaluated in the enclosing scope.
        first = node.generators[0]
        first.iter = self.visit(first.iter)
        scope: dict[str, str] = {}
        for gen in node.generators:
            for name in _target_names(gen.target):
                self._bind(scope, name)
        self.scopes.append(scope)
        for k, gen in enumerate(node.generators):
            gen.target = self.visit(gen.target)
            if k > 0:
                gen.iter = self.visit(gen.iter)
            gen.ifs = [self.visit(cond) for cond in gen.ifs]
        for field in ("elt", "key", "value"):
            if hasattr(node, field):
                setattr(node, field, self.visit(getattr(node, field)))
        self.scopes.pop()
        return node

    visit_ListComp = _visit_comprehension
    visit_SetComp = _visit_comprehension
    visit_DictComp = _visit_comprehension
    visit_GeneratorExp = _visit_comprehension

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        # Class bodies are rare in candidates; their attribute names are interface.
        if len(self.scopes) > 1:
            node.name = self._lookup(node.name)
        self.scopes.append({})
        self.generic_visit(node)
        self.scopes.pop()
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self._lookup(node.id)
        return node

    def visit_Global(self, node: ast.Global) -> ast.AST:
        return node

    def visit_Nonlocal(self, node: ast.Nonlocal) -> ast.AST:
        node.names = [self._lookup(n) for n in node.names]
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        if node.name:
            node.name = self._lookup(node.name)
        self.generic_visit(node)
        return node

    def visit_alias(self, node: ast.alias) -> ast.AST:
        bound = node.asname or node.name.split(".")[0]
        renamed = self._lookup(bound)
        if renamed != bound:
            node.asname = renamed
        return node


def _all_args(args: ast.arguments) -> list[ast.arg]:
    out = [*args.posonlyargs, *args.args]
    if args.vararg:
        out.append(args.vararg)
    out.extend(args.kwonlyargs)
    if args.kwarg:
        out.append(args.kwarg)
    return out


def _walk_scope(nodes: Iterable[ast.AST]) -> Iterable[ast.AST]:
    """Walk ``nodes`` without descending into nested scopes (their names are their own)."""
    stack = list(nodes)[::-1]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (*_SCOPE_NODES, ast.ClassDef)):
            continue
        stack.extend(list(ast.iter_child_nodes(node))[::-1])


def _bound_names(body: Iterable[ast.AST]) -> list[str]:
    """Names bound in this scope, in source order (nested scopes excluded)."""
    names: list[str] = []
    for node in _walk_scope(body):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.append(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                               ast.ExceptHandler)) and node.name:
            names.append(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.extend(a.asname or a.name.split(".")[0] for a in node.names)
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            # Walrus targets inside a comprehension bind in the enclosing scope.
            for sub in ast.walk(node):
                if isinstance(sub, ast.NamedExpr) and isinstance(sub.target, ast.Name):
                    names.append(sub.target.id)
    return names


def _target_names(target: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]


# ---------------------------------------------------------------------------------------
# behaviour fingerprint


def behaviour_fingerprint(outputs_on_probe_instances: Sequence[Any]) -> str:
    """Hash of a program's raw outputs on the probe instances, in probe order.

    Parameters
    ----------
    outputs_on_probe_instances
        One raw output per probe instance: nested lists/tuples/dicts of ints,
        floats, bools, strings and ``None`` (numpy scalars and arrays are accepted
        and treated as their Python equivalents). A failed run can be passed as any
        marker value (e.g. the failure's type name as a string), so that programs
        failing in the same way on the same instances share a fingerprint.

    Returns
    -------
    str
        64 hex digits.

    Notes
    -----
    The encoding is type-tagged and length-prefixed, so ``[1, 2]`` differs from
    ``[1.0, 2.0]``, ``[[1], [2]]`` from ``[[1, 2]]``, ``True`` from ``1`` and a list
    from a tuple only in that tuples and lists are both treated as sequences (a
    harness may turn one into the other). Floats are encoded by ``float.hex``;
    ``-0.0`` equals ``0.0`` and all NaNs are equal.

    Raises
    ------
    TypeError
        For values of any other type.
    """
    h = hashlib.sha256(b"behaviour/v1")
    h.update(_encode(list(outputs_on_probe_instances)).encode())
    return h.hexdigest()


def _encode(value: Any) -> str:
    # numpy types are duck-typed (``item``/``tolist``) so numpy is not imported here.
    if hasattr(value, "tolist") and hasattr(value, "dtype"):
        value = value.tolist()
    if isinstance(value, bool):
        return "b1" if value else "b0"
    if isinstance(value, int):
        return f"i{value};"
    if isinstance(value, float):
        if math.isnan(value):
            return "fnan;"
        return f"f{(value + 0.0).hex()};"  # + 0.0 folds -0.0 into 0.0
    if value is None:
        return "n"
    if isinstance(value, str):
        return f"s{len(value)}:{value}"
    if isinstance(value, (list, tuple)):
        return f"l{len(value)}[" + "".join(_encode(v) for v in value) + "]"
    if isinstance(value, Mapping):
        items = sorted((_encode(k), _encode(v)) for k, v in value.items())
        return f"d{len(items)}{{" + "".join(k + v for k, v in items) + "}"
    raise TypeError(f"cannot fingerprint a value of type {type(value).__name__}")
