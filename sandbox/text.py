"""Text that came from a candidate (or a model), made safe to store and to show.

Candidate text — exception messages, tracebacks, printed output, returned
strings, model-written source — is hostile input. Two hazards:

*storing and encoding it*
    A lone surrogate (``chr(0xD800)``) cannot be encoded as UTF-8, so writing it
    to the archive, a terminal or a JSON file raises ``UnicodeEncodeError``; a NUL
    is refused by PostgreSQL text columns (and so by the archive's records).
    :func:`storable` replaces both by visible escapes (``\\ud800``, ``\\x00``);
    the channel decoder applies it to every text field, so nothing downstream
    ever holds such a character.
*showing it*
    Control characters (ANSI escape sequences, carriage returns, backspaces),
    bidirectional overrides, line separators and code points a terminal may draw
    in any way (private-use, unassigned) let a message repaint or
    reorder what a terminal shows; a newline in a one-line field adds lines of
    its own. :func:`visible` turns every such character into a printable escape
    (``\\x1b``, ``\\u202e``). It does not escape terminal markup (that is the
    printer's business: print a :class:`rich.text.Text`, never a markup string).
"""

from __future__ import annotations

import re
import unicodedata

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def storable(text: str) -> str:
    """``text`` with lone surrogates and NUL characters replaced by visible escapes.

    The result always encodes as UTF-8 and fits every archive backend.

    Examples
    --------
    >>> storable("bad \\ud800 byte\\x00")
    'bad \\\\ud800 byte\\\\x00'
    """
    if text.isascii() and "\x00" not in text:
        return text
    return _UNSTORABLE.sub(lambda m: _escape(m.group()), text)


def _is_invisible(char: str, keep: str) -> bool:
    # Not printable: controls and DEL (Cc), format characters such as bidi overrides
    # and zero-width ones (Cf), lone surrogates (Cs), private-use (Co) and unassigned
    # (Cn) code points, line and paragraph separators (Zl, Zp); spaces (Zs) are fine.
    return (char not in keep and not char.isprintable()
            and unicodedata.category(char) != "Zs")


def visible(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control or format character shown as an escape.

    Parameters
    ----------
    text
        Untrusted text.
    multiline
        Keep newlines and tabs (for source code and tracebacks printed as
        blocks); otherwise they are escaped too, so a one-line field stays one
        line.

    Examples
    --------
    >>> visible("ok\\x1b[2K\\rstatus ok\\n")
    'ok\\\\x1b[2K\\\\rstatus ok\\\\n'
    >>> visible("a\\n\\tb", multiline=True)
    'a\\n\\tb'
    """
    keep = "\n\t" if multiline else ""
    if text.isascii() and text.isprintable():
        return text
    return "".join(_escape(c) if _is_invisible(c, keep) else c for c in text)
