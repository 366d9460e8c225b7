"""A run of a problem given as a relative .py path archives its absolute spec, so the
winner exports from anywhere (resume and export resolve the run's spec, not its name)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from archive import Archive
from discover.exporting.standalone import export_program
from discover.runner import run
from tests.discover.loop_fixtures import small_config

_PROBLEM = '''
from dataclasses import replace
from evaluators.smtt.problem import SmttProblem


class FileProblem(SmttProblem):
    name = "zzrunfileproblem"
    candidate_spec = replace(SmttProblem.candidate_spec, harness="zzrunharness.harness")


def problem():
    return FileProblem()
'''


@pytest.mark.slow
def test_file_problem_runs_and_exports_from_elsewhere(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "zzrunharness").mkdir()
    (tmp_path / "zzrunharness" / "__init__.py").write_text("")
    (tmp_path / "zzrunharness" / "harness.py").write_text(
        "def call(function, payload):\n"
        "    return function(list(payload['processing_times']), list(payload['due_dates']))\n")
    (tmp_path / "my_problem.py").write_text(textwrap.dedent(_PROBLEM))
    monkeypatch.chdir(tmp_path)
    config = small_config(tmp_path, budget=8).with_overrides(problem="my_problem.py")
    result = run(config)
    with Archive.open(config.archive) as archive:
        stored = archive.run(result.run_id).config["problem"]
        assert stored == str(tmp_path / "my_problem.py")
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)
        exported = export_program(archive, result.best[0].program_id, elsewhere / "best.py")
    assert exported.problem == "zzrunfileproblem" and (elsewhere / "best.py").is_file()
