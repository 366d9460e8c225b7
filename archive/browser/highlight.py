"""Python syntax highlighting on the server, with the standard library's tokenizer.

Every piece of source text is HTML-escaped before it is wrapped in a
``<span class=…>``; the class names come from a fixed table, never from the
code. Code that does not tokenize (candidates rejected for a syntax error)
is highlighted up to the error and shown plain from there on.

Examples
--------
>>> lines = highlight_lines("def f(x):  # <b>\\n    return x\\n")
>>> str(lines[0])
'<span class="kw">def</span> <span class="fn">f</span><span class="op">(</span>x\
<span class="op">)</span><span class="op">:</span>  <span class="co"># &lt;b&gt;</span>'
"""

from __future__ import annotations

import builtins
import io
import keyword
import token
import tokenize
from collections.abc import Iterator

from markupsafe import Markup, escape

_BUILTINS = frozenset(name for name in dir(builtins) if not name.startswith("_"))
_CONSTANTS = frozenset({"True", "False", "None"})
_STRING_TYPES = frozenset(
    getattr(token, name) for name in ("STRING", "FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
    if hasattr(token, name)
)


def _token_class(tok: tokenize.TokenInfo, previous: str) -> str | None:
    """CSS class of one token (``None`` for plain text)."""
    if tok.type == token.NAME:
        if tok.string in _CONSTANTS:
            return "cn"
        if keyword.iskeyword(tok.string):
            return "kw"
        if previous in ("def", "class"):
            return "fn"
        if tok.string in _BUILTINS:
            return "bi"
        return None
    if tok.type in _STRING_TYPES:
        return "st"
    if tok.type == token.NUMBER:
        return "nu"
    if tok.type == token.COMMENT:
        return "co"
    if tok.type == token.OP:
        return "op"
    return None


def _segments(code: str) -> Iterator[tuple[str, str | None]]:
    """``(text, class)`` pieces covering ``code`` exactly, in order."""
    # Rows as the tokenizer counts them: StringIO.readline splits on "\n" only.
    starts = [0]
    for line in code.split("\n"):
        starts.append(starts[-1] + len(line) + 1)

    def offset(row: int, col: int) -> int:
        return starts[min(row - 1, len(starts) - 1)] + col

    done = 0
    previous = ""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type in (token.ENDMARKER, token.INDENT, token.DEDENT, token.NEWLINE,
                            token.NL):
                continue
            begin, end = offset(*tok.start), offset(*tok.end)
            if begin < done:  # never re-emit text (defensive: tokens are ordered)
                continue
            if begin > done:
                yield code[done:begin], None
            yield code[begin:end], _token_class(tok, previous)
            done = end
            previous = tok.string
    except (tokenize.TokenError, SyntaxError):
        pass  # unterminated string or bracket, bad indentation: the rest stays plain
    if done < len(code):
        yield code[done:], None


def highlight_lines(code: str) -> tuple[Markup, ...]:
    """Highlighted HTML of ``code``, one escaped :class:`Markup` per source line.

    Tokens spanning several lines (triple-quoted strings) are split so that each
    line's markup is balanced on its own, which lets callers put lines in table rows.
    """
    lines: list[list[tuple[str, str | None]]] = [[]]
    for text, css in _segments(code):
        for k, part in enumerate(text.split("\n")):
            if k:
                lines.append([])
            if part:
                lines[-1].append((part, css))
    if code.endswith("\n"):
        lines.pop()  # the newline ends the last line; it does not start another
    out = []
    for pieces in lines:
        if pieces and pieces[-1][0].endswith("\r"):  # CRLF line ending: not shown
            text, css = pieces[-1]
            pieces[-1] = (text[:-1], css)
        out.append(Markup("".join(
            (f'<span class="{css}">{escape(text)}</span>' if css else str(escape(text)))
            for text, css in pieces if text)))
    return tuple(out)
