"""State features: the key of a construction loop learns about the sequence so far.

The ``state`` move (see :mod:`.shape` for the loop shape it works on) adds a term
``c·_f<k>·x`` to the first component of the deciding key, where ``x`` is one of the
key's item attributes that does not grow with the instance (so the literal ``c``
transfers across sizes, see :mod:`.scale`) and ``_f<k>`` a *state feature*, a
size-independent number (a share or a coefficient of variation: degree 0) that
describes the state of the construction. ``c`` is then ordinary material for the
tuner and the other mutations. The feature kinds:

``late share`` / ``placed share``
    Track the objective over the sequence built so far (``_step`` after every
    choice, :mod:`.structure`) and expose the share of late choices so far (steps
    with a positive cost) or the share of the items placed.
``spread``
    The coefficient of variation (std / |mean|) over the pool of a *state-free*
    item attribute ``A`` of the key (a sub-expression that uses the item and nothing
    the loop updates, e.g. ``due_dates[j]`` or ``due_dates[j] - processing_times[j]``):
    how spread out the remaining items are. Recomputing it over the pool costs O(n)
    per decision, O(n²) per run; instead ``_s1<k> = Σ A`` and ``_s2<k> = Σ A²`` are
    summed once before the loop and decreased by ``A(best)`` and ``A(best)²`` where the
    program removes its choice from the pool, so each decision pays O(1). The move
    needs that removal (``POOL.remove(TARGET)`` in the loop, the pool changed in no
    other way); without it it does not apply.

Every feature is hoisted: assigned once per decision (``_f<k> = FEATURE`` right
before the deciding statement, or before its look-ahead short-list), and the key
reads the bare name. The key runs once per item, so a feature written inside it
would be recomputed n times per decision, and the runtime gate (bytecode steps
against the seed's) rejects such children. ``_f<k>`` is a plain assignment, so
:func:`.shape.find_decision` never mistakes it for a state update, and
:func:`.deadcode.remove_dead_assignments` drops it once no key reads it.
"""

from __future__ import annotations

import ast
import copy
import re

import numpy as np

from discover.offline.rewrite import assigned_name, is_pure, number
from discover.offline.scale import ScaleModel
from discover.offline.shape import (
    TOP,
    Decision,
    find_decision,
    first_component,
    replace_names,
    uses,
)
from discover.offline.structure import INITIAL, PREPARE, STEP, install_cost_helpers

LATE = "_late"
DONE = "_done"
TRACK = "_track"
DATA = "_data"
FEATURE = "_f"
"""Prefix of hoisted state features: ``_f0``, ``_f1``, …"""
SUM = "_s1"
SQUARES = "_s2"
SPREAD = "spread"
STATE_FEATURES = (f"{LATE} / max({DONE}, 1)", f"{DONE} / max({DONE} + len({{pool}}), 1)")
"""Features over the tracked objective (``{pool}`` is the decision's pool)."""
STATE_KINDS = (*STATE_FEATURES, SPREAD)
_FEATURE_NAME = re.compile(rf"{FEATURE}\d+$")


def feature_names(func: ast.FunctionDef) -> set[str]:
    """Names of the hoisted state features assigned in ``func``."""
    return {t.id for n in ast.walk(func) if isinstance(n, ast.Assign)
            for t in n.targets if isinstance(t, ast.Name) and _FEATURE_NAME.match(t.id)}


def feature_meaning(func: ast.FunctionDef, name: str) -> tuple[str, ...] | None:
    """What the engine-made name ``name`` computes in ``func``, comparable across programs.

    The dumps of every statement that assigns ``name`` or, transitively, an
    engine-made name (a leading underscore) those statements read: ``_f0`` is
    defined from ``_s10``/``_s20``, whose sums may run over different attributes in
    two programs with the same ``_f0`` line. None when ``func`` does not assign it.
    """
    wanted, seen, parts = [name], set(), []
    while wanted:
        current = wanted.pop()
        if current in seen:
            continue
        seen.add(current)
        for stmt in ast.walk(func):
            if not isinstance(stmt, (ast.Assign, ast.AugAssign)):
                continue
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if not any(isinstance(n, ast.Name) and n.id == current
                       for t in targets for n in ast.walk(t)):
                continue
            parts.append(ast.dump(stmt))
            wanted += [n.id for n in ast.walk(stmt.value)
                       if isinstance(n, ast.Name) and n.id.startswith("_") and n.id not in seen]
    return tuple(parts) if parts else None


