"""A synthetic but realistic discovery run, written through the store API.

The browser's tests and its benchmark need archives shaped like the loop's: SMTT
programs that really parse and differ from their parents by small edits, lineage
with mutation, crossover and inspiration edges across islands, train evaluations
with per-instance results (and some failures of every kind), duplicates,
validation evaluations added later for the best programs, model calls with full
prompts and responses (some retried, some without a program), and the classic
heuristics' scores in the run's config snapshot under ``"baselines"``.

Scores are drawn, not measured: nothing here runs the programs. The content is
deterministic given the ``numpy.random.Generator`` passed in.

Examples
--------
>>> import numpy as np
>>> from archive import Archive
>>> with Archive.open("sqlite://") as store:
...     run = build_run(store, SyntheticSpec(programs=30), np.random.default_rng(1))
...     len(run.program_ids)
30
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from archive.hashing import code_hash
from archive.records import (
    EdgeRole,
    Evaluation,
    EvaluationStatus,
    InstanceResult,
    ModelCall,
    Parent,
    Program,
    RunStatus,
    Split,
)
from archive.store import Archive
from tests.archive.browser.synthetic_code import (
    FAILURES,
    HOSTILE,
    Genome,
    crossover,
    describe,
    mutate,
    prompt_for,
    render,
    response_for,
    seed_genomes,
)

__all__ = ["HOSTILE", "SyntheticRun", "SyntheticSpec", "build_run"]

BASELINES = (
    # name, train gap %, validation gap %, seconds per instance
    ("edd", 31.0, 34.5, 2.1e-5),
    ("mdd", 7.9, 8.6, 6.0e-5),
    ("psk", 6.4, 7.1, 8.5e-5),
    ("mddc", 4.9, 5.6, 9.0e-4),
    ("aug_mddc", 3.2, 3.8, 4.2e-3),
)
_OPERATORS = ("modify", "modify", "tune", "crossover", "new_idea", "simplify")


@dataclass(frozen=True)
class SyntheticSpec:
    """Shape of a synthetic run.

    Parameters
    ----------
    programs
        Programs recorded, duplicates and failures included (seeds count).
    islands
        Islands of the population.
    batch
        Programs per generation.
    train_instances, validation_instances
        Per-instance results in each train and validation evaluation.
    validate_every
        Evaluated programs between validations of the best-so-far program.
    failure_rate, duplicate_rate, orphan_rate
        Shares of failed evaluations, duplicates, and model calls that gave no program.
    model
        ``provider/model`` of the calls.
    baselines
        Store the classic heuristics' scores in the config snapshot.
    hostile
        Add one program whose code, idea, prompt, response, errors and instance
        names carry HTML and ``</script>`` payloads (:data:`HOSTILE`).
    """

    programs: int = 10_000
    islands: int = 4
    batch: int = 8
    train_instances: int = 100
    validation_instances: int = 40
    validate_every: int = 200
    failure_rate: float = 0.15
    duplicate_rate: float = 0.07
    orphan_rate: float = 0.02
    model: str = "openai/gpt-4.1-mini"
    baselines: bool = True
    hostile: bool = False

    def __post_init__(self) -> None:
        if self.programs < 3:
            raise ValueError("programs must be >= 3 (the seeds)")
        if self.islands < 1 or self.batch < 1 or self.validate_every < 1:
            raise ValueError("islands, batch and validate_every must be >= 1")
        if self.train_instances < 1 or self.validation_instances < 1:
            raise ValueError("instance counts must be >= 1")
        for name in ("failure_rate", "duplicate_rate", "orphan_rate"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must lie in [0, 1)")
        if "/" not in self.model:
            raise ValueError("model must look like provider/model")


@dataclass(frozen=True)
class SyntheticRun:
    """What :func:`build_run` wrote: ids to look up in the archive."""

    run_id: int
    program_ids: tuple[int, ...]
    hostile_id: int | None = None
    validated: tuple[int, ...] = field(default=())


@dataclass
class _Member:
    id: int
    genome: Genome
    quality: float
    """Latent mean gap % the program's evaluations are drawn around."""
    gap: float
    """Measured training gap (what selection sees)."""


