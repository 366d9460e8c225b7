"""Render operator prompts from Jinja2 templates.

The packaged templates live in the :mod:`prompts` package (data shipped in the
wheel). A user directory (``--prompts DIR``) overrides any of them by file name
— ``m1.j2``, ``_macros.j2``, ``problems/smtt.j2`` — and everything it does not
provide falls back to the packaged version. Templates see a
:class:`PromptContext` and are rendered with :class:`jinja2.StrictUndefined`, so
a misspelt variable is an error naming the template and line, not a silently
empty prompt.

Operators follow EoH (Liu et al., 2024): ``i1`` (from scratch), ``e1`` (a new
idea unlike the parents), ``e2`` (a new idea on the parents' common backbone),
``m1`` (modification), ``m2`` (parameter tuning), ``simplify`` (EoH's m3), plus
``crossover``; and ReEvo's reflections (Ye et al., 2024): ``reflect_short``
compares a better and a worse parent, ``reflect_long`` folds recent short
reflections into a running summary that later prompts show.
"""

from __future__ import annotations

import importlib.resources
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
from jinja2.loaders import split_template_path

from discover.prompting.context import (
    BaselineView,
    Operator,
    ProblemView,
    ProgramView,
    PromptContext,
    RenderedPrompt,
)

__all__ = [
    "BaselineView",
    "Operator",
    "ProblemView",
    "ProgramView",
    "PromptContext",
    "PromptError",
    "PromptLibrary",
    "RenderedPrompt",
]

PACKAGE = "prompts"


class PromptError(ValueError):
    """A prompt could not be rendered: bad context, or a bad template.

    Parameters
    ----------
    message
        What went wrong.
    template
        Name of the template at fault (``"m1.j2"``), when known.
    origin
        Where that template came from: a file path, or ``"packaged"``.
    line
        Line in that template, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        template: str | None = None,
        origin: str | None = None,
        line: int | None = None,
    ) -> None:
        self.template = template
        self.origin = origin
        self.line = line
        where = ""
        if template is not None:
            where = f"template {origin or template}"
            if line is not None:
                where += f", line {line}"
            where += ": "
        super().__init__(where + message)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} %"


def _secs(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if value < 1.0:
        return f"{value * 1e3:.1f} ms"
    return f"{value:.2f} s"


class _LayeredLoader(jinja2.BaseLoader):
    """User directory first, then the packaged templates (via importlib.resources)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def origin(self, template: str) -> str:
        pieces = split_template_path(template)
        if self.directory is not None and self.directory.joinpath(*pieces).is_file():
            return str(self.directory.joinpath(*pieces))
        return f"packaged {template}"

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)  # rejects "..": no escape from the directory
        if self.directory is not None:
            path = self.directory.joinpath(*pieces)
            if path.is_file():
                mtime = path.stat().st_mtime
                source = path.read_text(encoding="utf-8")
                return source, str(path), lambda: path.is_file() and path.stat().st_mtime == mtime
        resource = importlib.resources.files(PACKAGE).joinpath(*pieces)
        if not resource.is_file():
            own = _problem_template(pieces)
            if own is None:
                raise jinja2.TemplateNotFound(template)
            return own, f"problem {template}", lambda: True
        return resource.read_text(encoding="utf-8"), f"packaged {template}", lambda: True


def _problem_template(pieces: list[str]) -> str | None:
    """``problems/NAME.j2`` from the problem's own :meth:`Problem.prompt_template`."""
    if len(pieces) != 2 or pieces[0] != "problems" or not pieces[1].endswith(".j2"):
        return None
    from evaluators.registry import resolved

    problem = resolved(pieces[1][: -len(".j2")])
    return None if problem is None else problem.prompt_template()


def _tidy(text: str) -> str:
    """Collapse runs of blank lines left by template logic, except inside code fences.

    Parent code is shown verbatim (diff mode asks the model to copy it exactly).
    """
    out: list[str] = []
    in_fence = False
    for line in text.strip().split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        if not in_fence and not line.strip() and out and not out[-1].strip():
            continue
        out.append(line.rstrip() if not in_fence else line)
    return "\n".join(out) + "\n"


