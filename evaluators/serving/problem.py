"""LLM-serving request scheduling as a :class:`evaluators.base.Problem`.

A candidate defines ``priority(request, state)``; a fixed batch builder inside
the simulator (:mod:`evaluators.serving.engine`) admits requests in priority order
and preempts the lowest first. The simulator runs in the sandbox and returns its
decision log; the trusted side replays the log (:mod:`evaluators.serving.replay`)
and scores the replay's own latencies (:mod:`evaluators.serving.metrics`).

Caveat on trust: the simulator needs the output lengths to know when requests
finish, so they are in the sandbox child's memory. The replay guarantees that a
schedule is one the fixed builder can produce and that every latency is computed
by the trusted side; it cannot stop a candidate that subverts the interpreter
from *reading* the output lengths (the pre-check refuses the usual routes:
frame and dunder introspection).
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evaluators.base import (
    CandidateSpec,
    Failure,
    GeneratorSpec,
    InstanceError,
    Reference,
    ReferenceRole,
    Status,
)
from evaluators.bundled import expand, resolve_file
from evaluators.contract import ExportContract
from evaluators.problem_base import ProblemBase
from evaluators.serving.export import standalone_source
from evaluators.serving.generate import BurstyFamily, generate_window
from evaluators.serving.instance import Scenario, ServingInstance
from evaluators.serving.metrics import RequestMetrics, Summary, isolation_bound, objective
from evaluators.serving.policies import (
    HEURISTICS,
    POLICY_SOURCES,
    SIGNATURE,
    heuristic_chunk,
    policy_source,
)
from evaluators.serving.replay import Schedule, validate_log
from evaluators.serving.spec import load_spec, scenario_from
from evaluators.serving.workloads import at_rate, read_trace, trace_windows, window_starts

DESCRIPTION = """\
Request scheduling in an LLM inference server (one GPU replica serving Llama-2-7B with
continuous batching, simulated on real request traces). Requests arrive over time, each
with a prompt (prefilled in one pass or in chunks) and an output generated one token per
iteration. Every iteration, a fixed batch builder runs all decoding requests and admits
waiting requests in the order of a priority function, as long as the iteration's token
budget, the batch size cap and the KV cache (memory growing with every token) allow;
when the cache runs out it preempts running requests, lowest priority first, and they
must later recompute their prompt. The goal is to maximise the share of requests that
meet both latency targets: time to first token (TTFT) within 1 s and time per output
token (TPOT) within 0.1 s; the score is the percentage of requests missing them (lower
is better). Output lengths are unknown to the policy. Good policies favour requests that
are cheap to start (short prompts) without starving long ones, and avoid preempting
requests that hold a lot of cache. The priority function is called for every queued
request at every decision, so it must be cheap.
"""

DOCSTRING = """\
Return the priority of one request; the LARGEST value is admitted first and the
SMALLEST is preempted first when memory runs out (ties: the earlier arrival is
admitted first and the later one preempted first).

Args:
    request: the request, with attributes
        waiting_time (float): seconds since it arrived.
        prompt_tokens (int): prompt length in tokens.
        generated_tokens (int): output tokens generated so far.
        prefill_done (bool): True while it is decoding (its prompt is in the cache).
        preemptions (int): times it was preempted (and must recompute) so far.
        kv_blocks (int): KV-cache blocks it holds now (0 while waiting; 16 tokens each).
        id (int): its index in arrival order.
    state: the server, with attributes
        time (float): seconds since the window started.
        waiting (int): requests waiting to be admitted (including preempted ones).
        running (int): requests holding KV cache (prefilling or decoding).
        free_blocks (int): free KV-cache blocks.
        total_blocks (int): KV-cache blocks in all.

Returns:
    A number (int or float, not NaN). Larger means served first.
