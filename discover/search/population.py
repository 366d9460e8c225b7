"""The evolving population: islands, signature clusters, MAP-Elites cells, resets, resume.

How parents are chosen (see :mod:`discover.search.islands` for one island):

* :meth:`Population.choose_island` picks a non-empty island uniformly;
* :meth:`Population.sample_parents` draws ``k`` distinct clusters of that island
  with probabilities ``∝ exp(−rank / (rank_scale · T))`` (best cluster rank 0) at
  the island's temperature ``T = T0·(1 − (n mod P)/P)`` (FunSearch's cyclic
  schedule, ``n`` the programs registered in the island), then a member of each
  cluster with shorter code favoured; with probability ``diversity_rate`` one
  parent is replaced by the elite of a uniformly drawn MAP-Elites cell
  (cost × code size) of the island.

Ranks instead of raw scores: a mean gap is heavy-tailed (a broken rule scores
50 %, good ones 1.5 %), so raw differences give either a uniform or a one-hot
distribution; ranks make a temperature mean the same on every problem. With the
defaults (``T0 = 0.1``, ``rank_scale = 100``) the weight halves every ~7 clusters
at the start of a cycle and every cluster or so near its end. Ranks are not
normalised by the number of clusters, so selection pressure does not fade as an
island fills up with poor variants.

Every ``reset_period`` registrations the weakest half of the islands (by best
score, ties by index) is emptied and each is re-seeded with the best program of
a surviving island — the best survivor founds the weakest island, and so on
round-robin. Registration never draws random numbers, so the population's state
is a pure function of the registered members in order: replaying them rebuilds
it exactly, and restoring the generator state as well (:meth:`state_dict`,
:meth:`load_state_dict`) reproduces every later draw.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from discover.search.islands import Island, Member, softmax

__all__ = ["Member", "Population", "PopulationConfig"]

STATE_VERSION = 1


@dataclass(frozen=True)
class PopulationConfig:
    """Population settings.

    Parameters
    ----------
    num_islands
        Number of islands.
    temperature_init, temperature_period, temperature_min
        Cluster-sampling temperature ``max(T0·(1 − (n mod P)/P), Tmin)``.
    rank_scale
        Cluster ranks are divided by this before the softmax.
    length_temperature
        Softmax temperature over normalised code lengths within a cluster.
    signature_decimals
        Signatures are rounded to this many decimals before clustering.
    reset_period
        Registrations between island resets (0 disables resets).
    diversity_rate
        Probability that one parent comes from a MAP-Elites cell.
    runtime_unit, runtime_bins_per_octave
        Cost cell = ``floor(log2(max(member.cost, unit)/unit) · bins)``.
    size_bins_per_octave
        Code-size cell = ``floor(log2(max(code_size, 1)) · bins)``.
    """

    num_islands: int = 4
    temperature_init: float = 0.1
    temperature_period: int = 1000
    temperature_min: float = 0.005
    rank_scale: float = 100.0
    length_temperature: float = 1.0
    signature_decimals: int = 3
    reset_period: int = 400
    diversity_rate: float = 0.2
    runtime_unit: float = 1e-4
    runtime_bins_per_octave: float = 1.0
    size_bins_per_octave: float = 2.0

    def __post_init__(self) -> None:
        if self.num_islands < 1:
            raise ValueError("num_islands must be >= 1")
        if not self.temperature_init > 0 or not self.temperature_min > 0:
            raise ValueError("temperatures must be positive")
        if self.temperature_period < 1:
            raise ValueError("temperature_period must be >= 1")
        if self.rank_scale <= 0:
            raise ValueError("rank_scale must be positive")
        if self.length_temperature <= 0:
            raise ValueError("length_temperature must be positive")
        if self.reset_period < 0:
            raise ValueError("reset_period must be >= 0")
        if not 0 <= self.diversity_rate <= 1:
            raise ValueError("diversity_rate must lie in [0, 1]")
        if self.runtime_unit <= 0 or self.runtime_bins_per_octave <= 0 \
                or self.size_bins_per_octave <= 0:
            raise ValueError("runtime_unit and bins per octave must be positive")


class Population:
    """Islands of scored programs, from which the loop draws parents.

    Parameters
    ----------
    config
        Settings.
    rng
        Generator for island choice and parent sampling (its state is part of
        :meth:`state_dict`).
    """

    def __init__(self, config: PopulationConfig, rng: np.random.Generator) -> None:
        self.config = config
        self.rng = rng
        self._clear()

    def _clear(self) -> None:
        self.islands = [Island() for _ in range(self.config.num_islands)]
        self._members: list[Member] = []
        self._ids: set[int] = set()
        self.resets = 0

    def __len__(self) -> int:
        return len(self._members)

    @property
    def members(self) -> tuple[Member, ...]:
        """Every registered member, in registration order."""
        return tuple(self._members)

    # -- registration ----------------------------------------------------------------------
    def register(self, member: Member) -> None:
        """Add a scored program to its island (or to all islands when ``island`` is None).

        Raises
        ------
        ValueError
            If ``program_id`` was registered before or the island does not exist.
        """
        if member.program_id in self._ids:
            raise ValueError(f"program {member.program_id} is already registered")
        if member.island is not None and member.island >= self.config.num_islands:
            raise ValueError(f"island {member.island} does not exist "
                             f"({self.config.num_islands} islands)")
        self._ids.add(member.program_id)
        self._members.append(member)
        targets = range(self.config.num_islands) if member.island is None else [member.island]
        for k in targets:
            self._place(dataclasses.replace(member, island=k))
        period = self.config.reset_period
        if period and len(self._members) % period == 0:
            self._reset()

    def replay(self, members: Iterable[Member]) -> None:
        """Register archived members in their original order (the resume path)."""
        for member in members:
            self.register(member)

    def _place(self, member: Member) -> None:
        assert member.island is not None
        key = tuple(round(x, self.config.signature_decimals) + 0.0 for x in member.signature)
        self.islands[member.island].add(member, key, self.cell(member))

    def cell(self, member: Member) -> tuple[int, int]:
        """The MAP-Elites cell (cost bin, code-size bin) of ``member``."""
        c = self.config
        runtime_bin = math.floor(math.log2(max(member.cost, c.runtime_unit) / c.runtime_unit)
                                 * c.runtime_bins_per_octave)
        size_bin = math.floor(math.log2(max(member.code_size, 1)) * c.size_bins_per_octave)
        return runtime_bin, size_bin

    def _reset(self) -> None:
        """Empty the weakest half of the islands and re-found them from the survivors."""
        def strength(k: int) -> tuple[float, int]:
            best = self.islands[k].best()
            return (math.inf if best is None else best.score, k)

        ranked = sorted(range(self.config.num_islands), key=strength)
        keep = len(ranked) - len(ranked) // 2
        survivors, weakest = ranked[:keep], ranked[keep:]
        for n, k in enumerate(reversed(weakest)):  # weakest island gets the best founder
            founder = self.islands[survivors[n % len(survivors)]].best()
            self.islands[k] = Island()
            if founder is not None:
                self._place(dataclasses.replace(founder, island=k))
        if weakest:
            self.resets += 1

    # -- sampling ----------------------------------------------------------------------------
    def choose_island(self) -> int:
        """A uniformly random non-empty island.

        Raises
        ------
        LookupError
            If nothing has been registered yet.
        """
        candidates = [k for k, island in enumerate(self.islands) if not island.empty]
        if not candidates:
            raise LookupError("the population is empty: register the seed programs first")
        return candidates[int(self.rng.integers(len(candidates)))]

    def temperature(self, island: int) -> float:
        """Current cluster-sampling temperature of ``island``."""
        c = self.config
        n = self.islands[island].registered
        return max(c.temperature_init * (1 - (n % c.temperature_period) / c.temperature_period),
                   c.temperature_min)

    def sample_parents(self, island: int, k: int) -> list[Member]:
        """Draw ``k`` parents from ``island``, best first.

        Distinct clusters are drawn while there are enough; beyond that, clusters
        are drawn again.

        Raises
        ------
        LookupError
            If the island is empty.
        """
        if k < 1:
            raise ValueError("k must be >= 1")
        isl = self.islands[island]
        if isl.empty:
            raise LookupError(f"island {island} is empty")
        clusters = sorted(isl.clusters.values(),
                          key=lambda cl: (cl.score, cl.members[0].program_id))
        count = len(clusters)
        ranks = np.arange(count, dtype=float) / self.config.rank_scale
        probs = softmax(-ranks, self.temperature(island))
        distinct = min(k, count)
        picks = [int(x) for x in self.rng.choice(count, size=distinct, replace=False, p=probs)]
        picks += [int(x) for x in self.rng.choice(count, size=k - distinct, p=probs)]
        parents = [clusters[i].sample(self.rng, self.config.length_temperature) for i in picks]
        if isl.cells and self.rng.random() < self.config.diversity_rate:
            cells = sorted(isl.cells)
            parents[-1] = isl.cells[cells[int(self.rng.integers(len(cells)))]]
        return sorted(parents, key=lambda m: (m.score, m.program_id))

    def best(self, k: int = 1) -> list[Member]:
        """The ``k`` best members ever registered (ties: smaller code, then earlier)."""
        order = sorted(range(len(self._members)),
                       key=lambda i: (self._members[i].score, self._members[i].code_size, i))
        return [self._members[i] for i in order[:k]]

    def cells(self, island: int) -> dict[tuple[int, int], Member]:
        """The MAP-Elites grid of ``island`` (cell → elite), for display."""
        return dict(self.islands[island].cells)

    # -- persistence -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """JSON-able state: config, members in order and the generator state."""
        return {"version": STATE_VERSION, "config": dataclasses.asdict(self.config),
                "members": [m.to_json() for m in self._members],
                "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Rebuild from :meth:`state_dict` output (replays members, restores the generator).

        Raises
        ------
        ValueError
            If the state has another version or was made with another config.
        """
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported population state version {state.get('version')!r}")
        if PopulationConfig(**state["config"]) != self.config:
            raise ValueError("population state was saved with a different config")
        self._clear()
        self.replay(Member.from_json(m) for m in state["members"])
        self.rng.bit_generator.state = state["rng"]
