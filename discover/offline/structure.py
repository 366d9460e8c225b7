"""Structural moves: change a program's shape, not only its priority expression.

The key-expression mutations of :mod:`.mutations` keep a candidate a one-pass
priority rule. The moves here add generic machinery around it, built only from
the problem's own objective, stated as a sequence of steps
(``CandidateSpec.cost_source``: ``_prepare(*parameters) -> data``, ``_initial(data)
-> state`` and ``_step(state, job, data) -> (state, cost)``, the objective being the
summed step costs — the definition of what is minimised, not a heuristic) and from
numbers the search may change. A move re-costs only the window it changes when the
state after the window is unchanged (else the rest of the sequence too); the old
cost of a window and the insertion trials grow one step at a time (O(span) steps
per position for insertions, O(span²/2) for exchanges), and a later sweep skips a
position whose start state and window are those of a previous try that found
nothing (the trials would repeat). The result is that of the plain pass:

``improve``
    A bounded improvement pass over the built solution: exchange positions
    ``i`` and ``i + s`` for ``s = 1 .. span`` (``span = 1``: adjacent swaps),
    keep an exchange when the objective drops, at most ``passes`` sweeps.
``insertions``
    The same pass with insertion moves: take the job at position ``i`` and
    reinsert it up to ``span`` positions later.

A second application to a program that already has the pass changes its
numbers (``passes``, ``span``) or its move kind. Nothing here depends on the
problem beyond the spec: any problem whose candidate returns a sequence and
whose spec defines ``cost_source`` gets the moves.
"""

from __future__ import annotations

import ast

import numpy as np

from discover.offline.sites import find_function

IMPROVE = "_improve"
PREPARE = "_prepare"
INITIAL = "_initial"
STEP = "_step"
STEPS = "_steps"
MAX_PASSES = 4
MAX_SPAN = 12
SPANS = (1, 2, 3, 4, 6, 8, 10, 12)

_IMPROVE_TEMPLATE = '''
def {steps}(state, jobs, data):
    """Run {step}() over ``jobs`` from ``state``: (final state, summed cost)."""
    total = 0
    for job in jobs:
        state, cost = {step}(state, job, data)
        total += cost
    return state, total


def {improve}(order, {params}, passes, span, insert):
    """Bounded improvement pass: exchanges (or reinsertions) kept when the objective drops.

    The old cost of a window grows with it one step at a time; only the moved window
    is re-costed when it leaves the state after it unchanged; a position whose
    start state and window are as when it last found nothing is not tried again.
    """
    data = {prepare}({params})
    order = [int(j) for j in order]
    n = len(order)
    span = int(span)
    settled = [None] * n
    for _ in range(int(passes)):
        improved = False
        state = {initial}(data)
        for i in range(n - 1):
            window = (state, order[i:i + span + 1])
            if settled[i] != window:
                local = True
                found = False
                end, old = {step}(state, order[i], data)
                # Insertion trials: the jobs after i, run from state, grow one step at a time.
                shifted_end, shifted = state, 0
                for k in range(i + 1, min(i + 1 + span, n)):
                    end, cost = {step}(end, order[k], data)
                    old += cost
                    if insert:
                        shifted_end, cost = {step}(shifted_end, order[k], data)
                        shifted += cost
                        new_end, new = {step}(shifted_end, order[i], data)
                        new += shifted
                        trial = None
                    else:
                        segment = order[i:k + 1]
                        trial = [segment[-1]] + segment[1:-1] + [segment[0]]
                        new_end, new = {steps}(state, trial, data)
                    if new_end != end:
                        local = False
                        tail = order[k + 1:]
                        better = new + {steps}(new_end, tail, data)[1] < \
                            old + {steps}(end, tail, data)[1]
                    else:
                        better = new < old
                    if better:
                        if trial is None:
                            trial = order[i + 1:k + 1] + [order[i]]
                        order[i:k + 1] = trial
                        end, old = new_end, new
                        found = True
                        if insert:
                            shifted_end, shifted = {steps}(state, order[i + 1:k + 1], data)
                improved = improved or found
                settled[i] = window if local and not found else None
            state = {step}(state, order[i], data)[0]
        if not improved:
            break
    return order
'''


