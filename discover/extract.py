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
import builtins
import enum
import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass

from discover.answer_text import (
    CodeBlock,
    fenced_blocks,
    normalise_newlines,
    segment,
    strip_thinking,
)
from discover.diffs import DiffResult, apply_search_replace

__all__ = [
    "DiffResult",
    "Extraction",
    "ExtractionFailure",
    "apply_search_replace",
    "defined_functions",
    "extract_code",
    "extract_idea",
]

_BUILTINS = frozenset(dir(builtins))

# Names a heuristic commonly uses without importing them, and the import that
# defines each. Only modules in the default allowed-import list appear here.
_KNOWN_IMPORTS = {
    "math": "import math",
    "heapq": "import heapq",
    "itertools": "import itertools",
    "functools": "import functools",
    "bisect": "import bisect",
    "collections": "import collections",
    "random": "import random",
    "np": "import numpy as np",
    "numpy": "import numpy",
    "defaultdict": "from collections import defaultdict",
    "deque": "from collections import deque",
    "Counter": "from collections import Counter",
    "heappush": "from heapq import heappush",
    "heappop": "from heapq import heappop",
    "heapify": "from heapq import heapify",
    "lru_cache": "from functools import lru_cache",
    "cmp_to_key": "from functools import cmp_to_key",
    "inf": "from math import inf",
}

# A truncated answer is repaired by dropping at most this many trailing lines.
_MAX_TRUNCATION_REPAIR = 40


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


@dataclass(frozen=True)
class _Candidate:
    """A block after repair: parseable code plus what was done to it."""

    code: str
    tree: ast.Module
    notes: tuple[str, ...]
    truncated: bool


def _parse(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _expand_leading_tabs(code: str, width: int) -> str:
    out = []
    for line in code.split("\n"):
        stripped = line.lstrip(" \t")
        out.append(line[: len(line) - len(stripped)].expandtabs(width) + stripped)
    return "\n".join(out)


def _dedent_after_first(code: str) -> str:
    """Fix code whose first line lost its indentation but whose other lines kept it."""
    lines = code.split("\n")
    rest = [line for line in lines[1:] if line.strip()]
    if not rest or lines[0] != lines[0].lstrip():
        return code
    return lines[0] + "\n" + textwrap.dedent("\n".join(lines[1:]))


def _layout_variants(code: str) -> list[tuple[str, str | None]]:
    """Re-indentations to try, each with the note that records it."""
    variants: list[tuple[str, str | None]] = [(code, None)]
    variants.append((textwrap.dedent(code), "removed common indentation"))
    for width in (4, 8):
        variants.append(
            (textwrap.dedent(_expand_leading_tabs(code, width)), f"expanded tabs to {width}")
        )
    variants.append((_dedent_after_first(textwrap.dedent(code)), "re-indented after line 1"))
    return variants


def _repair(code: str) -> _Candidate | None:
    """Make a block parse by re-indenting it, then by dropping truncated tail lines."""
    code = code.strip("\n")
    if not code.strip():
        return None
    for variant, note in _layout_variants(code):
        tree = _parse(variant)
        if tree is not None:
            return _Candidate(variant, tree, (note,) if note else (), truncated=False)
    base = textwrap.dedent(_expand_leading_tabs(code, 4))
    lines = base.split("\n")
    for dropped in range(1, min(_MAX_TRUNCATION_REPAIR, len(lines) - 1) + 1):
        head = "\n".join(lines[:-dropped]).rstrip()
        tree = _parse(head)
        if tree is not None and head:
            note = f"dropped {dropped} trailing line(s) that did not parse (truncated answer?)"
            return _Candidate(head, tree, (note,), truncated=True)
    return None


def defined_functions(tree: ast.Module) -> tuple[str, ...]:
    """Names of the top-level (non-async) functions a module defines."""
    return tuple(node.name for node in tree.body if isinstance(node, ast.FunctionDef))


def _statement_source(code: str, node: ast.stmt) -> str:
    lines = code.split("\n")
    first = node.lineno
    decorators = getattr(node, "decorator_list", [])
    if decorators:
        first = min(first, *(d.lineno for d in decorators))
    end = node.end_lineno if node.end_lineno is not None else node.lineno
    return "\n".join(lines[first - 1 : end])


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    names = {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}
    return "__name__" in names


def _strip_script_code(candidate: _Candidate) -> _Candidate:
    """Drop ``if __name__ == "__main__"`` blocks and top-level calls such as demos.

    They are never part of a heuristic and would run when the sandbox imports it.
    """
    body = candidate.tree.body
    keep: list[ast.stmt] = []
    dropped = 0
    for index, node in enumerate(body):
        is_docstring = (
            index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        )
        if _is_main_guard(node) or (isinstance(node, ast.Expr) and not is_docstring):
            dropped += 1
            continue
        keep.append(node)
    if not dropped:
        return candidate
    code = "\n\n".join(_statement_source(candidate.code, node) for node in keep)
    tree = _parse(code)
    if tree is None:  # pragma: no cover - statements of a parsed module re-parse
        return candidate
    note = f"removed {dropped} top-level script statement(s) (demo or main guard)"
    return _Candidate(code, tree, (*candidate.notes, note), candidate.truncated)


def _bound_names(node: ast.AST) -> set[str]:
    bound: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store | ast.Del):
            bound.add(sub.id)
        elif isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(sub.name)
        elif isinstance(sub, ast.arg):
            bound.add(sub.arg)
        elif isinstance(sub, ast.alias):
            bound.add((sub.asname or sub.name).split(".")[0])
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            bound.add(sub.name)
        elif isinstance(sub, ast.Global | ast.Nonlocal):
            bound.update(sub.names)
        elif isinstance(sub, ast.MatchAs | ast.MatchStar) and sub.name:
            bound.add(sub.name)
    return bound


