"""``discover new-problem``: the scaffold installs, passes its own tests and runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from discover.cli import main
from discover.scaffold import ScaffoldError, check_name


@pytest.mark.parametrize("bad", ["MyProblem", "1x", "my-problem", "class", "smtt", "json", ""])
def test_bad_names_are_refused_in_one_line(bad: str) -> None:
    with pytest.raises(ScaffoldError):
        check_name(bad)


def test_cli_refuses_an_existing_directory(tmp_path: Path) -> None:
    (tmp_path / "zzplugin").mkdir()
    result = CliRunner().invoke(main, ["new-problem", "zzplugin", "--directory", str(tmp_path)])
    assert result.exit_code != 0 and "already exists" in result.output


ROOT = Path(__file__).resolve().parents[3]


def tutorial_commands() -> list[str]:
    """The ``$`` lines of the tutorial in docs/problems.md, in order."""
    text = (ROOT / "docs" / "problems.md").read_text(encoding="utf-8")
    block = text.split("<!-- tutorial -->", 1)[1].split("<!-- /tutorial -->", 1)[0]
    return [line[2:].strip() for line in block.splitlines() if line.startswith("$ ")]


def test_the_tutorial_scaffolds_installs_tests_and_runs() -> None:
    commands = tutorial_commands()
    assert commands[0] == "discover new-problem myproblem"
    assert "pip install --no-deps -e ." in commands
    assert any(c.startswith("discover run --problem myproblem --budget 50") for c in commands)


@pytest.mark.slow
def test_scaffold_installs_passes_its_tests_and_runs(tmp_path: Path) -> None:
    """The issue's CI check, as the tutorial in docs/problems.md writes it: scaffold,
    pip install --no-deps -e, its own tests, datasets, baselines, a budget-50 run."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, timeout=300)
    python = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    # This checkout's discover, whatever the base interpreter has installed.
    env["PYTHONPATH"] = str(ROOT)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # The name must be new to this environment; the tutorial's commands use it verbatim.
    cwd = tmp_path
    outputs = []
    for command in tutorial_commands():
        words = command.split()
        if words[0] == "cd":
            cwd = cwd / words[1]
            continue
        head = {"discover": [python, "-m", "discover.cli"], "pip": [python, "-m", "pip"],
                "python": [python]}[words[0]]
        if words[:2] == ["discover", "run"]:
            words += ["--model", "offline", "--archive", f"sqlite:///{tmp_path / 'r.sqlite'}",
                      "--progress", "quiet"]
        if words[:2] == ["python", "-m"] and words[2] == "pytest":
            words += ["-p", "no:cacheprovider"]
        done = subprocess.run([*head, *words[1:]], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=1500)
        assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        outputs.append(done.stdout)
    assert "50/50 evaluated" in outputs[-1] and "LPT" in outputs[-1]
