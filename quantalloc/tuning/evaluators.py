"""The bridge from a search space to the real backtests in ``quantalloc.backtest``.

:class:`StrategyEvaluator` is the ``evaluate(params, start, end)`` callable of the walk-forward
objective for a named strategy; :class:`StrategyObjective` builds the whole objective and is
picklable, so worker processes can rebuild it from a few strings.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from quantalloc.errors import ConfigError
from quantalloc.tuning.objective import WalkForwardObjective, make_folds
from quantalloc.tuning.spaces import SearchSpace, check_against_strategy, get_space


@functools.lru_cache(maxsize=8)
def _provider(data: str, market: str) -> Any:
    from quantalloc.data import get_provider

    return get_provider(data, market)


def _backtest() -> Any:
    try:
        from quantalloc import backtest
    except ImportError as exc:  # pragma: no cover - only before the backtest package exists
        raise ConfigError(f"the backtest engine is not available in this build ({exc})") from exc
    if not hasattr(backtest, "run_strategy"):
        raise ConfigError(
            "the backtest engine is not available in this build (quantalloc.backtest has no "
            "run_strategy yet)"
        )
    return backtest


def strategy_fields(strategy: str) -> list[dict[str, Any]]:
    """The parameter description of ``strategy`` (name, type, default, low, high, choices)."""
    bt = _backtest()
    from quantalloc.backtest.params import describe

    return describe(bt.params_class(strategy))


def single_threaded_kernels() -> None:
    """Run numba-parallel backtest kernels on one thread in this process.

    A trial backtests one parameter set at a time, so a parallel kernel only pays the thread
    pool's start-up and contention; tuning parallelism comes from worker processes instead.
    Measured on this shared 2-core machine: momentum over ~800 days took 15 ms per backtest on
    one thread against 146 ms with numba's default thread count.
    """
    try:
        import numba

        numba.set_num_threads(1)
    except (ImportError, ValueError):  # pragma: no cover - numba missing or threads fixed
        pass


@dataclass(frozen=True)
class StrategyEvaluator:
    """``evaluate(params, start, end)`` running ``quantalloc.backtest.run_strategy``.

    ``fixed`` parameters are passed to every run under the tuned ones (the tuned values win).
    """

    strategy: str
    data: str
    market: str = "us"
    capital: float = 100_000.0
    fixed: Mapping[str, Any] = field(default_factory=dict)

    def __call__(
        self, params: Mapping[str, Any], start: pd.Timestamp | None, end: pd.Timestamp | None
    ) -> Any:
        bt = _backtest()
        merged = {**dict(self.fixed), **dict(params)}
        return bt.run_strategy(
            self.strategy, _provider(self.data, self.market), start, end, self.capital, merged
        )

    def span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last day the strategy's backtest covers on ``data`` (its whole span)."""
        equity = self({}, None, None).equity
        return pd.Timestamp(equity.index[0]).normalize(), pd.Timestamp(equity.index[-1]).normalize()


@dataclass(frozen=True)
class StrategyObjective:
    """Picklable recipe for the walk-forward objective of a named strategy."""

    strategy: str
    data: str
    start: str
    end: str
    market: str = "us"
    capital: float = 100_000.0
    metric: str = "sharpe"
    n_folds: int = 3
    train_chunks: int = 2
    anchored: bool = False
    overrides: Mapping[str, Any] = field(default_factory=dict)
    fixed: Mapping[str, Any] = field(default_factory=dict)

    def space(self) -> SearchSpace:
        """The strategy's search space with the overrides applied, checked against its fields."""
        space = get_space(self.strategy, dict(self.overrides) or None)
        check_against_strategy(space, strategy_fields(self.strategy))
        return space

    def evaluator(self, space: SearchSpace | None = None) -> StrategyEvaluator:
        """The backtest one trial runs: the space's fixed parameters under the recipe's own."""
        fixed = (space or self.space()).fixed
        return StrategyEvaluator(
            self.strategy, self.data, self.market, self.capital, {**fixed, **self.fixed}
        )

    def __call__(self) -> WalkForwardObjective:
        single_threaded_kernels()
        space = self.space()
        return WalkForwardObjective(
            evaluate=self.evaluator(space),
            space=space,
            folds=make_folds(self.start, self.end, self.n_folds, self.train_chunks, self.anchored),
            metric=self.metric,
        )


__all__ = [
    "StrategyEvaluator",
    "StrategyObjective",
    "single_threaded_kernels",
    "strategy_fields",
]
