"""Readers for job-shop instance files and best-known bounds.

The standard format (Taillard, OR-Library, ScheduleOpt): the first line holds
``jobs machines``; then one line per job with ``machine duration`` pairs, one
pair per operation, machines 0-based. Blank lines and ``#`` comments are
ignored (the ScheduleOpt files have none, but hand-written files often do).

Bounds come from ScheduleOpt's ``solutions/bks.json`` (a list of records with
``instance``, ``upper_bound``, ``lower_bound``, ``status``), matched to files
by stem (``ta01js.txt`` ↔ ``"ta01js"``). When no file is given, the loader
looks for ``solutions/bks.json`` in the ancestors of the instance file.

Every error names the file and the line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from evaluators.base import InstanceError
from evaluators.jssp.instance import BoundStatus, JsspInstance

BKS_RELATIVE = Path("solutions") / "bks.json"
INSTANCE_SUFFIXES = (".txt", ".jss", ".jsp")


@dataclass(frozen=True)
class Bounds:
    """Best known bounds of one instance."""

    upper_bound: int | None
    lower_bound: int | None
    status: BoundStatus


def load_instances(path: str | Path, *, bks: str | Path | None = None) -> list[JsspInstance]:
    """Load a file, or every instance file under a directory (recursively, sorted).

    Parameters
    ----------
    path
        An instance file or a directory of them (``*.txt``, ``*.jss``, ``*.jsp``).
    bks
        A ``bks.json`` to take bounds from; default: ``solutions/bks.json`` in an
        ancestor directory of each file, if any.

    Raises
    ------
    InstanceError
        Missing path, empty directory or malformed file (names file and line).
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(f for f in path.rglob("*")
                       if f.is_file() and f.suffix.lower() in INSTANCE_SUFFIXES)
        if not files:
            raise InstanceError(path, "directory holds no instance files (*.txt, *.jss, *.jsp)")
        return load_files(files, bks=bks)
    if not path.is_file():
        raise InstanceError(path, "no such file or directory")
    return [load_file(path, bks=bks)]


def load_files(paths: Iterable[str | Path], *, bks: str | Path | None = None
               ) -> list[JsspInstance]:
    """Load several files (or directories), in the given order."""
    out: list[JsspInstance] = []
    for p in paths:
        out.extend(load_instances(p, bks=bks))
    return out


def load_file(path: str | Path, *, bks: str | Path | None = None) -> JsspInstance:
    """Read one instance in the standard format and attach its known bounds."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InstanceError(path, f"not UTF-8 text ({exc.reason})") from None
    machines, durations = parse_standard(text, path)
    bks_path = Path(bks) if bks is not None else find_bks(path)
    bounds = (read_bks(bks_path).get(path.stem) if bks_path is not None else None)
    if bounds is None:
        bounds = Bounds(None, None, BoundStatus.UNKNOWN)
    try:
        return JsspInstance(
            machines=machines,
            durations=durations,
            name=path.stem,
            upper_bound=bounds.upper_bound,
            lower_bound=bounds.lower_bound,
            bound_status=bounds.status,
            meta={"source": str(path), "bks": str(bks_path) if bks_path else None},
        )
    except (TypeError, ValueError) as exc:
        raise InstanceError(path, str(exc)) from None


def parse_standard(
    text: str, path: str | Path = "<string>"
) -> tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]]:
    """Parse the standard format into ``(machines, durations)`` rows.

    Raises
    ------
    InstanceError
        Naming ``path`` and the offending line.
    """
    rows: list[tuple[int, list[str]]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        tokens = raw.split("#", 1)[0].split()
        if tokens:
            rows.append((lineno, tokens))
    if not rows:
        raise InstanceError(path, "empty file: expected a 'jobs machines' header", line=1)
    head_line, head = rows[0]
    if len(head) != 2:
        raise InstanceError(path, f"header must be 'jobs machines', got {' '.join(head)!r}",
                            line=head_line)
    n_jobs, n_machines = (_int(path, tok, head_line) for tok in head)
    if n_jobs < 1 or n_machines < 1:
        raise InstanceError(path, "jobs and machines must be positive", line=head_line)
    body = rows[1:]
    if len(body) != n_jobs:
        where = body[n_jobs][0] if len(body) > n_jobs else (body[-1][0] if body else head_line)
        raise InstanceError(path, f"header announces {n_jobs} jobs, found {len(body)} job lines",
                            line=where)
    machines: list[tuple[int, ...]] = []
    durations: list[tuple[int, ...]] = []
    for j, (lineno, tokens) in enumerate(body):
        if len(tokens) != 2 * n_machines:
            raise InstanceError(
                path,
                f"job {j}: expected {n_machines} 'machine duration' pairs "
                f"({2 * n_machines} numbers), got {len(tokens)} numbers",
                line=lineno,
            )
        values = [_int(path, tok, lineno) for tok in tokens]
        mrow, drow = tuple(values[0::2]), tuple(values[1::2])
        for k, m in enumerate(mrow):
            if not 0 <= m < n_machines:
                raise InstanceError(path, f"job {j}, operation {k}: machine {m} not in "
                                    f"0..{n_machines - 1}", line=lineno)
        for k, d in enumerate(drow):
            if d < 0:
                raise InstanceError(path, f"job {j}, operation {k}: negative duration {d}",
                                    line=lineno)
        machines.append(mrow)
        durations.append(drow)
    return tuple(machines), tuple(durations)


def _int(path: str | Path, token: str, line: int) -> int:
    try:
        return int(token)
    except ValueError:
        raise InstanceError(path, f"not an integer: {token!r}", line=line) from None


def find_bks(path: Path) -> Path | None:
    """``solutions/bks.json`` in the nearest ancestor of ``path`` that has one."""
    for parent in path.resolve().parents:
        candidate = parent / BKS_RELATIVE
        if candidate.is_file():
            return candidate
    return None


def read_bks(path: str | Path) -> Mapping[str, Bounds]:
    """Bounds by instance name from a ScheduleOpt ``bks.json`` (cached per file)."""
    p = Path(path).resolve()
    return _read_bks_cached(p, p.stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _read_bks_cached(path: Path, _mtime: int) -> Mapping[str, Bounds]:
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InstanceError(path, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    if not isinstance(records, list):
        raise InstanceError(path, "expected a JSON list of bound records", line=1)
    out: dict[str, Bounds] = {}
    for k, rec in enumerate(records):
        if not isinstance(rec, dict) or not isinstance(rec.get("instance"), str):
            raise InstanceError(path, "record without an 'instance' name", instance=k)
        ub, lb = rec.get("upper_bound"), rec.get("lower_bound")
        for label, v in (("upper_bound", ub), ("lower_bound", lb)):
            if v is not None and type(v) is not int:
                raise InstanceError(path, f"{label} must be an integer", instance=rec["instance"])
        try:
            status = BoundStatus(rec.get("status", "unknown"))
        except ValueError:
            raise InstanceError(path, f"unknown status {rec.get('status')!r}",
                                instance=rec["instance"]) from None
        out[rec["instance"]] = Bounds(ub, lb, status)
    return out
