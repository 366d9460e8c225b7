"""``discover archive`` and ``discover export`` on the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import Archive, Program
from discover.cli import main
from discover.cli.archive import parse_program_id, parse_run_id, parse_target


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), terminal_width=160)
    return result.exit_code, result.output


@pytest.fixture
def url(smtt_run: tuple[Archive, dict[str, int]]) -> str:
    return smtt_run[0].url


def test_every_command_has_help_with_an_example() -> None:
    for command in (["archive"], ["archive", "runs"], ["archive", "show"],
                    ["archive", "lineage"], ["archive", "best"], ["archive", "diff"],
                    ["export"]):
        code, out = invoke(*command, "--help")
        assert code == 0 and "Examples:" in out and "discover " in out.split("Examples:")[1]


def test_runs(url: str, smtt_run: tuple[Archive, dict[str, int]]) -> None:
    ids = smtt_run[1]
    code, out = invoke("archive", "runs", "--archive", url)
    assert code == 0 and "smtt" in out and "4/5" in out
    code, out = invoke("archive", "runs", "--archive", url, "--json")
    data = json.loads(out)
    assert [r["run"]["id"] for r in data] == [ids["run3"], ids["run2"], ids["run"]]
    assert data[2]["counters"]["evaluated"] == 4 and data[2]["counters"]["duplicates"] == 1


def test_show(url: str, smtt_run: tuple[Archive, dict[str, int]]) -> None:
    ids = smtt_run[1]
    code, out = invoke("archive", "show", f"p{ids['fancy']}", "--archive", url)
    assert code == 0
    assert "MDD with SPT ties" in out and "openai/gpt-4.1-mini" in out and "validation" in out
    assert "def schedule" in out
    code, out = invoke("archive", "show", str(ids["fancy"]), "--archive", url, "--calls")
    assert "Improve MDD" in out
    code, out = invoke("archive", "show", str(ids["fancy"]), "--archive", url, "--json")
    data = json.loads(out)
    assert data["parents"] == [{"program_id": ids["mdd"], "role": "mutation"}]
    assert data["model_calls"][0]["tokens_in"] == 1200
    assert len(data["evaluations"]["train"]["per_instance"]) == 30


def test_lineage(url: str, smtt_run: tuple[Archive, dict[str, int]]) -> None:
    ids = smtt_run[1]
    code, out = invoke("archive", "lineage", str(ids["fancy"]), "--archive", url)
    assert code == 0 and "[mutation]" in out and "[crossover]" in out
    code, out = invoke("archive", "lineage", str(ids["cross"]), "--archive", url, "--json")
    data = json.loads(out)
    assert {(e["parent_id"], e["depth"]) for e in data["ancestors"]} == {
        (ids["fancy"], 1), (ids["edd"], 1), (ids["mdd"], 2)}


def test_best(url: str, smtt_run: tuple[Archive, dict[str, int]]) -> None:
    ids = smtt_run[1]
    code, out = invoke("archive", "best", f"r{ids['run']}", "--archive", url, "--json",
                       "--split", "train", "--top", "2")
    data = json.loads(out)
    assert code == 0 and [d["rank"] for d in data] == [1, 2]
    assert data[0]["evaluation"]["score"] <= data[1]["evaluation"]["score"]
    code, out = invoke("archive", "best", str(ids["run"]), "--archive", url)
    assert code == 0 and str(ids["fancy"]) in out
    code, out = invoke("archive", "best", str(ids["run3"]), "--archive", url)
    assert code == 1 and "no successful evaluation on any split" in out


def test_best_without_split_falls_back_to_train(url: str,
                                                smtt_run: tuple[Archive, dict[str, int]]) -> None:
    """Before: run 2 (train scores only) printed "no successful evaluation on the
    validation split" and exited 0, with no hint."""
    ids = smtt_run[1]
    result = CliRunner().invoke(main, ["archive", "best", f"r{ids['run2']}", "--archive", url])
    assert result.exit_code == 0, result.output
    assert "best programs of run" in result.stdout and "on train" in result.stdout
    assert str(ids["solo"]) in result.stdout
    assert "no validation scores; ranking by the train split" in result.stderr
    result = CliRunner().invoke(main, ["archive", "best", f"r{ids['run2']}", "--archive", url,
                                       "--json"])
    assert result.exit_code == 0
    assert [r["summary"]["id"] for r in json.loads(result.stdout)] == [ids["solo"]]