def features_agree(graft: ast.AST, donor: ast.FunctionDef, recipient: ast.FunctionDef) -> bool:
    """Whether each state feature ``graft`` reads means in ``recipient`` what it does in ``donor``.

    A crossover graft carries names, not definitions: the donor's ``_f0`` may be the
    recipient's ``_f0`` under another meaning (a late share for a spread), or absent.
    """
    names = {n.id for n in ast.walk(graft) if isinstance(n, ast.Name)
             and _FEATURE_NAME.match(n.id)}
    return all((meaning := feature_meaning(donor, name)) is not None
               and meaning == feature_meaning(recipient, name) for name in names)


def has_state_features(func: ast.FunctionDef) -> bool:
    """Whether the function tracks the objective or has a hoisted state feature."""
    return (any(isinstance(n, ast.Name) and n.id == TRACK for n in ast.walk(func))
            or bool(feature_names(func)))


def add_state_feature(tree: ast.Module, func: ast.FunctionDef, parameters: tuple[str, ...],
                      cost_source: str, rng: np.random.Generator,
                      kind: str | None = None) -> str | None:
    """Apply the state-feature move in place; a description or None (tree untouched).

    Parameters
    ----------
    tree, func
        The child's module and its candidate function (edited in place).
    parameters
        The candidate's parameters (passed to the objective's ``_prepare``).
    cost_source
        The problem's objective as steps (:mod:`.structure`).
    rng
        Chooses the feature kind, the attribute ``x`` and the coefficient.
    kind
        One of :data:`STATE_KINDS`; drawn at random when omitted.
    """
    if not cost_source.strip():
        return None
    decision = find_decision(func)
    if decision is None or decision.loop not in func.body:
        return None
    # The term c·F·x: F a state feature (degree 0), x an item attribute of degree ≤ 0
    # in the key, so the literal never scales a growing quantity (see .scale).
    model = ScaleModel(func, [])
    items = [n for n in ast.walk(first_component(decision.key))
             if isinstance(n, ast.Subscript) and uses(n.slice, decision.item)
             and (model.degree(n) or 0) <= 0]
    if not items:
        return None
    if kind is None:
        kind = STATE_KINDS[int(rng.integers(len(STATE_KINDS)))]
    if kind == SPREAD:
        spread = _spread(func, decision, rng)
        if spread is None:
            return None
        name, what = spread
    else:
        _install_tracking(tree, func, decision, parameters, cost_source)
        feature = ast.parse(kind.format(pool=_pool(decision)), mode="eval").body
        name, what = _hoist(func, decision, feature), kind.format(pool=_pool(decision))
    item = copy.deepcopy(items[int(rng.integers(len(items)))])
    coefficient = float(np.round(rng.uniform(-1.0, 1.0), 2)) or 0.1
    term = ast.BinOp(ast.BinOp(number(coefficient), ast.Mult(), ast.Name(name, ast.Load())),
                     ast.Mult(), item)
    new_first = ast.BinOp(first_component(decision.key), ast.Add(), term)
    if isinstance(decision.key, ast.Tuple) and decision.key.elts:
        decision.key.elts[0] = new_first
    else:
        decision.lam.body = new_first
    ast.fix_missing_locations(tree)
    return f"structure: state feature term {ast.unparse(term)} added to the key ({name}: {what})"


