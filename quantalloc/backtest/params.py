"""Strategy parameters: frozen dataclasses with bounds, filled from ``k=v`` text or a dict.

A strategy declares its parameters as a frozen dataclass whose fields carry their bounds in
``metadata`` (built with :func:`param`). :func:`coerce_params` turns user input (strings from
``--param k=v``, values from a TOML file, or a dict from a tuner) into an instance, raising a
:class:`~quantalloc.errors.ConfigError` with one line for an unknown name, a wrong type or a value
out of range.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from quantalloc.errors import ConfigError

P = TypeVar("P")


def param(
    default: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    choices: tuple[str, ...] | None = None,
    help: str = "",
) -> Any:
    """A dataclass field with bounds (inclusive) or choices, and a one-line help text."""
    meta = {"low": low, "high": high, "choices": choices, "help": help}
    return dataclasses.field(default=default, metadata=meta)


def describe(cls: type) -> list[dict[str, Any]]:
    """One dict per parameter: name, type, default, low, high, choices, help (for tuners)."""
    out = []
    for f in dataclasses.fields(cls):
        out.append(
            {
                "name": f.name,
                "type": _type_name(f),
                "default": f.default,
                "low": f.metadata.get("low"),
                "high": f.metadata.get("high"),
                "choices": f.metadata.get("choices"),
                "help": f.metadata.get("help", ""),
            }
        )
    return out


def _type_name(f: dataclasses.Field[Any]) -> str:
    return f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))


def parse_kv(items: Iterable[str]) -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}``; ConfigError on an item without ``=``."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"--param {item!r} is not NAME=VALUE; write e.g. --param stop_loss=0.05"
            )
        out[key.strip()] = value.strip()
    return out


def coerce_params(cls: type[P], values: Mapping[str, Any] | None, strategy: str = "") -> P:
    """An instance of the parameter dataclass ``cls`` from ``values`` (others keep defaults)."""
    values = dict(values or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    who = f"{strategy} " if strategy else ""
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown {who}parameter {unknown[0]!r}; known: {', '.join(sorted(fields))}"
        )
    kwargs = {name: _convert(fields[name], raw, who) for name, raw in values.items()}
    return cls(**kwargs)


def _convert(f: dataclasses.Field[Any], raw: Any, who: str) -> Any:
    kind = _type_name(f)
    name = f"{who}parameter {f.name}"
    try:
        if kind == "bool":
            value: Any = _to_bool(raw)
        elif kind == "int":
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError
            value = int(raw) if not isinstance(raw, str) else int(raw.strip())
        elif kind == "float":
            if isinstance(raw, bool):
                raise ValueError
            value = float(raw)
            if math.isinf(value):
                raise ValueError
        else:
            value = str(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be {kind}, got {raw!r}") from None
    low, high, choices = f.metadata.get("low"), f.metadata.get("high"), f.metadata.get("choices")
    if choices is not None and value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not (isinstance(value, float) and math.isnan(value)):
            if low is not None and value < low:
                raise ConfigError(f"{name} must be >= {low}, got {value}")
            if high is not None and value > high:
                raise ConfigError(f"{name} must be <= {high}, got {value}")
    return value


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def validate(instance: Any, strategy: str = "") -> None:
    """Check every field of a parameter instance against its bounds (for directly built objects)."""
    who = f"{strategy} " if strategy else ""
    for f in dataclasses.fields(instance):
        _convert(f, getattr(instance, f.name), who)
