"""Where a candidate can be mutated: priority expressions and the slots inside them.

Constructive scheduling rules (and most candidates an evolutionary search
produces) decide by ranking items with a priority expression. The engine finds
those expressions generically:

* **key sites** — the ``key=`` lambda of any call (``min``, ``max``, ``sorted``,
  ``heapq.nsmallest``, …); the item is the lambda's parameter and the pool the
  call's first positional argument;
* **loop sites** — assignments inside ``for item in pool:`` whose value uses the
  item (the hand-written form of the same thing);
* **return sites** — when a function has neither, the expression it returns (a
  policy such as job shop's ``priority(p, est, ...)`` scores the one item its
  parameters describe; the simulator around it does the ranking).

A site knows where helper assignments go (just before the statement that ranks
the pool, so aggregates over the pool are recomputed at every decision) and
which names are bound there. A :class:`Slot` is an assignable reference to one
sub-expression of a site, which is what mutation operators edit.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field

BUILTIN_NAMES = frozenset(dir(builtins))
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
RETURN_ITEM = "_no_item_"
"""Item name of return sites: policy functions score one given item, named by parameters."""


@dataclass
class Slot:
    """A mutable reference ``holder.field[index]`` to one expression node."""

    holder: ast.AST
    field: str
    index: int | None = None

    def get(self) -> ast.expr:
        """The expression currently in the slot."""
        value = getattr(self.holder, self.field)
        node = value if self.index is None else value[self.index]
        assert isinstance(node, ast.expr)
        return node

    def set(self, node: ast.expr) -> None:
        """Put ``node`` into the slot."""
        if self.index is None:
            setattr(self.holder, self.field, node)
        else:
            getattr(self.holder, self.field)[self.index] = node


@dataclass
class Site:
    """One priority expression of a candidate function (mutable, tied to one tree)."""

    root: Slot
    item: str
    pool: ast.expr | None
    block: list[ast.stmt]
    anchor: ast.stmt
    bound: frozenset[str]
    kind: str
    body: list[ast.stmt] = dataclass_field(default_factory=list)
    """The body of the function the site is in (where instance-level helpers go)."""

    def components(self) -> list[Slot]:
        """Slots of the key components: tuple elements, or the whole root.

        A component that is just the item itself (the usual final tie-break by
        index) is left out: there is nothing to mutate in it.
        """
        node = self.root.get()
        if isinstance(node, ast.Tuple):
            return [Slot(node, "elts", k) for k, e in enumerate(node.elts)
                    if not (isinstance(e, ast.Name) and e.id == self.item)]
        return [self.root]

    def slots(self) -> list[Slot]:
        """Every sub-expression slot of the site, outermost first (pre-order)."""
        out: list[Slot] = []
        for comp in self.components():
            out.extend(expression_slots(comp))
        return out

    def helper_assigned(self, name: str) -> bool:
        """Whether ``name`` is assigned in the site's block before its anchor."""
        for stmt in self.block:
            if stmt is self.anchor:
                return False
            if isinstance(stmt, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
                return True
        return False

    def top_assignments(self) -> dict[str, int]:
        """Names assigned at the top level of the site's function: ``{name: statement index}``
        (the last assignment of a name)."""
        return {t.id: k for k, stmt in enumerate(self.body) if isinstance(stmt, ast.Assign)
                for t in stmt.targets if isinstance(t, ast.Name)}

    def instance_helper_assigned(self, name: str) -> bool:
        """Whether ``name`` is assigned at the top level of the site's function."""
        return name in self.top_assignments()

    def insert_instance_helper(self, stmt: ast.stmt) -> None:
        """Insert ``stmt`` at the top of the site's function (after its docstring)."""
        start = 1 if (self.body and isinstance(self.body[0], ast.Expr)
                      and isinstance(self.body[0].value, ast.Constant)
                      and isinstance(self.body[0].value.value, str)) else 0
        self.body.insert(start, stmt)


def expression_slots(slot: Slot) -> list[Slot]:
    """Slots of ``slot``'s expression and its sub-expressions, pre-order.

    Subscripts, names, constants, comprehensions and lambdas are leaves: the
    engine edits what is computed from the data, not how the data is indexed.
    """
    out = [slot]
    node = slot.get()
    if isinstance(node, ast.BinOp):
        out += expression_slots(Slot(node, "left"))
        out += expression_slots(Slot(node, "right"))
    elif isinstance(node, ast.UnaryOp):
        out += expression_slots(Slot(node, "operand"))
    elif isinstance(node, ast.Call):
        for k in range(len(node.args)):
            if not isinstance(node.args[k], ast.Starred):
                out += expression_slots(Slot(node, "args", k))
    elif isinstance(node, ast.IfExp):
        out += expression_slots(Slot(node, "body"))
        out += expression_slots(Slot(node, "orelse"))
    elif isinstance(node, ast.Tuple):
        for k in range(len(node.elts)):
            out += expression_slots(Slot(node, "elts", k))
    return out


def find_function(tree: ast.Module, name: str) -> ast.FunctionDef | None:
    """The top-level ``def name`` of ``tree`` (the last one, as Python would bind it)."""
    found = None
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == name:
            found = stmt
    return found


def function_locals(func: ast.FunctionDef) -> set[str]:
    """Parameters and names assigned anywhere in ``func`` outside nested scopes."""
    names = {a.arg for a in [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]}
    stack: list[ast.AST] = list(func.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(a.asname or a.name.split(".")[0] for a in node.names)
        if isinstance(node, (ast.Lambda, *COMPREHENSIONS)):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return names


def module_names(tree: ast.Module) -> set[str]:
    """Names bound at module level (imports, functions, globals)."""
    names: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names.update(a.asname or a.name.split(".")[0] for a in stmt.names)
        else:
            names.update(n.id for n in ast.walk(stmt)
                         if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return names


def find_sites(tree: ast.Module, func: ast.FunctionDef, *, policy: bool = False) -> list[Site]:
    """All key and loop sites of ``func``, in source order."""
    base = frozenset(function_locals(func) | module_names(tree) | BUILTIN_NAMES)
    sites: list[Site] = []
    for block, stmt in _statements(func.body):
        for node in _walk_no_scopes(stmt):
            if isinstance(node, ast.Call):
                sites.extend(_key_sites(node, block, stmt, base, func.body))
        if isinstance(stmt, ast.For) and isinstance(stmt.target, ast.Name):
            item = stmt.target.id
            for inner in stmt.body:
                if (isinstance(inner, (ast.Assign, ast.AugAssign))
                        and _uses(inner.value, item)):
                    sites.append(Site(Slot(inner, "value"), item, stmt.iter, block, stmt,
                                      base | {item}, "loop", func.body))
    if policy and not sites:
        # A policy function (job shop's priority(p, est, ...)) ranks nothing itself:
        # the simulator around it does. Its returned expression is the priority.
        for block, stmt in _statements(func.body):
            if isinstance(stmt, ast.Return) and stmt.value is not None \
                    and not isinstance(stmt.value, ast.Constant):
                sites.append(Site(Slot(stmt, "value"), RETURN_ITEM, None, block, stmt, base,
                                  "return", func.body))
    return sites


def _key_sites(call: ast.Call, block: list[ast.stmt], anchor: ast.stmt,
               base: frozenset[str], body: list[ast.stmt]) -> Iterator[Site]:
    for kw in call.keywords:
        lam = kw.value
        if (kw.arg == "key" and isinstance(lam, ast.Lambda) and len(lam.args.args) == 1
                and not lam.args.vararg and not lam.args.kwarg):
            item = lam.args.args[0].arg
            pool = call.args[0] if call.args and not isinstance(call.args[0], ast.Starred) \
                else None
            yield Site(Slot(lam, "body"), item, pool, block, anchor, base | {item}, "key", body)


def _statements(body: list[ast.stmt]) -> Iterator[tuple[list[ast.stmt], ast.stmt]]:
    """Every statement with the list that holds it, recursively, in source order."""
    for stmt in body:
        yield body, stmt
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                yield from _statements(inner)
        for handler in getattr(stmt, "handlers", []):
            yield from _statements(handler.body)


def _walk_no_scopes(stmt: ast.stmt) -> Iterator[ast.AST]:
    """Expression nodes of ``stmt`` itself (not of nested statements or defs)."""
    stack: list[ast.AST] = [c for c in ast.iter_child_nodes(stmt) if not isinstance(c, ast.stmt)]
    while stack:
        node = stack.pop(0)
        yield node
        stack.extend(c for c in ast.iter_child_nodes(node) if not isinstance(c, ast.stmt))


def _uses(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def free_names(expr: ast.AST) -> list[str]:
    """Names ``expr`` reads that it does not bind itself, in first-use order."""
    stored = {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)
              and isinstance(n.ctx, ast.Store)}
    stored |= {a.arg for n in ast.walk(expr) if isinstance(n, ast.Lambda)
               for a in n.args.args}
    seen: list[str] = []
    for n in ast.walk(expr):
        if (isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in stored
                and n.id not in seen):
            seen.append(n.id)
    return seen
