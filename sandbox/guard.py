"""The candidate's view of Python: its allow-listed modules and nothing reachable through them.

A candidate runs in a namespace of its own whose ``__builtins__`` is a restricted
copy (:func:`candidate_builtins`): no ``open``/``eval``/``exec``/``compile``/
``globals``/``vars``/…, ``getattr``/``hasattr``/``setattr``/``delattr`` that
refuse private names, and an ``__import__`` that refuses every module outside
the problem's allow-list and hands out *views* (:func:`module_view`) instead of
the real modules. A view holds the module's public attributes only: no
``random._os``, no submodule outside the allow-list (``numpy.ctypeslib``), no
function that reads attributes by name on the candidate's behalf
(``operator.attrgetter`` and ``functools.update_wrapper`` are wrapped to refuse
special names). The candidate's source is also checked again by the worker
before the child runs it (:func:`sandbox.precheck.source_problems`): no special
attribute beyond a few harmless ones (:data:`SAFE_DUNDERS`), no frame or code
attribute, no ctypes bridge, so no ``().__class__.__base__.__subclasses__()``,
frame or ``__globals__`` walk.

This layer makes the allow-list hold against every route we know (tested in
``tests/sandbox/test_imports.py``), but it is in-process Python: a bug in the
interpreter or in numpy that gives raw memory access would bypass it. What does
not depend on it: the worker never imports the project's heuristics or problem
code (so they are not in the child's memory), the private root holds only the
harness modules (so they cannot be read from disk), and seccomp, namespaces and
the unprivileged uid contain whatever the child does.
"""

from __future__ import annotations

import builtins
import functools
import operator
import sys
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

REMOVED_BUILTINS = frozenset({
    "open", "eval", "exec", "compile", "breakpoint", "input", "help", "exit", "quit",
    "globals", "locals", "vars", "memoryview", "copyright", "credits", "license",
})
"""Builtins a heuristic never needs, which read files, run code or expose namespaces."""

SAFE_DUNDERS = frozenset({
    "__init__", "__name__", "__doc__", "__len__", "__iter__", "__next__", "__contains__",
    "__getitem__", "__setitem__", "__delitem__", "__eq__", "__ne__", "__lt__", "__le__",
    "__gt__", "__ge__", "__hash__", "__repr__", "__str__", "__call__", "__add__", "__sub__",
    "__mul__", "__truediv__", "__floordiv__", "__mod__", "__neg__", "__abs__", "__bool__",
    "__enter__", "__exit__", "__post_init__", "__qualname__", "__slots__", "__module__",
})
"""Special attributes that only give methods or strings (``super().__init__()`` stays legal)."""

EXCLUDED_MODULES = frozenset({
    "numpy.ctypeslib", "numpy.testing", "numpy.f2py", "numpy.distutils", "numpy.lib.format",
    "numpy.lib.npyio", "numpy.lib.introspect",
})
"""Submodules of allowed packages that give raw memory, processes, files or unpickling."""

HIDDEN_ATTRIBUTES: dict[str, frozenset[str]] = {
    # file input/output (np.load unpickles whatever a file-like object returns)
    "numpy": frozenset({"load", "loads", "save", "savez", "savez_compressed", "savetxt",
                        "loadtxt", "genfromtxt", "fromfile", "fromtextfile", "fromregex",
                        "memmap", "DataSource", "info", "dump", "dumps"}),
    # evaluates annotation strings with the interpreter's own builtins
    "typing": frozenset({"get_type_hints", "ForwardRef"}),
}
"""Public functions that views of a package (and of its submodules) leave out."""


EXCLUDED_NAMES = frozenset({"ctypes", "cffi", "ctypeslib", "as_strided"})
"""Attribute names refused everywhere: numpy's bridges to ctypes and raw strides."""


def _hidden_names(module: str) -> frozenset[str]:
    top = module.partition(".")[0]
    return HIDDEN_ATTRIBUTES.get(top, frozenset())


class Refused(Exception):
    """Base of the refusals the child reports as ``forbidden``."""


