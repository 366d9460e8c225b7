"""Hostile candidates end-to-end (issue 18: every finding meets a full run).

``discover run`` is fed hostile model answers by a protocol-faithful OpenAI server on
127.0.0.1 (the real SDK parses them) and must finish its budget with every failure
archived and exit 0; ``discover eval`` and ``discover archive`` must print candidate
text literally. Everything runs through the real sandbox, under bubblewrap
(``strict``) and under the ``unshare`` fallback.
"""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import discover.search.collaborators
import discover.search.loop
import discover.search.tune_slots
from archive import Archive, Split
from discover.cli import eval as eval_cli
from discover.cli import main
from discover.config import ModelSpec
from discover.runner import run
from evaluators.base import CandidateSpec
from evaluators.smtt.problem import SmttProblem
from sandbox import SandboxPool, SandboxWarning
from tests.discover.loop_fixtures import small_config
from tests.discover.providers.fake_server import FakeServer, Step

MODES = ("strict", "unshare")
KEY = "sk-test-hostile-SECRET"
DEF = "def schedule(processing_times, due_dates):\n"
MDD = ("    n = len(processing_times)\n    remaining, order, t = list(range(n)), [], 0\n"
       "    while remaining:\n"
       "        j = min(remaining, key=lambda i: (max(t + {c} * processing_times[i], "
       "due_dates[i]), i))\n"
       "        remaining.remove(j)\n        order.append(j)\n        t += processing_times[j]\n"
       "    return order\n")
REPAINT = "[/]\\x1b[2K\\x1b[1A\\rstatus     [green]ok[/green]\\ngap        mean 0.00 %"
FORGED_LISTS = (
    "import os\n" + DEF
    # 4 KiB below the cap: room for the error frame of the refused os._exit (the
    # candidate sees no private names of its modules), which follows the forged frame
    + "    n = (16 * 2**20 - 4096) // 3\n"
    + "    body = b'{\"i\":0,\"t\":0,\"v\":[' + b'[],' * (n - 1) + b'[]]}'\n"
    + "    os.write(3, b'O' + len(body).to_bytes(4, 'little') + body)\n    os._exit(0)\n")
FORGED_SETUP = (
    "import os\n" + DEF
    + "    body = b'{\"i\":-1,\"kind\":\"setup\",\"type\":\"OSError\",\"msg\":\"no seccomp\"}'\n"
    + "    os.write(3, b'E' + len(body).to_bytes(4, 'little') + body)\n    os._exit(71)\n")
TRUSTED_FAULT = "TRUSTED_SIDE_FAULT"

# name -> (idea, code, archived status, text the archived error must contain)
HOSTILE = {
    "surrogate": ("a lone surrogate in the message",
                  DEF + "    raise ValueError('bad \\ud800 surrogate')\n",
                  "exception", "\\ud800"),
    "source": ("source with raw \ud800 and \x00 \x1b[31mred",
               "# raw surrogate \ud800 and NUL \x00 in a comment\n" + DEF + MDD.format(c=1.37),
               "ok", None),
    "markup": ("markup and ANSI in the message",
               DEF + f"    raise ValueError('{REPAINT}')\n", "exception", "[/]"),
    "lists": ("a forged 16 MiB frame of lists", FORGED_LISTS, "invalid_output",
              "result channel corrupted"),
    "setup": ("a forged setup failure", FORGED_SETUP, "invalid_output",
              "setup failure reported after the candidate started"),
    # Finding 9: a private module behind an allowed one, and the project's own code.
    "private_module": ("a private module behind an allowed one",
                       "import random\n" + DEF + "    random._os.listdir('/')\n"
                       + MDD.format(c=1.2), "forbidden", "random._os"),
    "project_code": ("the project's own heuristics",
                     "from evaluators.smtt.heuristics import dispatch\n" + DEF
                     + MDD.format(c=1.3), "rejected", "evaluators.smtt.heuristics"),
    # Findings 2, 3 and 6 need modules no problem allows (frames, timers, ctypes): the
    # run meets them as rejected programs (tests/sandbox covers them with the OS layers).
    "snoop": ("walk the frames for an earlier request",
              "import sys\n" + DEF + "    f = sys._getframe()\n" + MDD.format(c=1.5),
              "rejected", "sys"),
    "fake_time": ("report zero time", "import time\n" + DEF
                  + "    time.perf_counter = lambda: 0.0\n" + MDD.format(c=1.6),
                  "rejected", "time"),
    "aio": ("exhaust the host's AIO events", "import ctypes\n" + DEF
            + "    ctypes.CDLL(None).syscall(206, 65536, ctypes.byref(ctypes.c_ulong()))\n"
            + MDD.format(c=1.7), "rejected", "ctypes"),
    # Finding 7: a refused call ends the candidate and is recorded (the SIGSYS-handler and
    # stacked-filter evasions need ctypes; tests/sandbox/test_refusals.py covers them).
    "refused_call": ("a call the sandbox refuses (fork)",
                     "import os\n" + DEF + "    os.fork()\n" + MDD.format(c=1.4),
                     "forbidden", None),
    "fault": ("the trusted side raises on this one",
              f"# {TRUSTED_FAULT}\n" + DEF + MDD.format(c=1.11), "crashed",
              "the evaluation failed on the trusted side: RuntimeError"),
}


