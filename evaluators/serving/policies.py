"""Classic serving policies: as ``priority(request, state)`` sources, and as heuristics.

Policies that only use what a deployed server knows are kept as *source code* in
the candidate's contract (larger priority = served first, smaller = preempted
first) and compiled from that source, so the trusted heuristic, the seed program
and the exported baseline are the same function. Oracle policies look at the
output lengths, which a real server does not know; they exist only in-process, as
the reference the report compares against.

=================  ==========================================================  ===========
heuristic          order                                                       builder
=================  ==========================================================  ===========
``fcfs``           first come, first served (vLLM's default)                  vLLM (no chunks)
``sarathi``        first come, first served                                   chunks of 512
``spf``            shortest prompt first                                      scenario's
``las``            least attained service: fewest generated tokens first      scenario's
``srpt_oracle``    shortest remaining output (true output lengths)            scenario's
``srpt_noisy``     shortest remaining output, predicted lengths ×exp(σ·N(0,1)), scenario's
                   σ = 0.5, drawn once per request (seeded by the instance)
=================  ==========================================================  ===========

Ties go to the earlier arrival when admitting and to the later one when preempting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from types import MappingProxyType

import numpy as np

from evaluators.serving.decisions import Priority, Request, State
from evaluators.serving.instance import SARATHI_CHUNK, ServerConfig, ServingInstance
from evaluators.serving.replay import Schedule, run_policy

SIGNATURE = "def priority(request, state):"
NOISE_SIGMA = 0.5
"""Log-space standard deviation of ``srpt_noisy``'s output-length predictions."""

_POLICIES: dict[str, tuple[str, str]] = {
    # name: (docstring, body)
    "fcfs": ("First come, first served: the request that has waited longest first.",
             "return request.waiting_time"),
    "spf": ("Shortest prompt first (ties: first come, first served).",
            "return -request.prompt_tokens"),
    "las": ("Least attained service: the request with the fewest generated tokens first.",
            "return -request.generated_tokens"),
}


def _source(doc: str, body: str) -> str:
    return f'{SIGNATURE}\n    """{doc}"""\n    {body}\n'


POLICY_SOURCES: Mapping[str, str] = MappingProxyType(
    {name: _source(doc, body) for name, (doc, body) in _POLICIES.items()})
"""Policy name → standalone source defining ``priority(request, state)``."""


def compile_priority(source: str) -> Priority:
    """Execute trusted policy source in a fresh namespace and return its ``priority``."""
    namespace: dict[str, object] = {"__name__": "serving_policy"}
    exec(compile(source, "<serving-policy>", "exec"), namespace)
    fn = namespace.get("priority")
    if not callable(fn):
        raise ValueError("policy source does not define priority(request, state)")
    return fn


_COMPILED: dict[str, Priority] = {name: compile_priority(src)
                                  for name, src in POLICY_SOURCES.items()}


def oracle_priority(instance: ServingInstance) -> Priority:
    """Shortest remaining output first, knowing every request's true output length."""
    output = instance.output

    def priority(request: Request, state: State) -> float:
        return -float(output[request.id] - request.generated_tokens)

    return priority


def noisy_priority(instance: ServingInstance, sigma: float = NOISE_SIGMA) -> Priority:
    """Shortest remaining output first, on log-normally perturbed output lengths.

    The noise is drawn once per request from a generator seeded by the instance's
    fingerprint, so the heuristic is deterministic per instance.
    """
    rng = np.random.default_rng(int(instance.fingerprint[:16], 16))
    predicted = np.asarray(instance.output, dtype=float) * np.exp(
        sigma * rng.standard_normal(instance.size))
    guess = predicted.tolist()

    def priority(request: Request, state: State) -> float:
        return -max(guess[request.id] - request.generated_tokens, 0.0)

    return priority


# name -> (priority factory, chunk size or None for the scenario's builder)
_CATALOGUE: dict[str, tuple[Callable[[ServingInstance], Priority], int | None]] = {
    "fcfs": (lambda inst: _COMPILED["fcfs"], 0),
    "sarathi": (lambda inst: _COMPILED["fcfs"], SARATHI_CHUNK),
    "spf": (lambda inst: _COMPILED["spf"], None),
    "las": (lambda inst: _COMPILED["las"], None),
    "srpt_oracle": (oracle_priority, None),
    "srpt_noisy": (noisy_priority, None),
}

ORACLE_HEURISTICS = ("srpt_oracle", "srpt_noisy")
"""Heuristics using output lengths (not deployable, not exportable)."""


def heuristic_chunk(name: str) -> int | None:
    """The chunk size heuristic ``name`` runs with (None: the scenario's).

    Raises
    ------
    KeyError
        For an unknown name.
    """
    try:
        return _CATALOGUE[name][1]
    except KeyError:
        raise KeyError(f"unknown heuristic {name!r} (known: {', '.join(_CATALOGUE)})") from None


def heuristic_server(name: str, instance: ServingInstance) -> ServerConfig:
    """The server a heuristic runs on: the scenario's, or with its own chunk size."""
    chunk = heuristic_chunk(name)
    server = instance.scenario.server
    return server if chunk is None or chunk == server.chunk_size else server.with_chunk(chunk)


def run_heuristic(name: str, instance: ServingInstance) -> Schedule:
    """Simulate ``instance`` with heuristic ``name``."""
    try:
        factory, _ = _CATALOGUE[name]
    except KeyError:
        raise KeyError(f"unknown heuristic {name!r} (known: {', '.join(_CATALOGUE)})") from None
    return run_policy(instance, factory(instance), heuristic_server(name, instance))


HEURISTICS: Mapping[str, Callable[[ServingInstance], Schedule]] = MappingProxyType(
    {name: partial(run_heuristic, name) for name in _CATALOGUE})
"""Heuristic name → ``callable(instance) -> Schedule``."""


def policy_source(name: str) -> tuple[str, int | None]:
    """Source and chunk size (None: the scenario's) of an exportable heuristic.

    Raises
    ------
    KeyError
        For an unknown name, or an oracle heuristic (it needs the output lengths).
    """
    if name in ORACLE_HEURISTICS:
        raise KeyError(f"{name} uses the true output lengths, which a deployed server does "
                       "not know; it is a reference, not an exportable policy")
    if name not in _CATALOGUE:
        raise KeyError(f"unknown heuristic {name!r} (known: {', '.join(_CATALOGUE)})")
    base = "fcfs" if name == "sarathi" else name
    return POLICY_SOURCES[base], _CATALOGUE[name][1]
