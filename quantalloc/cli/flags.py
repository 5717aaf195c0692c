"""The library's parameter names as the CLI's flags, for error messages.

The library raises in its own parameter names, quoted in backticks (```capital` must be a
positive amount``), and lists them in ``QuantallocError.params``; :func:`with_flags` rewrites
those mentions as the flags that set them (``--capital must be a positive amount``). A template
may hold ``{key}`` (the key of a ```name['key']``` mention) and ``{value}`` (the value of a
```name=VALUE``` mention; ``True`` is written ``true``); without ``{value}``, a value other than
True follows the flag.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

FLAGS: dict[str, str] = {
    "as_of": "--as-of",
    "capital": "--capital",
    "chain": "--chain",
    "chains": "--chains",
    "compare_proxy": "--compare-proxy",
    "data": "--data",
    "export": "--export",
    "force": "--force",
    "limits": "--limit",
    "market": "--market",
    "max_ffill": "--max-ffill",
    "model": "--model",
    "n_scenarios": "--scenarios",
    "n_trials": "--trials",
    "normalize_weights": "--normalize-weights",
    "plot": "--plot",
    "risk": "--risk",
    "seed": "--seed",
    "storage": "--storage",
    "store": "--store",
    "study_name": "--study",
    "symbol": "--symbol",
    "symbols": "--symbols",
    "tables": "--table {key}=FILE.csv",
    "vix": "--vix",
    "views": "--views",
    "vix_source": "--vix-source",
    "workers": "--workers",
    "Store.init()": "`quantalloc db init` (with the same --store / DATABASE_URL)",
}
"""Parameter name -> flag template, the same in every command."""

COMMAND_FLAGS: dict[str, dict[str, str]] = {
    # a strategy's parameters are --param NAME=VALUE in `backtest` and `tune`
    "backtest": {
        "normalize_weights": "--param normalize_weights={value}",
        "params": "--param {key}={value}",
    },
    "tune": {"params": "--param {key}={value}"},
}


def flags_for(command: str | None) -> dict[str, str]:
    """The flag templates in force in ``command`` (its own first, then the common ones)."""
    return {**FLAGS, **COMMAND_FLAGS.get(command or "", {})}


def with_flags(message: str, params: tuple[str, ...], flags: Mapping[str, str]) -> str:
    """``message`` with each mention of a parameter in ``params`` written as its flag."""
    for name in params:
        template = flags.get(name)
        if template is None:
            continue
        pattern = re.compile(
            rf"`{re.escape(name)}"
            r"(?:\[(?P<q>['\"])(?P<key>[^'\"]+)(?P=q)\])?"
            r"(?:=(?P<value>[^`]+))?`"
        )
        message = pattern.sub(lambda m, t=template: _render(t, m), message)  # type: ignore[misc]
    return message


def _render(template: str, match: re.Match[str]) -> str:
    key = match.group("key") or "NAME"
    value = match.group("value")
    shown = "true" if value == "True" else (value or "VALUE")
    flag = template.replace("{key}", key)
    if "{value}" in flag:
        return flag.replace("{value}", shown)
    return flag if value in (None, "True") else f"{flag} {value}"


__all__ = ["COMMAND_FLAGS", "FLAGS", "flags_for", "with_flags"]
