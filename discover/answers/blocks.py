"""Splitting a language model's answer into thinking, prose and code blocks.

Models wrap code in Markdown fences (```` ```python ````, ```` ``` ````, ``~~~``),
indent it inside list items, cut it off when they run out of tokens (no closing
fence), think aloud in ``<think>`` sections first, or paste code with no fence at
all. This module only *segments* an answer; :mod:`discover.answers.extract` decides
which segment is the program and repairs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Tags that reasoning models (DeepSeek-R1, QwQ, Qwen3, local servers) use for their
# scratchpad. Code inside them is a draft and must not be taken as the answer.
_THINK_TAGS = ("think", "thinking", "reasoning", "reflection", "scratchpad")
_THINK_CLOSED = re.compile(
    r"<(?P<tag>" + "|".join(_THINK_TAGS) + r")\b[^>]*>.*?</(?P=tag)\s*>",
    re.IGNORECASE | re.DOTALL,
)
_THINK_OPEN = re.compile(r"<(?:" + "|".join(_THINK_TAGS) + r")\b[^>]*>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</(?:" + "|".join(_THINK_TAGS) + r")\s*>", re.IGNORECASE)

# The SEARCH half of a SEARCH/REPLACE edit is old code quoted from the parent.
_SEARCH_HALF = re.compile(r"^[ \t]*<{5,9}[ \t]*SEARCH\b.*?^[ \t]*={5,9}[ \t]*$", re.M | re.S)
_REPLACE_END = re.compile(r"^[ \t]*>{5,9}[ \t]*REPLACE\b.*$", re.M)

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")

# Column-0 lines that start Python code when an answer has no fences at all.
_CODE_START = re.compile(
    r"^[ \t]*(?:(?:async[ \t]+)?def[ \t]+\w+[ \t]*\(|class[ \t]+\w+|import[ \t]+\w|"
    r"from[ \t]+[\w.]+[ \t]+import[ \t]|@\w)"
)
# Column-0 lines that may continue a code region (statements, comments, brackets).
_CODE_CONTINUATION = re.compile(
    r"^(?:(?:async[ \t]+)?def[ \t]|class[ \t]|import[ \t]|from[ \t]+[\w.]+[ \t]+import|@\w|#|"
    r"if[ \t(]|elif[ \t(]|else[ \t]*:|for[ \t(]|while[ \t(]|try[ \t]*:|except\b|finally[ \t]*:|"
    r"with[ \t(]|return\b|[A-Za-z_][\w.]*(?:\[[^\]]*\])?[ \t]*(?:[-+*/%|&^]|//|\*\*)?=[^=]|"
    r"[A-Za-z_][\w.]*(?:\[[^\]]*\])?[ \t]*:[ \t]*[\w\[\].\"']+[ \t]*=[^=]|"
    r"[\])}]|\"\"\"|'''|assert\b|raise\b|global\b|pass\b)"
)


@dataclass(frozen=True)
class CodeBlock:
    """One candidate piece of code found in an answer.

    Parameters
    ----------
    text
        The code, with the fence's own indentation removed.
    language
        The fence's info string, lower-cased (``""`` for plain fences and unfenced code).
    fenced
        Whether the code came from a Markdown fence.
    closed
        Whether the fence was closed (an unclosed fence means a truncated answer).
    start_line
        Line of the answer (0-based, after thinking sections were removed) where it starts.
    """

    text: str
    language: str
    fenced: bool
    closed: bool
    start_line: int

    def __post_init__(self) -> None:
        if self.start_line < 0:
            raise ValueError("start_line must be non-negative")

    @property
    def python_like(self) -> bool:
        """Whether the fence's language admits Python (or says nothing)."""
        return self.language in {"", "python", "py", "python3", "py3", "python3.11", "ipython"}


@dataclass(frozen=True)
class Segmented:
    """An answer cut into its visible text and code blocks.

    Parameters
    ----------
    visible
        The answer without thinking sections.
    blocks
        Fenced blocks in order of appearance; empty when the answer has no fence.
    unfenced
        Code regions found outside fences, in order of appearance.
    notes
        What was removed or assumed, for the caller's records.
    """

    visible: str
    blocks: tuple[CodeBlock, ...]
    unfenced: tuple[CodeBlock, ...]
    notes: tuple[str, ...]


