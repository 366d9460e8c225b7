"""Several models with weights, one drawn per call with the run's generator."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from discover.providers.base import Completion, Provider
from discover.providers.shared_rng import SharedGenerator


@dataclass(frozen=True)
class PoolMember:
    """A provider and its sampling weight (any positive number; weights are normalised)."""

    provider: Provider
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.weight) or self.weight <= 0:
            raise ValueError(f"weight must be a positive number, got {self.weight}")


class ModelPool:
    """A weighted pool of providers that is itself a provider.

    Parameters
    ----------
    members
        The providers and their weights.
    rng
        Draws the member for each call. With a single member nothing is drawn, so
        a one-model run consumes no randomness here.
    """

    def __init__(self, members: Sequence[PoolMember], rng: SharedGenerator) -> None:
        if not members:
            raise ValueError("a model pool needs at least one member")
        names = [m.provider.name for m in members]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate models in the pool: {names}")
        self.members = tuple(members)
        self._rng = rng

    @property
    def name(self) -> str:
        """``provider:model`` for one member, else a weighted list."""
        if len(self.members) == 1:
            return self.members[0].provider.name
        total = sum(m.weight for m in self.members)
        return "pool(" + ", ".join(
            f"{m.provider.name}×{m.weight / total:.2f}" for m in self.members
        ) + ")"

    def __repr__(self) -> str:
        return f"ModelPool({list(self.members)!r})"

    def choose(self) -> Provider:
        """Draw a member by weight."""
        if len(self.members) == 1:
            return self.members[0].provider
        index = self._rng.choice_index([m.weight for m in self.members])
        return self.members[index].provider

    def complete(
        self, system: str, user: str, *, max_tokens: int, temperature: float | None = None
    ) -> Completion:
        """Answer with a member drawn by weight (its errors propagate unchanged)."""
        return self.choose().complete(system, user, max_tokens=max_tokens, temperature=temperature)