def _template_frame(error: BaseException) -> tuple[str | None, int | None]:
    """The innermost template file and line in a rendering traceback."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename.endswith(".j2"):
            return frame.filename, frame.lineno
    return None, None


class PromptLibrary:
    """Operator templates, packaged or overridden from a user directory.

    Parameters
    ----------
    directory
        A directory of ``*.j2`` files overriding packaged templates by name, or
        ``None`` for the packaged templates only.

    Raises
    ------
    PromptError
        When ``directory`` is given but is not a directory.
    """

    def __init__(self, directory: Path | None = None) -> None:
        if directory is not None and not Path(directory).is_dir():
            raise PromptError(f"prompt directory {directory} does not exist or is not a directory")
        self.directory = None if directory is None else Path(directory)
        self._loader = _LayeredLoader(self.directory)
        self._env = jinja2.Environment(
            loader=self._loader,
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # prompts are plain text, not HTML
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self._env.filters["pct"] = _pct
        self._env.filters["secs"] = _secs

    def __repr__(self) -> str:
        return f"PromptLibrary(directory={self.directory!r})"

    def _variables(self, operator: Operator, context: PromptContext) -> dict[str, Any]:
        low, high = operator.parent_range
        count = len(context.parents)
        if count < low or (high is not None and count > high):
            wanted = f"{low}" if low == high else f"{low}..{'' if high is None else high}"
            raise PromptError(f"operator {operator.value} needs {wanted} parent(s), got {count}")
        if context.diff and not operator.supports_diff:
            raise PromptError(f"operator {operator.value} does not support diff mode")
        parents = list(context.parents)
        if len(parents) == 2 and all(p.gap is not None for p in parents):
            parents.sort(key=lambda p: p.gap)  # type: ignore[arg-type, return-value]
        return {
            "operator": operator.value,
            "problem": context.problem,
            "parents": context.parents,
            "parent": parents[0] if parents else None,
            "better": parents[0] if len(parents) == 2 else None,
            "worse": parents[1] if len(parents) == 2 else None,
            "long_reflection": context.long_reflection,
            "short_reflections": context.short_reflections,
            "baselines": context.baselines,
            "diff": context.diff,
            "extra": dict(context.extra),
            "best": context.best,
            "findings": context.findings,
        }

    def _render(self, name: str, variables: Mapping[str, Any]) -> str:
        try:
            return _tidy(self._env.get_template(name).render(**variables))
        except jinja2.TemplateSyntaxError as error:
            template = error.name or name
            raise PromptError(
                f"syntax error: {error.message}",
                template=template,
                origin=self._loader.origin(template),
                line=error.lineno,
            ) from error
        except jinja2.TemplateNotFound as error:
            raise PromptError(f"template not found: {error.name}", template=name) from error
        except (jinja2.UndefinedError, TypeError, ValueError, AttributeError) as error:
            filename, line = _template_frame(error)
            raise PromptError(
                f"{type(error).__name__}: {error}",
                template=name if filename is None else Path(filename).name,
                origin=filename or self._loader.origin(name),
                line=line,
            ) from error

    def render(self, operator: Operator | str, context: PromptContext) -> RenderedPrompt:
        """Render the system prompt and the operator's user prompt.

        Parameters
        ----------
        operator
            An :class:`Operator` or its value (``"m1"``).
        context
            Problem, parents, reflections and options.

        Raises
        ------
        PromptError
            On a wrong number of parents, diff mode for an operator without it, or a
            template that fails to parse or render (the message names the file and line).
        """
        try:
            op = Operator(operator)
        except ValueError as error:
            names = ", ".join(o.value for o in Operator)
            raise PromptError(f"unknown operator {operator!r}; known: {names}") from error
        variables = self._variables(op, context)
        system = self._render("system.j2", variables)
        user = self._render(op.template, variables)
        return RenderedPrompt(system, user, op, self._loader.origin(op.template))

    def check(
        self, context: PromptContext, operators: Sequence[Operator] = tuple(Operator)
    ) -> None:
        """Render every operator once with ``context`` padded to each operator's parent count.

        Call it at start-up so that a broken user template stops the run before the
        first model call.
        """
        for op in operators:
            low, _ = op.parent_range
            pool = list(context.parents) or [ProgramView("pass")]
            parents = tuple((pool * (low // len(pool) + 1))[:low] if low else ())
            diff = context.diff and op.supports_diff
            self.render(op, PromptContext(
                context.problem, parents, context.long_reflection, context.short_reflections,
                context.baselines, diff, context.extra,
            ))
