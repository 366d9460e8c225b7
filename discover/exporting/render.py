"""Text of an exported module: provenance docstring, the program, a self-check.

Layout of the module written::

    \"\"\"<title, provenance, contract, how to self-check>\"\"\"
    from __future__ import ...        # hoisted from the program, if it had any
    <the program, verbatim minus its docstring and __main__ block>
    # self-check ...
    _DISCOVER_INSTANCES = [...]       # small instances (problem payloads)
    _DISCOVER_EXPECTED = [...]        # objectives computed by discover at export time
    def _discover_call(...): ...      # from the problem's export contract
    def _discover_objective(...): ... # idem
    if __name__ == "__main__": raise SystemExit(_discover_self_check())
"""

from __future__ import annotations

import ast
import pprint
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from discover.exporting.contract import CALL_NAME, OBJECTIVE_NAME, ExportContract

RESERVED_PREFIX = "_discover_"


class ExportError(Exception):
    """The program cannot be exported (the message says why)."""


@dataclass(frozen=True)
class ProgramSource:
    """A program split for embedding: future imports, its docstring, the rest."""

    future: tuple[str, ...]
    docstring: str | None
    body: str


def split_program(code: str) -> ProgramSource:
    """Separate the parts of ``code`` that must move or go.

    ``from __future__`` imports must open the module, the program's module
    docstring is folded into the exported docstring, and a top-level
    ``if __name__ == "__main__":`` block would run before the self-check, so it
    is dropped.

    Raises
    ------
    ExportError
        If the code does not parse, uses the reserved ``_discover_`` prefix, or
        puts a moved statement on a line shared with another one.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise ExportError(f"the program does not parse: line {exc.lineno}: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:
        raise ExportError(f"the program does not parse: {exc}") from None
    for node in ast.walk(tree):
        name = getattr(node, "name", None) or getattr(node, "id", None)
        if isinstance(name, str) and name.startswith(RESERVED_PREFIX):
            raise ExportError(f"the program uses the reserved name {name!r}")
    lines = code.splitlines()
    drop: set[int] = set()
    future: list[str] = []
    docstring = None
    spans = [(n.lineno, n.end_lineno or n.lineno) for n in tree.body]
    for index, node in enumerate(tree.body):
        start, end = spans[index]
        if index == 0 and _is_docstring(node):
            docstring = ast.get_docstring(tree, clean=True)
        elif isinstance(node, ast.ImportFrom) and node.module == "__future__":
            future.extend(alias.name for alias in node.names)
        elif not _is_main_guard(node):
            continue
        if any(s <= end and start <= e for k, (s, e) in enumerate(spans) if k != index):
            raise ExportError(f"line {start}: a statement shares its line with another one")
        drop.update(range(start, end + 1))
    body = "\n".join(line for k, line in enumerate(lines, start=1) if k not in drop)
    return ProgramSource(future=tuple(dict.fromkeys(future)), docstring=docstring,
                         body=body.strip("\n") + "\n")


def _is_docstring(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    sides = [node.test.left, *node.test.comparators]
    names = [s.id for s in sides if isinstance(s, ast.Name)]
    constants = [s.value for s in sides if isinstance(s, ast.Constant)]
    return names == ["__name__"] and constants == ["__main__"]


def docstring_text(text: str) -> str:
    """Make ``text`` safe inside a triple-quoted (non-raw) docstring."""
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def render_module(
    *,
    contract: ExportContract,
    function_name: str,
    header: str,
    program: ProgramSource,
    payloads: Sequence[dict[str, Any]],
    expected: Sequence[float] | None,
) -> str:
    """Assemble the exported module.

    Parameters
    ----------
    contract
        The problem's export contract.
    function_name
        The candidate function (``schedule``).
    header
        Docstring text (provenance and contract), without quotes.
    program
        The program, from :func:`split_program`.
    payloads
        Instance payloads embedded for the self-check.
    expected
        Their expected objectives; ``None`` renders a module for probing the
        program's outputs (its self-check then reports nothing to compare).
    """
    parts = [f'"""{docstring_text(header).rstrip()}\n"""\n']
    if program.future:
        parts.append(f"from __future__ import {', '.join(program.future)}\n")
    parts.append("\n" + program.body)
    instances = pprint.pformat(list(payloads), width=96, compact=True, sort_dicts=False)
    expected_text = "None" if expected is None else repr([float(v) for v in expected])
    parts.append(_SELF_CHECK.format(
        instances=instances,
        expected=expected_text,
        call_source=contract.call_source.rstrip(),
        objective_source=contract.objective_source.rstrip(),
        call=CALL_NAME,
        objective=OBJECTIVE_NAME,
        function=function_name,
        label=contract.objective_label,
    ))
    return "".join(parts)


def indent_block(text: str, prefix: str = "    ") -> str:
    """Indent every line of ``text`` (for the contract in the docstring)."""
    return textwrap.indent(text.rstrip(), prefix)


_SELF_CHECK = '''

# ---------------------------------------------------------------------------
# Self-check, added by `discover export` (not part of the heuristic).
# ---------------------------------------------------------------------------

_DISCOVER_INSTANCES = {instances}

_DISCOVER_EXPECTED = {expected}


{call_source}


{objective_source}


def _discover_self_check():
    """Run {function}() on the embedded instances and compare with the expected {label}."""
    import math

    if _DISCOVER_EXPECTED is None:
        print("no expected values embedded")
        return 2
    for k, (payload, expected) in enumerate(zip(_DISCOVER_INSTANCES, _DISCOVER_EXPECTED)):
        value = {objective}(payload, {call}({function}, payload))
        if not math.isclose(value, expected, rel_tol=1e-9, abs_tol=1e-9):
            print(f"self-check FAILED on instance {{k}}: {label} {{value!r}}, "
                  f"expected {{expected!r}}")
            return 1
    print(f"self-check passed: {label} matches on {{len(_DISCOVER_EXPECTED)}} instances")
    return 0


if __name__ == "__main__":
    raise SystemExit(_discover_self_check())
'''