class ImportRefused(Refused, ImportError):
    """The candidate reached for a module outside the problem's allowed list."""


class AttributeRefused(Refused, AttributeError):
    """The candidate asked for a private attribute by name."""


class SourceRefused(Refused):
    """The candidate's source uses a construct the child does not run (checked again here)."""


UNGUARDED = "builtins"
"""An allow-list naming ``builtins`` gives the candidate the interpreter's own builtins
and real modules: the in-process layer is off (the tests of the operating-system
layers use such a list; no problem does)."""


def private(name: str) -> bool:
    """True for attribute names a candidate may not use (special or ctypes bridges)."""
    special = name.startswith("__") and name.endswith("__") and name not in SAFE_DUNDERS
    return special or name in EXCLUDED_NAMES


def _check_name(name: object) -> None:
    if isinstance(name, str) and private(name):
        raise AttributeRefused(f"attribute '{name}' is not available to heuristics")


def _guarded_getattr(obj: Any, name: str, *default: Any) -> Any:
    _check_name(name)
    return getattr(obj, name, *default)


def _guarded_hasattr(obj: Any, name: str) -> bool:
    _check_name(name)
    return hasattr(obj, name)


def _guarded_setattr(obj: Any, name: str, value: Any) -> None:
    _check_name(name)
    setattr(obj, name, value)


def _guarded_delattr(obj: Any, name: str) -> None:
    _check_name(name)
    delattr(obj, name)


def _attrgetter(*names: str) -> Callable[[Any], Any]:
    for name in names:
        for part in str(name).split("."):
            _check_name(part)
    return operator.attrgetter(*names)


