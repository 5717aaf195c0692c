"""The checks a solve request passes before any data is read: limits, levels, sizes.

A value out of range stops the request at the door with one line (the rule, the value seen,
what to pass instead), so a negative cap is never solved for half a minute and then reported
as an infeasibility, and a capital of 1e30 never reaches the lot rounding.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from quantalloc.errors import ConfigError

LIMIT_UNITS: dict[str, str] = {
    "budget": "a share of the capital in [0, 1]",
    "max_symbol": "a share of the options budget in [0, 1]",
    "max_strategy": "a share of the options budget in [0, 1]",
    "max_industry": "a share of the options budget in [0, 1]",
    "max_theta_positive": "a share of the options budget in [0, 1]",
    "max_risk_per_trade": "a share of the capital in [0, 1]",
    "target": "a share of the options budget in [0, 1]",
    "cap_bucket": "a share of the options budget in [0, 1]",
    "drawdown": "a probability in [0, 1]",
    "max_cvar": "a share of the capital in [0, 1]",
    "max_abs_vega": "an amount of currency per vol point, >= 0",
}
"""Every limit a solve's model can name (a bracket picks one row, ``max_industry[IT]``)."""

MAX_CAPITAL = 1e13
"""Capital above this is refused: far beyond any options book, and lots stop being whole."""

MAX_VOL_INDEX = 200.0
"""A volatility index level above this is refused (VIX peaked near 90, India VIX near 92)."""

SCENARIO_BYTES = 24_000
"""Memory a solve holds per scenario: ~1,000 candidate columns of float64, three copies."""


def check_limits(limits: Mapping[str, Any] | None) -> dict[str, Any]:
    """``limits`` checked: each name one the model can have, each value finite and in range."""
    checked: dict[str, Any] = {}
    for name, value in (limits or {}).items():
        source = str(name).split("[", 1)[0].strip()
        if source not in LIMIT_UNITS or ("[" in str(name) and not str(name).endswith("]")):
            raise ConfigError(
                f"`limits`: no limit named {name!r}; known: {', '.join(LIMIT_UNITS)} "
                "(a bracket picks one row, e.g. max_industry[IT])",
                params="limits",
            )
        parts = value if isinstance(value, tuple) else (value,)
        for part in parts:
            if part is None:
                continue
            try:
                number = float(part)
            except (TypeError, ValueError):
                number = math.nan
            within = number >= 0 and (source == "max_abs_vega" or number <= 1)
            if not (math.isfinite(number) and within):
                raise ConfigError(
                    f"`limits` {name}={part!r} is out of range; {source} is {LIMIT_UNITS[source]}",
                    params="limits",
                )
        checked[str(name)] = value
    return checked


def check_levels(*, capital: float | None, vix: float | None, n_scenarios: int | None) -> None:
    """Capital, the volatility index level and the scenario count, each within its range."""
    if capital is not None and not (math.isfinite(capital) and 0 < capital <= MAX_CAPITAL):
        raise ConfigError(
            f"`capital` must be a positive amount up to {MAX_CAPITAL:.0e}, got {capital:g}",
            params="capital",
        )
    if vix is not None and not (math.isfinite(vix) and 0 < vix <= MAX_VOL_INDEX):
        raise ConfigError(
            f"`vix` must be a volatility index level in (0, {MAX_VOL_INDEX:g}] (e.g. 18.5), "
            f"got {vix:g}",
            params="vix",
        )
    if n_scenarios is not None:
        most = max_scenarios()
        if not 50 <= n_scenarios <= most:
            raise ConfigError(
                f"`n_scenarios` must be in [50, {most:,}] (about {SCENARIO_BYTES // 1000} kB of "
                f"memory each, {available_memory() / 2**30:.1f} GiB available), got "
                f"{n_scenarios:,}; the models use 2,000",
                params="n_scenarios",
            )


def available_memory() -> int:
    """Bytes of memory available to this process (physical memory where it cannot tell)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def max_scenarios() -> int:
    """The most scenarios whose matrices fit in half the available memory."""
    return max(50, available_memory() // 2 // SCENARIO_BYTES)


__all__ = [
    "LIMIT_UNITS",
    "MAX_CAPITAL",
    "MAX_VOL_INDEX",
    "available_memory",
    "check_levels",
    "check_limits",
    "max_scenarios",
]
