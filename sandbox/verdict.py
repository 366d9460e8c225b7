"""Turn what the supervisor observed into a typed :class:`~sandbox.outcome.Outcome`.

Runs on the trusted side. The supervisor's facts (deadline hit, caps
exceeded, exit status, signal) come first: they cannot be forged by the
candidate. Only then is the channel consulted for outputs and error details.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping
from typing import Any

from sandbox.channel import ChannelError, ChildReport, ErrorKind, parse_report
from sandbox.child import EXIT_SETUP_FAILED
from sandbox.outcome import ErrorInfo, Outcome, OutcomeStatus, step_limit_error
from sandbox.refusal import last_hint
from sandbox.text import storable


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _stack_lines(stdout: str) -> list[str]:
    """The faulthandler stack at the end of the captured output, most recent first."""
    marker = stdout.rfind("Stack (most recent call first):")
    if marker < 0:
        marker = stdout.rfind("(most recent call first):")
    if marker < 0:
        return []
    return [line.strip() for line in stdout[marker:].splitlines()[1:] if line.strip()][:12]


def _refused_call(stdout: str, code: str) -> str:
    """Describe where a refused system call came from, in candidate terms.

    The filter kills the child without running anything, so the candidate line
    comes from the last audit hint (:mod:`sandbox.refusal`); a call made
    without one (C code reached another way) is named generically.
    """
    hint = last_hint(stdout)
    if hint is None:
        return "a system call the sandbox refuses (no Python-level operation recorded)"
    event, number = hint
    source = code.splitlines()
    text = source[number - 1].strip() if 0 < number <= len(source) else ""
    return f"a system call at candidate line {number}: `{text}` ({event})"


class _Context:
    """Shared pieces of every outcome built from one reply."""

    def __init__(self, reply: Mapping[str, Any], n_payloads: int, level: str) -> None:
        self.reply = reply
        self.n = n_payloads
        self.level = level

    def outcome(self, status: OutcomeStatus, error: ErrorInfo | None,
                report: ChildReport | None) -> Outcome:
        outputs = report.outputs if report is not None else ()
        seconds = report.seconds if report is not None else ()
        steps = report.steps if report is not None else ()
        if status is not OutcomeStatus.OK:
            # a prefix of finished payloads is kept for diagnostics
            outputs, seconds, steps = outputs[:self.n], seconds[:self.n], steps[:self.n]
        cpu = self.reply.get("cpu")
        rss = self.reply.get("maxrss_kb")
        return Outcome(
            status=status, outputs=outputs, seconds=seconds,
            total_seconds=max(0.0, float(self.reply.get("elapsed", 0.0))), error=error,
            stdout=storable(str(self.reply.get("stdout", ""))),
            cpu_seconds=float(cpu) if isinstance(cpu, int | float) else None,
            max_rss_kb=int(rss) if isinstance(rss, int) else None,
            n_payloads=self.n, isolation_level=self.level, steps=steps)


def classify(reply: Mapping[str, Any], channel: bytes, n_payloads: int, code: str,
             time_limit: float, isolation_level: str = "", max_items: int = 1_000_000,
             decode_budget: int | None = None, step_limit: int | None = None) -> Outcome:
    """Build the outcome of one evaluation.

    Parameters
    ----------
    reply
        The worker's reply header (exit status, signal, flags, timings).
    channel
        The child's raw channel bytes.
    n_payloads
        Size of the batch.
    code
        The candidate's source (to quote the line of a refused call).
    time_limit
        The batch deadline, for messages.
    isolation_level
        Recorded on the outcome.
    max_items, decode_budget
        The child's cap on one output's values and the budget of the whole stream
        (see :class:`sandbox.channel.DecodeBudget`): they bound what is decoded.
    step_limit
        The job's step limit: a ``step_limit`` error is a ``timeout`` (and one from a
        job without a limit, or inconsistent with it, a corrupted channel).
    """
    ctx = _Context(reply, n_payloads, isolation_level)
    try:
        report: ChildReport | None = parse_report(channel, n_payloads, max_items,
                                                    decode_budget, step_limit)
        corrupt = None
    except ChannelError as exc:
        report, corrupt = None, str(exc)
    done_count = len(report.outputs) if report is not None else 0
    stdout = storable(str(reply.get("stdout", "")))
    sig = reply.get("signal")

    if reply.get("timed_out"):
        return ctx.outcome(OutcomeStatus.TIMEOUT, ErrorInfo(
            f"exceeded the time limit of {time_limit:g} s after {done_count} of "
            f"{n_payloads} payloads", payload_index=done_count if done_count < n_payloads
            else None), report)
    if reply.get("flood"):
        return ctx.outcome(OutcomeStatus.FORBIDDEN, ErrorInfo(
            "printed too much: stdout/stderr flood stopped",
            refused="writing more than the stdout/stderr cap"), report)
    if reply.get("overflow"):
        return ctx.outcome(OutcomeStatus.INVALID_OUTPUT, ErrorInfo(
            "output too large: the result channel cap was exceeded"), None)
    if isinstance(sig, int):
        return _by_signal(ctx, sig, stdout, code, report)
    if corrupt is not None or report is None:
        return ctx.outcome(OutcomeStatus.INVALID_OUTPUT, ErrorInfo(
            f"result channel corrupted: {corrupt}"), None)
    if report.memory or (report.error is not None and report.error["kind"] is ErrorKind.MEMORY):
        return ctx.outcome(OutcomeStatus.MEMORY, _error_info(
            report, "ran out of memory (address-space limit)"), report)
    if report.error is not None:
        kind = report.error["kind"]
        if kind is ErrorKind.FORBIDDEN:
            info = _error_info(report, report.error["msg"])
            return ctx.outcome(OutcomeStatus.FORBIDDEN, ErrorInfo(
                info.message, info.exception_type, info.traceback, refused=report.error["msg"],
                payload_index=info.payload_index), report)
        if kind is ErrorKind.STEP_LIMIT and step_limit is not None:  # parse_report checked it
            return ctx.outcome(OutcomeStatus.TIMEOUT, step_limit_error(
                report.error["steps"], step_limit, report.error["index"]), report)
        if kind is ErrorKind.SETUP:
            return ctx.outcome(OutcomeStatus.CRASHED, ErrorInfo(
                f"sandbox setup failed: {report.error['type']}: {report.error['msg']}"), report)
        where = " at import" if report.error["index"] < 0 else ""
        return ctx.outcome(OutcomeStatus.EXCEPTION, _error_info(
            report, f"{report.error['type']}{where}: {report.error['msg']}"), report)
    if report.unsendable is not None:
        index, why = report.unsendable
        return ctx.outcome(OutcomeStatus.INVALID_OUTPUT, ErrorInfo(
            f"output cannot be sent: {why}", payload_index=index), report)
    exit_code = reply.get("exit_code")
    if not report.done:
        # Only before the start frame is the exit code the trusted code's: after
        # it, a candidate can exit with any code it likes.
        detail = ("sandbox setup failed" if exit_code == EXIT_SETUP_FAILED and not report.started
                  else f"exited with code {exit_code} before finishing")
        return ctx.outcome(OutcomeStatus.CRASHED, ErrorInfo(
            f"{detail} ({done_count} of {n_payloads} payloads done)",
            payload_index=done_count if done_count < n_payloads else None), report)
    return ctx.outcome(OutcomeStatus.OK, None, report)


def _by_signal(ctx: _Context, sig: int, stdout: str, code: str,
               report: ChildReport | None) -> Outcome:
    name = _signal_name(sig)
    done_count = len(report.outputs) if report is not None else 0
    index = done_count if done_count < ctx.n else None
    if sig == signal.SIGSYS:
        refused = _refused_call(stdout, code)
        return ctx.outcome(OutcomeStatus.FORBIDDEN, ErrorInfo(
            f"refused by the sandbox: {refused}", signal=name, refused=refused,
            payload_index=index), report)
    if sig == signal.SIGXFSZ:
        return ctx.outcome(OutcomeStatus.FORBIDDEN, ErrorInfo(
            "refused by the sandbox: writing to a file", signal=name,
            refused="file write (file size limit 0)", payload_index=index), report)
    cpu = ctx.reply.get("cpu")
    cpu_limit = ctx.reply.get("cpu_limit")
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and isinstance(cpu, int | float)
                                 and isinstance(cpu_limit, int | float) and cpu >= cpu_limit):
        return ctx.outcome(OutcomeStatus.TIMEOUT, ErrorInfo(
            f"exceeded the CPU time limit of {cpu_limit} s", signal=name,
            payload_index=index), report)
    if report is not None and report.memory:
        return ctx.outcome(OutcomeStatus.MEMORY, ErrorInfo(
            "ran out of memory (address-space limit)", signal=name, payload_index=index), report)
    return ctx.outcome(OutcomeStatus.CRASHED, ErrorInfo(
        f"crashed with {name}", traceback=tuple(_stack_lines(stdout)), signal=name,
        payload_index=index), report)


def _error_info(report: ChildReport, message: str) -> ErrorInfo:
    error = report.error or {}
    index = error.get("index", -1)
    return ErrorInfo(message=message[:2000], exception_type=error.get("type") or None,
                     traceback=tuple(error.get("tb", ())),
                     payload_index=None if index is None or index < 0 else index)