def _free_names(nodes: Iterable[ast.AST]) -> set[str]:
    """Names loaded but bound nowhere in ``nodes`` (and not builtins)."""
    loaded: set[str] = set()
    bound: set[str] = set()
    for node in nodes:
        loaded |= {
            n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
        }
        bound |= _bound_names(node)
    return loaded - bound - _BUILTINS


def _top_level_binds(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _merge_helpers(
    chosen: _Candidate, donors: list[_Candidate], function_name: str
) -> tuple[str, tuple[str, ...]]:
    """Add definitions and imports the chosen code uses but does not define."""
    nodes: list[ast.AST] = list(chosen.tree.body)
    missing = _free_names(nodes)
    imports: list[str] = []
    helpers: list[str] = []
    notes: list[str] = []
    progress = True
    while missing and progress:
        progress = False
        for donor in donors:
            for node in donor.tree.body:
                binds = _top_level_binds(node) - {function_name}
                if not binds & missing:
                    continue
                source = _statement_source(donor.code, node)
                target = imports if isinstance(node, ast.Import | ast.ImportFrom) else helpers
                if source not in target:
                    target.append(source)
                    nodes.append(node)
                    progress = True
        missing = _free_names(nodes)
    if imports or helpers:
        notes.append(f"merged {len(imports) + len(helpers)} definition(s) from other blocks")
    for name in sorted(missing):
        if name in _KNOWN_IMPORTS and _KNOWN_IMPORTS[name] not in imports:
            imports.append(_KNOWN_IMPORTS[name])
            notes.append(f"added missing `{_KNOWN_IMPORTS[name]}`")
    if not imports and not helpers:
        return chosen.code.rstrip("\n") + "\n", tuple(notes)
    # Keep the chosen code's own docstring and imports first, then what was merged.
    head_end = 0
    for index, node in enumerate(chosen.tree.body):
        leading_doc = index == 0 and isinstance(node, ast.Expr)
        if not (leading_doc or isinstance(node, ast.Import | ast.ImportFrom)):
            break
        head_end = node.end_lineno or node.lineno
    lines = chosen.code.split("\n")
    head, rest = "\n".join(lines[:head_end]).strip("\n"), "\n".join(lines[head_end:]).strip("\n")
    top = "\n".join(part for part in (head, "\n".join(imports)) if part)
    parts = [part for part in (top, *helpers, rest) if part]
    return "\n\n\n".join(parts) + "\n", tuple(notes)


def _candidates(blocks: Iterable[CodeBlock]) -> list[tuple[CodeBlock, _Candidate | None]]:
    found: list[tuple[CodeBlock, _Candidate | None]] = []
    for block in blocks:
        candidate = _repair(block.text)
        if candidate is not None and not block.closed:
            # The answer stopped inside the fence: the code may be cut short even if it parses.
            note = "closing fence missing (answer truncated?)"
            candidate = _Candidate(
                candidate.code, candidate.tree, (*candidate.notes, note), truncated=True
            )
        found.append((block, candidate))
    return found


def _pick(
    found: list[tuple[CodeBlock, _Candidate | None]], function_name: str
) -> _Candidate | None:
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
    found: list[tuple[CodeBlock, _Candidate | None]], notes: list[str]
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
    chosen = _strip_script_code(chosen)
    notes.extend(chosen.notes)
    code, merge_notes = _merge_helpers(chosen, donors, function_name)
    notes.extend(merge_notes)
    tree = _parse(code)
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
    tree = _parse(code)
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