def test_best_on_an_empty_split_is_an_error_with_a_hint(
        url: str, smtt_run: tuple[Archive, dict[str, int]]) -> None:
    ids = smtt_run[1]
    code, out = invoke("archive", "best", f"r{ids['run2']}", "--split", "validation",
                       "--archive", url)
    assert code == 1
    assert ("no successful evaluation on the validation split; scores exist on: train "
            "(use --split)") in out


def test_diff(url: str, smtt_run: tuple[Archive, dict[str, int]]) -> None:
    ids = smtt_run[1]
    code, out = invoke("archive", "diff", str(ids["edd"]), str(ids["cross"]), "--archive", url)
    assert code == 0 and "Crossed earliest" in out
    code, out = invoke("archive", "diff", str(ids["edd"]), str(ids["cross"]), "--archive", url,
                       "--json")
    assert json.loads(out)["added"] == 1


def test_errors_are_clean(url: str, tmp_path: Path) -> None:
    code, out = invoke("archive", "show", "999", "--archive", url)
    assert code == 1 and "Error: no program 999" in out
    code, out = invoke("archive", "show", "abc", "--archive", url)
    assert code == 2 and "not a program id" in out
    code, out = invoke("archive", "runs", "--archive", str(tmp_path / "none.sqlite"))
    assert code == 1 and "no archive at" in out
    assert not (tmp_path / "none.sqlite").exists()
    code, out = invoke("export", "-o", str(tmp_path / "x.py"))
    assert code == 2 and "either PROGRAM_OR_RUN or --baseline" in out


def test_id_parsing() -> None:
    assert parse_run_id("r3") == parse_run_id("run:3") == parse_run_id("3") == 3
    assert parse_program_id("p12") == parse_program_id("12") == 12
    assert parse_target("r3") == ("run", 3)
    assert parse_target("run:3") == ("run", 3)
    assert parse_target("12") == ("program", 12)


@pytest.mark.slow
def test_export_commands(url: str, smtt_run: tuple[Archive, dict[str, int]],
                         tmp_path: Path) -> None:
    ids = smtt_run[1]
    code, out = invoke("export", f"r{ids['run2']}", "-o", str(tmp_path / "solo.py"),
                       "--archive", url)
    assert code == 0 and "wrote" in out and "train split" in out
    code, out = invoke("export", "--baseline", "mdd", "--problem", "smtt",
                       "-o", str(tmp_path / "mdd.py"), "--json")
    data = json.loads(out)
    assert code == 0 and data["baseline"] == "mdd" and len(data["expected"]) == 3
    assert (tmp_path / "mdd.py").is_file()
    code, out = invoke("export", "--baseline", "nope", "-o", str(tmp_path / "n.py"))
    assert code == 1 and "nope" in out


LONG_A = (
    "def schedule(processing_times: list[int], due_dates: list[int]) -> list[int]:\n"
    '    """Order by a long composite key (a line well beyond eighty columns on purpose)."""\n'
    "    return sorted(range(len(processing_times)), "
    "key=lambda j: (due_dates[j], processing_times[j], j, 0))\n"
)
LONG_B = LONG_A.replace("j, 0))", "j, 1))  # the same key with a different tie value at the end")


def _piped(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``discover ARGS > file`` in a child process: stdout a real file, no terminal."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR")}
    with (tmp_path / "stdout.txt").open("w", encoding="utf-8") as out:
        done = subprocess.run([sys.executable, "-m", "discover.cli", *args], stdout=out,
                              stderr=subprocess.PIPE, text=True, env=env, timeout=120,
                              check=False)
    return subprocess.CompletedProcess(done.args, done.returncode,
                                       (tmp_path / "stdout.txt").read_text(encoding="utf-8"),
                                       done.stderr)


