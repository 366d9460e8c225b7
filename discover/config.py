"""Run configuration: a TOML file ⇄ frozen dataclasses, validated on construction.

Every setting of ``discover run`` lives here with a documented default;
command-line flags override the file (:func:`RunConfig.with_overrides`), and
``discover config --show`` prints the effective configuration as TOML. How any
such dataclass is read from and written to TOML is :mod:`discover.settings.codec`
(its names are re-exported here).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from discover.executors.spec import ExecutorSpec
from discover.settings.codec import (
    ConfigError,
    deep_merge,
    dump_toml,
    field_docs,
    from_plain,
    read_toml,
    to_plain,
)
from evaluators.bundled import UnknownDataset, find_set, is_set_name

__all__ = ["OPERATORS", "ConfigError", "EvaluationConfig", "LlmConfig", "ModelSpec", "Price",
           "RunConfig", "SearchConfig", "dump_toml", "field_docs", "read_toml"]

OPERATORS = ("new_idea", "crossover", "modify", "tune", "simplify")



@dataclass(frozen=True)
class ModelSpec:
    """One model in the pool: ``provider:model`` and its sampling weight."""

    spec: str = "auto"
    """``provider:model``, ``offline`` (built-in engine) or ``auto`` (an LLM when
    OPENAI_API_KEY or ANTHROPIC_API_KEY is set, else offline)."""
    weight: float = 1.0
    """Relative probability of asking this model."""
    base_url: str | None = None
    """API base URL (local servers, proxies, gateways)."""

    def __post_init__(self) -> None:
        if self.weight <= 0:
            raise ConfigError(f"model weight must be positive, got {self.weight}")
        if self.spec not in ("offline", "auto") and ":" not in self.spec:
            raise ConfigError(
                f"model {self.spec!r} must look like provider:model "
                "(openai:..., anthropic:..., openai-compatible:...) or be 'offline'"
            )


@dataclass(frozen=True)
class Price:
    """Dollars per million input and output tokens."""

    input: float
    output: float


@dataclass(frozen=True)
class LlmConfig:
    """Model providers: which models, how to call them, what they may cost."""

    models: tuple[ModelSpec, ...] = (ModelSpec(),)
    """Model pool; ``offline`` is the built-in engine (the default with no API key)."""
    api_key_env: str | None = None
    """Environment variable holding the key (default OPENAI_API_KEY / ANTHROPIC_API_KEY)."""
    temperature: float = 1.0
    """Sampling temperature sent to the models."""
    max_tokens: int = 4096
    """Longest answer requested from a model, in tokens."""
    request_timeout: float = 120.0
    """Seconds before one request is abandoned."""
    max_attempts: int = 5
    """Attempts per request (retries back off exponentially and honour Retry-After)."""
    max_consecutive_failures: int = 5
    """Requests failing in a row (after retries) before the run stops with an error."""
    concurrency: int = 4
    """Model requests in flight at once."""
    max_tokens_total: int | None = None
    """Stop when input + output tokens reach this many."""
    max_dollars: float | None = None
    """Stop when the accounted cost reaches this many dollars."""
    diff_probability: float = 0.3
    """Share of modify prompts asking for SEARCH/REPLACE edits instead of a full rewrite."""
    prices: Mapping[str, Price] = field(default_factory=dict)
    """Price table by model name, ``$`` per million tokens."""

    def __post_init__(self) -> None:
        if not self.models:
            raise ConfigError("llm.models must name at least one model")
        if self.max_attempts < 1 or self.max_consecutive_failures < 1 or self.concurrency < 1:
            raise ConfigError(
                "llm.max_attempts, max_consecutive_failures and concurrency must be >= 1"
            )
        if not 0 <= self.diff_probability <= 1:
            raise ConfigError("llm.diff_probability must lie in [0, 1]")

    @property
    def offline(self) -> bool:
        """True when the only model is the built-in offline engine."""
        return all(m.spec == "offline" for m in self.models)

    @property
    def specs(self) -> tuple[str, ...]:
        """The model specs, in pool order."""
        return tuple(m.spec for m in self.models)


@dataclass(frozen=True)
class EvaluationConfig:
    """Training and validation instances, the cascade and the score."""

    train_n: int = 20
    """Jobs per generated training instance."""
    train_per_class: int = 5
    """Training instances per (RDD, TF) class (20 classes)."""
    train_seed: int = 12345
    """Seed of the training set (fixed, so runs with different --seed share it)."""
    train_extra_n: int = 0
    """Jobs per instance of a second, larger training family (0: none). Small training
    instances let thousands of candidates be scored, but rules tuned to them only; a few
    instances of the target size keep the training score honest about scaling."""
    train_extra_per_class: int = 1
    """Instances of the larger family per class (drawn from their own seed)."""
    train_sizes: tuple[int, ...] = ()
    """Further training sizes, each a family of ``train_sizes_per_class`` instances per
    class from its own seed: a rule must work at every size, not only at ``train_n``."""
    train_sizes_per_class: int = 1
    """Instances per class of each family in ``train_sizes``."""
    score: str = "gap"
    """Training score (lower is better): ``gap`` (mean relative gap, %), ``ratio`` (the
    aggregate gap 100·(ΣH/Σref − 1) of each training size, averaged over the sizes) or
    ``mix`` (the mean of the two) or ``balanced`` (as ``mix``, with the mean gap also
    taken per size and averaged over the sizes). The mean gap is dominated by instances
    with small reference values; the aggregate gap ignores them; the mix keeps both
    honest. Pooled over sizes, the mean gap is decided by the most numerous size. The
    mean gap is archived beside the score whatever this says."""
    reference: str = "auto"
    """Reference method for training optima (auto: dp for n ≤ 22, exact above)."""
    probe_count: int = 10
    """Instances in the probe stage of the cascade (and the behavioural fingerprint)."""
    validation: tuple[str, ...] = ("smtt:n100",)
    """Instance files or bundled sets (``PROBLEM:SET``, see ``discover datasets``) of the
    validation split (stored optima)."""
    validate_top: int = 5
    """How many of the best training programs are scored on validation at the end."""
    validate_every: int = 200
    """Score the current best on validation every this many evaluations (0: only at the end)."""
    candidate_time_limit: float = 20.0
    """Wall seconds for one candidate on the whole training set."""
    runtime_cap: float = 10.0
    """Candidates slower than this multiple of the runtime reference (runtime_reference) are
    rejected."""
    train_params: Mapping[str, Any] = field(default_factory=dict)
    """Extra generator parameters of the training family (e.g. ``machines`` for jssp)."""
    reference_time_limit: float | None = None
    """Seconds per training instance for time-limited reference methods (cpsat, mip)."""
    runtime_reference: str = "mdd"
    """Seed program whose runtime sets the cap (runtime_cap × its mean seconds), and the
    reference rule programs are compared with: the selection bar and the validation
    wins/losses use the problem's heuristic ``problem.reference_heuristic(runtime_reference)``
    (the rule itself, or ``mwkr_active`` for ``jssp-active``'s ``mwkr``)."""
    timing_n: int = 0
    """Size of the timing instances of the runtime gate at scale (0: no such gate). The
    training set's per-instance time is dominated by its smallest instances and the
    child's start-up, so extra work that grows with n (wide improvement passes, pool
    statistics per decision) only shows on larger instances (:mod:`discover.search.timing`)."""
    timing_count: int = 2
    """Timing instances (generated, spread over the generator's classes)."""
    timing_cap: float = 2.0
    """Candidates whose steps on the timing instances (bytecode instructions of the lines they run:
    a count that does not depend on the machine) exceed this multiple of the runtime
    reference's (``runtime_reference``) are rejected as too slow."""
    selection_n: int = 0
    """Size of the generated instances of the selection split (0: no selection split).
    Which of the best training programs are validated (and so exported) is decided on
    this split: training instances are small, and the training ranking does not carry
    over to larger instances. Its references are exact and cached like the training
    ones; it never uses the validation files."""
    selection_per_class: int = 1
    """Selection instances per instance class (per generated instance without classes)."""
    selection_extra_n: int = 0
    """Size of a second family of the selection split (0: none), drawn from its own seed
    (``[selection_seed, selection_extra_n]``), references computed like the first's. The
    programs are ranked, and held to the reference rule's bar, on both families
    together: a handful of instances per class at ``selection_n`` can miss the rare
    instances with small reference values that decide the mean gap of a fresh set
    (:mod:`discover.splits.selection`)."""
    selection_extra_per_class: int = 1
    """Instances per class of the second selection family (``selection_extra_n``)."""
    selection_seed: int = 54321
    """Seed of the selection split (fixed, and different from train_seed)."""
    selection_top: int = 20
    """How many of the best training programs are scored on the selection split."""
    selection_metric: str = "ratio"
    """What ranks them there: ``ratio`` (ΣH/Σref, ties by mean gap) or ``gap`` (mean gap).
    The mean gap of a few hundred instances is dominated by those with tiny optima and
    ranks close programs by noise; the aggregate ratio ranks them far more consistently
    (rank correlation with the gap on ``n100.json`` 0.4–0.9 against −0.3–0.7)."""

    def __post_init__(self) -> None:
        if self.train_n < 1 or self.train_per_class < 1:
            raise ConfigError("evaluation.train_n and train_per_class must be >= 1")
        if self.train_extra_n < 0 or self.train_extra_per_class < 1:
            raise ConfigError("evaluation.train_extra_n must be >= 0 and "
                              "train_extra_per_class >= 1")
        if any(n < 1 for n in self.train_sizes) or self.train_sizes_per_class < 1:
            raise ConfigError("evaluation.train_sizes must be >= 1 and "
                              "train_sizes_per_class >= 1")
        if self.score not in ("gap", "ratio", "mix", "balanced"):
            raise ConfigError("evaluation.score must be gap, ratio, mix or balanced, "
                              f"got {self.score!r}")
        if self.selection_metric not in ("ratio", "gap"):
            raise ConfigError(f"evaluation.selection_metric must be ratio or gap, got "
                              f"{self.selection_metric!r}")
        if self.selection_n < 0 or self.selection_per_class < 1 or self.selection_top < 1:
            raise ConfigError("evaluation.selection_n must be >= 0, selection_per_class and "
                              "selection_top >= 1")
        if self.selection_extra_n < 0 or self.selection_extra_per_class < 1:
            raise ConfigError("evaluation.selection_extra_n must be >= 0 and "
                              "selection_extra_per_class >= 1")
        if self.probe_count < 1:
            raise ConfigError("evaluation.probe_count must be >= 1")
        for entry in self.validation:
            # A misspelt set name is an error now, not a skipped file after the run.
            if is_set_name(entry):
                try:
                    find_set(entry)
                except UnknownDataset as exc:
                    raise ConfigError(f"evaluation.validation: {exc}") from None
        if self.candidate_time_limit <= 0 or self.runtime_cap <= 0:
            raise ConfigError("evaluation time limits must be positive")
        if self.timing_n < 0 or self.timing_count < 1 or self.timing_cap <= 0:
            raise ConfigError("evaluation.timing_n must be >= 0, timing_count >= 1 and "
                              "timing_cap > 0")


@dataclass(frozen=True)
class SearchConfig:
    """The evolutionary search."""

    islands: int = 4
    """Independent sub-populations (FunSearch islands)."""
    reset_interval: int = 400
    """Evaluations between resets of the weakest half of the islands."""
    temperature_init: float = 0.1
    """Initial softmax temperature over cluster ranks when sampling parents."""
    temperature_period: int = 1000
    """Registrations per island over which the temperature decays, then restarts."""
    operators: Mapping[str, float] = field(
        default_factory=lambda: {"new_idea": 1.0, "crossover": 1.0, "modify": 2.0,
                                 "tune": 1.0, "simplify": 0.5}
    )
    """Operator weights (new_idea, crossover, modify, tune, simplify)."""
    reflection_every: int = 20
    """Update the long-term reflection every this many LLM proposals (0: off)."""
    in_flight: int = 0
    """Candidates proposed and evaluated at once (0: twice the workers; with language
    models at least llm.concurrency). Same seed and in_flight: same programs."""
    tune_top: int = 10
    """A ``tune`` slot whose parent is among this many best programs (and was not tuned
    before) tunes the parent's literals with Nelder–Mead on the probe instances
    instead of asking the proposer (0: never)."""
    tune_evaluations: int = 24
    """Probe evaluations one numeric tuning may spend."""

    def __post_init__(self) -> None:
        if self.islands < 1:
            raise ConfigError("search.islands must be >= 1")
        unknown = set(self.operators) - set(OPERATORS)
        if unknown:
            raise ConfigError(f"search.operators: unknown {sorted(unknown)}; known {OPERATORS}")
        if not any(w > 0 for w in self.operators.values()):
            raise ConfigError("search.operators needs at least one positive weight")
        if self.tune_top < 0 or self.tune_evaluations < 2:
            raise ConfigError("search.tune_top must be >= 0 and tune_evaluations >= 2")


@dataclass(frozen=True)
class RunConfig:
    """Everything ``discover run`` decides from; snapshotted into the archive."""

    problem: str = "smtt"
    budget: int = 2000
    """Evaluations, seeds included (failures count; duplicates are recorded, not counted)."""
    time_limit: float | None = None
    """Wall seconds for the run (None: no limit): model calls and evaluations in flight at
    the limit are cut and archived as cancelled, and the final validation is skipped, so that
    the run ends within seconds of the limit (``discover run`` counts from its start)."""
    seed: int = 0
    """Seed of the search (the training set has its own, evaluation.train_seed)."""
    workers: int = 2
    """Sandbox worker processes (one per core)."""
    sandbox: str = "auto"
    """auto (degrade with a warning), strict (refuse without full isolation), none."""
    executor: str = "local"
    """Where candidates run: local (this machine's sandbox pool), dask://HOST:PORT (the
    sandboxes of a running Dask cluster's workers) or dask-local:N (N local Dask workers)."""
    archive: str | None = None
    """SQLAlchemy URL (default sqlite:///runs/discover.sqlite)."""
    prompts: str | None = None
    """Directory of Jinja2 templates overriding the packaged ones."""
    llm: LlmConfig = field(default_factory=LlmConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    search: SearchConfig = field(default_factory=SearchConfig)

    def __post_init__(self) -> None:
        if self.budget < 1:
            raise ConfigError(f"budget must be >= 1, got {self.budget}")
        if self.workers < 1:
            raise ConfigError(f"workers must be >= 1, got {self.workers}")
        if self.sandbox not in ("auto", "strict", "none"):
            raise ConfigError(f"sandbox must be auto, strict or none, got {self.sandbox!r}")
        if self.time_limit is not None and self.time_limit <= 0:
            raise ConfigError("time_limit must be positive")
        try:
            ExecutorSpec.parse(self.executor)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    # -- conversion -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (JSON/TOML friendly)."""
        return to_plain(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<config>") -> RunConfig:
        """Build from a nested mapping, naming the offending key on error."""
        return from_plain(cls, data, source, "")

    @classmethod
    def load(cls, path: str | Path | None = None, *, problem: str | None = None) -> RunConfig:
        """Layer defaults, the problem's own defaults, then a TOML file.

        Parameters
        ----------
        path
            TOML file (optional); errors name the file and the key (or line).
        problem
            Problem whose :data:`run_defaults` apply (default: the file's
            ``problem`` key, else ``smtt``); a file value still wins.
        """
        data = read_toml(path) if path is not None else {}
        name = problem or str(data.get("problem", "smtt"))
        base = cls.for_problem(name).to_dict()
        return cls.from_dict(deep_merge(base, data), str(path or "<defaults>"))

    @classmethod
    def for_problem(cls, problem: str) -> RunConfig:
        """The defaults, adjusted by the problem's ``run_defaults`` (dotted keys)."""
        from evaluators.registry import get_problem

        try:
            defaults = dict(get_problem(problem).run_defaults)
        except KeyError as exc:
            raise ConfigError(str(exc.args[0])) from None
        return cls(problem=problem).with_overrides(**defaults)

    def with_overrides(self, **overrides: Any) -> RunConfig:
        """A copy with top-level or dotted (``"llm.max_dollars"``) keys replaced.

        ``None`` values are skipped, so unset command-line flags keep the file's value.
        """
        data = self.to_dict()
        for key, value in overrides.items():
            if value is None:
                continue
            node = data
            *parents, leaf = key.split(".")
            for part in parents:
                node = node[part]
            node[leaf] = to_plain(value)
        return RunConfig.from_dict(data, "<command line>")

    def to_toml(self) -> str:
        """The configuration as TOML, each section a table, each key with its documentation."""
        docs = field_docs(type(self))
        # The generic comments are written for SMTT (classes, optima); a problem may
        # say what the keys mean for it (jssp has no classes, serving no optima).
        docs.update(_problem_docs(self.problem))
        return dump_toml(self.to_dict(), docs)


def _problem_docs(name: str) -> Mapping[str, str]:
    from evaluators.registry import get_problem

    try:
        problem = get_problem(name)
    except KeyError:
        return {}
    return dict(problem.config_docs)


