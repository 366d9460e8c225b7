"""Where new candidate programs come from: a language model or the offline engine.

Both proposers take a loop-level operator (``new_idea``, ``crossover``,
``modify``, ``tune``, ``simplify``) and parents drawn by the population, and
return a :class:`Candidate`. The LLM proposer renders the operator's Jinja2
prompt, calls the model pool, extracts code (or applies SEARCH/REPLACE edits,
falling back to a full rewrite) and keeps ReEvo-style reflections; the offline
engine mutates ASTs. Neither evaluates anything.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from archive import ModelCall
from discover.answers.edits import apply_search_replace
from discover.answers.extract import extract_code, extract_idea
from discover.offline import EngineError, OfflineEngine, ParentInfo
from discover.prompting.render import (
    BaselineView,
    Operator,
    ProblemView,
    ProgramView,
    PromptContext,
    PromptLibrary,
)
from discover.providers import Cancelled, Completion, ModelPool, ProviderError
from discover.search.islands import Member
from evaluators.base import Problem

#: Loop operator → prompt operator (EoH names); new_idea picks e1/e2/i1 by parent count.
PROMPT_OPERATORS = {
    "crossover": Operator.CROSSOVER,
    "modify": Operator.M1,
    "tune": Operator.M2,
    "simplify": Operator.SIMPLIFY,
}
PARENTS_NEEDED = {"new_idea": 2, "crossover": 2, "modify": 1, "tune": 1, "simplify": 1}


@dataclass(frozen=True)
class SearchNotes:
    """What the loop knows beyond the parents, for proposers that can use it (prompts).

    Parameters
    ----------
    best
        The best program of the run when the slot was proposed.
    findings
        Recent lines on what numeric tuning and structural moves found.
    """

    best: Member | None = None
    findings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Candidate:
    """A proposed program (or a failed attempt to get one).

    ``code`` is ``None`` when the proposer produced nothing usable; ``failure``
    says why and ``model_calls`` still records what was paid for.
    """

    code: str | None
    operator: str
    parents: tuple[int, ...]
    model: str
    idea: str | None = None
    failure: str | None = None
    model_calls: tuple[ModelCall, ...] = ()
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0


@dataclass(frozen=True)
class _Usage:
    tokens_in: int
    tokens_out: int
    cost: float


class Proposer(Protocol):
    """Produces candidates from parents."""

    name: str

    def propose(self, operator: str, parents: Sequence[Member],
                rng: np.random.Generator, notes: SearchNotes | None = None) -> Candidate:
        """Return one candidate made by ``operator`` from ``parents`` (best first)."""
        ...

    def side_calls(self) -> list[ModelCall]:
        """Model calls made outside proposals (reflections) since the last call."""
        ...


#: How a proposal repeated a known program, for :meth:`follow_up` messages.
REPEATS = {"code": "is the same program as", "behaviour":
           "schedules every probe instance exactly like"}


class FollowsUp(Protocol):
    """A proposer that can be told its proposal repeats a known program (optional)."""

    max_follow_ups: int
    """How often one slot may send a repeated proposal back."""

    def follow_up(self, operator: str, parents: Sequence[Member], rng: np.random.Generator,
                  previous: Candidate, duplicate_of: int, kind: str) -> Candidate:
        """Another proposal after ``previous`` repeated program ``duplicate_of``.

        ``kind`` is ``"code"`` (same normalised code) or ``"behaviour"`` (same
        outputs on the probe instances). The returned candidate carries the model
        calls of ``previous`` too, so what was paid for stays on record.
        """
        ...


class OfflineProposer:
    """The built-in engine: AST mutation and crossover, no network."""

    name = "offline"
    max_follow_ups = 40
    """Redraws per slot: a proposal costs ~50 ms, an evaluation far more, and the
    engine repeats known programs often once the population has converged."""

    def __init__(self, problem: Problem[Any]) -> None:
        self.spec = problem.candidate_spec
        # One engine keeps its analyses of parents warm (results never depend on
        # them); the lock serialises calls, which hold the GIL anyway.
        self._engine = OfflineEngine(self.spec, np.random.default_rng(0))
        self._lock = threading.Lock()

    def propose(self, operator: str, parents: Sequence[Member],
                rng: np.random.Generator, notes: SearchNotes | None = None) -> Candidate:
        """Mutate or cross the parents with the generator of this proposal (no notes)."""
        infos = [ParentInfo(m.code, m.score, m.load) for m in parents]
        ids = tuple(m.program_id for m in parents)
        try:
            with self._lock:
                proposal = self._engine.propose(operator, infos, rng=rng)
        except EngineError as exc:
            return Candidate(None, operator, ids, self.name, failure=str(exc))
        used = ids if operator == "crossover" else ids[:1]
        return Candidate(proposal.code, operator, used, self.name, idea=proposal.idea)

    def follow_up(self, operator: str, parents: Sequence[Member], rng: np.random.Generator,
                  previous: Candidate, duplicate_of: int, kind: str) -> Candidate:
        """Draw again from the same generator (the next draw differs)."""
        return self.propose(operator, parents, rng)

    def side_calls(self) -> list[ModelCall]:
        """The offline engine makes no model calls."""
        return []


@dataclass
class Reflections:
    """ReEvo's memory: recent short reflections and the running long one."""

    short: list[str] = field(default_factory=list)
    long: str | None = None
    keep: int = 5

    def add_short(self, text: str) -> None:
        """Remember a short reflection, dropping the oldest beyond ``keep``."""
        self.short.append(text.strip())
        del self.short[: -self.keep]


