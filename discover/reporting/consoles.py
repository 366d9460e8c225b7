"""Rich consoles that never wrap or truncate output that is not going to a terminal.

Rich lays text and tables out for an 80-column screen when its stream is a pipe or
a file (or for the size of whatever terminal stdin happens to be). Output written
to a file is data: ``discover archive diff A B > d.patch`` must be a valid patch,
and ``discover archive runs > runs.txt`` must keep every value. So when the stream
is not a terminal these consoles lay out for an unbounded width, print code
without syntax decoration, and draw rules as one short line.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, ConsoleDimensions
from rich.syntax import Syntax
from rich.text import Text

# Wide enough for any table or line discover prints; rich only pads to the console
# width for rules, panels and syntax blocks, which are handled below.
UNBOUNDED_WIDTH = 1_000_000


class OutputConsole(Console):
    """A :class:`rich.console.Console` whose layout width is unbounded off a terminal."""

    @property
    def size(self) -> ConsoleDimensions:
        """The terminal's size, or an unbounded width when not writing to a terminal."""
        if not self.is_terminal:
            # Even a COLUMNS value from the environment: a file has no width.
            return ConsoleDimensions(UNBOUNDED_WIDTH, 25)
        return super().size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        width, height = new_size
        self._width = width
        self._height = height

    def rule(self, title: str | Text = "", *args: Any, **kwargs: Any) -> None:
        """A horizontal rule; off a terminal one line ``── title ──``."""
        if self.is_terminal:
            super().rule(title, *args, **kwargs)
            return
        label = title.plain if isinstance(title, Text) else str(title)
        self.out(f"── {label} ──" if label else "─" * 20, highlight=False)

    def print_code(self, code: str, lexer: str, *, line_numbers: bool = False) -> None:
        """Highlighted code on a terminal; the exact text, byte for byte, elsewhere."""
        if self.is_terminal:
            self.print(Syntax(code, lexer, line_numbers=line_numbers, word_wrap=True))
            return
        self.file.write(code if code.endswith("\n") or not code else code + "\n")
        self.file.flush()
