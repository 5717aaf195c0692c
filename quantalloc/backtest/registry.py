"""Strategy registry: a name on the command line -> the module that implements it.

Every strategy module exposes ``NAME``, ``PARAMS`` (a frozen parameter dataclass whose
instance with no arguments holds the defaults) and ``run(window, params) -> BacktestResult``
(a :class:`~quantalloc.backtest.window.BacktestWindow` and an instance of ``PARAMS``). The
registry is the one place both are built and checked: the strategies take them as given.
Modules are imported on first use, so ``--help`` and the light strategies never pay for
``allocator`` (the replay of ``quantalloc.solve``), which imports the whole allocation pipeline.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any

import pandas as pd

from quantalloc.backtest.params import coerce_params, validate
from quantalloc.backtest.result import BacktestResult, BatchResult
from quantalloc.backtest.window import BacktestWindow
from quantalloc.data.base import DateLike, PriceProvider
from quantalloc.errors import ConfigError

STRATEGIES: dict[str, str] = {
    "momentum": "quantalloc.backtest.strategies.momentum",
    "orb": "quantalloc.backtest.strategies.orb",
    "wheel": "quantalloc.backtest.strategies.wheel",
    "multi": "quantalloc.backtest.multi",
    "allocator": "quantalloc.backtest.strategies.allocator",
}
"""Strategy name -> module path."""


def strategy_module(name: str) -> ModuleType:
    """The module of strategy ``name``; ConfigError for an unknown strategy."""
    path = STRATEGIES.get(name)
    if path is None:
        raise ConfigError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    return importlib.import_module(path)


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
    """Parameters of ``name`` from a dict (strings allowed), an instance, or None (defaults);
    every value is range-checked (an instance's too)."""
    cls = params_class(name)
    if values is not None and dataclasses.is_dataclass(values) and not isinstance(values, type):
        if not isinstance(values, cls):
            raise ConfigError(f"parameters for {name!r} must be {cls.__name__}")
        validate(values, name)
        return values
    return coerce_params(cls, values, name)  # type: ignore[arg-type]


def run_strategy(
    name: str,
    provider: PriceProvider,
    start: DateLike | None,
    end: DateLike | None,
    capital: float,
    params: Mapping[str, Any] | Any | None = None,
    progress: Callable[[Any], None] | None = None,
) -> BacktestResult:
    """Backtest strategy ``name`` on ``provider`` between ``start`` and ``end`` from ``capital``.

    ``params`` is a dict of parameter values (strings are converted and range-checked), an
    instance of the strategy's ``PARAMS`` dataclass, or None for the defaults. Bad values raise
    :class:`~quantalloc.errors.ConfigError` with one line. ``progress`` is passed to strategies
    that report it (the replays: a ``ReplayProgress`` after every session).
    """
    module = strategy_module(name)
    p = make_params(name, params)
    window = BacktestWindow(provider, start, end, capital)
    extra = {} if progress is None or not _reports_progress(module) else {"progress": progress}
    result = module.run(window, p, **extra)
    return dataclasses.replace(  # the run says which data it read, in every front end
        result,
        data_source=str(getattr(provider, "name", "")),
        synthetic=bool(getattr(provider, "synthetic", False)),
    )


def _reports_progress(module: ModuleType) -> bool:
    import inspect

    return "progress" in inspect.signature(module.run).parameters


def run_batch(
    name: str,
    provider: PriceProvider,
    start: DateLike | None,
    end: DateLike | None,
    capital: float,
    params: Sequence[Mapping[str, Any] | Any],
) -> BatchResult:
    """Backtest many parameter sets of strategy ``name`` over one window.

    Strategies with a compiled batch path (``momentum``: ``sma_days``, ``stop_loss``,
    ``take_profit``; ``orb``: ``take_profit_atr``, ``stop_atr``) run it in one call when the sets
    differ only in those; otherwise each set runs on its own. Row ``k`` of the metrics and
    column ``k`` of the equity belong to ``params[k]``.
    """
    import numpy as np

    from quantalloc.backtest.metrics import METRIC_NAMES

    module = strategy_module(name)
    sets = [make_params(name, p) for p in params]
    if not sets:
        raise ConfigError("run_batch needs at least one parameter set")
    window = BacktestWindow(provider, start, end, capital)
    if hasattr(module, "run_batch"):
        try:
            return module.run_batch(window, sets)
        except ConfigError as exc:
            if "must be the same" not in str(exc) and "may differ only" not in str(exc):
                raise
    runs = [module.run(window, p) for p in sets]
    equity = pd.concat([r.equity.rename(k) for k, r in enumerate(runs)], axis=1)
    table = pd.DataFrame(
        {m: np.array([r.metrics[m] for r in runs], dtype=float) for m in METRIC_NAMES}
    )
    return BatchResult(name, tuple(sets), window.capital, equity, table)