def _answer(idea: str, code: str) -> Step:
    return Step(text=f"IDEA: {idea}\n```python\n{code}```\n", tokens_in=300, tokens_out=90)


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(variable, raising=False)


def _select_mode(monkeypatch: pytest.MonkeyPatch, mode: str) -> str:
    """The ``--sandbox`` value for ``mode``; the unshare fallback is forced on the pool."""
    if mode == "unshare":
        monkeypatch.setattr(SandboxPool, "_launcher_order", lambda self, requested: ["unshare"])
        warnings.simplefilter("ignore", SandboxWarning)
        return "auto"
    return "strict"


@pytest.fixture
def permissive_smtt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let candidates import ``os`` (to reach the channel descriptor) and fault on cue.

    The forged frames need the descriptor; whether a candidate can reach it is the
    import guard's business (finding 9), not what these tests are about.
    """
    spec = SmttProblem.candidate_spec
    monkeypatch.setattr(SmttProblem, "candidate_spec", CandidateSpec(
        **{**spec.__dict__, "allowed_imports": (*spec.allowed_imports, "os")}))
    real = discover.search.collaborators.run_cascade

    def faulty(problem, code, *args, **kwargs):  # type: ignore[no-untyped-def]
        if TRUSTED_FAULT in code:
            raise RuntimeError("an evaluation bug this candidate triggers")
        return real(problem, code, *args, **kwargs)

    monkeypatch.setattr(discover.search.collaborators, "run_cascade", faulty)


@pytest.fixture
def served() -> Iterator[FakeServer]:
    with FakeServer(default=_answer("fallback", DEF + MDD.format(c=1.9))) as server:
        server.push(*(_answer(idea, code) for idea, code, _, _ in HOSTILE.values()))
        yield server


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.usefixtures("permissive_smtt")
def test_run_completes_its_budget_through_hostile_candidates(
        tmp_path: Path, served: FakeServer, monkeypatch: pytest.MonkeyPatch,
        mode: str) -> None:
    sandbox = _select_mode(monkeypatch, mode)
    budget = 3 + len(HOSTILE)  # the seed programs, then one program per hostile answer
    config = small_config(tmp_path, budget=budget, workers=1,
                          models=(ModelSpec("openai:gpt-test", 1.0, served.openai_url),),
                          llm={"concurrency": 1, "max_attempts": 2})
    config = config.with_overrides(sandbox=sandbox)
    path = tmp_path / "run.toml"
    path.write_text(config.to_toml())
    result = CliRunner().invoke(main, ["run", "--config", str(path), "--progress", "quiet"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "\x1b" not in result.output

    with Archive.open(config.archive) as archive:
        (summary,) = archive.runs()
        assert summary.run.status.value == "finished"
        state = archive.run_state(summary.run.id)
        assert state.counters.evaluated == budget
        # A tune slot whose numeric tuning found nothing archives the model's idea
        # behind discover.search.tune_slots.UNTUNED (so that a resumed run knows the parent was
        # tried).
        by_idea = {(ps.program.idea or "").removeprefix(discover.search.tune_slots.UNTUNED): ps
                   for ps in state.programs}
        ids = {}
        for name, (idea, _, status, detail) in HOSTILE.items():
            # The idea as the archive can hold it: the surrogate and NUL escaped.
            ps = by_idea[idea.replace("\ud800", "\\ud800").replace("\x00", "\\x00")]
            ids[name] = ps.id
            evaluation = ps.evaluations[Split.TRAIN]
            assert evaluation.status.value == status, (name, evaluation.error)
            if detail is not None:
                assert evaluation.error is not None and detail in evaluation.error, name
            assert "setup failed" not in (evaluation.error or ""), name
        source = archive.program(ids["source"])
        assert "\\ud800" in source.program.code and "\\x00" in source.program.code
        assert source.model_calls and "\\ud800" in (source.model_calls[0].response or "")

    for name in ("surrogate", "markup", "source", "setup"):
        shown = CliRunner().invoke(main, ["archive", "show", str(ids[name]), "--calls",
                                          "--archive", config.archive])
        assert shown.exit_code == 0, (name, shown.output, shown.exception)
        assert "\x1b" not in shown.output and "\x00" not in shown.output, name
    shown = CliRunner().invoke(main, ["archive", "show", str(ids["markup"]),
                                      "--archive", config.archive])
    assert "[/]" in shown.output
    best = CliRunner().invoke(main, ["archive", "best", "1", "--split", "train",
                                     "--archive", config.archive])
    assert best.exit_code == 0, best.output
    assert "\x1b" not in best.output


@pytest.fixture(scope="module")
def instance_file(smtt_paper_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    items = json.loads((smtt_paper_dir / "n20_uniform.json").read_text())[::80]
    path = tmp_path_factory.mktemp("hostile") / "n20_slice.json"
    path.write_text(json.dumps(items))
    return path


def _eval(tmp_path: Path, instance_file: Path, code: str, sandbox: str) -> tuple[int, str]:
    candidate = tmp_path / "candidate.py"
    candidate.write_text(code, encoding="utf-8")
    result = CliRunner().invoke(main, ["eval", str(candidate), "--instances",
                                       str(instance_file), "--sandbox", sandbox])
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit), (result.output, result.exception)
    return result.exit_code, result.output


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("message", ["[/]", REPAINT, "bad \\ud800 surrogate",
                                     "[bold]x[/bold] \\u202e reversed"])
def test_eval_prints_candidate_text_literally(tmp_path: Path, instance_file: Path,
                                             monkeypatch: pytest.MonkeyPatch, mode: str,
                                             message: str) -> None:
    if mode == "unshare":
        monkeypatch.setattr(eval_cli, "SandboxPool",
                            functools.partial(SandboxPool, launcher="unshare"))
    sandbox = "strict" if mode == "strict" else "auto"
    code, output = _eval(tmp_path, instance_file,
                         DEF + f"    raise ValueError('{message}')\n", sandbox)
    assert code == 1, output
    lines = output.splitlines()
    assert [line for line in lines if line.startswith("status")] == ["status     exception"]
    assert not any(line.startswith("gap") for line in lines), output
    assert "\x1b" not in output and "\u202e" not in output
    reason = next(line for line in lines if line.startswith("reason"))
    if message.startswith("["):
        # The markup is shown as typed, not interpreted (nor swallowed).
        assert "[/" in reason, output
    if "\\ud800" in message:
        assert "\\ud800" in output


def test_an_unexpected_error_closes_the_run_as_failed(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever escapes the loop, the archive never keeps the run as ``running``."""
    real = discover.search.loop.SearchLoop._report

    def report(self, outcome, program_id):  # type: ignore[no-untyped-def]
        if self.state.evaluated > 4:
            raise RuntimeError("an unforeseen bug in the loop")
        return real(self, outcome, program_id)

    monkeypatch.setattr(discover.search.loop.SearchLoop, "_report", report)
    config = small_config(tmp_path, budget=8, workers=1)
    with pytest.raises(RuntimeError, match="unforeseen"):
        run(config)
    with Archive.open(config.archive) as archive:
        (summary,) = archive.runs()
    assert summary.run.status.value == "failed"
