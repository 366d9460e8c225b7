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


@pytest.mark.slow
def test_scaffold_installs_passes_its_tests_and_runs(tmp_path: Path) -> None:
    """Exactly the issue's CI check: scaffold, pip install --no-deps -e, its tests, a run."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, timeout=300)
    python = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"

    def sh(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=1500)
        assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        return done

    sh(python, "-m", "discover.cli", "new-problem", "zzscaffolded", cwd=tmp_path)
    project = tmp_path / "zzscaffolded"
    sh(python, "-m", "pip", "install", "-q", "--no-deps", "-e", str(project), cwd=tmp_path)
    sh(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    run = sh(python, "-m", "discover.cli", "run", "--problem", "zzscaffolded", "--budget", "50",
             "--model", "offline", "--archive", f"sqlite:///{tmp_path / 'r.sqlite'}",
             "--progress", "quiet", cwd=project)
    assert "50/50 evaluated" in run.stdout and "LPT" in run.stdout
