"""Export an archived program, a run's best program or a classic baseline as a standalone module.

The module written defines the problem's candidate function (SMTT:
``schedule(processing_times, due_dates) -> list[int]``), imports nothing from
discover (standard library and numpy, as the candidate contract allows),
carries its provenance in the docstring and checks itself when run
(``python FILE.py``) on a few small embedded instances.

The expected objectives are computed at export time: the module is run once
in a child interpreter (``python -I``, empty environment, time limit) to
collect the program's outputs as JSON — never pickles — and the trusted side
validates and scores them with the problem's own ``validate`` and
``objective``. The finished file is then run the same way, and written to its
destination only when its self-check passes. The self-check therefore proves
two things: the program is deterministic on those instances, and the
module's standalone objective agrees with discover's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archive import Archive, EvaluationStatus, ProgramDetail, Split
from discover import __version__
from discover.exporting.contract import ExportContract
from discover.exporting.render import (
    ExportError,
    ProgramSource,
    indent_block,
    render_module,
    split_program,
)
from discover.exporting.simplify import simplify
from evaluators.base import Failure, Problem, ReferenceRole, reference_role
from evaluators.registry import get_problem
from sandbox import OutcomeStatus, SandboxPool

__all__ = ["ExportError", "ExportResult", "export_baseline", "export_program", "export_run"]

DEFAULT_TIMEOUT = 60.0
"""Seconds the program may take on the self-check instances (in the sandbox)."""



@dataclass(frozen=True)
class ExportResult:
    """What was exported where.

    ``split`` is the split a run's program was selected on; ``notes`` explain
    choices made (e.g. falling back to the train split).
    """

    path: Path
    problem: str
    program_id: int | None
    run_id: int | None
    baseline: str | None
    split: Split | None
    expected: tuple[float, ...]
    notes: tuple[str, ...] = ()


def export_program(archive: Archive, program_id: int, path: str | Path, *,
                   timeout: float = DEFAULT_TIMEOUT, _selection: str | None = None,
                   _split: Split | None = None, _notes: Sequence[str] = ()) -> ExportResult:
    """Export archived program ``program_id`` to ``path``.

    Raises
    ------
    ExportError
        If the program cannot be exported or its module fails its self-check.
    archive.NotFoundError
        If the program does not exist.
    """
    detail = archive.program(program_id)
    run = archive.run(detail.run_id)
    # The run's own problem spec (a plugin's module:factory or file path), not just the
    # name it archived under, which only built-ins and entry points resolve.
    problem = _problem(str(run.config.get("problem", run.problem)))
    lines = [
        f"archive     {archive.url}",
        f"run         {run.id} (problem {run.problem}, seed {run.seed}, "
        f"started {run.started_at:%Y-%m-%d %H:%M} UTC, {run.status.value})",
        f"program     {detail.id} (island {detail.program.island}, generation "
        f"{detail.program.generation}, operator {detail.program.operator})",
        f"parents     {_parents(detail)}",
        f"model       {', '.join(detail.model_names()) or '(none recorded)'}",
    ]
    if detail.duplicate_of is not None:
        lines.append(f"duplicate   of program {detail.duplicate_of} (scores are the original's)")
    if detail.program.idea:
        lines.append(f"idea        {' '.join(detail.program.idea.split())}")
    lines.extend(_score_lines(archive, detail, reference_role(problem)))
    if _selection:
        lines.append(f"selection   {_selection}")
    code, notes = _readable(problem, run.config, detail.program.code, timeout)
    lines.extend(notes)
    title = f"Heuristic for {{title}} discovered by discover (program {detail.id})."
    result = _export(problem, code, title, lines, Path(path), timeout)
    return ExportResult(path=Path(path), problem=problem.name, program_id=detail.id,
                        run_id=run.id, baseline=None, split=_split, expected=result,
                        notes=tuple(_notes))


def export_run(archive: Archive, run_id: int, path: str | Path, *,
               timeout: float = DEFAULT_TIMEOUT) -> ExportResult:
    """Export the best program of run ``run_id`` on the validation split.

    Falls back to the train split, with a note, when no program of the run has
    a successful validation evaluation.

    Raises
    ------
    ExportError
        If the run has no successfully evaluated program at all.
    """
    for split in (Split.VALIDATION, Split.TRAIN):
        ranked = archive.best(run_id, split, top=1)
        if ranked:
            best = ranked[0]
            notes = [] if split is Split.VALIDATION else [
                f"run {run_id} has no successful validation evaluation; "
                "exported its best program on the train split"]
            counters = archive.run_state(run_id, per_instance=False).counters
            selection = (f"best of run {run_id} on the {split.value} split (score "
                         f"{best.evaluation.score:.6g}; {counters.evaluations.get(split, 0)} "
                         f"programs evaluated on it)")
            return export_program(archive, best.summary.id, path, timeout=timeout,
                                  _selection=selection, _split=split, _notes=notes)
    raise ExportError(f"run {run_id} has no successfully evaluated program to export")


def export_baseline(problem_name: str, name: str, path: str | Path, *,
                    timeout: float = DEFAULT_TIMEOUT) -> ExportResult:
    """Export classic heuristic ``name`` of a problem (``problem.baseline_source(name)``).

    When the problem also runs the heuristic in-process (``problem.heuristics``),
    its objectives on the self-check instances must equal the exported code's.

    Raises
    ------
    ExportError
        If the baseline is unknown or the exported code disagrees with the library.
    """
    problem = _problem(problem_name)
    # A heuristic may need the problem configured its way (an active-schedule rule
    # needs the job-shop harness to build active schedules).
    if name in problem.heuristics:
        problem = problem.for_heuristic(name)
    try:
        source = problem.baseline_source(name)
    except KeyError as exc:
        raise ExportError(str(exc.args[0]) if exc.args else f"unknown baseline {name!r}"
                          ) from None
    lines = [f"baseline    {name} (problem {problem.name}, from discover's own implementation)"]
    title = f"Classic heuristic {name!r} for {{title}}."
    expected = _export(problem, source, title, lines, Path(path), timeout,
                       heuristic=problem.heuristics.get(name), standalone=True)
    return ExportResult(path=Path(path), problem=problem.name, program_id=None, run_id=None,
                        baseline=name, split=None, expected=expected)


def _readable(problem: Problem[Any], config: Any, code: str, timeout: float
              ) -> tuple[str, list[str]]:
    """The simplified program when it schedules every evaluation instance identically.

    Evaluation instances: the export's self-check samples, the run's training
    instances (regenerated from its configuration) and its validation files. The
    original and the simplified program both run in the sandbox; any difference
    (a float tie resolved otherwise) keeps the original.
    """
    from discover.config import RunConfig
    from discover.offline.vocabulary import Vocabulary
    from discover.splits.datasets import training_families, validation_set

    spec = problem.candidate_spec
    vocabulary = Vocabulary(spec.feature_vocabulary, spec.parameters)
    short = {vocabulary.abbreviation(name): name for f in vocabulary.features
             for name in f.free if vocabulary.abbreviation(name)}
    abbreviations = {k: v for k, v in short.items() if k}
    try:
        result = simplify(code, spec.function_name, abbreviations)
    except (SyntaxError, ValueError, RecursionError):
        return code, []
    notes = [f"formula     {result.formula}"] if result.formula else []
    if not result.changed:
        return code, notes
    instances = list(_contract(problem).samples(problem))
    try:
        # The snapshot also carries what the run added (baselines): keep the settings.
        known = {f.name for f in dataclasses.fields(RunConfig)}
        evaluation = RunConfig.from_dict({k: v for k, v in config.items()
                                          if k in known}).evaluation
        instances += [i for _, family in training_families(problem, evaluation)
                      for i in family]
        instances += list(validation_set(problem, evaluation.validation).instances)
    except Exception as exc:  # an old or foreign configuration: the samples still check
        notes.append(f"simplified  checked on the self-check instances only ({exc})")
    payloads = [problem.payload(i) for i in instances]
    limit = max(timeout, 0.05 * len(payloads))
    with SandboxPool(workers=1, isolation="auto") as pool:
        before = _sandboxed_outputs(pool, code, spec, payloads, limit, check=True)
        after = _sandboxed_outputs(pool, result.code, spec, payloads, limit, check=True)
        differ = [k for k, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
        if differ and result.reassociated:
            # A re-associated product may differ in its last bit and resolve a tie
            # otherwise: the other rewrites may still hold without it.
            plain = simplify(code, spec.function_name, abbreviations, reassociate=False)
            if plain.changed:
                after = _sandboxed_outputs(pool, plain.code, spec, payloads, limit, check=True)
                if after == before:
                    notes.append(f"simplified  products of literals kept as written: folded, "
                                 f"they differ on evaluation instance {differ[0]}")
                    result, differ = plain, []
    if differ:
        notes.append(f"simplified  not used: it differs on evaluation instance {differ[0]} "
                     f"(of {len(payloads)})")
        return code, notes
    notes.append(f"simplified  same output on all {len(payloads)} evaluation instances "
                 "(folded constants and products, flattened max/min, dead terms, dead code, "
                 "named repeats)")
    return result.code, notes


def _problem(name: str) -> Problem[Any]:
    try:
        return get_problem(name)
    except KeyError as exc:
        raise ExportError(str(exc.args[0])) from None


def _contract(problem: Problem[Any]) -> ExportContract:
    try:
        return problem.export_contract()
    except KeyError as exc:
        raise ExportError(str(exc.args[0])) from None


def _parents(detail: ProgramDetail) -> str:
    if not detail.parents:
        return "(none: a seed or fresh idea)"
    return ", ".join(f"{p.program_id} ({p.role.value})" for p in detail.parents)


def _score_lines(archive: Archive, detail: ProgramDetail,
                 kind: ReferenceRole = ReferenceRole.OPTIMUM) -> list[str]:
    evaluations = detail.evaluations
    if not evaluations and detail.duplicate_of is not None:
        evaluations = archive.program(detail.duplicate_of).evaluations
    if not evaluations:
        return ["scores      (not evaluated)"]
    out: list[str] = []
    for split, e in evaluations.items():
        score = "—" if e.score is None else f"{e.score:.6g}"
        if e.gap is None:
            gap = ""
        elif kind is ReferenceRole.SCORE:
            # Not a bound: the mean ratio to the reference score (1 + mean gap / 100).
            gap = f", mean H/ref {1.0 + e.gap / 100.0:.4g} (to the reference score)"
        else:
            gap = f", mean gap {e.gap:.4g} %"
        state = "" if e.status is EvaluationStatus.OK else f", {e.status.value}"
        label = "scores" if not out else ""
        out.append(f"{label:<12}{split.value}: score {score}{gap}, "
                   f"{len(e.per_instance)} instances{state}")
    return out


def _export(problem: Problem[Any], code: str, title: str, provenance: list[str], path: Path,
            timeout: float, heuristic: Any = None, standalone: bool = False
            ) -> tuple[float, ...]:
    contract = _contract(problem)
    spec = problem.candidate_spec
    # Rules that only work inside a simulator (job shop) carry it with them; a
    # baseline's source already does (``baseline_source`` is a standalone module).
    program = split_program(code if standalone else problem.standalone_source(code))
    instances = contract.samples(problem)
    payloads = [problem.payload(i) for i in instances]
    header = _header(title.format(title=contract.title), provenance, program, contract,
                     spec.function_name, spec.signature, spec.docstring, len(payloads))

    def module(expected: Sequence[float] | None) -> str:
        return render_module(contract=contract, function_name=spec.function_name,
                             header=header, program=program, payloads=payloads,
                             expected=expected)

    # Candidate code is hostile until proven otherwise: it runs only in the sandbox,
    # both to compute the expected values and to check the finished module.
    with SandboxPool(workers=1, isolation="auto",
                     harness_packages=spec.sandbox_packages) as pool:
        # Archived programs are pre-checked; a baseline's source is our own module.
        outputs = _sandboxed_outputs(pool, code, spec, payloads, timeout,
                                     check=heuristic is None)
        expected = []
        for k, (instance, output) in enumerate(zip(instances, outputs, strict=True)):
            solution = problem.validate(instance, output)
            if isinstance(solution, Failure):
                raise ExportError(f"the program fails on self-check instance {k}: {solution}")
            value = float(problem.objective(instance, solution))
            if heuristic is not None:
                library = float(problem.objective(instance, heuristic(instance)))
                if library != value:
                    raise ExportError(
                        f"exported code gives {value} on self-check instance {k} but the "
                        f"library's heuristic gives {library}")
            expected.append(value)
        text = module(expected)
        compile(text, str(path), "exec")
        # The finished module, run the way the harness runs a candidate (its
        # __main__ self-check does not run here), must reproduce the values.
        again = _sandboxed_outputs(pool, text, spec, payloads, timeout, check=False)
        for k, (instance, output) in enumerate(zip(instances, again, strict=True)):
            solution = problem.validate(instance, output)
            if isinstance(solution, Failure) or \
                    float(problem.objective(instance, solution)) != expected[k]:
                raise ExportError(f"the exported module disagrees on self-check instance {k}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return tuple(expected)


def _header(title: str, provenance: list[str], program: ProgramSource,
            contract: ExportContract, function: str, signature: str, docstring: str,
            count: int) -> str:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    parts = [title, "", "Provenance", "----------", *provenance,
             f"exported    {now} by discover {__version__}", ""]
    if program.docstring:
        parts += ["Notes from the program", "----------------------", program.docstring, ""]
    parts += ["Contract", "--------", signature, indent_block(docstring), "",
              "Self-check", "----------",
              f"``python <this file>`` runs {function}() on {count} embedded instances and",
              f"compares the {contract.objective_label} with the values discover computed at",
              "export time; the exit status is 0 when they match.", ""]
    return "\n".join(parts)


def _sandboxed_outputs(pool: SandboxPool, code: str, spec: Any,
                       payloads: list[dict[str, Any]], timeout: float, *, check: bool
                       ) -> list[Any]:
    outcome = pool.run(code, spec, payloads, timeout, check=check)
    if outcome.status is OutcomeStatus.TIMEOUT:
        raise ExportError(f"the program did not finish within {timeout:g} s on the "
                          "self-check instances")
    if outcome.status is not OutcomeStatus.OK:
        raise ExportError("running the program on the self-check instances failed: "
                          + outcome.describe())
    return [list(o) if isinstance(o, (list, tuple)) else o for o in outcome.outputs]
