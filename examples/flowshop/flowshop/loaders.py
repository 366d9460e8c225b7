"""Read flow-shop instances: JSON (explicit times or Taillard seeds) and Taillard's text files.

* JSON: ``{"instances": [...]}`` where each entry has a ``name`` and either
  ``processing_times`` (machine-major rows) or ``jobs``, ``machines`` and
  Taillard's ``seed`` (regenerated with his generator), and optionally
  ``upper_bound`` / ``lower_bound``.
* Taillard's text format (``tai20_5.txt`` ...): blocks of a header line
  ``n m seed UB LB`` (after a ``number of jobs ...`` caption) and ``m`` rows of
  ``n`` times (after ``processing times :``); the captions are optional.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evaluators.base import InstanceError
from flowshop.instance import FlowshopInstance
from flowshop.taillard import taillard_flowshop


def load_instances(path: str | Path) -> list[FlowshopInstance]:
    """Every instance in ``path`` (a file, or a directory read recursively in name order)."""
    path = Path(path)
    if path.is_dir():
        return [inst for f in sorted(path.rglob("*")) if f.suffix in (".json", ".txt")
                for inst in load_instances(f)]
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InstanceError(path, f"not a text file ({exc.reason})") from None
    if path.suffix == ".json" or text.lstrip().startswith("{"):
        return _from_json(path, text)
    return _from_taillard(path, text)


def _int(path: Path, value: Any, what: str, instance: str) -> int:
    if type(value) is not int:
        raise InstanceError(path, f"{what} must be an integer, got {value!r}", instance=instance)
    return value


def _from_json(path: Path, text: str) -> list[FlowshopInstance]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InstanceError(path, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    entries = data.get("instances") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise InstanceError(path, 'expected {"instances": [...]} with at least one entry')
    out = []
    for k, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise InstanceError(path, "each instance must be an object", instance=k)
        name = str(entry.get("name", f"{path.stem}-{k}"))
        ub = entry.get("upper_bound")
        lb = entry.get("lower_bound")
        try:
            if "seed" in entry:
                inst = taillard_flowshop(_int(path, entry["seed"], "seed", name),
                                         _int(path, entry.get("jobs"), "jobs", name),
                                         _int(path, entry.get("machines"), "machines", name),
                                         name=name, upper_bound=ub, lower_bound=lb)
            elif "processing_times" in entry:
                rows = entry["processing_times"]
                if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                    raise InstanceError(path, "processing_times must be a list of rows",
                                        instance=name)
                inst = FlowshopInstance(tuple(tuple(r) for r in rows), name=name,
                                        upper_bound=ub, lower_bound=lb)
            else:
                raise InstanceError(path, "needs processing_times or jobs/machines/seed",
                                    instance=name)
        except ValueError as exc:
            if isinstance(exc, InstanceError):
                raise
            raise InstanceError(path, str(exc), instance=name) from None
        out.append(inst)
    return out


def _from_taillard(path: Path, text: str) -> list[FlowshopInstance]:
    rows: list[tuple[int, list[int]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = line.split()
        if not tokens:
            continue
        try:
            rows.append((number, [int(t) for t in tokens]))
        except ValueError:
            continue  # a caption ("processing times :")
    out: list[FlowshopInstance] = []
    k = 0
    while k < len(rows):
        line, header = rows[k]
        if len(header) not in (2, 5):
            raise InstanceError(path, f"expected a header 'n m [seed UB LB]', got {header}",
                                line=line)
        n, m = header[0], header[1]
        if n < 1 or m < 1:
            raise InstanceError(path, f"bad size {n} jobs x {m} machines", line=line)
        block = rows[k + 1:k + 1 + m]
        if len(block) < m:
            raise InstanceError(path, f"expected {m} rows of processing times", line=line)
        for row_line, row in block:
            if len(row) != n:
                raise InstanceError(path, f"expected {n} times, got {len(row)}", line=row_line)
        name = f"{path.stem}-{len(out)}"
        ub = lb = seed = None
        if len(header) == 5:
            seed, ub, lb = header[2], header[3], header[4]
        try:
            inst = FlowshopInstance(tuple(tuple(r) for _, r in block), name=name,
                                    upper_bound=ub, lower_bound=lb, seed=seed)
        except ValueError as exc:
            raise InstanceError(path, str(exc), line=line) from None
        out.append(inst)
        k += 1 + m
    if not out:
        raise InstanceError(path, "no instances found")
    return out