def _install_tracking(tree: ast.Module, func: ast.FunctionDef, decision: Decision,
                      parameters: tuple[str, ...], cost_source: str) -> None:
    """``_track``/``_late``/``_done`` advanced after every choice (whichever are missing).

    Dead-assignment removal drops ``_late`` or ``_done`` once no feature reads them,
    and ``_data``/``_track`` and their step once ``_late`` is gone too (the cost
    helpers are pure): a later feature re-installs whatever is missing.
    """
    names = {n.id for n in ast.walk(func) if isinstance(n, ast.Name)}
    start = func.body.index(decision.loop)
    before, after = "", ""
    if TRACK not in names:
        install_cost_helpers(tree, func, cost_source)
        before += f"{DATA} = {PREPARE}({', '.join(parameters)})\n{TRACK} = {INITIAL}({DATA})\n"
        after += f"{TRACK}, _cost = {STEP}({TRACK}, {decision.target}, {DATA})\n"
    if LATE not in names:
        before += f"{LATE} = 0\n"
        after += f"{LATE} += 1 if _cost > 0 else 0\n"
    if DONE not in names:
        before += f"{DONE} = 0\n"
        after += f"{DONE} += 1\n"
    func.body[start:start] = ast.parse(before).body
    decision.loop.body += ast.parse(after).body


def _pool(decision: Decision) -> str:
    """The loop's pool: the short-list's source when the decision picks from ``_top``."""
    if decision.pool == TOP:
        for stmt in decision.loop.body:
            if (isinstance(stmt, ast.Assign) and assigned_name(stmt) == TOP
                    and isinstance(stmt.value, ast.Subscript)
                    and isinstance(stmt.value.value, ast.Call) and stmt.value.value.args
                    and isinstance(stmt.value.value.args[0], ast.Name)):
                return stmt.value.value.args[0].id
    return decision.pool


def _before_decision(decision: Decision) -> int:
    """Where per-decision features go: before the deciding statement and its short-list."""
    body = decision.loop.body
    index = body.index(decision.statement)
    while index > 0 and isinstance(body[index - 1], ast.Assign) \
            and assigned_name(body[index - 1]) == TOP:
        index -= 1
    return index


def _fresh(func: ast.FunctionDef) -> int:
    """The smallest ``k`` with none of ``_f<k>``, ``_s1<k>``, ``_s2<k>`` in use."""
    names = {n.id for n in ast.walk(func) if isinstance(n, ast.Name)}
    k = 0
    while {f"{FEATURE}{k}", f"{SUM}{k}", f"{SQUARES}{k}"} & names:
        k += 1
    return k


def _hoist(func: ast.FunctionDef, decision: Decision, feature: ast.expr,
           k: int | None = None) -> str:
    """``_f<k> = feature`` once per decision (reused when already there); its name."""
    text = ast.unparse(feature)
    for stmt in decision.loop.body:
        name = assigned_name(stmt)
        if (isinstance(stmt, ast.Assign) and name and _FEATURE_NAME.match(name)
                and ast.unparse(stmt.value) == text):
            return name
    name = f"{FEATURE}{_fresh(func) if k is None else k}"
    decision.loop.body.insert(_before_decision(decision),
                              ast.Assign([ast.Name(name, ast.Store())], feature))
    return name


