"""``discover run`` fails fast, in one line, with the right exit code, changing nothing.

Each bad value is checked before any reference is computed or any archive is
opened; runs that stop early exit non-zero with a hint that resumes them in
the right archive.
"""

from __future__ import annotations

import hashlib
import shlex
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import discover.cli.run as cli_run
from archive import Archive, Evaluation, EvaluationStatus, Program, RunStatus, Split
from discover.cli import main
from discover.config import ModelSpec, RunConfig
from discover.reporting.events import CandidateEvaluated, Event
from tests.discover.loop_fixtures import small_config
from tests.discover.providers.fake_server import FakeServer, Step

SEED = "def schedule(processing_times, due_dates):\n    return list(range(len(due_dates)))\n"


def invoke(*args: str, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(main, ["run", *args], env=env, terminal_width=200)


def error_line(result: Result) -> str:
    """The one line the command printed for its error (and check that it is one line)."""
    assert "Traceback" not in result.output, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.output
    return lines[0]


def snapshot(directory: Path) -> dict[str, str]:
    """Every file under ``directory`` and a hash of its bytes."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def write_config(config: RunConfig, path: Path) -> str:
    path.write_text(config.to_toml())
    return str(path)


@pytest.fixture
def archived(tmp_path: Path) -> tuple[Path, str, RunConfig]:
    """An archive holding one finished run (budget 1, met) and its config file."""
    config = small_config(tmp_path, budget=1).with_overrides(sandbox="none")
    with Archive.open(config.archive) as archive:
        run_id = archive.create_run("smtt", config.to_dict(), config.seed, budget=1)
        archive.record_candidate(
            run_id, Program(SEED, "seed", code_hash="h1"),
            evaluations=[Evaluation(Split.TRAIN, EvaluationStatus.OK, score=3.0)])
        archive.finish_run(run_id, RunStatus.FINISHED)
    return tmp_path, write_config(config, tmp_path / "run.toml"), config


def test_missing_api_key_fails_at_once_and_leaves_the_archive_alone(
        archived: tuple[Path, str, RunConfig]) -> None:
    directory, config_path, _ = archived
    before = snapshot(directory)
    start = time.monotonic()
    result = invoke("--config", config_path, "--model", "openai:gpt-4o-mini",
                    env={"OPENAI_API_KEY": None})
    elapsed = time.monotonic() - start
    assert result.exit_code == 1
    assert "OPENAI_API_KEY is not set" in error_line(result)
    assert elapsed < 5.0  # no training reference was computed first
    assert snapshot(directory) == before


@pytest.mark.parametrize(("args", "expected"), [
    (("--model", "nonsense"), "must look like provider:model"),
    (("--model", "nonsense:x"), "unknown provider 'nonsense'"),
    (("--model", "openai-compatible:qwen"), "needs a base URL"),
    (("--archive", "postgresql+psycopg://nobody@127.0.0.1:1/x"), "cannot open archive"),
    (("--archive", "sqlite:///{tmp}/missing/sub/x.sqlite"),
     "directory {tmp}/missing/sub does not exist"),
    (("--prompts", "no-such-prompts"), "no such directory"),
])
def test_bad_values_are_one_line_errors_that_create_nothing(
        archived: tuple[Path, str, RunConfig], args: tuple[str, ...], expected: str) -> None:
    directory, config_path, _ = archived
    before = snapshot(directory)
    args = tuple(a.format(tmp=directory) for a in args)
    result = invoke("--config", config_path, *args, env={"OPENAI_API_KEY": "sk-test"})
    assert result.exit_code in (1, 2)
    assert expected.format(tmp=directory) in error_line(result)
    assert snapshot(directory) == before
    assert not (directory / "missing").exists()


def test_strict_sandbox_without_a_private_root_is_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A machine where neither launcher can build the root (no bubblewrap, and a kernel
    # that refuses user namespaces), whatever this machine has.
    monkeypatch.setattr("discover.preflight.private_root_problem",
                        lambda: "bwrap: not installed; unshare: user namespaces refused")
    config = small_config(tmp_path, budget=3)
    result = invoke("--config", write_config(config, tmp_path / "run.toml"),
                    "--sandbox", "strict")
    assert result.exit_code == 1
    assert "--sandbox strict needs a private root" in error_line(result)
    assert "apt-get install bubblewrap" in error_line(result)
    assert not (tmp_path / "archive.sqlite").exists()


def test_prompt_directory_must_hold_usable_templates(tmp_path: Path) -> None:
    config_path = write_config(small_config(tmp_path, budget=3).with_overrides(sandbox="none"),
                               tmp_path / "run.toml")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke("--config", config_path, "--prompts", str(empty))
    assert result.exit_code == 1 and "no *.j2 template" in error_line(result)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "m1.j2").write_text("{% include '_missing_macros.j2' %}\n{{ parent.code }}\n")
    result = invoke("--config", config_path, "--prompts", str(broken))
    assert result.exit_code == 1
    line = error_line(result)
    assert "m1.j2" in line and "_missing_macros.j2" in line
    assert not (tmp_path / "archive.sqlite").exists()


def test_resuming_a_finished_run_changes_nothing(archived: tuple[Path, str, RunConfig]) -> None:
    directory, config_path, config = archived
    before = snapshot(directory)
    result = invoke("--config", config_path, "--resume", "1")
    assert result.exit_code == 1
    assert "run 1 is finished (1/1 evaluated); nothing to resume" in error_line(result)
    assert snapshot(directory) == before
    with Archive.open(config.archive) as archive:
        assert archive.run(1).status is RunStatus.FINISHED


@pytest.mark.parametrize(("args", "expected"), [
    (("--budget", "40"), "--budget 40 conflicts with run 1, whose budget is 1"),
    (("--problem", "jssp"), "--problem jssp conflicts with run 1, whose problem is smtt"),
    (("--seed", "7"), "--seed 7 conflicts with run 1, whose seed is 1"),
])
def test_resume_flags_that_would_change_the_run_are_errors(
        archived: tuple[Path, str, RunConfig], args: tuple[str, ...], expected: str) -> None:
    directory, config_path, config = archived
    with Archive.open(config.archive) as archive:
        archive.reopen_run(1)  # an interrupted run: resumable
        archive.finish_run(1, RunStatus.INTERRUPTED)
    before = snapshot(directory)
    result = invoke("--config", config_path, "--resume", "1", *args)
    assert result.exit_code == 1
    assert expected in error_line(result)
    assert snapshot(directory) == before


def _interrupt_after_first_candidate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``discover run`` behave as if Ctrl-C came after the first evaluated candidate."""
    real_run = cli_run.run

    class CtrlC:
        def on_event(self, event: Event) -> None:
            if isinstance(event, CandidateEvaluated):
                raise KeyboardInterrupt

    def run(config: RunConfig, **kwargs: Any) -> Any:
        kwargs["callbacks"] = [*kwargs["callbacks"], CtrlC()]
        return real_run(config, **kwargs)

    monkeypatch.setattr(cli_run, "run", run)


@pytest.mark.slow
@pytest.mark.parametrize("cause", ["missing validation file", "degraded sandbox"])
def test_start_warnings_are_shown_even_when_ctrl_c_follows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cause: str) -> None:
    config = small_config(tmp_path, budget=10)
    if cause == "missing validation file":
        config = config.with_overrides(**{
            "evaluation.validation": (str(tmp_path / "gone.json"),), "sandbox": "none"})
        warning = f"warning: validation file {tmp_path / 'gone.json'} not found"
    else:
        # The plain launcher (no namespaces): the sandbox degrades, with a warning,
        # whatever is installed on this machine.
        monkeypatch.setenv("DISCOVER_SANDBOX_LAUNCHER", "plain")
        config = config.with_overrides(sandbox="auto")
        warning = "warning: sandbox runs without namespaces"
    _interrupt_after_first_candidate(monkeypatch)
    result = invoke("--config", write_config(config, tmp_path / "run.toml"),
                    "--progress", "quiet")
    assert result.exit_code == 130, result.output
    assert warning in result.output
    # Shown when raised, before the run started, not at its end.
    assert result.output.index(warning) < result.output.index("run 1: smtt")


