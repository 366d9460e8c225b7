"""Cost accounting from a price table (dollars per million tokens).

Prices change and differ between gateways, so they come from the run's
configuration rather than from code. A model missing from the table costs
``None`` (unknown, not zero) and is warned about once.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelPrice:
    """Dollars per million input and output tokens."""

    input_per_mtok: float
    output_per_mtok: float

    def __post_init__(self) -> None:
        for value in (self.input_per_mtok, self.output_per_mtok):
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"prices must be non-negative numbers, got {value}")

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        """Dollars for one call."""
        return (tokens_in * self.input_per_mtok + tokens_out * self.output_per_mtok) / 1e6


def _field(entry: Any, name: str) -> float:
    value = entry[name] if isinstance(entry, Mapping) else getattr(entry, name)
    return float(value)


@dataclass
class PriceTable:
    """Prices by model name (or by full spec ``provider:model``, which takes precedence).

    Parameters
    ----------
    prices
        Model name or spec → price.
    """

    prices: Mapping[str, ModelPrice] = field(default_factory=dict)
    _warned: set[str] = field(default_factory=set, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def from_config(cls, table: Mapping[str, Any]) -> PriceTable:
        """Build from a config mapping whose values have ``input``/``output`` (attributes or keys).

        Raises
        ------
        ValueError
            When an entry lacks a price or has a negative one; the message names the model.
        """
        prices = {}
        for model, entry in table.items():
            try:
                if isinstance(entry, ModelPrice):
                    prices[model] = entry
                    continue
                prices[model] = ModelPrice(_field(entry, "input"), _field(entry, "output"))
            except (AttributeError, KeyError, TypeError, ValueError) as error:
                raise ValueError(
                    f"price for model {model!r} needs numeric input and output "
                    f"($ per million tokens): {error}"
                ) from error
        return cls(prices)

    def lookup(self, provider: str, model: str) -> ModelPrice | None:
        """The price for a model called through ``provider`` (a spec), if listed."""
        return self.prices.get(provider) or self.prices.get(model)

    def cost(self, provider: str, model: str, tokens_in: int, tokens_out: int) -> float | None:
        """Dollars for one call, or ``None`` (with a one-time warning) when not priced."""
        price = self.lookup(provider, model)
        if price is None:
            with self._lock:
                first = model not in self._warned
                self._warned.add(model)
            if first:
                log.warning(
                    "no price for model %r (%s): its cost is recorded as unknown and does not "
                    "count towards the dollar budget; add it to llm.prices", model, provider,
                )
            return None
        return price.cost(tokens_in, tokens_out)
