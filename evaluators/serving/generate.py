"""Synthetic bursty workloads for training: Gamma inter-arrivals, log-normal lengths.

Inter-arrival times are Gamma-distributed with mean ``1/rate`` and coefficient of
variation ``cv`` (shape ``1/cv²``): ``cv = 1`` is Poisson, larger values give bursts
separated by lulls. Prompt and output lengths are independent log-normals whose
defaults are fitted (mean and standard deviation of the log) to the Splitwise
conversation trace: prompt median 760 tokens (σ 0.985), output median 151 (σ 0.859);
the code trace has prompt median 1095 (σ 1.36) and output median 16 (σ 0.847).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluators.serving.instance import Scenario, ServingInstance
from evaluators.serving.workloads import at_rate


@dataclass(frozen=True)
class BurstyFamily:
    """Parameters of a synthetic bursty window.

    Parameters
    ----------
    requests
        Requests per window.
    rate, load
        Mean request rate (req/s), or load as a fraction of the window's saturation
        throughput; exactly one is set.
    cv
        Coefficient of variation of the inter-arrival times (≥ 1 is bursty).
    prompt_median, prompt_sigma, output_median, output_sigma
        Log-normal length distributions (median tokens, standard deviation of the log).
    """

    requests: int = 1000
    rate: float | None = None
    load: float | None = 0.9
    cv: float = 3.0
    prompt_median: float = 760.0
    prompt_sigma: float = 0.985
    output_median: float = 151.0
    output_sigma: float = 0.859

    def __post_init__(self) -> None:
        if self.requests < 2:
            raise ValueError("a window needs at least two requests")
        if (self.rate is None) == (self.load is None):
            raise ValueError("give exactly one of rate and load")
        for name in ("cv", "prompt_median", "output_median"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        if self.prompt_sigma < 0 or self.output_sigma < 0:
            raise ValueError("sigmas must be non-negative")
        target = self.rate if self.rate is not None else self.load
        if not (target is not None and target > 0):
            raise ValueError("rate or load must be positive")

    @property
    def label(self) -> str:
        """Short class label, e.g. ``"bursty-cv3@0.9load"``."""
        target = f"{self.rate:g}rps" if self.rate is not None else f"{self.load:g}load"
        return f"bursty-cv{self.cv:g}@{target}"


def generate_window(family: BurstyFamily, scenario: Scenario, rng: np.random.Generator,
                    name: str = "") -> ServingInstance:
    """One synthetic window (lengths clipped to the server's context as in traces)."""
    n = family.requests
    shape = 1.0 / family.cv ** 2
    gaps = rng.gamma(shape, 1.0 / shape, size=n - 1)  # unit mean; scaled by at_rate
    arrival = np.concatenate(([0.0], np.cumsum(gaps)))
    prompt = _lognormal(rng, family.prompt_median, family.prompt_sigma, n)
    output = _lognormal(rng, family.output_median, family.output_sigma, n)
    meta = {"family": family.label, "class": family.label}
    return at_rate(name or family.label, arrival, prompt, output, scenario, rate=family.rate,
                   load=family.load, meta=meta)


def _lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    values = np.exp(np.log(median) + sigma * rng.standard_normal(n))
    return np.maximum(1, np.rint(values)).astype(np.int64)


def generate_set(family: BurstyFamily, scenario: Scenario, count: int,
                 rng: np.random.Generator) -> list[ServingInstance]:
    """``count`` windows named ``<label>#k``."""
    return [generate_window(family, scenario, rng, f"{family.label}#{k}") for k in range(count)]
