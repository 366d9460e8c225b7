"""One island of the population: score-signature clusters and MAP-Elites cells.

An island is a sub-population that evolves on its own (FunSearch, Romera-Paredes
et al. 2024). Inside it, programs are grouped into *clusters* by their score
signature — the vector of per-instance results, rounded — so that programs that
behave alike compete for one share of the parent budget however many variants of
them exist. Parents are drawn from clusters by a softmax whose temperature cools
as the island fills, and within a cluster shorter programs are favoured.

Next to the clusters, each island keeps a MAP-Elites grid (Mouret & Clune 2015):
a cell per (cost, code size) bin holding the best program seen in it. Drawing
some parents uniformly over cells keeps fast-but-mediocre and small programs in
play, which score-driven sampling alone would starve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Member:
    """A scored program as the population sees it.

    Parameters
    ----------
    program_id
        Archive id; unique per registration.
    code
        Source code.
    score
        Training score, lower is better (finite: failed programs are not members).
    signature
        Per-instance results (e.g. gaps), in a fixed instance order.
    cost
        Position on the population's cost axis, ≥ 0: any consistent unit. The
        loop gives a static proxy (:func:`discover.search.loop_state.cost_proxy`, from the
        loop depth), not measured seconds, so that selection is reproducible.
    code_size
        Size of the code (e.g. AST nodes or characters); ≥ 0.
    island
        Island it belongs to, or ``None`` to place it on every island (seed programs).
    load
        Share of the run's step budget the program uses on the timing instances
        (its steps over the gate's limit, ≤ 1), or ``None`` without a timing gate. A
        child of a program near 1 that does more work is rejected as too slow, so the
        offline engine reads it (:mod:`discover.offline.budget`).
    """

    program_id: int
    code: str
    score: float
    signature: tuple[float, ...]
    cost: float
    code_size: int
    island: int | None
    load: float | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.score):
            raise ValueError(f"program {self.program_id}: score must be finite, got {self.score}")
        sig = tuple(float(x) for x in self.signature)
        if not all(math.isfinite(x) for x in sig):
            raise ValueError(f"program {self.program_id}: signature must be finite")
        object.__setattr__(self, "signature", sig)
        if not (math.isfinite(self.cost) and self.cost >= 0):
            raise ValueError(f"program {self.program_id}: cost must be finite and >= 0")
        if self.code_size < 0:
            raise ValueError(f"program {self.program_id}: code_size must be >= 0")
        if self.island is not None and self.island < 0:
            raise ValueError(f"program {self.program_id}: island must be >= 0 or None")
        if self.load is not None and not (math.isfinite(self.load) and self.load >= 0):
            raise ValueError(f"program {self.program_id}: load must be finite and >= 0")

    def to_json(self) -> dict[str, object]:
        """A JSON-able dict (inverse of :meth:`from_json`)."""
        return {"program_id": self.program_id, "code": self.code, "score": self.score,
                "signature": list(self.signature), "cost": self.cost,
                "code_size": self.code_size, "island": self.island, "load": self.load}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Member:
        """Rebuild a member from :meth:`to_json` output."""
        island = data["island"]
        return cls(program_id=int(data["program_id"]),  # type: ignore[call-overload]
                   code=str(data["code"]), score=float(data["score"]),  # type: ignore[arg-type]
                   signature=tuple(data["signature"]),  # type: ignore[arg-type]
                   # "runtime": the key before the field was named for what it is
                   cost=float(data.get("cost", data.get("runtime"))),  # type: ignore[arg-type]
                   code_size=int(data["code_size"]),  # type: ignore[call-overload]
                   island=None if island is None else int(island),  # type: ignore[call-overload]
                   load=None if data.get("load") is None
                   else float(data["load"]))  # type: ignore[arg-type]


@dataclass
class Cluster:
    """Programs of one island that share a (rounded) score signature."""

    score: float
    members: list[Member] = field(default_factory=list)

    def add(self, member: Member) -> None:
        """Add a program; the cluster's score is the best of its members."""
        self.members.append(member)
        self.score = min(self.score, member.score)

    def sample(self, rng: np.random.Generator, length_temperature: float) -> Member:
        """A member, shorter code favoured (softmax over normalised negative length)."""
        if len(self.members) == 1:
            return self.members[0]
        lengths = np.array([m.code_size for m in self.members], dtype=float)
        normalised = (lengths - lengths.min()) / (lengths.max() + 1e-6)
        return self.members[int(rng.choice(len(self.members),
                                           p=softmax(-normalised, length_temperature)))]


@dataclass
class Island:
    """Clusters by signature, a MAP-Elites grid and a registration counter."""

    clusters: dict[tuple[float, ...], Cluster] = field(default_factory=dict)
    cells: dict[tuple[int, int], Member] = field(default_factory=dict)
    registered: int = 0

    @property
    def empty(self) -> bool:
        """True before the first program arrives."""
        return not self.clusters

    def best(self) -> Member | None:
        """The island's best program (ties: smaller code, then earlier)."""
        best: Member | None = None
        for cluster in self.clusters.values():
            for m in cluster.members:
                if best is None or (m.score, m.code_size) < (best.score, best.code_size):
                    best = m
        return best

    def add(self, member: Member, key: tuple[float, ...], cell: tuple[int, int]) -> None:
        """Put ``member`` into its cluster and challenge the elite of its cell."""
        cluster = self.clusters.get(key)
        if cluster is None:
            cluster = self.clusters[key] = Cluster(member.score)
        cluster.add(member)
        elite = self.cells.get(cell)
        if elite is None or (member.score, member.code_size) < (elite.score, elite.code_size):
            self.cells[cell] = member
        self.registered += 1


def softmax(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Numerically stable softmax of ``logits / temperature``."""
    z = logits / max(temperature, 1e-12)
    z = z - z.max()
    e = np.exp(z)
    p: np.ndarray = e / e.sum()
    return p
