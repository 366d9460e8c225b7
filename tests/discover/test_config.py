"""RunConfig: TOML round trip, overrides, errors naming file and key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from discover.config import ConfigError, ModelSpec, RunConfig


def test_default_round_trips_through_toml() -> None:
    config = RunConfig()
    assert RunConfig.from_dict(tomllib.loads(config.to_toml())) == config


def test_file_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(
        'budget = 50\nseed = 3\n[llm]\nmax_dollars = 1.5\n'
        '[[llm.models]]\nspec = "openai:gpt-4o-mini"\nweight = 2\n'
        '[[llm.models]]\nspec = "anthropic:claude-haiku"\n'
        '[llm.prices.gpt-4o-mini]\ninput = 0.15\noutput = 0.6\n'
    )
    config = RunConfig.load(path)
    assert config.budget == 50 and config.seed == 3
    assert config.llm.models == (ModelSpec("openai:gpt-4o-mini", 2.0),
                                 ModelSpec("anthropic:claude-haiku"))
    assert config.llm.prices["gpt-4o-mini"].output == 0.6
    assert not config.llm.offline
    overridden = config.with_overrides(budget=10, seed=None, **{"evaluation.train_n": 12})
    assert overridden.budget == 10 and overridden.seed == 3
    assert overridden.evaluation.train_n == 12


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("budgett = 3\n", "unknown key budgett"),
        ("[search]\nislands = 0\n", "islands"),
        ("budget = 'many'\n", "budget must be an integer"),
        ("[llm]\n[[llm.models]]\nspec = 'gpt-4o'\n", "provider:model"),
        ("[search.operators]\nmutate = 1.0\n", "unknown"),
        ("budget = \n", "run.toml"),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "run.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        RunConfig.load(path)
    assert needle in str(info.value)
    assert "run.toml" in str(info.value)


@pytest.mark.parametrize("problem", ["jssp", "serving"])
def test_config_comments_speak_of_the_problem_shown(problem: str) -> None:
    """Before: jssp's and serving's configs spoke of (RDD, TF) classes, MDD and optima."""
    text = RunConfig.for_problem(problem).to_toml()
    comments = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    for word in ("RDD", "MDD", "n100.json", "tiny optima", "dp for n"):
        assert word not in comments, word
    if problem == "serving":
        assert "optim" not in comments.lower()
        assert "A reference score, not a bound" in comments
    assert tomllib.loads(text)["evaluation"]["train_n"] == (10 if problem == "jssp" else 1000)


def test_smtt_config_keeps_its_class_comments() -> None:
    assert "(RDD, TF) class" in RunConfig.for_problem("smtt").to_toml()
