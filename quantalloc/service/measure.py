"""Strategy track records for a rebalance without given metrics: each strategy's backtest."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from quantalloc.errors import DataError

METRIC_KEYS = ("sharpe", "total_return", "max_drawdown")


def backtest_metrics(
    names: list[str], data: str, start: dt.date | None, end: dt.date | None
) -> dict[str, dict[str, float]]:
    """Sharpe, total return and max drawdown of each strategy's backtest on ``data``."""
    from quantalloc.backtest.registry import STRATEGIES

    unknown = [n for n in names if n not in STRATEGIES]
    if unknown:
        raise DataError(
            f"strategy {unknown[0]!r} has no backtest to measure it; pass metrics for it "
            f"(backtests exist for {', '.join(STRATEGIES)})"
        )
    return {n: dict(_measure(n, data, start, end)) for n in names}


@lru_cache(maxsize=64)
def _measure(
    name: str, data: str, start: dt.date | None, end: dt.date | None
) -> tuple[tuple[str, float], ...]:
    from quantalloc.backtest.registry import run_strategy
    from quantalloc.data import get_provider

    result = run_strategy(name, get_provider(data, "us"), start, end, 100_000.0)
    values = {k: float(result.metrics[k]) for k in METRIC_KEYS}
    if values["sharpe"] != values["sharpe"]:  # flat equity: no Sharpe, counted as 0 by score
        values["sharpe"] = 0.0
    return tuple(values.items())
