"""Checks made before a run does any work: each bad input is one line, and nothing is created.

Computing training references takes seconds to minutes and opening an archive
creates (or migrates) it; a typo in a model spec, a missing API key, an archive
in a directory that does not exist or a broken prompt template must stop the
run before either, with a message that names the value at fault.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from archive.engine import DEFAULT_PATH, is_sqlite, resolve_url
from archive.errors import ArchiveError
from discover.config import RunConfig
from discover.providers.base import MissingApiKey
from discover.providers.factory import ProviderKind, ProviderSpec, SpecError
from discover.providers.keys import resolve_api_key
from sandbox.launch import private_root_problem

RESUME_FLAGS = {"problem": "problem", "budget": "budget", "seed": "seed",
                "sandbox": "sandbox", "prompts": "prompts"}
"""Run settings a ``--resume`` flag may repeat but not change (flag name → config key)."""


class StartError(ValueError):
    """A run cannot start; the message says why, in one line."""


def one_line(text: str) -> str:
    """``text`` with its lines joined (driver errors span several), SQLAlchemy's links cut."""
    kept = [line.strip() for line in str(text).splitlines()
            if line.strip() and not line.strip().startswith("(Background on this error")]
    return " ".join(kept)


def check_models(config: RunConfig, environ: Mapping[str, str]) -> None:
    """Every model spec parses and every key it needs is in ``environ``.

    Raises
    ------
    StartError
        Naming the spec or the environment variable at fault.
    """
    llm = config.llm
    for model in llm.models:
        if model.spec in ("offline", "auto"):
            continue
        try:
            spec = ProviderSpec.parse(model.spec, base_url=model.base_url,
                                      api_key_env=llm.api_key_env)
            resolve_api_key(spec.key_variable,
                            required=spec.kind is not ProviderKind.OPENAI_COMPATIBLE,
                            environ=environ)
        except (SpecError, MissingApiKey) as exc:
            raise StartError(f"--model {model.spec}: {exc}") from None


def check_archive_url(url: str | None, *, cwd: Path | None = None) -> None:
    """The archive URL parses, and a SQLite file's directory exists.

    Only the default archive (``runs/discover.sqlite``) has its directory created:
    a directory named on purpose that does not exist is a typo more often than not.

    Raises
    ------
    StartError
        On an unparsable URL or a missing directory.
    """
    try:
        resolved = resolve_url(url, cwd)
    except ArchiveError as exc:
        raise StartError(f"--archive: {one_line(str(exc))}") from None
    if url is None or not is_sqlite(resolved) or not resolved.database:
        return
    database = str(resolved.database)
    if database == ":memory:" or database.startswith("file:"):
        return
    parent = Path(database).parent
    if not parent.is_dir():
        default = (cwd or Path.cwd()) / DEFAULT_PATH
        if Path(database) == default:
            return
        raise StartError(f"--archive {url}: directory {parent} does not exist (create it, or "
                         "choose a file in an existing directory)")


def check_sandbox(mode: str,
                  probe: Callable[[], str | None] | None = None) -> None:
    """``strict`` isolation needs a private read-only root: say so before anything starts.

    Bubblewrap builds it, and so does the sandbox's own ``unshare`` launcher where the
    kernel allows user namespaces (``sandbox/privroot.py``); ``probe`` (default
    :func:`sandbox.launch.private_root_problem`, a fraction of a second) tries both. The
    other layers strict requires are checked when the pool starts, which is still before
    any reference is computed or anything is archived.
    """
    if mode != "strict":
        return
    problem = (probe or private_root_problem)()
    if problem is not None:
        reason = "; ".join(line.strip() for line in problem.splitlines() if line.strip())
        raise StartError(f"--sandbox strict needs a private root, which neither launcher can "
                         f"build here ({reason}): apt-get install bubblewrap, or use "
                         "--sandbox auto")


def check_prompts(directory: str | None, problem: Any) -> None:
    """A ``--prompts`` directory exists, holds templates, and every template a run uses renders.

    Raises
    ------
    StartError
        On a missing or empty directory, or a template that fails to parse, includes
        a template that exists nowhere, or uses an unknown variable (file and line named).
    """
    if directory is None:
        return
    from discover.prompting.context import Operator, ProblemView, PromptContext
    from discover.prompting.render import PromptError, PromptLibrary

    path = Path(directory)
    if not path.is_dir():
        raise StartError(f"--prompts {directory}: no such directory")
    if not any(path.rglob("*.j2")):
        raise StartError(f"--prompts {directory}: no *.j2 template in it, so it would change "
                         "nothing (name files like the packaged ones: m1.j2, system.j2, ...)")
    library = PromptLibrary(path)
    context = PromptContext(ProblemView.from_problem(problem), (), None, (), (), False)
    try:
        library.check(context)
        library.check(PromptContext(context.problem, (), None, (), (), True),
                      [op for op in Operator if op.supports_diff])
    except PromptError as exc:
        raise StartError(f"--prompts {directory}: {one_line(str(exc))}") from None


def check_resume_flags(run_id: int, stored: Mapping[str, Any],
                       given: Mapping[str, Any]) -> None:
    """Flags given with ``--resume`` must agree with the run's stored settings.

    A resumed run keeps its configuration (that is what makes it reproducible);
    a flag that would change it is an error rather than silently ignored.

    Parameters
    ----------
    run_id
        The run being resumed.
    stored
        Its configuration snapshot.
    given
        Flag name (``budget``, ``problem``, ``seed``, ``sandbox``, ``prompts``,
        ``model``) → value given on the command line.

    Raises
    ------
    StartError
        Naming the first flag that differs.
    """
    for flag, value in given.items():
        if value is None:
            continue
        if flag == "model":
            current: Any = tuple(m["spec"] for m in stored.get("llm", {}).get("models", ()))
            value = tuple(value)
        else:
            current = stored.get(RESUME_FLAGS[flag])
        if value != current:
            shown = " ".join(value) if flag == "model" else value
            was = " ".join(current) if flag == "model" else current
            raise StartError(
                f"--{flag} {shown} conflicts with run {run_id}, whose {flag} is {was}: a "
                "resumed run keeps its settings (only --time-limit, --workers, --executor, "
                "--archive and --progress apply); start a new run to change them")
