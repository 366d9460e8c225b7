"""Programs, edits, prompts and answers of the synthetic run (:mod:`.synthetic`).

A program is a :class:`Genome`: weighted priority terms of a dispatching rule
for single-machine total tardiness plus a number of adjacent-interchange
passes. :func:`render` turns it into real Python with the SMTT candidate
contract, one term per line, so that a child differs from its parent by the
few lines an LLM edit would touch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from archive.records import EvaluationStatus

HOSTILE = ('</script><script>window.__pwned=1</script>'
           '<img src=x onerror="window.__pwned=2"><b>bold?</b> & &amp;')
"""Text that would run script or change the page if a browser did not escape it."""

FEATURES = {
    "mdd": "max(t + p[j], d[j])",
    "edd": "d[j]",
    "spt": "p[j]",
    "slack": "max(0, d[j] - t - p[j])",
    "ratio": "p[j] / max(1, d[j] - t)",
    "late": "max(0, t + p[j] - d[j])",
    "wait": "max(0, d[j] - t)",
    "root": "(max(t + p[j], d[j]) - t) ** 0.5",
}
_NAMES = {"mdd": "modified due date", "edd": "due date", "spt": "processing time",
          "slack": "slack", "ratio": "processing-to-window ratio", "late": "lateness",
          "wait": "time to due date", "root": "square-root MDD"}


@dataclass(frozen=True)
class Genome:
    """Weighted priority terms (lowest priority is scheduled first) and improvement passes."""

    terms: tuple[tuple[str, float], ...]
    passes: int = 0

    def __post_init__(self) -> None:
        if not self.terms:
            raise ValueError("a genome needs at least one term")
        unknown = [k for k, _ in self.terms if k not in FEATURES]
        if unknown:
            raise ValueError(f"unknown features {unknown}")
        if self.passes < 0:
            raise ValueError("passes must be non-negative")


@dataclass(frozen=True)
class Failure:
    """A defect written into a program and what evaluating it reports."""

    status: EvaluationStatus
    error: str
    where: str
    """``"header"``, ``"priority"`` or ``"return"``: where the defect line goes."""
    line: str


FAILURES = (
    Failure(EvaluationStatus.EXCEPTION,
            'Traceback (most recent call last):\n  File "candidate.py", line 14, in priority\n'
            "ZeroDivisionError: division by zero", "priority",
            "score += 1.0 / (d[j] - d[j])"),
    Failure(EvaluationStatus.INVALID_OUTPUT,
            "output has 19 jobs, expected 20: not a permutation of 0..19", "return",
            "order = order[:-1]"),
    Failure(EvaluationStatus.TIMEOUT, "time limit of 20 s exceeded on the training set",
            "priority", "score += sum(range(10 ** 8)) * 0.0"),
    Failure(EvaluationStatus.REJECTED, "SyntaxError: '(' was never closed (line 13)",
            "priority", "score += 1.0 * max(t + p[j], d[j]"),
    Failure(EvaluationStatus.FORBIDDEN, "forbidden import: os (only math, itertools, "
            "functools, heapq, numpy are allowed)", "header", "import os"),
    Failure(EvaluationStatus.MEMORY, "memory limit of 1024 MiB exceeded", "priority",
            "score += len([0] * 10 ** 10)"),
)

_INTERCHANGE = '''

def _tardiness(order, p, d):
    t = total = 0
    for j in order:
        t += p[j]
        total += max(0, t - d[j])
    return total


def _interchange(order, p, d):
    """One pass of adjacent pairwise interchange."""
    best = _tardiness(order, p, d)
    for k in range(len(order) - 1):
        order[k], order[k + 1] = order[k + 1], order[k]
        cost = _tardiness(order, p, d)
        if cost < best:
            best = cost
        else:
            order[k], order[k + 1] = order[k + 1], order[k]
    return order
'''


def render(genome: Genome, doc: str, *, defect: Failure | None = None,
           hostile: bool = False) -> str:
    """Python source of ``genome`` with ``doc`` as the function's docstring."""
    doc = doc.replace("\\", "\\\\").replace('"""', "'''")
    lines = []
    if defect is not None and defect.where == "header":
        lines.append(defect.line)
    if hostile:
        lines += [f"# {HOSTILE}", f"BANNER = {HOSTILE!r}", ""]
    lines += [
        "def schedule(processing_times, due_dates):",
        f'    """{doc}"""',
        "    p = processing_times",
        "    d = due_dates",
        "    left = list(range(len(p)))",
        "    order = []",
        "    t = 0",
        "",
        "    def priority(j):",
        "        score = 0.0",
    ]
    lines += [f"        score += {w:.3g} * {FEATURES[k]}" for k, w in genome.terms]
    if defect is not None and defect.where == "priority":
        lines.append(f"        {defect.line}")
    lines += [
        "        return (score, j)",
        "",
        "    while left:",
        "        j = min(left, key=priority)",
        "        left.remove(j)",
        "        order.append(j)",
        "        t += p[j]",
    ]
    if genome.passes:
        lines += [f"    for _ in range({genome.passes}):",
                  "        order = _interchange(order, p, d)"]
    if defect is not None and defect.where == "return":
        lines.append(f"    {defect.line}")
    lines.append("    return order")
    return "\n".join(lines) + "\n" + (_INTERCHANGE if genome.passes else "")


