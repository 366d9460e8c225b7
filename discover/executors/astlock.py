"""A process-wide lock around ``ast.parse`` for processes that run a search or a Dask worker."""

from __future__ import annotations

import ast
import sys
import threading
from typing import Any

_ast_lock = threading.RLock()


def serialise_ast_parse() -> None:
    """Make ``ast.parse`` take a process-wide lock (idempotent; CPython < 3.13 only).

    CPython 3.11/3.12 keep the AST constructor's recursion depth in
    per-interpreter state. When two threads parse at once and the first is
    switched out mid-construction — which happens when a garbage collection
    inside it runs Python finalizers, as the Dask client's futures have — the
    counter is corrupted and ``ast.parse`` raises ``SystemError: AST constructor
    recursion depth mismatch`` (cpython gh-106905). The loop parses candidates
    in several threads (proposals, dedup, pre-checks), so in a process that runs
    a search (:func:`discover.runner.run`) or hosts a Dask worker every
    ``ast.parse`` goes through one lock. Re-entrant, so a
    finalizer that parses in the same thread cannot deadlock.
    """
    if sys.version_info >= (3, 13) or getattr(ast.parse, "_discover_locked", False):
        return
    original = ast.parse

    def parse(*args: Any, **kwargs: Any) -> Any:
        with _ast_lock:
            return original(*args, **kwargs)

    parse._discover_locked = True  # type: ignore[attr-defined]
    parse.__doc__ = original.__doc__
    ast.parse = parse