@pytest.mark.slow
def test_diff_redirected_to_a_file_is_a_patch_that_applies(tmp_path: Path) -> None:
    """Before: rich wrapped the diff at 80 columns, padded lines and appended the
    line count, so `discover archive diff A B > d.patch` was no patch."""
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    with Archive.open(url) as store:
        run = store.create_run("smtt", {}, seed=1)
        a = store.record_candidate(run, Program(LONG_A, "seed"))
        b = store.record_candidate(run, Program(LONG_B, "modify"))
    done = _piped(["archive", "diff", str(a), str(b), "--archive", url], tmp_path)
    assert done.returncode == 0, done.stderr
    assert max(len(line) for line in done.stdout.splitlines()) > 100
    (tmp_path / "d.patch").write_text(done.stdout, encoding="utf-8")
    target = tmp_path / "candidate.py"
    target.write_text(LONG_A, encoding="utf-8")
    applied = subprocess.run(["patch", str(target), str(tmp_path / "d.patch")],
                             capture_output=True, text=True, check=False)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert target.read_text(encoding="utf-8") == LONG_B
    assert "+1 −1 lines" in done.stderr


@pytest.mark.slow
def test_runs_redirected_to_a_file_keeps_every_value(tmp_path: Path) -> None:
    """Before: the runs table was fitted into 80 columns and cut values short."""
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    with Archive.open(url) as store:
        for seed in range(3):
            store.create_run("smtt", {}, seed=123456789 + seed, budget=987654321)
    done = _piped(["archive", "runs", "--archive", url], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "…" not in done.stdout
    for seed in range(3):
        assert str(123456789 + seed) in done.stdout
    assert done.stdout.count("/987654321") == 3
    assert "started: UTC" in done.stdout.replace("\n", " ")


@pytest.mark.slow
def test_export_target_means_the_same_on_the_command_line_and_in_the_api(
        url: str, smtt_run: tuple[Archive, dict[str, int]], tmp_path: Path) -> None:
    """Before: `discover export 1` exported program 1, `discover.export(archive, 1, ...)`
    run 1's best program. Now a bare number is a program in both; a run is marked."""
    import discover

    store, ids = smtt_run
    assert ids["edd"] == ids["run"]  # the same number names a program and a run
    code, out = invoke("export", str(ids["edd"]), "-o", str(tmp_path / "cli.py"),
                       "--archive", url, "--json")
    assert code == 0, out
    cli = json.loads(out)
    api = discover.export(store, ids["edd"], str(tmp_path / "api.py"))
    assert cli["program_id"] == api.program_id == ids["edd"]
    assert cli["split"] is None and api.split is None
    assert (tmp_path / "cli.py").read_text().split('"""', 2)[2] == \
        (tmp_path / "api.py").read_text().split('"""', 2)[2]
    run_best = discover.export(store, f"r{ids['run']}", str(tmp_path / "run.py"))
    assert run_best.program_id != ids["edd"] and run_best.split is not None
    with pytest.raises(ValueError, match="not a program id"):
        discover.export(store, "x1", str(tmp_path / "bad.py"))


def test_export_target_parsing() -> None:
    from discover.exporting.target import ExportTarget, TargetKind

    assert ExportTarget.parse(7) == ExportTarget.parse("7") == ExportTarget.parse("p7") \
        == ExportTarget(TargetKind.PROGRAM, 7)
    assert ExportTarget.parse("r7") == ExportTarget.parse("run:7") == ExportTarget.run(7)
    with pytest.raises(ValueError):
        ExportTarget.parse("q7")
    with pytest.raises(ValueError):
        ExportTarget.program(0)


def test_serving_runs_show_ratios_to_the_reference_score(tmp_path: Path) -> None:
    """Before: `archive best` and `archive show` printed a "gap %" against serving's
    oracle, which is a reference score and no bound."""
    from archive import Evaluation, EvaluationStatus, InstanceResult, Split

    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    idea = "favour short prompts unless a request has waited long, " * 3
    window = InstanceResult("w#0", objective=3.0, gap=-40.0)
    evaluation = Evaluation(Split.TRAIN, EvaluationStatus.OK, score=-40.0, gap=-40.0,
                            seconds=1.0, per_instance=(window,))
    with Archive.open(url) as store:
        run = store.create_run("serving", {}, seed=1)
        program = store.record_candidate(run, Program("def priority(r, s):\n    return 0\n",
                                                      "seed", idea=idea.strip()),
                                         evaluations=[evaluation])
    code, out = invoke("archive", "best", f"r{run}", "--archive", url)
    assert code == 0, out
    assert "H/ref" in out and "0.6000" in out and "gap" not in out
    assert idea.strip() in out  # not cut to 28 characters off a terminal
    code, out = invoke("archive", "show", str(program), "--archive", url)
    assert code == 0 and "H/ref" in out and "gap" not in out
