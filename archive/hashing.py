"""Default normalised-code hash for programs recorded without one.

The loop's deduplication (:mod:`discover.search.duplicates`) owns the stronger hash that
also renames local variables and passes it in :attr:`archive.records.Program.code_hash`.
This fallback, used when a caller gives none, ignores only formatting,
comments and docstrings, so it never merges programs the loop would keep apart.
"""

from __future__ import annotations

import ast
import hashlib


def code_hash(code: str) -> str:
    """SHA-256 (64 hex digits) of ``code`` with formatting, comments and docstrings removed.

    Code that does not parse is hashed as its lines with surrounding
    whitespace stripped and blank lines dropped.
    """
    try:
        return _ast_hash(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # Unparsable (or absurdly nested) code still gets a stable hash.
        lines = (line.strip() for line in code.splitlines())
        text = "\n".join(line for line in lines if line)
        return hashlib.sha256(b"text:" + text.encode("utf-8", "surrogatepass")).hexdigest()


def _ast_hash(code: str) -> str:
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if (body and isinstance(body[0], ast.Expr)
                    and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                # Keep a body non-empty: `pass` hashes the same for every docstring.
                node.body = body[1:] or [ast.Pass()]
    dumped = ast.dump(tree, annotate_fields=False, include_attributes=False)
    return hashlib.sha256(b"ast:" + dumped.encode("utf-8", "surrogatepass")).hexdigest()
