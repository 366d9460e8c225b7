"""Readers for SMTT instance files.

Three formats are understood:

* the seed paper's JSON (a list of ``{"processing_times", "due_dates",
  "optimal_solution"}`` objects, as in ``benchmarks/smtt/cetinkaya2025``);
* OR-Library weighted tardiness (``wt40.txt`` ...: per instance n processing
  times, n weights, n due dates), optionally with an optimum file
  (``wtopt40.txt``: one value per line);
* plain text with one ``p d`` or ``p d w`` line per job (``#`` comments and
  blank lines ignored) — one instance per file.

The format is told from the content: JSON starts with ``[`` or ``{``; a file whose
lines hold two or three numbers is plain text; anything else is read as OR-Library
data, its jobs per instance taken from the name (``wt40.txt``) or, under any other
name, from the content (see :func:`orlib_jobs`). A directory stands for every
``*.json`` and ``*.txt`` file in it (sorted, not recursive), less the OR-Library
companion files (``wtopt*``, ``wtbest*``, ``wtinfo*``).

Every error names the file, the instance and the line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from evaluators.base import InstanceError
from evaluators.smtt.instance import SmttInstance

# Order of (RDD, TF) classes in the seed paper's files: RDD outer, TF inner.
PAPER_RDD = (0.2, 0.4, 0.6, 0.8, 1.0)
PAPER_TF = (0.2, 0.4, 0.6, 0.8)
# OR-Library wt files hold 5 instances per (RDD, TF) pair, in an order that
# wtinfo.txt does not state, so no class labels are attached to them.

_ORLIB_NAME = re.compile(r"wt(\d+)\.txt$")
# Optimum, best-known and description files that sit beside OR-Library data.
_ORLIB_COMPANION = re.compile(r"^wt(opt|best|info)", re.IGNORECASE)
INSTANCE_SUFFIXES = (".json", ".txt")
# The OR-Library generator draws weights from 1..10 (wtinfo.txt); under a name
# that does not give n, this is how the weight block of an instance is recognised.
_ORLIB_MAX_WEIGHT = 10


def load_instances(path: str | Path) -> list[SmttInstance]:
    """Load every instance in a file or directory, choosing the reader by content.

    Raises
    ------
    InstanceError
        If the path is missing or a file is malformed; the message names file and line.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(f for f in path.iterdir()
                       if f.is_file() and f.suffix.lower() in INSTANCE_SUFFIXES
                       and not _ORLIB_COMPANION.match(f.name))
        if not files:
            raise InstanceError(path, "directory holds no instance files (*.json, *.txt)")
        return [inst for f in files for inst in load_instances(f)]
    if not path.is_file():
        raise InstanceError(path, "no such file or directory")
    text = path.read_text(encoding="utf-8", errors="replace")
    stripped = text.lstrip()
    if stripped.startswith("[") or stripped.startswith("{"):
        return load_paper_json(path, text)
    match = _ORLIB_NAME.search(path.name)
    if match:
        return load_orlib(path, int(match.group(1)), text=text)
    first = next((line.split("#", 1)[0].replace(",", " ").split()
                  for line in text.splitlines() if line.split("#", 1)[0].strip()), [])
    if len(first) > 3:
        # Not one job per line: OR-Library layout under a name that does not say n.
        # Optima files beside it are not attached (they belong to the wtN.txt name).
        return load_orlib(path, orlib_jobs(path, text), text=text, optima=False)
    return [load_plain(path, text)]