@pytest.mark.slow
def test_ctrl_c_hint_resumes_in_this_archive(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    config = small_config(tmp_path, budget=10).with_overrides(sandbox="none")
    _interrupt_after_first_candidate(monkeypatch)
    result = invoke("--config", write_config(config, tmp_path / "run.toml"),
                    "--progress", "quiet")
    assert result.exit_code == 130, result.output
    assert f"resume with discover run --resume 1 --archive '{config.archive}'" in result.output
    assert "run 1 interrupted: Ctrl-C" in result.output
    assert "interrupted (Ctrl-C)" not in result.output
    with Archive.open(config.archive) as archive:
        assert archive.run(1).status is RunStatus.INTERRUPTED


@pytest.mark.slow
def test_run_stopped_by_provider_failures_exits_1_with_a_resume_hint(tmp_path: Path) -> None:
    with FakeServer(default=Step(status=500)) as server:
        config = small_config(tmp_path, budget=30, workers=1).with_overrides(**{
            "sandbox": "none", "llm.concurrency": 1, "llm.max_attempts": 1,
            "llm.max_consecutive_failures": 2})
        result = invoke("--config", write_config(config, tmp_path / "run.toml"),
                        "--model", "openai:gpt-test", "--base-url", server.openai_url,
                        "--progress", "quiet",
                        env={"OPENAI_API_KEY": "sk-test", "NO_PROXY": "127.0.0.1"})
    assert result.exit_code == 1, result.output
    assert "run 1 failed: model provider failed" in result.output
    assert f"discover run --resume 1 --archive '{config.archive}'" in result.output
    assert "Export the winner" not in result.output
    assert "2 requests in a row failed" in result.output




@pytest.mark.slow
def test_the_printed_resume_command_completes_a_run_stopped_by_its_provider(
        tmp_path: Path) -> None:
    with FakeServer() as server:
        server.push(Step(status=500), Step(status=500), *(_distinct_answer(k) for k in range(40)))
        config = small_config(tmp_path, budget=6, workers=1).with_overrides(**{
            "sandbox": "none", "llm.concurrency": 1, "llm.max_attempts": 1,
            "llm.max_consecutive_failures": 2,
            "llm.models": (ModelSpec("openai:gpt-test", 1.0, server.openai_url),)})
        env: dict[str, str | None] = {"OPENAI_API_KEY": "sk-test", "NO_PROXY": "127.0.0.1"}
        stopped = invoke("--config", write_config(config, tmp_path / "run.toml"),
                         "--progress", "quiet", env=env)
        assert stopped.exit_code == 1, stopped.output
        command = stopped.output.split("Resume it:  discover run ")[1].splitlines()[0]
        resumed = invoke(*shlex.split(command), "--progress", "quiet", env=env)
    assert resumed.exit_code == 0, resumed.output
    assert "Export the winner" in resumed.output
    with Archive.open(config.archive) as archive:
        state = archive.run_state(1)
    assert state.run.status is RunStatus.FINISHED and state.counters.evaluated == 6


def _distinct_answer(k: int) -> Step:
    """A valid, distinct EDD variant per request (so nothing is a duplicate)."""
    text = ("IDEA: due dates with a slack term.\n```python\n"
            "def schedule(processing_times, due_dates):\n"
            "    n = len(due_dates)\n"
            f"    return sorted(range(n), key=lambda j: (due_dates[j] - {k + 1} * "
            "processing_times[j] / 100, j))\n```\n")
    return Step(text=text)
