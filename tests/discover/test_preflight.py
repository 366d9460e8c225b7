"""The checks ``discover run`` makes before any work: what passes, what stops it, in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from discover.config import LlmConfig, ModelSpec, RunConfig
from discover.preflight import (
    StartError,
    check_archive_url,
    check_models,
    check_prompts,
    check_resume_flags,
    check_sandbox,
    one_line,
)
from evaluators.registry import get_problem
from tests.system_components import require_strict_sandbox


def test_default_archive_directory_may_be_created(tmp_path: Path) -> None:
    check_archive_url(None, cwd=tmp_path)  # runs/ does not exist yet: created by the run
    check_archive_url("sqlite://")
    check_archive_url(str(tmp_path / "x.sqlite"))
    check_archive_url(f"sqlite:///{tmp_path}/x.sqlite")


def test_archive_in_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StartError, match=r"directory .*/missing does not exist"):
        check_archive_url(f"sqlite:///{tmp_path}/missing/x.sqlite")
    with pytest.raises(StartError, match="directory"):
        check_archive_url(str(tmp_path / "missing" / "x.sqlite"))
    with pytest.raises(StartError, match="--archive"):
        check_archive_url("postgresql://user@host:notaport/x")
    assert not (tmp_path / "missing").exists()


def test_models_and_keys() -> None:
    def config(*specs: str, **llm: object) -> RunConfig:
        models = tuple(ModelSpec(s, 1.0, "http://127.0.0.1:9/v1" if "compatible" in s else None)
                       for s in specs)
        return RunConfig(llm=LlmConfig(models=models, **llm))  # type: ignore[arg-type]

    check_models(config("offline"), {})
    check_models(config("openai:gpt-4o-mini"), {"OPENAI_API_KEY": "sk-x"})
    check_models(config("openai-compatible:qwen"), {})  # a local server: dummy key
    with pytest.raises(StartError, match="ANTHROPIC_API_KEY is not set"):
        check_models(config("openai:m", "anthropic:c"), {"OPENAI_API_KEY": "sk-x"})
    with pytest.raises(StartError, match="MY_KEY is not set"):
        check_models(config("openai:m", api_key_env="MY_KEY"), {"OPENAI_API_KEY": "sk-x"})
    with pytest.raises(StartError, match="unknown provider 'gpt'"):
        check_models(config("gpt:4"), {})


def test_strict_sandbox_needs_a_private_root() -> None:
    def refused() -> str:
        return ("bwrap: bubblewrap (bwrap) is not installed\n"
                "unshare: the kernel refused new user namespaces")

    check_sandbox("auto", refused)
    check_sandbox("none", refused)
    with pytest.raises(StartError, match="apt-get install bubblewrap") as caught:
        check_sandbox("strict", refused)
    assert "\n" not in str(caught.value) and "refused new user namespaces" in str(caught.value)
    check_sandbox("strict", lambda: None)  # a launcher works: the pool checks the rest


@pytest.mark.slow
def test_strict_sandbox_runs_without_bubblewrap_on_path(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # The real probe: with bwrap hidden, the sandbox's own unshare root is enough.
    require_strict_sandbox()
    monkeypatch.setenv("PATH", str(tmp_path))
    check_sandbox("strict")


def test_prompt_overrides_are_rendered_at_start(tmp_path: Path) -> None:
    problem = get_problem("smtt")
    check_prompts(None, problem)
    good = tmp_path / "good"
    good.mkdir()
    (good / "m1.j2").write_text("Improve this:\n{{ parent.code }}\n")
    check_prompts(str(good), problem)
    typo = tmp_path / "typo"
    typo.mkdir()
    (typo / "system.j2").write_text("line one\n{{ problme.name }}\n")
    with pytest.raises(StartError, match=r"system.j2, line 2: .*problme"):
        check_prompts(str(typo), problem)


def test_resume_flags_must_agree_with_the_stored_run() -> None:
    stored = RunConfig(budget=50, seed=3).to_dict()
    check_resume_flags(4, stored, {"budget": 50, "seed": 3, "problem": "smtt",
                                   "model": ("auto",)})
    with pytest.raises(StartError, match="--budget 60 conflicts with run 4, whose budget is 50"):
        check_resume_flags(4, stored, {"budget": 60})
    with pytest.raises(StartError, match="--model offline conflicts"):
        check_resume_flags(4, stored, {"model": ("offline",)})


def test_one_line() -> None:
    text = ('connection failed: refused\n\tIs the server running?\n'
            '(Background on this error at: https://sqlalche.me/e/21/e3q8)')
    assert one_line(text) == "connection failed: refused Is the server running?"