def has_improvement(tree: ast.Module) -> bool:
    """Whether the program already defines the improvement pass."""
    return any(isinstance(n, ast.FunctionDef) and n.name == IMPROVE for n in tree.body)


def add_or_vary_improvement(tree: ast.Module, function_name: str, parameters: tuple[str, ...],
                            cost_source: str, rng: np.random.Generator) -> str | None:
    """Apply the structural move to ``tree`` in place; returns a description or None.

    Without a pass: define ``_cost`` (the problem's objective) and ``_improve`` and
    route every ``return`` of the candidate function through it. With one: change
    the number of sweeps, the move span or the move kind of its call.
    """
    func = find_function(tree, function_name)
    if func is None or not cost_source.strip():
        return None
    calls = improvement_calls(func)
    if calls:
        return _vary(calls, rng)
    returns = [n for n in ast.walk(func) if isinstance(n, ast.Return) and n.value is not None]
    if not returns:
        return None
    passes = int(rng.integers(1, 3))
    span = int(rng.choice(SPANS[:5]))
    insert = bool(rng.random() < 0.3)
    for ret in returns:
        assert ret.value is not None
        ret.value = _call(ret.value, parameters, passes, span, insert)
    install_cost_helpers(tree, func, cost_source + _IMPROVE_TEMPLATE.format(
        improve=IMPROVE, prepare=PREPARE, initial=INITIAL, step=STEP, steps=STEPS,
        params=", ".join(parameters)))
    kind = "insertions" if insert else "exchanges"
    return f"structure: improvement pass ({passes} sweep(s), {kind} within {span})"


def improvement_calls(func: ast.FunctionDef) -> list[ast.Call]:
    """The calls of the improvement pass in ``func`` (``_improve(order, ..., passes, span,
    insert)``), in ``ast.walk`` order."""
    return [n for n in ast.walk(func) if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Name) and n.func.id == IMPROVE]


def install_cost_helpers(tree: ast.Module, func: ast.FunctionDef, source: str) -> None:
    """Define the functions (and imports) of ``source`` before ``func`` unless already there."""
    helpers = ast.parse(source).body
    existing = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    existing_imports = {ast.dump(n) for n in tree.body if isinstance(n, (ast.Import,
                                                                          ast.ImportFrom))}
    index = tree.body.index(func)
    tree.body[index:index] = [h for h in helpers
                              if not (isinstance(h, ast.FunctionDef) and h.name in existing)
                              and ast.dump(h) not in existing_imports]


def _call(value: ast.expr, parameters: tuple[str, ...], passes: int, span: int,
          insert: bool) -> ast.Call:
    args: list[ast.expr] = [value, *(ast.Name(p, ast.Load()) for p in parameters),
                            ast.Constant(passes), ast.Constant(span), ast.Constant(insert)]
    return ast.Call(ast.Name(IMPROVE, ast.Load()), args, [])


def _vary(calls: list[ast.Call], rng: np.random.Generator) -> str | None:
    call = calls[int(rng.integers(len(calls)))]
    if len(call.args) < 4:
        return None
    passes, span, insert = call.args[-3], call.args[-2], call.args[-1]
    if not (isinstance(passes, ast.Constant) and isinstance(passes.value, (int, float))
            and isinstance(span, ast.Constant) and isinstance(span.value, (int, float))
            and isinstance(insert, ast.Constant)):
        return None
    choice = int(rng.integers(3))
    if choice == 0:
        old = int(passes.value)
        new = int(np.clip(old + (1 if rng.random() < 0.5 else -1), 1, MAX_PASSES))
        if new == old:
            return None
        passes.value = new
        return f"structure: improvement sweeps {old} -> {new}"
    if choice == 1:
        old = int(span.value)
        # Spans are drawn from a ladder: ±1 steps would take long to reach wide windows.
        new = int(rng.choice([v for v in SPANS if v != old]))
        span.value = new
        return f"structure: move span {old} -> {new}"
    insert.value = not bool(insert.value)
    return "structure: improvement moves " + ("insertions" if insert.value else "exchanges")
