"""Apply SEARCH/REPLACE edit blocks from a model's answer to a parent program.

Diff mode asks the model for edits instead of a full rewrite::

    <<<<<<< SEARCH
        return sorted(range(n), key=lambda j: d[j])
    =======
        return sorted(range(n), key=lambda j: (d[j] - p[j], j))
    >>>>>>> REPLACE

Models copy the SEARCH text imperfectly: indentation shifted, trailing spaces,
blank lines dropped, a token changed. Each block is matched exactly first, then
line by line with whitespace normalised (re-indenting the replacement by the same
offset), then fuzzily with :class:`difflib.SequenceMatcher` above a threshold.
Blocks that match nowhere are reported so that the caller can fall back to asking
for (or extracting) a full rewrite.
"""

from __future__ import annotations

import ast
import difflib
import enum
import re
from dataclasses import dataclass

from discover.answers.blocks import normalise_newlines, strip_thinking

_SEARCH = re.compile(r"^[ \t]*<{5,9}[ \t]*SEARCH\b.*$")
_DIVIDER = re.compile(r"^[ \t]*={5,9}[ \t]*$")
_REPLACE = re.compile(r"^[ \t]*>{5,9}[ \t]*REPLACE\b.*$")

DEFAULT_FUZZY_THRESHOLD = 0.9
# Fuzzy matching compares the search text with every window of the code; beyond this
# many (code lines × search lines) it would take seconds, and a real edit is never that big.
_MAX_FUZZY_WORK = 200_000


class MatchKind(enum.Enum):
    """How (or whether) one SEARCH block was located in the code."""

    EXACT = "exact"
    WHITESPACE = "whitespace"
    FUZZY = "fuzzy"
    APPENDED = "appended"
    NOT_FOUND = "not_found"
    MALFORMED = "malformed"


class DiffFailure(enum.Enum):
    """Why a diff answer did not produce a usable program."""

    NO_BLOCKS = "no_blocks"
    BLOCK_FAILED = "block_failed"
    SYNTAX_ERROR = "syntax_error"


@dataclass(frozen=True)
class EditBlock:
    """One parsed SEARCH/REPLACE pair (``complete`` is False when a marker is missing)."""

    search: str
    replace: str
    complete: bool = True


@dataclass(frozen=True)
class BlockOutcome:
    """What happened to one edit block.

    Parameters
    ----------
    index
        Position of the block in the answer (0-based).
    kind
        How it matched, or why not.
    similarity
        Best :class:`difflib.SequenceMatcher` ratio found (1.0 for exact matches).
    """

    index: int
    kind: MatchKind
    similarity: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.similarity <= 1.0:
            raise ValueError(f"similarity must be in [0, 1], got {self.similarity}")

    @property
    def applied(self) -> bool:
        """Whether the block changed the code."""
        return self.kind not in (MatchKind.NOT_FOUND, MatchKind.MALFORMED)


@dataclass(frozen=True)
class DiffResult:
    """Result of :func:`apply_search_replace`.

    Parameters
    ----------
    code
        The parent with every applicable block applied (the parent itself when none was).
    outcomes
        One entry per block, in answer order.
    failure
        ``None`` when every block applied and the result parses; otherwise why not.
    """

    code: str
    outcomes: tuple[BlockOutcome, ...]
    failure: DiffFailure | None

    @property
    def ok(self) -> bool:
        """Whether the caller can use :attr:`code` as the child program."""
        return self.failure is None

    @property
    def failed_blocks(self) -> tuple[int, ...]:
        """Indices of blocks that did not apply."""
        return tuple(o.index for o in self.outcomes if not o.applied)


def parse_edit_blocks(text: str) -> tuple[EditBlock, ...]:
    """Find SEARCH/REPLACE blocks in an answer (thinking sections are ignored).

    A block missing its divider or REPLACE marker (a truncated answer) is returned
    with ``complete=False``.
    """
    visible, _ = strip_thinking(normalise_newlines(text))
    lines = visible.split("\n")
    blocks: list[EditBlock] = []
    i = 0
    while i < len(lines):
        if _SEARCH.match(lines[i]) is None:
            i += 1
            continue
        search: list[str] = []
        replace: list[str] = []
        j = i + 1
        while j < len(lines) and not _DIVIDER.match(lines[j]) and not _SEARCH.match(lines[j]):
            search.append(lines[j])
            j += 1
        if j >= len(lines) or _SEARCH.match(lines[j]):
            blocks.append(EditBlock("\n".join(search), "", complete=False))
            i = j
            continue
        j += 1
        while j < len(lines) and not _REPLACE.match(lines[j]) and not _SEARCH.match(lines[j]):
            replace.append(lines[j])
            j += 1
        complete = j < len(lines) and _REPLACE.match(lines[j]) is not None
        blocks.append(EditBlock("\n".join(search), "\n".join(replace), complete=complete))
        i = j + 1 if complete else j
    return tuple(blocks)


def _norm(line: str) -> str:
    return " ".join(line.split())


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _reindent(text: str, offset: int) -> str:
    """Shift every non-blank line by ``offset`` spaces (never below column 0)."""
    out = []
    for line in text.split("\n"):
        if not line.strip():
            out.append("")
        elif offset >= 0:
            out.append(" " * offset + line)
        else:
            out.append(line[min(-offset, _indent(line)) :])
    return "\n".join(out)


