"""Static pre-check of candidate source: fail fast, with messages a model can learn from.

The pre-check runs before any process is involved. It rejects source that
cannot work (does not parse, lacks the required function, takes the wrong
parameters) or that reaches for things a heuristic never needs (imports outside
the problem's allowed list, ``eval``/``open``/``__import__``, dunder
introspection such as ``__subclasses__``).

It is a courtesy, not the security boundary: Python offers many ways around
any static check. The operating-system layers of the sandbox are what contain
a hostile candidate; the pre-check only turns the common mistakes into clear,
cheap feedback.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from evaluators.base import CandidateSpec
from sandbox.guard import private

ALWAYS_ALLOWED_IMPORTS: frozenset[str] = frozenset({"__future__", "typing"})
"""Imports that carry no capability and that models add by habit."""

FORBIDDEN_NAMES: frozenset[str] = frozenset({
    "eval", "exec", "compile", "open", "__import__", "breakpoint", "input", "globals",
    "locals", "vars", "exit", "quit", "help", "memoryview", "__builtins__", "__loader__",
    "__spec__",
})

FORBIDDEN_ATTRIBUTES: frozenset[str] = frozenset({
    "__subclasses__", "__globals__", "__builtins__", "__code__", "__closure__", "__bases__",
    "__base__", "__mro__", "__class__", "__dict__", "__getattribute__", "__import__",
    "__loader__", "__spec__", "__self__", "__func__", "__reduce__", "__reduce_ex__",
    "f_globals", "f_locals", "f_back", "f_builtins", "gi_frame", "gi_code", "cr_frame",
    "tb_frame", "co_code", "ag_frame",
})


@dataclass(frozen=True)
class PrecheckResult:
    """Verdict of :func:`precheck`.

    Parameters
    ----------
    ok
        True when the source may be run.
    problems
        One message per problem found, each naming the line where it applies.
    """

    ok: bool
    problems: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.ok == bool(self.problems):
            raise ValueError("ok must be True exactly when there are no problems")

    @property
    def message(self) -> str:
        """All problems in one paragraph (empty when ok)."""
        return "; ".join(self.problems)


def precheck(code: str, spec: CandidateSpec, max_bytes: int = 64 * 2**10) -> PrecheckResult:
    """Check candidate source against the problem's candidate contract.

    Parameters
    ----------
    code
        The candidate module's source.
    spec
        The problem's candidate contract (function name, parameters, allowed imports).
    max_bytes
        Size cap of the UTF-8 encoded source.

    Returns
    -------
    PrecheckResult
        ``ok`` or the list of problems, e.g.
        ``"line 1: import of 'os' is not allowed (allowed: math, numpy, ...)"``.
    """
    if not isinstance(code, str):
        return _fail(f"source must be text, got {type(code).__name__}")
    size = len(code.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        return _fail(f"source is {size} bytes; the limit is {max_bytes} bytes")
    if "\x00" in code:
        return _fail("source contains a NUL byte")
    try:
        tree = ast.parse(code, filename="<candidate>")
    except SyntaxError as exc:
        line = (exc.text or "").strip()
        shown = f": `{line}`" if line else ""
        return _fail(f"line {exc.lineno}: syntax error: {exc.msg}{shown}")
    except (ValueError, RecursionError, MemoryError) as exc:
        return _fail(f"source cannot be parsed: {exc}")

    problems: list[str] = []
    problems += _check_function(tree, spec)
    problems += _check_imports(tree, spec)
    problems += _check_names(tree)
    return PrecheckResult(not problems, tuple(problems))


def _fail(message: str) -> PrecheckResult:
    return PrecheckResult(False, (message,))


def _check_function(tree: ast.Module, spec: CandidateSpec) -> list[str]:
    name = spec.function_name
    wanted = ", ".join(spec.parameters)
    defs = [node for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name == name]
    if not defs:
        nested = any(isinstance(node, ast.FunctionDef) and node.name == name
                     for node in ast.walk(tree))
        where = " at the top level of the module" if nested else ""
        return [f"the module must define `def {name}({wanted}):`{where}"]
    fn = defs[-1]  # the last definition is the one that counts at run time
    if isinstance(fn, ast.AsyncFunctionDef):
        return [f"line {fn.lineno}: `{name}` must be a plain function, not `async def`"]
    args = fn.args
    positional = [a.arg for a in args.posonlyargs + args.args]
    n_defaults = len(args.defaults)
    required = positional[:len(positional) - n_defaults]
    problems = []
    if positional[:len(spec.parameters)] != list(spec.parameters) or len(required) > len(
            spec.parameters):
        got = ", ".join(positional) or "no parameters"
        problems.append(f"line {fn.lineno}: `{name}` must take the parameters ({wanted}) "
                        f"in this order; it takes ({got})")
    required_kw = [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
                   if d is None]
    if required_kw:
        problems.append(f"line {fn.lineno}: `{name}` has required keyword-only parameters "
                        f"({', '.join(required_kw)}); it is called with ({wanted}) only")
    return problems


def _check_imports(tree: ast.Module, spec: CandidateSpec) -> list[str]:
    allowed = set(spec.allowed_imports) | ALWAYS_ALLOWED_IMPORTS
    shown = ", ".join(sorted(spec.allowed_imports))
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                problems.append(f"line {node.lineno}: relative imports are not allowed")
                continue
            modules = [node.module or ""]
        else:
            continue
        for module in modules:
            if module.split(".")[0] not in allowed:
                problems.append(f"line {node.lineno}: import of '{module}' is not allowed "
                                f"(allowed: {shown})")
    return problems


def source_problems(code: str, filename: str = "<candidate>"
                    ) -> tuple[ast.Module | None, list[str]]:
    """Parse ``code`` and apply the name and attribute rules (the child repeats these).

    Returns
    -------
    tuple
        The syntax tree (``None`` when it does not parse) and the problems found.
    """
    try:
        tree = ast.parse(code, filename=filename)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None, []
    return tree, _check_attributes(tree)


def _check_names(tree: ast.Module) -> list[str]:
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            problems.append(f"line {node.lineno}: `{node.id}` is not available to heuristics")
    return problems + _check_attributes(tree)


def _check_attributes(tree: ast.Module) -> list[str]:
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
            problems.append(f"line {node.lineno}: attribute `{node.attr}` is not allowed")
        elif isinstance(node, ast.Attribute) and private(node.attr):
            problems.append(f"line {node.lineno}: attribute `{node.attr}` is not allowed "
                            "(special attributes and numpy's ctypes bridges are not available "
                            "to heuristics)")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "setattr", "delattr") and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
              and (node.args[1].value.startswith("__") or private(node.args[1].value))):
            problems.append(f"line {node.lineno}: {node.func.id}() of dunder attribute "
                            f"'{node.args[1].value}' is not allowed")
    return problems
