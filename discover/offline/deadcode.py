"""Dead code: assignments nothing reads, and calls of the program's own pure helpers.

A structural move leaves machinery behind when the feature that used it is gone:
``_track, _cost = _step(_track, best, _data)`` runs at every decision although
nothing reads ``_track`` or ``_cost`` any more, and ``_data = _prepare(...)`` and
``_track = _initial(_data)`` only feed it. :func:`remove_dead_assignments` drops
such assignments (plain, augmented, tuple targets) when their value is pure:
built-in calls of :data:`.rewrite.PURE_CALLS` and calls of the module's own
helper functions that :func:`pure_helpers` proves pure from their source. A
name read only by assignments that are dropped themselves is not read (mark and
sweep over the assignments, so ``_track`` feeding only itself goes too).
:func:`remove_unused_helpers` then drops the module's functions no longer reached
from the entry point (the export simplifier does; the engine keeps them, its
structural moves reuse them).

Everything here is a deterministic AST transformation: the same program always
gives the same result (sets only answer membership, never order the output).
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterator

from discover.offline.rewrite import PURE_CALLS, blocks, is_pure

#: Statements a pure helper may contain (no global/nonlocal, raise, try, import, del, ...).
_STATEMENTS = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.Return, ast.If,
               ast.For, ast.While, ast.Break, ast.Continue, ast.Pass)
#: Methods that read a built-in container; allowed on any value.
READ_ONLY_METHODS = frozenset({"index", "count", "copy", "get", "keys", "values", "items"})
#: Methods that change a built-in container; allowed only on a container the helper owns.
MUTATING_METHODS = frozenset({"append", "extend", "insert", "remove", "pop", "sort", "reverse",
                              "clear", "add", "discard", "update", "setdefault"})
#: Calls that can reach names by their text: where they appear, nothing is removed.
INTROSPECTION = frozenset({"locals", "vars", "globals", "eval", "exec", "getattr", "setattr",
                           "delattr", "__import__"})


def pure_helpers(module: ast.Module) -> frozenset[str]:
    """Names of the module-level functions whose calls have no side effects.

    A helper is pure when it is defined once (no other binding of its name at
    module level, no ``global`` rebinding it), has no decorators, contains only
    the statements of :data:`_STATEMENTS`, changes no container it does not own
    (see :func:`_owned_names`) and calls only :data:`.rewrite.PURE_CALLS`,
    read-only methods and other pure helpers. Mutual recursion is fine: the
    answer is the greatest set closed under "calls only members".
    """
    bindings = _module_bindings(module)
    defs = {s.name: s for s in module.body
            if isinstance(s, ast.FunctionDef) and bindings[s.name] == 1}
    needs: dict[str, set[str]] = {}
    for name, func in defs.items():
        called = _local_purity(func, defs)
        if called is not None:
            needs[name] = called
    pure = set(needs)
    changed = True
    while changed:
        changed = False
        for name in sorted(pure):
            if not needs[name] <= pure:
                pure.discard(name)
                changed = True
    return frozenset(pure)


def remove_dead_assignments(func: ast.FunctionDef, module: ast.Module | None = None
                            ) -> list[str]:
    """Drop assignments to names never read whose value is pure; returns their names.

    Parameters
    ----------
    func
        The function to clean (edited in place).
    module
        Its module; when given, calls of the module's pure helpers
        (:func:`pure_helpers`) count as pure values too.

    Returns
    -------
    list[str]
        The names whose assignments were removed, in program order.

    Notes
    -----
    Targets may be a plain name, an augmented name or a tuple/list of names;
    every name of the target must be unread. A name read only by assignments that
    go themselves is unread: ``_s10 -= d[best]`` once no feature uses the running
    sum, or ``_track, _cost = _step(_track, best, _data)`` and the ``_data`` and
    ``_track`` that only feed it. Names read anywhere else (in a lambda, a
    comprehension or a nested function too), deleted, or declared
    ``global``/``nonlocal`` are read. A block left empty gets ``pass``.
    """
    if _mentions(func, INTROSPECTION):
        return []
    helpers: frozenset[str] = frozenset()
    if module is not None:
        local = _bound(func)
        helpers = frozenset(h for h in pure_helpers(module) if h not in local)
    candidates: list[tuple[list[ast.stmt], ast.stmt, list[str], set[str]]] = []
    for body in blocks(func.body):
        for stmt in body:
            targets = assigned_names(stmt)
            value = getattr(stmt, "value", None)
            if targets and value is not None and is_pure(value, helpers):
                candidates.append((body, stmt, targets, set(_loads(value, set()))))
    skip = {id(stmt) for _, stmt, _, _ in candidates}
    live = set(_loads(func, skip)) | {name for n in ast.walk(func)
                                       if isinstance(n, (ast.Global, ast.Nonlocal))
                                       for name in n.names}
    alive: set[int] = set()
    changed = True
    while changed:
        changed = False
        for k, (_, _, targets, reads) in enumerate(candidates):
            if k not in alive and any(t in live for t in targets):
                alive.add(k)
                live |= reads
                changed = True
    removed: list[str] = []
    for k, (body, stmt, targets, _) in enumerate(candidates):
        if k in alive:
            continue
        body.remove(stmt)
        if not body:
            body.append(ast.Pass())
        removed.extend(t for t in targets if t not in removed)
    return removed


def remove_unused_helpers(module: ast.Module, function_name: str) -> list[str]:
    """Drop module-level functions the entry point no longer reaches; returns their names.

    Reached: ``function_name``, whatever the module's other top-level statements
    (constants, decorated functions) refer to, and whatever a reached function
    refers to by name, transitively. A function whose name is bound more than
    once is kept, and nothing is dropped when the module uses introspection
    (:data:`INTROSPECTION`) or does not define ``function_name``.
    """
    bindings = _module_bindings(module)
    defs = {s.name: s for s in module.body if isinstance(s, ast.FunctionDef)
            and bindings[s.name] == 1 and not s.decorator_list}
    if function_name not in defs or _mentions(module, INTROSPECTION):
        return []
    reached = {function_name}
    stack: list[ast.AST] = [s for s in module.body
                            if not (isinstance(s, ast.FunctionDef) and s.name in defs)]
    stack.append(defs[function_name])
    while stack:
        for node in ast.walk(stack.pop()):
            if isinstance(node, ast.Name) and node.id in defs and node.id not in reached:
                reached.add(node.id)
                stack.append(defs[node.id])
    unused = [name for name in defs if name not in reached]
    module.body = [s for s in module.body
                   if not (isinstance(s, ast.FunctionDef) and s.name in unused)]
    return unused


def assigned_names(stmt: ast.stmt) -> list[str] | None:
    """The names ``stmt`` assigns when all its targets are names (or tuples of names).

    ``a = ...``, ``a += ...``, ``a: T = ...``, ``a, (b, *c) = ...`` and ``a = b = ...``
    give their names; a subscript or attribute target (``x[i] = ...``) gives None.
    """
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
        targets = [stmt.target]
    else:
        return None
    names: list[str] = []
    return names if all(_collect(t, names) for t in targets) else None


def _collect(target: ast.expr, names: list[str]) -> bool:
    if isinstance(target, ast.Name):
        names.append(target.id)
        return True
    if isinstance(target, ast.Starred):
        return _collect(target.value, names)
    if isinstance(target, (ast.Tuple, ast.List)):
        return all(_collect(e, names) for e in target.elts)
    return False


def _loads(node: ast.AST, skip: set[int]) -> Iterator[str]:
    """Names read (or deleted) under ``node``, not looking inside nodes whose id is in skip."""
    stack = [node]
    while stack:
        current = stack.pop()
        if id(current) in skip:
            continue
        if isinstance(current, ast.Name) and not isinstance(current.ctx, ast.Store):
            yield current.id
        stack.extend(ast.iter_child_nodes(current))


def _mentions(node: ast.AST, names: frozenset[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))


def _arguments(args: ast.arguments) -> list[str]:
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    every += [a for a in (args.vararg, args.kwarg) if a is not None]
    return [a.arg for a in every]


def _bound(func: ast.FunctionDef) -> set[str]:
    """Every name ``func`` binds anywhere (parameters, stores, nested definitions)."""
    names = {n.id for n in ast.walk(func) if isinstance(n, ast.Name)
             and not isinstance(n.ctx, ast.Load)}
    for node in ast.walk(func):
        if isinstance(node, (ast.FunctionDef, ast.Lambda, ast.AsyncFunctionDef)):
            names.update(_arguments(node.args))
        if node is not func and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                  ast.ClassDef)):
            names.add(node.name)
    return names


def _module_bindings(module: ast.Module) -> Counter[str]:
    """How often each module-level name is bound (``global`` statements count as one more)."""
    counts: Counter[str] = Counter()
    for stmt in module.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            counts[stmt.name] += 1
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for alias in stmt.names:
                counts[(alias.asname or alias.name).split(".")[0]] += 1
        else:
            counts.update(n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)
                          and not isinstance(n.ctx, ast.Load))
    counts.update(name for n in ast.walk(module) if isinstance(n, ast.Global) for name in n.names)
    return counts


def _local_purity(func: ast.FunctionDef, defs: dict[str, ast.FunctionDef]) -> set[str] | None:
    """The helpers ``func`` refers to when its own code is pure (see :func:`pure_helpers`)."""
    if func.decorator_list:
        return None
    bound = _bound(func)
    owned = _owned_names(func)
    needs: set[str] = set()
    for node in ast.walk(func):
        if node is func:
            continue
        if isinstance(node, ast.stmt) and not isinstance(node, _STATEMENTS):
            return None
        if isinstance(node, (ast.Yield, ast.YieldFrom, ast.Await)):
            return None
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) \
                and node.id not in bound:
            if node.id in defs:
                needs.add(node.id)
            elif node.id not in PURE_CALLS:
                return None  # a global, a module or an effectful built-in (print, open)
        if isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
            return None
        if isinstance(node, ast.Subscript) and not isinstance(node.ctx, ast.Load) \
                and not _is_owned(node.value, owned):
            return None
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) \
                and node.target.id not in owned:
            return None  # ``x += y`` changes a list x in place: x must be the helper's own
        if isinstance(node, ast.Call) and not _pure_call(node, bound, owned):
            return None
        if isinstance(node, ast.keyword) and node.arg == "key" \
                and isinstance(node.value, ast.Name) and node.value.id in bound:
            return None  # ``sorted(x, key=f)`` with f a parameter calls what the caller passes
    return needs


def _pure_call(node: ast.Call, bound: set[str], owned: set[str]) -> bool:
    if isinstance(node.func, ast.Name):
        return node.func.id not in bound  # a free name: checked like every free name
    if isinstance(node.func, ast.Attribute):
        method = node.func.attr
        return method in READ_ONLY_METHODS or (method in MUTATING_METHODS
                                               and _is_owned(node.func.value, owned))
    return False


def _is_owned(node: ast.expr, owned: set[str]) -> bool:
    return isinstance(node, ast.Name) and node.id in owned


def _creates(value: ast.expr) -> bool:
    """Whether ``value`` is a new object nothing else refers to (or an immutable literal)."""
    if isinstance(value, (ast.Constant, ast.List, ast.ListComp, ast.Dict, ast.DictComp,
                          ast.Set, ast.SetComp, ast.Tuple, ast.BinOp)):
        return True
    return (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
            and value.func.id in ("list", "sorted"))


def _owned_names(func: ast.FunctionDef) -> set[str]:
    """Local names that only ever hold objects the helper created itself.

    Every binding is ``name = NEW`` (:func:`_creates`) or ``name op= ...``; a
    parameter qualifies only when the first top-level statement that mentions it
    rebinds it that way (``order = [int(j) for j in order]``). Loop, tuple and
    comprehension targets and arguments of nested functions never qualify.
    """
    stores: Counter[str] = Counter()
    good: Counter[str] = Counter()
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stores[node.id] += 1
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name) and _creates(node.value):
            good[node.targets[0].id] += 1
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            good[node.target.id] += 1
    nested = {a for n in ast.walk(func) if isinstance(n, (ast.FunctionDef, ast.Lambda))
              and n is not func for a in _arguments(n.args)}
    owned = {name for name, count in stores.items() if good[name] == count
             and name not in nested}
    for param in set(_arguments(func.args)) & owned:
        first = next(s for s in func.body if _mentions(s, frozenset({param})))
        if not (isinstance(first, ast.Assign) and assigned_names(first) == [param]
                and _creates(first.value)):
            owned.discard(param)
    return owned
