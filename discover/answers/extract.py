"""Extract a candidate program (and its one-line idea) from a model's answer.

Real answers are messy: prose around the code, several code blocks (drafts,
helpers, usage examples), thinking sections with drafts in them, code indented
inside list items or with tabs mixed in, answers cut off by the token limit, and
sometimes no fence at all. :func:`extract_code` finds the block that defines the
requested function, repairs what can be repaired safely, pulls in helper
definitions and imports it needs from other blocks, and guarantees that the
returned code parses and defines the function — or says why it could not.

Everything here is a pure function of its arguments.
"""

from __future__ import annotations

import ast
import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

from discover.answers.blocks import (
    CodeBlock,
    fenced_blocks,
    normalise_newlines,
    segment,
    strip_thinking,
)
from discover.answers.edits import DiffResult, apply_search_replace
from discover.answers.repair import (
    Repaired,
    defined_functions,
    merge_helpers,
    parse_module,
    repair,
    strip_script_code,
)

__all__ = [
    "DiffResult",
    "Extraction",
    "ExtractionFailure",
    "apply_search_replace",
    "defined_functions",
    "extract_code",
    "extract_idea",
]


class ExtractionFailure(enum.Enum):
    """Why no program could be extracted."""

    EMPTY = "empty"
    NO_CODE = "no_code"
    SYNTAX_ERROR = "syntax_error"
    MISSING_FUNCTION = "missing_function"
    TRUNCATED = "truncated"


@dataclass(frozen=True)
class Extraction:
    """Result of :func:`extract_code`.

    Parameters
    ----------
    code
        Source that parses and defines the function, or ``None`` on failure.
    failure
        Why extraction failed, or ``None`` on success.
    notes
        Human-readable record of what was chosen, removed or repaired.
    truncated
        Whether trailing lines were dropped because the answer was cut off.
    """

    code: str | None
    failure: ExtractionFailure | None
    notes: tuple[str, ...] = ()
    truncated: bool = False

    def __post_init__(self) -> None:
        if (self.code is None) == (self.failure is None):
            raise ValueError("exactly one of code and failure must be set")
        if self.failure is not None and not isinstance(self.failure, ExtractionFailure):
            raise TypeError(f"failure must be an ExtractionFailure, got {self.failure!r}")

    @property
    def ok(self) -> bool:
        """Whether a program was extracted."""
        return self.code is not None




def _candidates(blocks: Iterable[CodeBlock]) -> list[tuple[CodeBlock, Repaired | None]]:
    found: list[tuple[CodeBlock, Repaired | None]] = []
    for block in blocks:
        candidate = repair(block.text)
        if candidate is not None and not block.closed:
            # The answer stopped inside the fence: the code may be cut short even if it parses.
            note = "closing fence missing (answer truncated?)"
            candidate = Repaired(
                candidate.code, candidate.tree, (*candidate.notes, note), truncated=True
            )
        found.append((block, candidate))
    return found


def _pick(
    found: list[tuple[CodeBlock, Repaired | None]], function_name: str
) -> Repaired | None:
    """The last complete block defining the function, else the last repaired one.

    Answers put drafts first and the final version last, so the last definition
    wins; a block that needed truncation repair loses to a complete one.
    """
    defining = [
        c for _, c in found if c is not None and function_name in defined_functions(c.tree)
    ]
    complete = [c for c in defining if not c.truncated]
    if complete:
        return complete[-1]
    return defining[-1] if defining else None


def _failure(
    found: list[tuple[CodeBlock, Repaired | None]], notes: list[str]
) -> ExtractionFailure:
    if not found:
        return ExtractionFailure.NO_CODE
    parsed = [c for _, c in found if c is not None]
    if not parsed:
        last = found[-1][0]
        if last.fenced and not last.closed:
            return ExtractionFailure.TRUNCATED
        return ExtractionFailure.SYNTAX_ERROR
    names = sorted({name for c in parsed for name in defined_functions(c.tree)})
    notes.append("functions found: " + (", ".join(names) if names else "none"))
    return ExtractionFailure.MISSING_FUNCTION


