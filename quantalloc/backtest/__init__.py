"""Backtesting: a compiled bar engine, empyrical-style metrics and the trading strategies.

Public API::

    from quantalloc.backtest import run_strategy
    result = run_strategy("momentum", provider, "2010-01-01", "2017-12-29", 100_000,
                          {"sma_days": 200})
    result.metrics["sharpe"], result.equity, result.trades

Batch evaluation for tuning: ``run_batch(name, provider, start, end, capital, [params, ...])``
(one compiled call for momentum and orb exit parameters; one run per set otherwise).
Both build one :class:`BacktestWindow` (source, dates, capital; checked there) and a checked
parameter instance, and call the strategy module's ``run(window, params)``.
"""

from quantalloc.backtest.engine import Costs, simulate
from quantalloc.backtest.metrics import METRIC_NAMES
from quantalloc.backtest.registry import (
    STRATEGIES,
    make_params,
    params_class,
    run_batch,
    run_strategy,
    strategy_module,
)
from quantalloc.backtest.result import BacktestResult, BatchResult
from quantalloc.backtest.window import BacktestWindow

__all__ = [
    "METRIC_NAMES",
    "STRATEGIES",
    "BacktestResult",
    "BacktestWindow",
    "BatchResult",
    "Costs",
    "make_params",
    "params_class",
    "run_batch",
    "run_strategy",
    "simulate",
    "strategy_module",
]
