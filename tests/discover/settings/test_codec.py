"""The settings codec on a dataclass of its own: it knows nothing of RunConfig."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field

import pytest

from discover.settings.codec import (
    ConfigError,
    deep_merge,
    dump_toml,
    field_docs,
    from_plain,
    to_plain,
)


@dataclass(frozen=True)
class _Inner:
    rate: float = 0.5
    """How fast."""


@dataclass(frozen=True)
class _Outer:
    name: str = "x"
    """The name."""
    sizes: tuple[int, ...] = (1, 2)
    limit: int | None = None
    inner: _Inner = field(default_factory=_Inner)


def test_round_trip_through_toml() -> None:
    value = _Outer(name="y", sizes=(3,), limit=7, inner=_Inner(rate=2))
    text = dump_toml(to_plain(value), field_docs(_Outer))
    assert "# The name." in text and "# How fast." in text
    assert from_plain(_Outer, tomllib.loads(text), "<t>", "") == value


def test_errors_name_the_source_and_the_dotted_key() -> None:
    with pytest.raises(ConfigError, match=r"<t>: inner\.rate must be a number"):
        from_plain(_Outer, {"inner": {"rate": "fast"}}, "<t>", "")
    with pytest.raises(ConfigError, match=r"unknown key inner\.speed"):
        from_plain(_Outer, {"inner": {"speed": 1}}, "<t>", "")


def test_deep_merge_merges_tables_key_by_key() -> None:
    assert deep_merge({"a": {"b": 1, "c": 2}, "d": 3}, {"a": {"c": 4}}) == {
        "a": {"b": 1, "c": 4}, "d": 3}