def _replace_lines(code_lines: list[str], start: int, end: int, search: str, replace: str) -> str:
    """Replace ``code_lines[start:end]``, re-indenting by the search's indentation offset."""
    first = next(line for line in search.split("\n") if line.strip())
    offset = _indent(code_lines[start].expandtabs(4)) - _indent(first.expandtabs(4))
    new = _reindent(replace.expandtabs(4), offset) if replace.strip() else ""
    head, tail = code_lines[:start], code_lines[end:]
    middle = new.split("\n") if new else []
    return "\n".join(head + middle + tail)


def _match_exact(code: str, search: str) -> tuple[int, int] | None:
    """Line span of ``code`` equal to ``search`` line for line (whole lines only)."""
    code_lines = code.split("\n")
    wanted = search.strip("\n").split("\n")
    for s in range(len(code_lines) - len(wanted) + 1):
        if code_lines[s : s + len(wanted)] == wanted:
            return s, s + len(wanted)
    return None


def _match_whitespace(code: str, search: str) -> tuple[int, int] | None:
    """Line span of ``code`` equal to ``search`` up to whitespace and blank lines."""
    code_lines = code.split("\n")
    wanted = [_norm(line) for line in search.split("\n") if line.strip()]
    if not wanted:
        return None
    nonblank = [(k, _norm(line)) for k, line in enumerate(code_lines) if line.strip()]
    for s in range(len(nonblank) - len(wanted) + 1):
        if all(nonblank[s + k][1] == wanted[k] for k in range(len(wanted))):
            return nonblank[s][0], nonblank[s + len(wanted) - 1][0] + 1
    return None


def _match_fuzzy(code: str, search: str) -> tuple[float, tuple[int, int] | None]:
    """Best-matching line window of ``code`` for ``search`` and its similarity."""
    code_lines = code.split("\n")
    wanted = [_norm(line) for line in search.split("\n") if line.strip()]
    if not wanted:
        return 0.0, None
    target = "\n".join(wanted)
    nonblank = [(k, _norm(line)) for k, line in enumerate(code_lines) if line.strip()]
    if len(nonblank) * len(wanted) > _MAX_FUZZY_WORK:
        return 0.0, None
    best, span = 0.0, None
    for size in {max(1, len(wanted) - 1), len(wanted), len(wanted) + 1}:
        for s in range(len(nonblank) - size + 1):
            window = "\n".join(text for _, text in nonblank[s : s + size])
            matcher = difflib.SequenceMatcher(None, target, window, autojunk=False)
            if matcher.real_quick_ratio() <= best or matcher.quick_ratio() <= best:
                continue
            ratio = matcher.ratio()
            if ratio > best:
                best, span = ratio, (nonblank[s][0], nonblank[s + size - 1][0] + 1)
    return best, span


def _apply_one(
    code: str, block: EditBlock, index: int, threshold: float
) -> tuple[str, BlockOutcome]:
    if not block.complete:
        return code, BlockOutcome(index, MatchKind.MALFORMED, 0.0)
    if not block.search.strip():
        # An empty SEARCH adds code (typically a helper); a module may define it last.
        appended = code.rstrip("\n") + "\n\n\n" + block.replace.strip("\n") + "\n"
        return appended, BlockOutcome(index, MatchKind.APPENDED, 1.0)
    span = _match_exact(code, block.search)
    if span is not None:
        lines = code.split("\n")
        middle = block.replace.strip("\n").split("\n") if block.replace.strip() else []
        new = "\n".join(lines[: span[0]] + middle + lines[span[1] :])
        return new, BlockOutcome(index, MatchKind.EXACT, 1.0)
    span = _match_whitespace(code, block.search)
    if span is not None:
        new = _replace_lines(code.split("\n"), *span, block.search, block.replace)
        return new, BlockOutcome(index, MatchKind.WHITESPACE, 1.0)
    similarity, fuzzy_span = _match_fuzzy(code, block.search)
    if fuzzy_span is not None and similarity >= threshold:
        new = _replace_lines(code.split("\n"), *fuzzy_span, block.search, block.replace)
        return new, BlockOutcome(index, MatchKind.FUZZY, similarity)
    return code, BlockOutcome(index, MatchKind.NOT_FOUND, similarity)


def apply_search_replace(
    parent_code: str, text: str, *, fuzzy_threshold: float = DEFAULT_FUZZY_THRESHOLD
) -> DiffResult:
    """Apply the SEARCH/REPLACE blocks of an answer to ``parent_code``, in order.

    Parameters
    ----------
    parent_code
        The program being edited.
    text
        The model's answer; blocks may sit inside code fences and among prose.
    fuzzy_threshold
        Minimum :class:`difflib.SequenceMatcher` ratio (on whitespace-normalised
        lines) for a fuzzy match.

    Returns
    -------
    DiffResult
        ``ok`` only when there was at least one block, every block applied and the
        result parses; otherwise ``failure`` and ``failed_blocks`` say what went
        wrong and the caller should fall back to a full rewrite.
    """
    if not 0.0 < fuzzy_threshold <= 1.0:
        raise ValueError(f"fuzzy_threshold must be in (0, 1], got {fuzzy_threshold}")
    parent_code = normalise_newlines(parent_code)
    blocks = parse_edit_blocks(text)
    if not blocks:
        return DiffResult(parent_code, (), DiffFailure.NO_BLOCKS)
    code = parent_code
    outcomes = []
    for index, block in enumerate(blocks):
        code, outcome = _apply_one(code, block, index, fuzzy_threshold)
        outcomes.append(outcome)
    failure = None
    if not all(o.applied for o in outcomes):
        failure = DiffFailure.BLOCK_FAILED
    else:
        try:
            ast.parse(code)
        except (SyntaxError, ValueError):
            failure = DiffFailure.SYNTAX_ERROR
    return DiffResult(code, tuple(outcomes), failure)