def orlib_jobs(path: str | Path, text: str) -> int:
    """Jobs per instance of OR-Library data, told from the content alone.

    Each instance is n processing times, n weights and n due dates, each block
    starting on a new line. A candidate n must split the numbers into whole
    instances along line starts, and every instance's weight block must lie in the
    generator's 1..10. Exactly one n must fit.

    Raises
    ------
    InstanceError
        When no n or several fit (the message lists them).
    """
    counts: list[int] = []
    for raw in text.splitlines():
        tokens = raw.split()
        if not tokens:
            continue
        if not all(t.lstrip("-").isdigit() for t in tokens):
            bad = next(t for t in tokens if not t.lstrip("-").isdigit())
            raise InstanceError(path, f"not an integer: {bad!r}", line=len(counts) + 1)
        counts.append(len(tokens))
    values = [int(t) for t in text.split()]
    total = len(values)
    line_starts = set()
    at = 0
    for c in counts:
        line_starts.add(at)
        at += c
    fits = []
    for n in range(1, total // 3 + 1):
        if total % (3 * n) or any(k not in line_starts for k in range(0, total, n)):
            continue
        if all(1 <= w <= _ORLIB_MAX_WEIGHT
               for start in range(n, total, 3 * n) for w in values[start:start + n]):
            fits.append(n)
    if len(fits) == 1:
        return fits[0]
    if not fits:
        raise InstanceError(path, "neither one job per line ('p d' or 'p d w') nor OR-Library "
                                  "data (n processing times, n weights in 1..10, n due dates "
                                  "per instance)")
    raise InstanceError(path, "OR-Library data, but the jobs per instance are ambiguous "
                              f"(n = {', '.join(map(str, fits))}); name the file wtN.txt")


def load_paper_json(path: str | Path, text: str | None = None) -> list[SmttInstance]:
    """Read the seed paper's JSON format."""
    path = Path(path)
    if text is None:
        text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InstanceError(path, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    single = isinstance(data, dict)
    if single:
        data = [data]
    if not isinstance(data, list):
        raise InstanceError(path, "expected a JSON list of instances", line=1)
    per_class = _paper_class_size(len(data))
    starts = [1] if single else _item_lines(text)
    # A zero or negative processing time is an error here as in every format (the
    # SmttInstance check, reported with instance and line): n20_normal.json's 125
    # such instances are read from the raw file by the paper's reproduction scripts.
    return [_paper_item(path, starts[k] if k < len(starts) else None, k, item, per_class)
            for k, item in enumerate(data)]


def _paper_class_size(count: int) -> int | None:
    classes = len(PAPER_RDD) * len(PAPER_TF)
    return count // classes if count % classes == 0 and count >= classes else None


def _paper_item(
    path: Path, line: int | None, k: int, item: Any, per_class: int | None
) -> SmttInstance:
    if not isinstance(item, dict):
        raise InstanceError(path, "expected an object", instance=k, line=line)
    for key in ("processing_times", "due_dates"):
        if key not in item:
            raise InstanceError(path, f"missing key {key!r}", instance=k, line=line)
    columns: dict[str, tuple[int, ...] | None] = {}
    for key in ("processing_times", "due_dates", "weights"):
        values = item.get(key)
        if values is None:
            columns[key] = None
            continue
        ints = [_as_int(v) for v in values] if isinstance(values, list) else [None]
        if any(v is None for v in ints):
            raise InstanceError(path, f"{key!r} must be a list of integers", instance=k,
                                line=line)
        columns[key] = tuple(v for v in ints if v is not None)
    optimum = item.get("optimal_solution")
    if optimum is not None:
        optimum = _as_int(optimum)
        if optimum is None:
            raise InstanceError(path, "optimal_solution must be an integer", instance=k,
                                line=line)
    rdd = tf = None
    if per_class is not None:
        cls = k // per_class
        rdd = PAPER_RDD[cls // len(PAPER_TF)]
        tf = PAPER_TF[cls % len(PAPER_TF)]
    # A filtered file (the bundled n20_normal) states each item's class and its index in
    # the published file, since neither follows from the position any more.
    labels = {key: item.get(key) for key in ("rdd", "tf")}
    if any(v is not None for v in labels.values()):
        if not all(isinstance(v, int | float) and not isinstance(v, bool)
                   for v in labels.values()):
            raise InstanceError(path, "'rdd' and 'tf' must both be numbers", instance=k,
                                line=line)
        rdd, tf = float(labels["rdd"]), float(labels["tf"])  # type: ignore[arg-type]
    source = item.get("source_index", k)
    if not isinstance(source, int) or isinstance(source, bool) or source < 0:
        raise InstanceError(path, "'source_index' must be a non-negative integer", instance=k,
                            line=line)
    try:
        return SmttInstance(
            processing_times=columns["processing_times"] or (),
            due_dates=columns["due_dates"] or (),
            weights=columns["weights"],
            name=f"{path.stem}#{source}",
            optimum=optimum,
            # The benchmark README documents that n500's stored values are not optimal.
            optimum_is_proven=bool(item.get("optimum_is_proven", path.stem != "n500")),
            rdd=rdd,
            tf=tf,
        )
    except (TypeError, ValueError) as exc:
        raise InstanceError(path, str(exc), instance=k, line=line) from None


def _as_int(value: object) -> int | None:
    """An int, or an integral float such as ``84.0`` (the n100–n500 files use them)."""
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    return None


def _item_lines(text: str) -> list[int]:
    """Line number where each top-level object of a JSON list starts (one pass)."""
    lines: list[int] = []
    depth = 0
    line = 1
    in_string = False
    escape = False
    for ch in text:
        if ch == "\n":
            line += 1
        if in_string:
            if escape:
                escape = False
            elif ch == "\\":
                escape = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth == 2 and ch == "{":
                lines.append(line)
        elif ch in "]}":
            depth -= 1
    return lines


def load_orlib(
    path: str | Path, n: int, *, text: str | None = None,
    optima: str | Path | bool | None = None,
) -> list[SmttInstance]:
    """Read an OR-Library weighted tardiness file (``wt40.txt`` ...).

    Parameters
    ----------
    path
        The data file.
    n
        Jobs per instance (40, 50 or 100 for the OR-Library files).
    optima
        Optional file with one optimal (or best-known) value per line. When
        omitted, ``wtoptN.txt`` or ``wtbestNb.txt`` beside the data file is used
        if present; ``False`` attaches none.
    """
    path = Path(path)
    if text is None:
        text = path.read_text(encoding="utf-8")
    tokens: list[tuple[int, int]] = []  # (value, line)
    for lineno, raw in enumerate(text.splitlines(), start=1):
        for tok in raw.split():
            try:
                tokens.append((int(tok), lineno))
            except ValueError:
                raise InstanceError(path, f"not an integer: {tok!r}", line=lineno) from None
    per = 3 * n
    if len(tokens) % per != 0:
        last = tokens[-1][1] if tokens else 1
        raise InstanceError(
            path,
            f"{len(tokens)} numbers is not a multiple of 3·n = {per}",
            instance=len(tokens) // per,
            line=last,
        )
    values, proven = _orlib_optima(path, n, optima, len(tokens) // per)
    instances = []
    for k in range(len(tokens) // per):
        chunk = tokens[k * per : (k + 1) * per]
        p = tuple(v for v, _ in chunk[:n])
        w = tuple(v for v, _ in chunk[n : 2 * n])
        bad = next(((j, v, line) for j, (v, line) in enumerate(chunk[:n]) if v <= 0), None)
        if bad is not None:
            raise InstanceError(path, f"processing time must be positive (job {bad[0]} has "
                                      f"{bad[1]})", instance=k, line=bad[2])
        d = tuple(v for v, _ in chunk[2 * n :])
        try:
            instances.append(
                SmttInstance(
                    p, d, w, name=f"{path.stem}#{k}",
                    optimum=values[k] if values else None,
                    optimum_is_proven=proven,
                )
            )
        except (TypeError, ValueError) as exc:
            raise InstanceError(path, str(exc), instance=k, line=chunk[0][1]) from None
    return instances


def _orlib_optima(
    path: Path, n: int, optima: str | Path | bool | None, count: int
) -> tuple[list[int] | None, bool]:
    if optima is False or optima is True:
        return None, False
    if optima is None:
        found = [c for c in (path.with_name(f"wtopt{n}.txt"), path.with_name(f"wtbest{n}b.txt"))
                 if c.is_file()]
        if not found:
            return None, False
        optima = found[0]
    opt_path = Path(optima)
    values = []
    for lineno, raw in enumerate(opt_path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            values.append(int(raw.split()[0]))
        except ValueError:
            raise InstanceError(opt_path, f"not an integer: {raw.strip()!r}",
                                line=lineno) from None
    if len(values) != count:
        raise InstanceError(opt_path, f"{len(values)} values for {count} instances")
    # wtopt40/50 mix proven optima with a few best-known values (wtinfo.txt)
    # and the files do not say which, so none is marked as proven.
    return values, False


def load_plain(path: str | Path, text: str | None = None) -> SmttInstance:
    """Read one instance from ``p d`` or ``p d w`` lines."""
    path = Path(path)
    if text is None:
        text = path.read_text(encoding="utf-8")
    rows: list[tuple[int, ...]] = []
    width: int | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.replace(",", " ").split()
        if len(parts) not in (2, 3):
            raise InstanceError(
                path, f"expected 'p d' or 'p d w', got {len(parts)} fields", instance=0,
                line=lineno,
            )
        if width is not None and len(parts) != width:
            raise InstanceError(path, "mixed 2- and 3-field lines", instance=0, line=lineno)
        width = len(parts)
        try:
            row = tuple(int(x) for x in parts)
        except ValueError:
            raise InstanceError(path, f"not an integer in {line!r}", instance=0,
                                line=lineno) from None
        if row[0] <= 0:
            raise InstanceError(path, f"processing time must be positive (job {len(rows)} "
                                      f"has {row[0]})", instance=0, line=lineno)
        if width == 3 and row[2] <= 0:
            raise InstanceError(path, "weight must be positive", instance=0, line=lineno)
        rows.append(row)
    if not rows:
        raise InstanceError(path, "no jobs found", instance=0)
    return SmttInstance(
        processing_times=tuple(r[0] for r in rows),
        due_dates=tuple(r[1] for r in rows),
        weights=tuple(r[2] for r in rows) if width == 3 else None,
        name=path.stem,
    )
