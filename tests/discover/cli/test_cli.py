"""Every command resolves, and its help carries an example."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from discover.cli import COMMANDS, main


@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_help_has_examples(name: str) -> None:
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output


def test_top_level_help_lists_every_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


def test_unknown_problem_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["baselines", "--problem", "nope"])
    assert result.exit_code == 2
    assert "unknown problem 'nope'" in result.output
