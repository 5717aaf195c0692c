"""Strategy registry: a name on the command line -> the module that implements it.

Every strategy module exposes ``NAME``, ``PARAMS`` (a frozen parameter dataclass whose
instance with no arguments holds the defaults) and
``run(provider, start, end, capital, params) -> BacktestResult``. Modules are imported on first
use, so a strategy that is not built yet (``allocator``, the replay of ``quantalloc.solve``)
can be listed here and fail with a clear message until its module lands.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from quantalloc.backtest.params import coerce_params
from quantalloc.backtest.result import BacktestResult
from quantalloc.data.base import DateLike, PriceProvider
from quantalloc.errors import ConfigError

STRATEGIES: dict[str, str] = {
    "momentum": "quantalloc.backtest.strategies.momentum",
    "orb": "quantalloc.backtest.strategies.orb",
    "wheel": "quantalloc.backtest.strategies.wheel",
    "multi": "quantalloc.backtest.multi",
    "allocator": "quantalloc.backtest.strategies.allocator",
}
"""Strategy name -> module path (``allocator`` arrives with the solve pipeline)."""


def strategy_module(name: str) -> ModuleType:
    """The module of strategy ``name``; ConfigError for an unknown or not-yet-built strategy."""
    path = STRATEGIES.get(name)
    if path is None:
        raise ConfigError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError as exc:
        if exc.name != path:
            raise
        raise ConfigError(
            f"strategy {name!r} is not available in this build ({path} is not written yet); "
            f"choose one of {', '.join(available())}"
        ) from None


def available() -> list[str]:
    """Names of the strategies whose modules can be imported."""
    out = []
    for name, path in STRATEGIES.items():
        if importlib.util.find_spec(path) is not None:
            out.append(name)
    return out


def params_class(name: str) -> type:
    """The parameter dataclass of strategy ``name``."""
    return strategy_module(name).PARAMS


def make_params(name: str, values: Mapping[str, Any] | Any | None = None) -> Any:
    """Parameters of ``name`` from a dict (strings allowed), an instance, or None (defaults)."""
    cls = params_class(name)
    if values is not None and dataclasses.is_dataclass(values) and not isinstance(values, type):
        if not isinstance(values, cls):
            raise ConfigError(f"parameters for {name!r} must be {cls.__name__}")
        return values
    return coerce_params(cls, values, name)  # type: ignore[arg-type]


def run_strategy(
    name: str,
    provider: PriceProvider,
    start: DateLike | None,
    end: DateLike | None,
    capital: float,
    params: Mapping[str, Any] | Any | None = None,
) -> BacktestResult:
    """Backtest strategy ``name`` on ``provider`` between ``start`` and ``end`` from ``capital``.

    ``params`` is a dict of parameter values (strings are converted and range-checked), an
    instance of the strategy's ``PARAMS`` dataclass, or None for the defaults. Bad values raise
    :class:`~quantalloc.errors.ConfigError` with one line.
    """
    module = strategy_module(name)
    p = make_params(name, params)
    if not (isinstance(capital, int | float) and capital > 0):
        raise ConfigError(f"capital must be a positive number, got {capital!r}")
    return module.run(provider, start, end, float(capital), p)