def extract_code(text: str, function_name: str) -> Extraction:
    """Extract the program that defines ``function_name`` from a model's answer.

    Parameters
    ----------
    text
        The raw answer.
    function_name
        The function the program must define at top level (``"schedule"``).

    Returns
    -------
    Extraction
        On success ``code`` parses with :func:`ast.parse` and defines the function
        at top level; ``notes`` record the repairs made. On failure ``failure``
        says why (no code at all, syntax error, truncated, function missing).

    Notes
    -----
    Fenced blocks are preferred to unfenced code. Among blocks defining the
    function the last complete one wins. Names it uses but does not define are
    taken from the other blocks' top-level imports and definitions, and common
    standard modules (``math``, ``heapq``, ``np``…) are imported when still missing.
    """
    if not function_name.isidentifier():
        raise ValueError(f"function_name {function_name!r} is not an identifier")
    if not text or not text.strip():
        return Extraction(None, ExtractionFailure.EMPTY, ("empty answer",))
    parts = segment(text)
    notes = list(parts.notes)
    fenced = _candidates(parts.blocks)
    unfenced = _candidates(parts.unfenced)
    # Fenced blocks whose content is prose plus code (e.g. ```text) are re-read as text.
    inner = _candidates(
        region
        for block, cand in fenced
        if cand is None
        for region in segment(block.text).unfenced
    )
    chosen = _pick(fenced, function_name)
    source = "fenced block"
    if chosen is None:
        chosen, source = _pick(unfenced + inner, function_name), "unfenced code"
    if chosen is None:
        found = fenced + unfenced if fenced or unfenced else []
        return Extraction(None, _failure(found, notes), tuple(notes))
    notes.append(f"took the {source} defining `{function_name}`")
    donors = [c for _, c in fenced + unfenced + inner if c is not None and c is not chosen]
    chosen = strip_script_code(chosen)
    notes.extend(chosen.notes)
    code, merge_notes = merge_helpers(chosen, donors, function_name)
    notes.extend(merge_notes)
    tree = parse_module(code)
    if tree is None or function_name not in defined_functions(tree):  # pragma: no cover
        return Extraction(None, ExtractionFailure.SYNTAX_ERROR, (*notes, "merge broke the code"))
    return Extraction(code, None, tuple(notes), truncated=chosen.truncated)


_IDEA_LINE = re.compile(
    r"^[\s>*_#-]*(?:\*\*)?(?:idea|one[- ]line idea|description|algorithm idea)(?:\*\*)?"
    r"[ \t]*(?:\*\*)?[:：](?:\*\*)?[ \t]*(?P<rest>.*)$",
    re.IGNORECASE,
)
_MAX_IDEA = 300


def _clean_idea(raw: str) -> str | None:
    idea = raw.strip().strip("*_`\"' ").strip()
    idea = re.sub(r"\s+", " ", idea)
    if not idea:
        return None
    return idea if len(idea) <= _MAX_IDEA else idea[: _MAX_IDEA - 1].rstrip() + "…"


def _idea_from_marker(text: str) -> str | None:
    lines = text.split("\n")
    for index, line in enumerate(lines):
        match = _IDEA_LINE.match(line)
        if match is None:
            continue
        rest = match.group("rest")
        if not rest.strip():  # "IDEA:" alone on its line: the idea follows
            rest = next((ln for ln in lines[index + 1 :] if ln.strip()), "")
        idea = _clean_idea(rest)
        if idea:
            return idea
    return None


def _idea_from_code(code: str, function_name: str | None) -> str | None:
    tree = parse_module(code)
    if tree is None:
        return None
    functions = [
        n for n in tree.body
        if isinstance(n, ast.FunctionDef) and (function_name is None or n.name == function_name)
    ]
    for node in functions[-1:]:
        doc = ast.get_docstring(node)
        if doc:
            return _clean_idea(doc.strip().split("\n\n")[0])
        # A leading comment in the body: the first comment line after the def line.
        body_lines = code.split("\n")[node.lineno : node.body[0].lineno]
        for line in body_lines:
            if line.strip().startswith("#"):
                return _clean_idea(line.strip().lstrip("#"))
    doc = ast.get_docstring(tree)
    return _clean_idea(doc.strip().split("\n\n")[0]) if doc else None


def extract_idea(text: str, function_name: str | None = None) -> str | None:
    """Extract the one-line idea a model was asked to state.

    Parameters
    ----------
    text
        The raw answer.
    function_name
        When given, the function whose docstring or leading comment is the
        fallback idea.

    Returns
    -------
    str or None
        The text after an ``IDEA:`` line (also ``**Idea:**``, ``# Idea:``, or the
        line after a bare ``IDEA:``), outside thinking sections; otherwise the
        first paragraph of the function's docstring, its leading comment, or the
        module docstring. ``None`` when there is none. Whitespace is collapsed and
        the idea is cut to 300 characters.
    """
    visible, _ = strip_thinking(normalise_newlines(text))
    parts = segment(visible)
    _, outside = fenced_blocks(visible)
    idea = _idea_from_marker(outside) or _idea_from_marker(visible)
    if idea:
        return idea
    if function_name is not None:
        extraction = extract_code(visible, function_name)
        if extraction.code is not None:
            return _idea_from_code(extraction.code, function_name)
    for block in (*parts.blocks, *parts.unfenced):
        idea = _idea_from_code(block.text, None)
        if idea:
            return idea
    return None