def _child_quality(parent: float, genome: Genome, rng: np.random.Generator, drift: float,
                   spread: float) -> float:
    # Gaps shrink towards a floor that only improvement passes lower: most edits
    # are neutral or worse, a few help, and progress slows as the floor nears.
    floor = 1.1 * 0.65 ** genome.passes
    return floor + max(0.0, parent - floor) * float(rng.lognormal(drift, spread)) \
        + 0.02 * float(rng.random())


class _Builder:
    """Mutable state of one synthetic run while it is written."""

    def __init__(self, store: Archive, spec: SyntheticSpec, rng: np.random.Generator) -> None:
        self.store, self.spec, self.rng = store, spec, rng
        self.provider, self.model = spec.model.split("/", 1)
        # Instance difficulty and reference objectives are fixed for the run.
        self.train = self._instances("gen-n20", spec.train_instances)
        self.validation = self._instances("n100", spec.validation_instances)
        self.islands: list[list[_Member]] = [[] for _ in range(spec.islands)]
        self.waiting: list[tuple[_Member, int | None]] = []
        self.members: dict[int, _Member] = {}
        self.codes: dict[str, int] = {}  # code hash -> first program with it
        self.texts: list[str] = []
        self.ids: list[int] = []
        self.validated: list[int] = []
        self.evaluated = 0
        self.best: _Member | None = None

    def _instances(self, prefix: str, count: int) -> list[tuple[str, float, float]]:
        names = []
        for k in range(count):
            rdd, tf = (0.2, 0.4, 0.6, 0.8, 1.0)[k % 5], (0.2, 0.4, 0.6, 0.8)[(k // 5) % 4]
            names.append((f"{prefix}-rdd{rdd:g}-tf{tf:g}-{k // 20}",
                          float(self.rng.lognormal(0.0, 0.5)),
                          float(self.rng.integers(0, 4000))))
        return names

    # -- evaluations --------------------------------------------------------------------------
    def evaluation(self, split: Split, quality: float, genome: Genome) -> Evaluation:
        instances = self.train if split is Split.TRAIN else self.validation
        base = 2e-5 * (1 + len(genome.terms)) * 4.0 ** genome.passes
        solved = 0.1 + 0.4 / (1.0 + quality)  # share of instances solved optimally
        results = []
        for name, difficulty, reference in instances:
            gap = quality * difficulty * float(self.rng.lognormal(0.0, 0.25)) / (1 - solved)
            if not reference or self.rng.random() < solved:
                gap = 0.0
            objective = float(round(reference * (1 + gap / 100)))
            gap = 100 * (objective - reference) / reference if reference else 0.0
            seconds = base * float(self.rng.lognormal(0.0, 0.2))
            results.append(InstanceResult(name, objective=objective, gap=round(gap, 4),
                                          seconds=round(seconds, 7)))
        mean = sum(r.gap or 0.0 for r in results) / len(results)
        total = sum(r.seconds or 0.0 for r in results) + 0.03
        # Training evaluations carry timing steps, as with the runtime gate (no draw).
        steps = int(total * 1e8) if split is Split.TRAIN else None
        return Evaluation(split, EvaluationStatus.OK, score=mean, gap=mean, seconds=total,
                          per_instance=tuple(results), steps=steps)

    def failure(self, status: EvaluationStatus, error: str) -> Evaluation:
        if status is EvaluationStatus.REJECTED:
            return Evaluation(Split.TRAIN, status, seconds=0.0, error=error)
        results = []
        broken_at = int(self.rng.integers(0, len(self.train)))
        for k, (name, _, _) in enumerate(self.train):
            if k < broken_at:
                results.append(InstanceResult(name, objective=None, gap=None, seconds=2e-5))
            else:
                results.append(InstanceResult(name, status=status, error=error.splitlines()[-1]))
                break
        return Evaluation(Split.TRAIN, status, seconds=0.05 + 0.01 * broken_at, error=error,
                          per_instance=tuple(results))

    # -- parents ------------------------------------------------------------------------------
    def pick(self, island: int) -> _Member:
        pool = self.islands[island] or [m for isl in self.islands for m in isl]
        k = min(len(pool), 4)
        contenders = [pool[int(i)] for i in self.rng.choice(len(pool), size=k, replace=False)]
        return min(contenders, key=lambda m: m.gap)

    def call(self, prompt: str, response: str) -> list[ModelCall]:
        calls = []
        if self.rng.random() < 0.05:
            calls.append(ModelCall(self.provider, self.model, prompt, None, latency=0.4,
                                   error="429 Too Many Requests: rate limit reached; "
                                         "retry after 2 s"))
        tokens_in, tokens_out = len(prompt) // 4, len(response) // 4
        calls.append(ModelCall(self.provider, self.model, prompt, response,
                               tokens_in=tokens_in, tokens_out=tokens_out,
                               cost=round(tokens_in * 0.4e-6 + tokens_out * 1.6e-6, 6),
                               latency=round(float(self.rng.uniform(2.0, 14.0)), 3)))
        return calls

    # -- recording ----------------------------------------------------------------------------
    def seeds(self, run_id: int) -> None:
        for name, genome, quality in seed_genomes():
            code = render(genome, f"Seed heuristic {name.upper()}.")
            evaluation = self.evaluation(Split.TRAIN, quality, genome)
            pid = self.store.record_candidate(
                run_id, Program(code, "seed", 0, 0, idea=f"seed program: {name}"),
                evaluations=[evaluation])
            self.register(pid, genome, quality, evaluation.score, island=None, code=code)

    def register(self, pid: int, genome: Genome, quality: float, gap: float | None,
                 island: int | None, code: str) -> None:
        self.ids.append(pid)
        if code_hash(code) not in self.codes:
            self.codes[code_hash(code)] = pid
            self.texts.append(code)
        self.evaluated += 1
        if gap is None:
            return
        member = _Member(pid, genome, quality, gap)
        self.members[pid] = member
        self.waiting.append((member, island))
        if self.best is None or gap < self.best.gap:
            self.best = member

    def end_batch(self) -> None:
        """Let this generation's programs become parents (as the loop does after a batch)."""
        for member, island in self.waiting:
            for k, isl in enumerate(self.islands):
                if island is None or k == island:
                    isl.append(member)
        self.waiting.clear()

    def one(self, run_id: int, generation: int) -> None:
        spec, rng = self.spec, self.rng
        island = int(rng.integers(0, spec.islands))
        operator = _OPERATORS[int(rng.integers(0, len(_OPERATORS)))]
        first = self.pick(island)
        second = self.pick(int(rng.integers(0, spec.islands)))
        if operator in ("crossover", "new_idea") and second.id == first.id:
            operator = "modify"
        if operator == "crossover":
            genome, change = crossover(first.genome, second.genome, rng)
            parents = [Parent(first.id, EdgeRole.CROSSOVER), Parent(second.id, EdgeRole.CROSSOVER)]
            quality = _child_quality(min(first.quality, second.quality), genome, rng, 0.1, 0.3)
        elif operator == "new_idea":
            start = seed_genomes()[int(rng.integers(0, 3))][1]
            genome, change = mutate(mutate(start, rng, wild=True)[0], rng, wild=True)
            parents = [Parent(first.id, EdgeRole.INSPIRATION),
                       Parent(second.id, EdgeRole.INSPIRATION)]
            quality = _child_quality(first.quality * 1.5, genome, rng, 0.2, 0.5)
        else:
            genome, change = mutate(first.genome, rng, wild=operator == "modify")
            parents = [Parent(first.id, EdgeRole.MUTATION)]
            quality = _child_quality(first.quality, genome, rng, 0.06, 0.12)
        idea = describe(operator, change)
        failure = FAILURES[int(rng.integers(0, len(FAILURES)))] \
            if rng.random() < spec.failure_rate else None
        code = render(genome, idea, defect=failure)
        if rng.random() < spec.duplicate_rate and len(self.codes) > 3:
            code = self.texts[int(rng.integers(0, len(self.texts)))]
        shown = [self.members[p.program_id] for p in parents]
        prompt = prompt_for(operator, [m.genome for m in shown], [m.gap for m in shown])
        calls = self.call(prompt, response_for(idea, code))
        original = self.codes.get(code_hash(code))
        program = Program(code, operator, island, generation, idea=idea)
        if original is not None:
            pid = self.store.record_candidate(run_id, program, parents=parents,
                                              model_calls=calls, duplicate_of=original)
            self.ids.append(pid)
            return
        if failure is not None:
            evaluation = self.failure(failure.status, failure.error)
            pid = self.store.record_candidate(run_id, program, parents=parents,
                                              evaluations=[evaluation], model_calls=calls)
            self.register(pid, genome, quality, None, island, code)
        else:
            evaluation = self.evaluation(Split.TRAIN, quality, genome)
            pid = self.store.record_candidate(run_id, program, parents=parents,
                                              evaluations=[evaluation], model_calls=calls)
            self.register(pid, genome, quality, evaluation.score, island, code)
        if self.evaluated % spec.validate_every == 0:
            self.validate(1)

    def validate(self, top: int) -> None:
        ranked = sorted(self.members.values(), key=lambda m: (m.gap, m.id))
        for member in ranked[:top]:
            if member.id in self.validated:
                continue
            self.store.add_evaluations(member.id, [self.evaluation(
                Split.VALIDATION, member.quality * 1.08, member.genome)])
            self.validated.append(member.id)

    def orphan(self, run_id: int) -> None:
        prompt = prompt_for("modify", [], [])
        if self.rng.random() < 0.5:
            call = ModelCall(self.provider, self.model, prompt, None, latency=120.0,
                             error="request timed out after 120 s")
        else:
            call = ModelCall(self.provider, self.model, prompt,
                             "I would sort the jobs by due date, but I need more context.",
                             tokens_in=len(prompt) // 4, tokens_out=15, cost=0.0004, latency=3.0)
        self.store.record_model_calls(run_id, [call])

    def hostile(self, run_id: int, generation: int) -> int:
        parent = self.pick(0)
        code = render(parent.genome, HOSTILE, hostile=True)
        evaluation = Evaluation(
            Split.TRAIN, EvaluationStatus.EXCEPTION, seconds=0.1, error=f"ValueError: {HOSTILE}",
            per_instance=(InstanceResult(HOSTILE, status=EvaluationStatus.EXCEPTION,
                                         error=HOSTILE),))
        calls = [ModelCall(self.provider, self.model, f"prompt {HOSTILE}",
                           response_for(HOSTILE, code), tokens_in=10, tokens_out=10,
                           cost=0.0, latency=1.0, error=None)]
        pid = self.store.record_candidate(
            run_id, Program(code, "modify", 0, generation, idea=HOSTILE),
            parents=[Parent(parent.id, EdgeRole.MUTATION)], evaluations=[evaluation],
            model_calls=calls)
        self.register(pid, parent.genome, parent.quality, None, 0, code)
        return pid


def build_run(store: Archive, spec: SyntheticSpec, rng: np.random.Generator, *,
              problem: str = "smtt", status: RunStatus = RunStatus.FINISHED) -> SyntheticRun:
    """Write one synthetic run into ``store`` and return its ids.

    Parameters
    ----------
    store
        The archive to write (through :meth:`Archive.record_candidate` and friends).
    spec
        Shape of the run.
    rng
        Source of every random choice.
    problem
        Problem name stored with the run.
    status
        End status (``RUNNING`` leaves the run open).
    """
    config: dict[str, object] = {
        "problem": problem, "budget": spec.programs, "seed": 0,
        "llm": {"models": [{"spec": spec.model.replace("/", ":", 1), "weight": 1.0}]},
        "search": {"islands": spec.islands},
        "evaluation": {"validate_every": spec.validate_every},
    }
    if spec.baselines:
        config["baselines"] = [{"name": n, "train_gap": t, "validation_gap": v, "runtime": r}
                               for n, t, v, r in BASELINES]
    run_id = store.create_run(problem, config, seed=0, budget=spec.programs,
                              isolation="bwrap")
    builder = _Builder(store, spec, rng)
    builder.seeds(run_id)
    builder.end_batch()
    hostile_id = None
    generation = 0
    while len(builder.ids) < spec.programs:
        generation += 1
        for _ in range(min(spec.batch, spec.programs - len(builder.ids))):
            if rng.random() < spec.orphan_rate:
                builder.orphan(run_id)
            if spec.hostile and hostile_id is None and generation >= 2:
                hostile_id = builder.hostile(run_id, generation)
                continue
            builder.one(run_id, generation)
        builder.end_batch()
    builder.validate(5)
    if status is not RunStatus.RUNNING:
        store.finish_run(run_id, status)
    return SyntheticRun(run_id, tuple(builder.ids), hostile_id, tuple(builder.validated))