"""

SEED_PROGRAMS: Mapping[str, str] = dict(POLICY_SOURCES)

FEATURE_VOCABULARY = (
    "request.waiting_time",
    "request.prompt_tokens",
    "request.generated_tokens",
    "request.preemptions",
    "request.kv_blocks",
    "request.prefill_done",
    "state.time",
    "state.waiting",
    "state.running",
    "state.free_blocks",
    "-request.prompt_tokens",
    "-request.generated_tokens",
    "request.prompt_tokens + request.generated_tokens",
    "request.waiting_time / (1.0 + request.prompt_tokens)",
    "1.0 / (1.0 + request.prompt_tokens)",
    "math.log(1.0 + request.prompt_tokens)",
    "request.waiting_time * 1000.0",
    "state.free_blocks / state.total_blocks",
    "request.kv_blocks * 16 - request.prompt_tokens",
)

ORACLE = "oracle"
BEST_KNOWN = "best_known"
DEFAULT_CONV = "serving:conv"
"""The default training trace (bundled)."""


class ServingProblem(ProblemBase):
    """Serving scheduling; candidates are ``priority(request, state)`` policies.

    Parameters
    ----------
    scenario
        Server (cost model, KV cache, batch builder chunk size), SLO targets and
        score (default: A100, chunked prefill of 512, TTFT 1 s, TPOT 0.1 s, SLO score).
    window
        Requests per window when a trace CSV is loaded.
    windows
        Windows per trace CSV (evenly spaced over the trace).
    load
        Load (fraction of a window's saturation throughput) for loaded traces.
    rate
        Request rate (req/s) for loaded traces instead of ``load``.
    """

    name = "serving"
    description = DESCRIPTION
    candidate_spec = CandidateSpec(
        function_name="priority",
        parameters=("request", "state"),
        signature=SIGNATURE,
        docstring=DOCSTRING,
        harness="evaluators.serving.harness",
        feature_vocabulary=FEATURE_VOCABULARY,
        policy=True,
    )
    seed_programs = SEED_PROGRAMS
    summary_heuristics = ("fcfs", "sarathi", "spf", "srpt_oracle")
    """Classic policies shown beside discovered ones at the end of a run."""
    data_package = "evaluators.serving"
    config_docs: Mapping[str, str] = {
        # What the run configuration's keys mean for serving (``discover config``).
        "evaluation.train_n": "Requests per generated training window.",
        "evaluation.train_per_class": "Generated training windows in all (alternating "
                                      "synthetic bursts and trace windows; no classes).",
        "evaluation.train_extra_n": "Requests per window of a second, larger training family "
                                    "(0: none).",
        "evaluation.train_extra_per_class": "Windows of the larger family (drawn from their "
                                            "own seed).",
        "evaluation.reference": "Reference policy for training (oracle: shortest remaining "
                                "output first, knowing the true lengths). A reference score, "
                                "not a bound: policies may beat it; results are ratios to it.",
        "evaluation.validation": "Workload files of the validation split (each window scored "
                                 "against the reference score).",
        "evaluation.selection_per_class": "Selection windows in all (no classes).",
        "evaluation.selection_extra_per_class": "Windows of the second selection family in "
                                                "all (no classes).",
        "evaluation.selection_metric": "What ranks them there: ``ratio`` (ΣH/Σref) or ``gap`` "
                                       "(mean relative difference to the reference score).",
    }
    run_defaults: Mapping[str, Any] = {
        # Training: 1000-request windows at 80-100 % of capacity, alternating synthetic
        # bursts (Gamma inter-arrivals, cv 2 and 4) and the conversation trace's first
        # half; validation: its second half and the code trace (never seen), each
        # window scored against the oracle (shortest remaining output, true lengths).
        "evaluation.train_n": 1000,
        "evaluation.train_per_class": 8,
        "evaluation.reference": ORACLE,
        "evaluation.probe_count": 2,
        "evaluation.validation": ("serving:conv-second-half", "serving:code-windows"),
        "evaluation.runtime_reference": "fcfs",
        "evaluation.candidate_time_limit": 60.0,
    }
    heuristics: Mapping[str, Callable[[ServingInstance], Sequence[int]]] = HEURISTICS
    reference_role = ReferenceRole.SCORE
    reference_methods: tuple[str, ...] = (ORACLE, BEST_KNOWN)

    def __init__(self, scenario: Scenario | None = None, *, window: int = 2000,
                 windows: int = 4, load: float | None = 0.9, rate: float | None = None
                 ) -> None:
        self.scenario = scenario or Scenario()
        if rate is not None:
            load = None
        if (rate is None) == (load is None):
            raise ValueError("give a load or a rate")
        self.window, self.windows, self.load_factor, self.rate = window, windows, load, rate

    OPTIONS = ("cost", "chunk_size", "batch_cap", "max_batch_tokens", "watermark",
               "max_request_tokens", "ttft_slo", "tpot_slo", "score", "window", "windows",
               "load", "rate")
    """Keys :meth:`from_options` accepts (plain values, e.g. from a CLI or a TOML table)."""

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> ServingProblem:
        """A problem from plain options: ``cost`` (``"a100"``, ``"h100"`` or a JSON path),
        ``chunk_size`` (0: vLLM builder), ``batch_cap``, ``max_batch_tokens``,
        ``watermark``, ``max_request_tokens``, ``ttft_slo``/``tpot_slo`` (s), ``score``
        (``slo``, ``mean_latency``, ``p99_latency``, ``mean_ttft``, ``p99_ttft``,
        ``p99_tpot``), ``window``/``windows`` (trace CSVs), ``load`` or ``rate``.

        Raises
        ------
        ValueError
            Naming an unknown key or a bad value.
        """
        unknown = sorted(set(options) - set(cls.OPTIONS))
        if unknown:
            raise ValueError(f"unknown serving option {unknown[0]!r} "
                             f"(known: {', '.join(cls.OPTIONS)})")
        scenario_keys = set(cls.OPTIONS[:9])
        scenario = scenario_from({k: v for k, v in options.items() if k in scenario_keys},
                                 Scenario())
        rest = {k: options[k] for k in ("window", "windows") if k in options}
        rate = options.get("rate")
        load = None if rate is not None else options.get("load", 0.9)
        return cls(scenario, rate=None if rate is None else float(rate),
                   load=None if load is None else float(load),
                   **{k: int(v) for k, v in rest.items()})

    # -- instances -------------------------------------------------------------------------
    def load(self, path: str | Path) -> list[ServingInstance]:
        """A trace CSV (``windows`` windows at the problem's load or rate), a workload
        JSON, a directory (every ``*.csv`` and ``*.json`` in it, sorted by name), or a
        bundled set of either (``"serving:conv"``, ``"serving:code-windows"``)."""
        return [inst for p in expand(path, self.name) for inst in self._load_file(p)]

    def _load_file(self, path: Path) -> list[ServingInstance]:
        if path.is_dir():
            files = sorted(f for f in path.iterdir()
                           if f.is_file() and f.suffix.lower() in (".csv", ".json"))
            if not files:
                raise InstanceError(path, "directory holds no traces (*.csv) or workload "
                                          "files (*.json)")
            return [inst for f in files for inst in self._load_file(f)]
        if path.suffix.lower() == ".json":
            return load_spec(path, self.scenario,
                             lambda inst, method: self.reference(inst, method).objective)
        trace = read_trace(path)
        count = max(1, min(self.windows, trace.size // self.window))
        return trace_windows(trace, self.scenario, window=min(self.window, trace.size),
                             count=count, rates=[self.rate] if self.rate else [],
                             loads=[self.load_factor] if self.load_factor else [])

    def generate(self, spec: GeneratorSpec, rng: np.random.Generator) -> list[ServingInstance]:
        """``spec.count`` training windows of ``spec.n`` requests.

        ``spec.params``: ``source`` — ``"bursty"`` (synthetic Gamma arrivals),
        ``"trace"`` (random windows of ``trace``, default the conversation trace,
        within ``span``, default its first half) or ``"mix"`` (default: alternating,
        synthetic first; synthetic only, with a warning, when the trace is missing);
        ``cv`` (default alternating 2 and 4), ``load`` (default drawn from
        [``load_low``, ``load_high``] = [0.8, 1.0]) or ``rate``.
        """
        params = dict(spec.params)
        source = str(params.get("source", "mix"))
        if source not in ("mix", "bursty", "trace"):
            raise ValueError(f"unknown source {source!r} (mix, bursty or trace)")
        trace_path = resolve_file(params.get("trace", DEFAULT_CONV), self.name)
        trace = None
        if source != "bursty":
            if trace_path.is_file():
                trace = read_trace(trace_path)
            elif source == "trace":
                raise FileNotFoundError(f"training trace {trace_path} not found")
            else:
                warnings.warn(f"training trace {trace_path} not found; synthetic windows only",
                              stacklevel=2)
        span = tuple(params.get("span", (0.0, 0.5)))
        out = []
        for k in range(spec.count):
            rate = params.get("rate")
            load = None if rate is not None else float(params.get("load", rng.uniform(
                float(params.get("load_low", 0.8)), float(params.get("load_high", 1.0)))))
            use_trace = trace is not None and (source == "trace" or k % 2 == 1)
            if use_trace:
                assert trace is not None
                lo, hi = window_starts(trace.size, spec.n, 2, (span[0], span[1]))
                start = int(rng.integers(lo, hi + 1))
                sl = slice(start, start + spec.n)
                name = f"{trace.path.stem.removeprefix('splitwise_')}[{start}:{start + spec.n}]"
                out.append(at_rate(name, trace.arrival[sl], trace.prompt[sl], trace.output[sl],
                                   self.scenario, rate=rate, load=load,
                                   meta={"trace": str(trace.path), "start": start}))
            else:
                cv = float(params.get("cv", 2.0 if k % 4 < 2 else 4.0))
                family = BurstyFamily(requests=spec.n, rate=rate, load=load, cv=cv)
                out.append(generate_window(family, self.scenario, rng, f"{family.label}#{k}"))
        return out

    def payload(self, instance: ServingInstance) -> dict[str, Any]:
        """Requests and server for the harness."""
        return instance.payload()

    # -- scoring ---------------------------------------------------------------------------
    def validate(self, instance: ServingInstance, raw_output: object) -> Schedule | Failure:
        """Replay the decision log on the instance's server (every budget re-enforced)."""
        return validate_log(instance, raw_output)

    def objective(self, instance: ServingInstance, solution: Sequence[int]) -> float:
        """The scenario's score of a schedule (default: % of requests missing an SLO)."""
        return objective(self._schedule(instance, solution).result, instance.scenario)

    def metrics(self, instance: ServingInstance, solution: Sequence[int]) -> Summary:
        """Every metric of a schedule (TTFT, TPOT, latency, attainment, throughput, ...)."""
        return RequestMetrics(self._schedule(instance, solution).result,
                              instance.scenario).summary()

    def _schedule(self, instance: ServingInstance, solution: Sequence[int]) -> Schedule:
        if isinstance(solution, Schedule) and solution.fingerprint == instance.fingerprint:
            return solution  # a heuristic's own run, or an already replayed log
        checked = validate_log(instance, list(solution))
        if isinstance(checked, Failure):
            raise ValueError(f"not a valid decision log: {checked}")
        return checked

    def reference(self, instance: ServingInstance, method: str,
                  time_limit: float | None = None) -> Reference:
        """``"oracle"``: shortest remaining output first with the true lengths, or
        ``"best_known"``: the best of every classic heuristic, oracle included.

        Neither is an optimum (a policy may beat both): the status is ``feasible``;
        the lower bound is the no-contention bound (each request served alone).
        """
        if method not in self.reference_methods:
            raise KeyError(f"unknown reference method {method!r} "
                           f"(known: {', '.join(self.reference_methods)})")
        start = time.perf_counter()
        names = ["srpt_oracle"] if method == ORACLE else list(self.heuristics)
        values = [self.objective(instance, self.heuristics[n](instance)) for n in names]
        best = min(range(len(values)), key=values.__getitem__)
        bound = isolation_bound(instance)
        return Reference(objective=values[best], lower_bound=min(bound, values[best]),
                         status=Status.FEASIBLE, method=f"{method}:{names[best]}",
                         seconds=time.perf_counter() - start)

    def stored_reference(self, instance: ServingInstance) -> float | None:
        """The reference a workload file declared for the window (computed when loaded)."""
        value = instance.meta.get("reference")
        return None if value is None else float(value)

    # -- export ----------------------------------------------------------------------------
    def for_heuristic(self, name: str) -> ServingProblem:
        """This problem on the server heuristic ``name`` runs on (its own chunk size).

        vLLM's FCFS builds batches without chunked prefill (chunk 0) while the default
        scenario chunks at 512: a self-check that generated its instances with the
        scenario's server would compare the heuristic against a different server.
        """
        chunk = heuristic_chunk(name)
        if chunk is None or chunk == self.scenario.server.chunk_size:
            return self
        scenario = dataclasses.replace(self.scenario,
                                       server=self.scenario.server.with_chunk(chunk))
        return ServingProblem(scenario, window=self.window, windows=self.windows,
                              load=self.load_factor, rate=self.rate)

    def baseline_source(self, name: str) -> str:
        """Standalone module (simulator + policy + ``serve``) of a deployable heuristic."""
        code, chunk = policy_source(name)
        server = self.scenario.server if chunk is None else self.scenario.server.with_chunk(chunk)
        return standalone_source(code, server.to_wire(), self.scenario.ttft_slo,
                                 self.scenario.tpot_slo, title=name)

    def standalone_source(self, code: str) -> str:
        """Standalone module for a discovered ``priority`` program (export contract)."""
        s = self.scenario
        return standalone_source(code, s.server.to_wire(), s.ttft_slo, s.tpot_slo)

    def export_contract(self) -> ExportContract:
        """Call adapter (the batching simulator), standalone score and samples."""
        from evaluators.serving.export import CALL_SOURCE, OBJECTIVE_SOURCE, export_samples

        return ExportContract(
            problem="serving",
            title="LLM-serving request scheduling (a priority policy in a batching simulator)",
            objective_label="score",
            call_source=CALL_SOURCE,
            objective_source=OBJECTIVE_SOURCE,
            samples=export_samples,
        )
