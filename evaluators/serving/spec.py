"""Workload files: JSON descriptions of trace windows or synthetic sets, and their scenario.

A workload file is a JSON object (or ``{"sets": [...]}`` of several) such as::

    {"trace": "vidur/splitwise_conv.csv", "span": [0.5, 1.0], "window": 2000,
     "windows": 3, "rates": [4.0, 4.5], "scenario": {"cost": "a100", "chunk_size": 512,
     "ttft_slo": 1.0, "tpot_slo": 0.1, "score": "slo"}}

    {"synthetic": {"requests": 1000, "cv": 3.0, "seed": 7}, "windows": 4, "loads": [0.9]}

``"reference": "oracle"`` (or ``"best_known"``) computes that reference for every
window at load time and ships it with the instance (``meta["reference"]``), so
validation gaps are measured against it.

``trace`` is a bundled trace (``"serving:conv"``, ``"serving:code"``; see
``discover datasets``) or a CSV path, resolved against the file's directory, then
against the bundled serving data (``evaluators/serving/data``). Exactly one of ``rates``
(req/s) and ``loads`` (fractions of saturation throughput) is given; a scalar
``rate``/``load`` is accepted too. ``scenario`` overrides the problem's default
scenario field by field (``cost`` is a preset name, a bundled cost model such as
``"serving:cost-llama2-7b"`` or a cost-model JSON path).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from evaluators.base import InstanceError
from evaluators.bundled import UnknownDataset, data_dir, is_set_name, resolve_file
from evaluators.serving.cost_model import cost_model
from evaluators.serving.generate import BurstyFamily, generate_set
from evaluators.serving.instance import Scenario, Score, ServerConfig, ServingInstance
from evaluators.serving.workloads import read_trace, trace_windows

SERVING_DATA = data_dir("serving")
"""The bundled serving data (traces, workloads, cost model): ``evaluators/serving/data``."""

_SET_KEYS = {"trace", "synthetic", "span", "window", "windows", "rate", "rates", "load", "loads",
             "scenario", "name", "reference"}
REFERENCES = ("oracle", "best_known")
_SERVER_KEYS = {"cost", "chunk_size", "batch_cap", "max_batch_tokens", "watermark",
                "max_request_tokens"}
_SCENARIO_KEYS = _SERVER_KEYS | {"ttft_slo", "tpot_slo", "score"}


def resolve_trace(name: str, base: Path | None = None) -> Path:
    """Find a trace: a bundled set name, as given, beside ``base``, or in the bundled data."""
    if is_set_name(name):
        return resolve_file(name, "serving")
    path = Path(name)
    for candidate in (path, *(() if base is None else (base / path,)), SERVING_DATA / path):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"trace {name!r} not found (looked beside {base or '.'} and in "
                            f"the bundled data; bundled traces: serving:conv, serving:code)")


def scenario_from(data: Mapping[str, Any], base: Scenario, where: str = "scenario",
                  root: Path | None = None) -> Scenario:
    """``base`` with the fields of ``data`` replaced (``cost``: preset name or JSON path)."""
    unknown = sorted(set(data) - _SCENARIO_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r} (known: "
                         f"{', '.join(sorted(_SCENARIO_KEYS))})")
    srv = base.server
    fields: dict[str, Any] = {k: getattr(srv, k) for k in _SERVER_KEYS}
    for key in _SERVER_KEYS & set(data):
        fields[key] = data[key]
    if "cost" in data:
        spec = data["cost"]
        if isinstance(spec, str) and is_set_name(spec):
            spec = resolve_file(spec, "serving")
        elif isinstance(spec, str) and root is not None and (root / spec).is_file():
            spec = root / spec
        fields["cost"] = cost_model(spec)
    server = ServerConfig(**fields)
    score = base.score
    if "score" in data:
        try:
            score = Score(data["score"])
        except ValueError:
            raise ValueError(f"{where}: score {data['score']!r} is not one of "
                             f"{', '.join(s.value for s in Score)}") from None
    return Scenario(server, float(data.get("ttft_slo", base.ttft_slo)),
                    float(data.get("tpot_slo", base.tpot_slo)), score)


def load_spec(path: str | Path, base: Scenario,
              reference: Callable[[ServingInstance, str], float] | None = None
              ) -> list[ServingInstance]:
    """Instances described by a workload file.

    ``reference(instance, method)`` computes a set's declared ``reference``.

    Raises
    ------
    InstanceError
        Naming the file (the line for JSON syntax errors) and the offending set or key.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InstanceError(path, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    except OSError as exc:
        raise InstanceError(path, f"cannot read: {exc.strerror or exc}") from None
    sets = data.get("sets") if isinstance(data, dict) and "sets" in data else [data]
    if not isinstance(sets, list) or not sets:
        raise InstanceError(path, "expected a workload object or {\"sets\": [objects]}")
    out: list[ServingInstance] = []
    for k, item in enumerate(sets):
        try:
            loaded = _load_set(item, base, path.parent)
            method = item.get("reference") if isinstance(item, dict) else None
            if method is not None:
                if method not in REFERENCES or reference is None:
                    raise ValueError(f"reference must be one of {', '.join(REFERENCES)}")
                for inst in loaded:
                    inst.meta["reference"] = reference(inst, method)
                    inst.meta["reference_method"] = method
            out.extend(loaded)
        except UnknownDataset as exc:
            label = item.get("name", k) if isinstance(item, dict) else k
            raise InstanceError(path, str(exc), instance=label) from None
        except InstanceError:
            raise
        except (ValueError, TypeError, KeyError, FileNotFoundError) as exc:
            label = item.get("name", k) if isinstance(item, dict) else k
            raise InstanceError(path, str(exc), instance=label) from None
    return out


def _load_set(item: Any, base: Scenario, root: Path) -> list[ServingInstance]:
    if not isinstance(item, dict):
        raise ValueError("a workload set must be a JSON object")
    unknown = sorted(set(item) - _SET_KEYS)
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_SET_KEYS))})")
    scenario = scenario_from(item.get("scenario", {}), base, root=root)
    rates = _numbers(item, "rate", "rates")
    loads = _numbers(item, "load", "loads")
    if bool(rates) == bool(loads):
        raise ValueError("give rates (req/s) or loads (fractions of capacity), not both")
    count = int(item.get("windows", 1))
    if ("trace" in item) == ("synthetic" in item):
        raise ValueError("a set needs exactly one of 'trace' and 'synthetic'")
    if "trace" in item:
        trace = read_trace(resolve_trace(str(item["trace"]), root))
        span = tuple(float(v) for v in item.get("span", (0.0, 1.0)))
        if len(span) != 2:
            raise ValueError("span must be [start, end] fractions")
        window = int(item.get("window", 2000))
        return trace_windows(trace, scenario, window=window, count=count,
                             span=(span[0], span[1]), rates=rates, loads=loads)
    synth = dict(item["synthetic"])
    seed = int(synth.pop("seed", 0))
    rng = np.random.default_rng(seed)
    out: list[ServingInstance] = []
    for rate in rates:
        out += generate_set(BurstyFamily(**synth, rate=rate, load=None), scenario, count, rng)
    for load in loads:
        out += generate_set(BurstyFamily(**synth, load=load), scenario, count, rng)
    return out


def _numbers(item: Mapping[str, Any], one: str, many: str) -> list[float]:
    if one in item and many in item:
        raise ValueError(f"give {one!r} or {many!r}, not both")
    raw = item.get(many, [item[one]] if one in item else [])
    if not isinstance(raw, list) or not all(isinstance(v, (int, float)) and v > 0 for v in raw):
        raise ValueError(f"{many} must be positive numbers")
    return [float(v) for v in raw]