def normalise_newlines(text: str) -> str:
    """Unify line endings and replace characters that break Python's tokenizer.

    Non-breaking and zero-width spaces come from chat front-ends and HTML copies of
    code; they are invisible to the model's reader but a syntax error to Python.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\u00a0", " ").replace("\u200b", "").replace("\ufeff", "")


def strip_thinking(text: str) -> tuple[str, tuple[str, ...]]:
    """Remove thinking sections, returning the visible answer and notes.

    Closed ``<think>…</think>`` sections are removed. A lone closing tag (servers
    that drop the opening one) removes everything before it. An opening tag that is
    never closed removes everything after it, since the model never left its
    scratchpad (typically the answer was truncated while thinking).
    """
    notes: list[str] = []
    visible, count = _THINK_CLOSED.subn("", text)
    if count:
        notes.append(f"removed {count} thinking section(s)")
    closing = list(_THINK_CLOSE.finditer(visible))
    if closing:
        visible = visible[closing[-1].end():]
        notes.append("removed text before an unmatched closing thinking tag")
    opening = _THINK_OPEN.search(visible)
    if opening:
        visible = visible[: opening.start()]
        notes.append("removed an unclosed thinking section (answer truncated while thinking?)")
    return visible, tuple(notes)


def _dedent_by(lines: list[str], indent: str) -> list[str]:
    """Remove a fence's indentation from its content lines where present."""
    width = len(indent)
    out = []
    for line in lines:
        prefix = line[:width]
        out.append(line[width:] if prefix.strip() == "" else line.lstrip(" \t"))
    return out


def fenced_blocks(text: str) -> tuple[tuple[CodeBlock, ...], str]:
    """Find Markdown code fences; return the blocks and the text outside them.

    A closing fence uses the same character as the opening one, at least as many
    times, with nothing else on the line (CommonMark's rule). An opening fence never
    closed runs to the end of the answer and is marked ``closed=False``.
    """
    lines = text.split("\n")
    blocks: list[CodeBlock] = []
    outside: list[str] = []
    i = 0
    while i < len(lines):
        match = _FENCE_OPEN.match(lines[i])
        if match is None:
            outside.append(lines[i])
            i += 1
            continue
        fence, indent = match.group("fence"), match.group("indent")
        info = match.group("info").strip().split(" ")[0].lower() if match.group("info") else ""
        closer = re.compile(r"^[ \t]*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$")
        j = i + 1
        while j < len(lines) and closer.match(lines[j]) is None:
            j += 1
        content = _dedent_by(lines[i + 1 : j], indent)
        blocks.append(
            CodeBlock("\n".join(content), info, fenced=True, closed=j < len(lines), start_line=i)
        )
        outside.append("")  # keep the prose before and after a fence apart
        i = j + 1
    return tuple(blocks), "\n".join(outside)


def unfenced_regions(text: str) -> tuple[CodeBlock, ...]:
    """Find runs of lines that look like Python in text without fences.

    A region starts at a ``def``/``class``/``import``/decorator line and continues
    through blank lines, indented lines and column-0 lines that look like
    statements; the first column-0 line of prose ends it.
    """
    lines = text.split("\n")
    regions: list[CodeBlock] = []
    i = 0
    while i < len(lines):
        if _CODE_START.match(lines[i]) is None:
            i += 1
            continue
        base = len(lines[i]) - len(lines[i].lstrip(" \t"))
        j = i + 1
        while j < len(lines):
            line = lines[j]
            indent = len(line) - len(line.lstrip(" \t"))
            if line.strip() and indent <= base and _CODE_CONTINUATION.match(line[base:]) is None:
                break
            j += 1
        chunk = lines[i:j]
        while chunk and not chunk[-1].strip():
            chunk.pop()
        regions.append(
            CodeBlock("\n".join(chunk), "", fenced=False, closed=True, start_line=i)
        )
        i = j
    return tuple(regions)


def drop_search_halves(text: str) -> tuple[str, tuple[str, ...]]:
    """Remove the quoted-parent halves and markers of SEARCH/REPLACE blocks.

    When a diff answer is read as a full program (its edits did not apply), the
    SEARCH text must not be mistaken for the new code; the REPLACE text stays.
    """
    stripped, count = _SEARCH_HALF.subn("", text)
    if not count:
        return text, ()
    stripped = _REPLACE_END.sub("", stripped)
    return stripped, (f"ignored the SEARCH half of {count} edit block(s)",)


def segment(text: str) -> Segmented:
    """Cut an answer into visible text, fenced blocks and unfenced code regions."""
    visible, notes = strip_thinking(normalise_newlines(text))
    visible, search_notes = drop_search_halves(visible)
    notes += search_notes
    blocks, outside = fenced_blocks(visible)
    return Segmented(visible, blocks, unfenced_regions(outside), notes)
