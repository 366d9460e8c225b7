"""Exceptions raised by the sandbox itself (never for a candidate's misbehaviour)."""

from __future__ import annotations


class SandboxError(RuntimeError):
    """The sandbox could not do its job (a worker failed to start, the pool is closed)."""


class SandboxUnavailable(SandboxError):
    """Strict isolation was requested but a layer is missing on this machine."""