def seed_genomes() -> list[tuple[str, Genome, float]]:
    """The seed programs (EDD, SPT, MDD) with their typical training gap in %."""
    return [("edd", Genome((("edd", 1.0),)), 31.0),
            ("spt", Genome((("spt", 1.0),)), 118.0),
            ("mdd", Genome((("mdd", 1.0),)), 7.9)]


def mutate(genome: Genome, rng: np.random.Generator, *, wild: bool) -> tuple[Genome, str]:
    """A small edit of ``genome`` and a phrase describing it."""
    terms = list(genome.terms)
    choice = rng.random()
    if wild and choice < 0.35:
        key = str(rng.choice(sorted(set(FEATURES) - {k for k, _ in terms}) or list(FEATURES)))
        weight = round(float(rng.uniform(-0.8, 0.8)), 3) or 0.1
        terms.append((key, weight))
        return Genome(tuple(terms), genome.passes), f"add a {_NAMES[key]} term ({weight:g})"
    if wild and choice < 0.45 and len(terms) > 1:
        k = int(rng.integers(0, len(terms)))
        key = terms.pop(k)[0]
        return Genome(tuple(terms), genome.passes), f"drop the {_NAMES[key]} term"
    if choice > 0.93 and genome.passes < 3:
        return Genome(genome.terms, genome.passes + 1), \
            "finish with a pass of adjacent pairwise interchange"
    k = int(rng.integers(0, len(terms)))
    key, weight = terms[k]
    new = round(weight * float(rng.lognormal(0.0, 0.3)), 3) or weight
    terms[k] = (key, new)
    return Genome(tuple(terms), genome.passes), \
        f"retune the {_NAMES[key]} weight from {weight:g} to {new:g}"


def crossover(a: Genome, b: Genome, rng: np.random.Generator) -> tuple[Genome, str]:
    """``a``'s terms plus some of ``b``'s, and a phrase describing the combination."""
    have = {k for k, _ in a.terms}
    extra = [(k, w) for k, w in b.terms if k not in have and rng.random() < 0.7]
    if not extra:  # nothing to take over: average the weights the parents share
        weights = dict(b.terms)
        terms = tuple((k, round((w + weights.get(k, w)) / 2 * float(rng.lognormal(0, 0.1)), 3))
                      for k, w in a.terms)
        return Genome(terms, max(a.passes, b.passes)), "average the parents' weights"
    names = ", ".join(_NAMES[k] for k, _ in extra)
    return (Genome(a.terms + tuple(extra), max(a.passes, b.passes)),
            f"combine both parents (adds {names})")


def describe(operator: str, change: str) -> str:
    """The model's one-line idea for an operator and an edit."""
    verbs = {"modify": "Modify the rule", "tune": "Tune the rule", "crossover": "Crossover",
             "new_idea": "New idea inspired by the parents", "simplify": "Simplify"}
    return f"{verbs.get(operator, operator)}: {change}."


_SYSTEM = """\
You are an expert in scheduling and combinatorial optimisation. We are searching for a
dispatching heuristic for the single-machine total tardiness problem (1||ΣT_j): n jobs with
processing times p_j and due dates d_j must be sequenced on one machine to minimise the sum
of tardiness max(0, C_j - d_j). Candidates are scored by their mean relative gap (%) to the
exact optimum on a training set of 100 generated instances with n = 20 (RDD and TF classes
of Potts and Van Wassenhove). Lower is better. The classic rules score as follows on the
training set: EDD 31.0 %, MDD 7.9 %, PSK 6.4 %, MDDC 4.9 %, AUG-MDDC 3.2 %.

Write a Python function with exactly this signature:

    def schedule(processing_times: list[int], due_dates: list[int]) -> list[int]

It returns a permutation of range(n), the processing order. Use only the standard library
(math, itertools, functools, heapq) and numpy. It must be deterministic and take less than
10x the time of MDD per instance.
"""


def prompt_for(operator: str, parents: Sequence[Genome], gaps: Sequence[float]) -> str:
    """A rendered prompt showing the parents' code and scores."""
    parts = [_SYSTEM]
    for k, (genome, gap) in enumerate(zip(parents, gaps, strict=True), start=1):
        parts.append(f"## Parent {k} (training gap {gap:.3f} %)\n\n```python\n"
                     f"{render(genome, f'Parent {k}.')}```\n")
    instruction = {
        "modify": "Propose a modification of the parent that lowers its gap.",
        "tune": "Keep the structure of the parent and tune its numeric parameters.",
        "crossover": "Combine the strengths of both parents into one rule.",
        "new_idea": "Propose a rule based on a new idea; the parents are shown for context.",
        "simplify": "Simplify the parent without making it worse.",
    }.get(operator, "Improve the heuristic.")
    parts.append(f"## Task\n\n{instruction} First state your idea in one sentence starting "
                 "with 'Idea:', then give the complete code in one ```python block.")
    return "\n".join(parts)


def response_for(idea: str, code: str) -> str:
    """A model answer carrying ``idea`` and ``code``."""
    return (f"Idea: {idea}\n\n```python\n{code}```\n\nThis keeps the O(n^2) dispatching "
            "structure of the parent, so its runtime stays close to MDD's, while the new "
            "term breaks ties between jobs that are already late in favour of short jobs.")