def state_free_attributes(func: ast.FunctionDef, decision: Decision) -> list[ast.expr]:
    """Distinct sub-expressions of the key's first component that depend on the item only.

    They use the item and no name the loop assigns (its clock, its tracked state, the
    hoisted features, the short-list), bind no names of their own and call nothing
    impure, so their value for an item never changes while it waits in the pool.
    """
    updated = {n.id for n in ast.walk(decision.loop)
               if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    updated |= feature_names(func) | {TOP}
    # Names the key binds itself (a look-ahead's ``_i``) vary within one evaluation.
    key = first_component(decision.key)
    updated |= {n.id for n in ast.walk(key) if isinstance(n, ast.Name)
                and isinstance(n.ctx, ast.Store)}
    updated |= {a.arg for n in ast.walk(key) if isinstance(n, ast.Lambda) for a in n.args.args}
    scoped = (ast.Lambda, ast.GeneratorExp, ast.ListComp, ast.SetComp, ast.DictComp,
              ast.NamedExpr)
    out: dict[str, ast.expr] = {}
    for node in ast.walk(key):
        if not isinstance(node, (ast.Subscript, ast.BinOp, ast.UnaryOp, ast.Call)):
            continue
        names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        if (decision.item in names and not names & updated and is_pure(node)
                and not any(isinstance(n, scoped) for n in ast.walk(node))):
            out.setdefault(ast.unparse(node), node)
    return list(out.values())


def _removal(decision: Decision, pool: str) -> int | None:
    """Index of the loop's ``POOL.remove(TARGET)`` after the decision, if that is the only
    way the loop changes the pool (else the running sums would drift)."""
    found = None
    for index, stmt in enumerate(decision.loop.body):
        if (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
                and isinstance(stmt.value.func, ast.Attribute)
                and isinstance(stmt.value.func.value, ast.Name)
                and stmt.value.func.value.id == pool and stmt.value.func.attr == "remove"
                and len(stmt.value.args) == 1 and isinstance(stmt.value.args[0], ast.Name)
                and stmt.value.args[0].id == decision.target and found is None
                and index > decision.index):
            found = index
            continue
        for n in ast.walk(stmt):
            if (isinstance(n, ast.Name) and n.id == pool and not isinstance(n.ctx, ast.Load)) \
                    or (isinstance(n, (ast.Attribute, ast.Subscript))
                        and isinstance(n.value, ast.Name) and n.value.id == pool
                        and not isinstance(n.ctx, ast.Load)) or _method(n, pool):
                return None  # the pool is changed (or reassigned) elsewhere in the loop
    return found


def _method(node: ast.AST, pool: str) -> bool:
    """A method call on the pool other than ``index``/``count`` (may change it)."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == pool
            and node.func.attr not in ("index", "count"))


def _spread(func: ast.FunctionDef, decision: Decision,
            rng: np.random.Generator) -> tuple[str, str] | None:
    """Install (or reuse) the incremental spread of a state-free attribute; (name, text)."""
    pool = _pool(decision)
    removal = _removal(decision, pool)
    attributes = state_free_attributes(func, decision)
    if removal is None or not attributes:
        return None
    attribute = attributes[int(rng.integers(len(attributes)))]
    item, target = decision.item, decision.target
    total = ast.unparse(ast.parse(f"sum({ast.unparse(attribute)} for {item} in {pool})"))
    # The same attribute's sums may be there already (a second spread term): reuse them.
    start = func.body.index(decision.loop)
    k = next((int(name[len(SUM):]) for stmt in func.body[:start]
              if isinstance(stmt, ast.Assign) and (name := assigned_name(stmt))
              and re.fullmatch(rf"{SUM}\d+", name) and ast.unparse(stmt.value) == total), None)
    if k is None:
        k = _fresh(func)
        # O(n) once, before the loop; the generator binds the item name in its own scope.
        func.body[start:start] = ast.parse(
            f"{SUM}{k} = {total}\n"
            f"{SQUARES}{k} = sum(({ast.unparse(attribute)}) ** 2 for {item} in {pool})\n").body
        chosen = ast.unparse(replace_names(attribute, {item: ast.Name(target, ast.Load())}))
        # O(1) per decision, right where the choice leaves the pool (the sums went before
        # the loop, so the removal's index in the loop body is unchanged).
        decision.loop.body[removal + 1:removal + 1] = ast.parse(
            f"{SUM}{k} -= {chosen}\n{SQUARES}{k} -= ({chosen}) ** 2\n").body
    s1, s2 = f"{SUM}{k}", f"{SQUARES}{k}"
    cv = ast.parse(f"max({s2} * len({pool}) - {s1} ** 2, 0) ** 0.5 / max(abs({s1}), 1)",
                   mode="eval").body
    return _hoist(func, decision, cv, k), f"spread of {ast.unparse(attribute)} over {pool}"