class LlmProposer:
    """Prompts a model pool and turns its answers into candidates."""

    def __init__(self, problem: Problem[Any], pool: ModelPool, prompts: PromptLibrary, *,
                 max_tokens: int, temperature: float, diff_probability: float,
                 reflection_every: int, baselines: Sequence[BaselineView] = ()) -> None:
        self.problem = problem
        self.pool = pool
        self.prompts = prompts
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.diff_probability = diff_probability
        self.reflection_every = reflection_every
        self.baselines = tuple(baselines)
        self.view = ProblemView.from_problem(problem)
        self.reflections = Reflections()
        self.name = pool.name
        self.max_follow_ups = 1
        self.wants_notes = True
        self.class_labels: tuple[str, ...] = ()
        """Instance class of each training instance, aligned with members' signatures."""
        self._proposals = 0
        self._side: list[ModelCall] = []

    def side_calls(self) -> list[ModelCall]:
        """Reflection calls since the last call of this method."""
        calls, self._side = self._side, []
        return calls

    def _view(self, member: Member) -> ProgramView:
        return ProgramView(member.code, gap=member.score, label=f"#{member.program_id}",
                           class_gaps=class_gaps(member.signature, self.class_labels),
                           load=member.load)

    def _context(self, parents: Sequence[Member], diff: bool,
                 notes: SearchNotes | None = None) -> PromptContext:
        views = tuple(self._view(m) for m in parents)
        best = None
        if notes is not None and notes.best is not None and all(
                m.program_id != notes.best.program_id for m in parents):
            best = self._view(notes.best)
        return PromptContext(self.view, views, self.reflections.long,
                             tuple(self.reflections.short), self.baselines, diff,
                             best=best, findings=notes.findings if notes else ())

    def _call(self, operator: Operator, context: PromptContext
              ) -> tuple[Completion | None, ModelCall]:
        rendered = self.prompts.render(operator, context)
        return self._call_raw(rendered.system, rendered.user)

    def _call_raw(self, system: str, user: str) -> tuple[Completion | None, ModelCall]:
        prompt = f"[system]\n{system}\n\n[user]\n{user}"
        start = time.monotonic()
        try:
            completion = self.pool.complete(system, user,
                                            max_tokens=self.max_tokens,
                                            temperature=self.temperature)
        except ProviderError as exc:
            # A cut call keeps the tokens it received (unknown stays None, never 0);
            # its error says how they were counted.
            usage = exc.usage if isinstance(exc, Cancelled) else None
            call = ModelCall(provider=self.pool.name, model=self.pool.name, prompt=prompt,
                             latency=time.monotonic() - start, error=str(exc),
                             tokens_in=usage.tokens_in if usage else None,
                             tokens_out=usage.tokens_out if usage else None)
            if not _is_transient_failure(exc):
                # Recorded by the loop from side_calls() when it stops on the error.
                self._side.append(call)
                raise
            return None, call
        call = ModelCall(provider=completion.provider, model=completion.model, prompt=prompt,
                         response=completion.text, tokens_in=completion.tokens_in,
                         tokens_out=completion.tokens_out, cost=completion.cost,
                         latency=completion.latency)
        return completion, call

    def propose(self, operator: str, parents: Sequence[Member],
                rng: np.random.Generator, notes: SearchNotes | None = None) -> Candidate:
        """Render, ask, extract; fall back from a failed diff to the full answer."""
        self._proposals += 1
        if self.reflection_every and self._proposals % self.reflection_every == 0:
            self._reflect(parents)
        prompt_op = _prompt_operator(operator, len(parents))
        low, high = prompt_op.parent_range
        used = list(parents[: high if high is not None else len(parents)])
        if len(used) < low:
            used = list(parents)
        diff = prompt_op.supports_diff and bool(rng.random() < self.diff_probability)
        completion, call = self._call(prompt_op, self._context(used, diff, notes))
        ids = tuple(m.program_id for m in used)
        model = call.model
        usage = _Usage(call.tokens_in or 0, call.tokens_out or 0, call.cost or 0.0)
        if completion is None:
            return Candidate(None, operator, ids, model, failure=call.error,
                             model_calls=(call,), tokens_in=usage.tokens_in,
                             tokens_out=usage.tokens_out, cost=usage.cost)
        fn = self.problem.candidate_spec.function_name
        code: str | None = None
        trouble = ""
        if diff and used:
            result = apply_search_replace(used[0].code, completion.text)
            if result.failure is None:
                code = result.code
            else:
                trouble = f"diff failed ({result.failure.value}); "
        if code is None:
            extraction = extract_code(completion.text, fn)
            code = extraction.code
            if code is None and extraction.failure is not None:
                trouble += f"no code: {extraction.failure.value}"
        idea = extract_idea(completion.text, fn)
        return Candidate(code, operator, ids, model, idea=idea,
                         failure=trouble or None if code is None else None,
                         model_calls=(call,), tokens_in=usage.tokens_in,
                         tokens_out=usage.tokens_out, cost=usage.cost)

    def follow_up(self, operator: str, parents: Sequence[Member], rng: np.random.Generator,
                  previous: Candidate, duplicate_of: int, kind: str) -> Candidate:
        """Continue the conversation: the answer repeated program ``#duplicate_of``.

        The providers take one system and one user message, so the conversation is
        replayed in the user message: the original prompt, the model's answer, and
        the follow-up asking for a genuinely different program.
        """
        if not previous.model_calls or previous.model_calls[-1].response is None:
            return previous
        last = previous.model_calls[-1]
        system, _, user = last.prompt.partition("\n\n[user]\n")
        system = system.removeprefix("[system]\n")
        fn = self.problem.candidate_spec.function_name
        note = (f"{user}\n\n--- your answer ---\n{last.response}\n--- end of your answer ---\n\n"
                f"That {fn}() {REPEATS.get(kind, 'repeats')} program #{duplicate_of}, which is "
                "already in the archive, so evaluating it would teach nothing. Propose a "
                "genuinely different program: change the structure of the decision, not only "
                "names or formatting. Answer in the same format as before (one idea line, then "
                "the complete code).")
        completion, call = self._call_raw(system, note)
        calls = (*previous.model_calls, call)
        usage = _Usage(previous.tokens_in + (call.tokens_in or 0),
                       previous.tokens_out + (call.tokens_out or 0),
                       previous.cost + (call.cost or 0.0))
        if completion is None:
            return Candidate(None, operator, previous.parents, call.model, failure=call.error,
                             model_calls=calls, tokens_in=usage.tokens_in,
                             tokens_out=usage.tokens_out, cost=usage.cost)
        extraction = extract_code(completion.text, fn)
        failure = (f"no code: {extraction.failure.value}"
                   if extraction.code is None and extraction.failure is not None else None)
        return Candidate(extraction.code, operator, previous.parents, call.model,
                         idea=extract_idea(completion.text, fn), failure=failure,
                         model_calls=calls, tokens_in=usage.tokens_in,
                         tokens_out=usage.tokens_out, cost=usage.cost)

    def _reflect(self, parents: Sequence[Member]) -> None:
        if len(parents) >= 2:
            better, worse = parents[0], parents[-1]
            completion, call = self._call(Operator.REFLECT_SHORT,
                                          self._context([better, worse], False))
            self._side.append(call)
            if completion is not None:
                self.reflections.add_short(completion.text)
        if self.reflections.short:
            completion, call = self._call(Operator.REFLECT_LONG, self._context([], False))
            self._side.append(call)
            if completion is not None:
                self.reflections.long = completion.text.strip()


def class_gaps(signature: Sequence[float], labels: Sequence[str], worst: int = 6
               ) -> tuple[tuple[str, float], ...]:
    """Mean per-instance gap by class label, the ``worst`` classes first."""
    if not labels or len(labels) != len(signature):
        return ()
    sums: dict[str, list[float]] = {}
    for gap, label in zip(signature, labels, strict=True):
        acc = sums.setdefault(label, [0.0, 0.0])
        acc[0] += gap
        acc[1] += 1
    means = sorted(((label, s / c) for label, (s, c) in sums.items()),
                   key=lambda kv: (-kv[1], kv[0]))
    return tuple(means[:worst])


def _prompt_operator(operator: str, parents: int) -> Operator:
    if operator == "new_idea":
        if parents == 0:
            return Operator.I1
        return Operator.E2 if parents >= 2 else Operator.E1
    try:
        return PROMPT_OPERATORS[operator]
    except KeyError:
        raise ValueError(f"unknown operator {operator!r}") from None


def _is_transient_failure(exc: ProviderError) -> bool:
    """Retries exhausted on one request: record it and let the loop count failures."""
    from discover.providers import Fatal

    return not isinstance(exc, Fatal)
