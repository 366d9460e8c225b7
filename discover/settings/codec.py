"""Frozen dataclasses ⇄ plain dicts ⇄ TOML: the checked conversion behind a settings file.

Nothing here knows which settings exist (:mod:`discover.config` declares them):
:func:`from_plain` builds any frozen dataclass from a nested mapping, converting
each value by the field's type hint and naming the offending key on error;
:func:`to_plain` goes back; :func:`field_docs` reads each field's documentation
from the source; :func:`dump_toml` writes the result with those comments.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A configuration file or value is invalid; the message names file and key."""


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file, naming the file in errors."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def deep_merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``top`` laid over it; tables present in both are merged key by key."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def to_plain(value: Any) -> Any:
    """``value`` as plain dicts, lists and scalars (dataclasses and mappings unpacked)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def from_plain(cls: type, data: Mapping[str, Any], source: str, prefix: str) -> Any:
    """An instance of the dataclass ``cls`` built from ``data``, each value checked.

    Parameters
    ----------
    cls
        A dataclass whose field hints say how each value is converted (nested
        dataclasses, tuples, mappings, ``X | None`` and scalars).
    data
        The nested mapping, e.g. a parsed TOML file.
    source
        What ``data`` came from (a file name), prefixed to every error.
    prefix
        Dotted key of ``data`` within the whole (``""`` at the top, ``"llm."`` below).

    Raises
    ------
    ConfigError
        On an unknown key, a value of the wrong type, or one ``cls`` refuses.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: [{prefix.rstrip('.')}] must be a table")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            f"{source}: unknown key {prefix}{unknown[0]} (known: {', '.join(sorted(names))})"
        )
    kwargs: dict[str, Any] = {}
    for name, raw in data.items():
        try:
            kwargs[name] = _convert(hints[name], raw, source, f"{prefix}{name}")
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"{source}: {prefix}{name}: {exc}") from None
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _convert(hint: Any, raw: Any, source: str, key: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if raw is None:
            return None
        non_none = [a for a in args if a is not type(None)]
        return _convert(non_none[0], raw, source, key)
    if dataclasses.is_dataclass(hint):
        return from_plain(hint, raw, source, f"{key}.")  # type: ignore[arg-type]
    if origin is tuple:
        if not isinstance(raw, (list, tuple)):
            raw = [raw]
        return tuple(_convert(args[0], v, source, key) for v in raw)
    if origin in (Mapping, dict) or hint in (dict,):
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{source}: {key} must be a table")
        value_hint = args[1] if len(args) == 2 else Any
        return {str(k): _convert(value_hint, v, source, f"{key}.{k}") for k, v in raw.items()}
    if hint is float:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise ConfigError(f"{source}: {key} must be a number, got {raw!r}")
        return float(raw)
    if hint is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ConfigError(f"{source}: {key} must be an integer, got {raw!r}")
        return raw
    if hint is str:
        if not isinstance(raw, str):
            raise ConfigError(f"{source}: {key} must be a string, got {raw!r}")
        return raw
    if hint is bool:
        if not isinstance(raw, bool):
            raise ConfigError(f"{source}: {key} must be true or false, got {raw!r}")
        return raw
    return raw


def field_docs(cls: type, prefix: str = "") -> dict[str, str]:
    """Dotted key → first line of the attribute docstring written under the field.

    The documentation lives once, next to each field where the dataclass is declared
    (:mod:`discover.config`); reading it back from the source keeps ``discover config
    --show`` in step with the code.
    """
    import ast
    import inspect

    docs: dict[str, str] = {}
    hints = typing.get_type_hints(cls)
    body = ast.parse(inspect.getsource(cls)).body[0]
    assert isinstance(body, ast.ClassDef)
    for stmt, nxt in zip(body.body, [*body.body[1:], None], strict=True):
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
            continue
        name = stmt.target.id
        if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) \
                and isinstance(nxt.value.value, str):
            docs[prefix + name] = " ".join(nxt.value.value.split())
        hint = hints.get(name)
        if dataclasses.is_dataclass(hint):
            docs.update(field_docs(hint, f"{prefix}{name}."))  # type: ignore[arg-type]
        elif typing.get_origin(hint) is tuple:
            inner = typing.get_args(hint)[0]
            if dataclasses.is_dataclass(inner):
                docs.update(field_docs(inner, f"{prefix}{name}."))  # type: ignore[arg-type]
    return docs


def dump_toml(data: Mapping[str, Any], docs: Mapping[str, str] | None = None) -> str:
    """Minimal TOML writer for the config's shapes (scalars, arrays, nested tables).

    ``docs`` maps dotted keys to a comment written above each key.
    """
    lines: list[str] = []
    _dump_table(data, [], lines, docs or {})
    return "\n".join(lines).strip() + "\n"


def _comment(lines: list[str], docs: Mapping[str, str], key: str) -> None:
    if key in docs:
        lines.append(f"# {docs[key]}")


def _dump_table(data: Mapping[str, Any], path: list[str], lines: list[str],
                docs: Mapping[str, str]) -> None:
    scalars = {k: v for k, v in data.items() if not isinstance(v, Mapping)
               and not (isinstance(v, list) and v and all(isinstance(x, Mapping) for x in v))}
    if path:
        lines.append(f"\n[{'.'.join(path)}]")
    for key, value in scalars.items():
        _comment(lines, docs, ".".join([*path, key]))
        if value is None:
            lines.append(f"# {key} = (unset)")
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for key, value in data.items():
        if isinstance(value, list) and value and all(isinstance(x, Mapping) for x in value):
            for item in value:
                lines.append(f"\n[[{'.'.join([*path, key])}]]")
                for k, v in item.items():
                    _comment(lines, docs, ".".join([*path, key, k]))
                    if v is None:
                        lines.append(f"# {k} = (unset)")
                    else:
                        lines.append(f"{k} = {_toml_value(v)}")
    for key, value in data.items():
        if isinstance(value, Mapping):
            _comment(lines, docs, ".".join([*path, key]))
            _dump_table(value, [*path, key], lines, docs)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")