def _methodcaller(name: str, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
    _check_name(name)
    return operator.methodcaller(name, *args, **kwargs)


def _checked_names(names: Iterable[str], defaults: Iterable[str]) -> tuple[str, ...]:
    names = tuple(names)
    allowed = set(defaults)
    for name in names:
        if name not in allowed:
            _check_name(name)
    return names


def _update_wrapper(wrapper: Any, wrapped: Any,
                    assigned: Iterable[str] = functools.WRAPPER_ASSIGNMENTS,
                    updated: Iterable[str] = functools.WRAPPER_UPDATES) -> Any:
    return functools.update_wrapper(
        wrapper, wrapped, _checked_names(assigned, functools.WRAPPER_ASSIGNMENTS),
        _checked_names(updated, functools.WRAPPER_UPDATES))


def _wraps(wrapped: Any, assigned: Iterable[str] = functools.WRAPPER_ASSIGNMENTS,
           updated: Iterable[str] = functools.WRAPPER_UPDATES) -> Callable[[Any], Any]:
    return functools.wraps(wrapped, _checked_names(assigned, functools.WRAPPER_ASSIGNMENTS),
                           _checked_names(updated, functools.WRAPPER_UPDATES))


# Functions of allowed modules that read attributes by name for their caller.
_REPLACED: dict[tuple[str, str], Callable[..., Any]] = {
    ("operator", "attrgetter"): _attrgetter,
    ("operator", "methodcaller"): _methodcaller,
    ("functools", "update_wrapper"): _update_wrapper,
    ("functools", "wraps"): _wraps,
}


def _allowed_module(name: str, allowed: frozenset[str]) -> bool:
    if name.partition(".")[0] not in allowed:
        return False
    return not any(name == x or name.startswith(x + ".") for x in EXCLUDED_MODULES)


class _Views:
    """Views of the modules one allow-list reaches, built once per worker and inherited."""

    def __init__(self, allowed: frozenset[str]) -> None:
        self.allowed = allowed
        self.views: dict[str, ModuleType] = {}

    def view(self, module: ModuleType) -> ModuleType:
        name = module.__name__
        found = self.views.get(name)
        if found is not None:
            return found
        view = ModuleType(name, getattr(module, "__doc__", None))
        self.views[name] = view  # before filling: submodules may refer back
        content: dict[str, Any] = {"__getattr__": _hidden(module)}
        hidden = _hidden_names(name)
        for key, value in list(vars(module).items()):
            if key.startswith("_") or private(key) or key in hidden:
                continue
            if isinstance(value, ModuleType):
                if not _allowed_module(value.__name__, self.allowed):
                    continue
                value = self.view(value)
            content[key] = _REPLACED.get((name, key), value)
        vars(view).update(content)
        return view


def _hidden(module: ModuleType) -> Callable[[str], Any]:
    """A view's ``__getattr__``: what the real module has but the view hides is refused."""
    name = module.__name__

    def missing(attribute: str) -> Any:
        if hasattr(module, attribute):
            raise AttributeRefused(f"'{name}.{attribute}' is not available to heuristics")
        raise AttributeError(f"module '{name}' has no attribute '{attribute}'")

    return missing


_CACHE: dict[frozenset[str], _Views] = {}


_BUILTINS: dict[frozenset[str], dict[str, Any]] = {}


def prepare(allowed: frozenset[str]) -> None:
    """Build the views and builtins of ``allowed`` now (in the worker: children inherit them).

    Each child is a fork, so what one candidate does to its copy never reaches the
    worker or another candidate.
    """
    views = _CACHE.setdefault(allowed, _Views(allowed))
    for name in sorted(allowed):
        module = sys.modules.get(name)
        if module is not None:
            views.view(module)
    candidate_builtins(allowed)


def module_view(module: ModuleType, allowed: frozenset[str]) -> ModuleType:
    """The candidate's view of ``module`` (public attributes, allowed submodules only)."""
    return _CACHE.setdefault(allowed, _Views(allowed)).view(module)


def guarded_import(allowed: frozenset[str]) -> Callable[..., ModuleType]:
    """The candidate's ``__import__``: allow-listed modules only, as views."""
    real_import = builtins.__import__
    shown = ", ".join(sorted(allowed))

    def guarded(name: str, globals: Any = None, locals: Any = None,
                fromlist: Any = (), level: int = 0) -> ModuleType:
        if level != 0 or not isinstance(name, str) or not _allowed_module(name, allowed):
            raise ImportRefused(f"import of '{name}' is not allowed (allowed: {shown})")
        if fromlist:
            for item in fromlist:
                if not isinstance(item, str) or (item != "*" and item.startswith("_")) \
                        or private(item) or item in _hidden_names(name) or not _allowed_module(
                        f"{name}.{item}", allowed):
                    raise ImportRefused(f"import of '{name}.{item}' is not allowed "
                                        f"(allowed: {shown})")
        module = real_import(name, None, None, fromlist, 0)
        return module_view(module, allowed)

    return guarded


def _checked_import(allowed: frozenset[str]) -> Callable[..., ModuleType]:
    """``__import__`` of an unguarded candidate: the allow-list by name, real modules."""
    real_import = builtins.__import__
    shown = ", ".join(sorted(allowed))

    def checked(name: str, globals: Any = None, locals: Any = None,
                fromlist: Any = (), level: int = 0) -> ModuleType:
        if level != 0 or str(name).partition(".")[0] not in allowed:
            raise ImportRefused(f"import of '{name}' is not allowed (allowed: {shown})")
        return real_import(name, globals, locals, fromlist, level)

    return checked


def candidate_builtins(allowed: frozenset[str]) -> dict[str, Any]:
    """The ``__builtins__`` of the candidate's namespace (built once per process)."""
    found = _BUILTINS.get(allowed)
    if found is None:
        found = _BUILTINS[allowed] = _candidate_builtins(allowed)
    return found


def _candidate_builtins(allowed: frozenset[str]) -> dict[str, Any]:
    if UNGUARDED in allowed:
        return {**vars(builtins), "__import__": _checked_import(allowed)}
    names = {k: v for k, v in vars(builtins).items()
             if k not in REMOVED_BUILTINS and (not k.startswith("_") or k == "__build_class__")}
    names.update({"getattr": _guarded_getattr, "hasattr": _guarded_hasattr,
                  "setattr": _guarded_setattr, "delattr": _guarded_delattr,
                  "__import__": guarded_import(allowed), "__name__": "builtins"})
    return names
