"""Errors of the executors (where candidates are evaluated)."""

from __future__ import annotations


class ExecutorError(RuntimeError):
    """The executor cannot be started or used; the message says why and what to do."""


class ExecutorLost(ExecutorError):
    """The cluster went away mid-run (scheduler lost, no workers left).

    Everything recorded before stays in the archive; the run is marked
    interrupted and ``discover run --resume RUN`` continues it.
    """


class PoolClosed(ExecutorError):
    """The pool was closed under an evaluation: the run is ending, not the candidate's doing.

    A run closes its pool when it stops (its budget spent, Ctrl-C, a lost
    cluster); evaluations still in flight then fail with this error, which says
    nothing about the candidates they were running.
    """
