"""Untrusted text (from candidates, models, the archive) printed literally.

Rich parses ``[...]`` in printed strings as markup: a candidate's exception
message of ``[/]`` made the printer raise, and ``[green]ok[/green]`` plus ANSI
escapes could repaint a report. Untrusted text therefore reaches a console only
as a :class:`rich.text.Text` (never parsed as markup) whose control and format
characters have been made visible by :func:`sandbox.text.visible`.
"""

from __future__ import annotations

from rich.text import Text

from sandbox.text import visible


def literal(text: object, *, multiline: bool = False, limit: int | None = None,
            style: str = "") -> Text:
    """``text`` as a rich ``Text`` that prints exactly as its characters read.

    Parameters
    ----------
    text
        Untrusted text (``None`` prints as nothing; other objects via ``str``).
    multiline
        Keep newlines and tabs; otherwise they show as ``\\n`` and ``\\t``, so a
        one-line field cannot add lines of its own.
    limit
        Cut the visible text to this many characters.
    style
        A rich style for the whole text (trusted).
    """
    shown = visible("" if text is None else str(text), multiline=multiline)
    return Text(shown if limit is None else shown[:limit], style=style)


def labelled(label: str, text: object, *, width: int = 10) -> Text:
    """``label`` (trusted) padded to ``width``, then ``text`` printed literally."""
    return Text(f"{label:<{width}} ").append_text(literal(text))
