"""Plots for the regenerated SMTT tables (matplotlib, PNG and SVG)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def _save(fig: plt.Figure, out: Path, stem: str) -> None:
    for ext in ("png", "svg"):
        fig.savefig(out / f"{stem}.{ext}", dpi=130, bbox_inches="tight")
    plt.close(fig)


def gap_per_class(name: str, gaps: Mapping[tuple, Mapping[str, float]],
                  methods: Sequence[str], label: Mapping[str, str], out: Path) -> None:
    """Grouped bars: mean gap (%) per (RDD, TF) class, one bar per method."""
    classes = sorted(k for k in gaps if len(k) == 2)
    x = np.arange(len(classes))
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(14, 4.5))
    for i, method in enumerate(methods):
        values = [gaps[c].get(method, np.nan) for c in classes]
        ax.bar(x + i * width, values, width, label=label[method])
    ax.set_xticks(x + 0.4 - width / 2)
    ax.set_xticklabels([f"{r:g}/{t:g}" for r, t in classes], rotation=60, fontsize=8)
    ax.set_xlabel("class RDD/TF")
    ax.set_ylabel("mean gap to the optimum (%)")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_ylim(bottom=0)
    ax.set_title(f"{name}: gap per class (against proven optima)")
    ax.legend(ncol=len(methods), fontsize=8)
    _save(fig, out, f"gap_per_class_{name}")


def gap_vs_time(per_file: Mapping[str, tuple[Mapping[str, float], Mapping[str, float]]],
                methods: Sequence[str], label: Mapping[str, str], out: Path) -> None:
    """Mean gap against mean seconds per instance, one marker per (method, file)."""
    fig, ax = plt.subplots(figsize=(7, 5))
    markers = "osd^vP*X"
    for i, method in enumerate(methods):
        xs = [per_file[f][1][method] for f in per_file]
        ys = [per_file[f][0][method] for f in per_file]
        ax.scatter(xs, ys, marker=markers[i % len(markers)], label=label[method])
        for f, xv, yv in zip(per_file, xs, ys, strict=True):
            ax.annotate(f, (xv, yv), fontsize=6, alpha=0.7)
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("mean seconds per instance")
    ax.set_ylabel("mean gap to the optimum (%)")
    ax.set_title("Heuristics: gap vs runtime (exact solvers have gap 0)")
    ax.legend(fontsize=8)
    _save(fig, out, "gap_vs_time")
