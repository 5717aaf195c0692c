"""Walk-forward objective: score a trial's parameters on training windows and the windows after.

The objective is generic over an ``evaluate(params, start, end)`` callable that backtests one
parameter set over a date range and returns its daily returns (a Series, or any object with a
``.returns`` Series, such as a ``BacktestResult``). For every fold it runs the strategy once over
``[train_start, test_end]`` and splits the returns at ``test_start``, so positions carry across
the boundary as they would in live trading; the train slice gives the in-sample metric, the test
slice the out-of-sample one.

The study value is the metric of the out-of-sample returns of every fold joined end to end
(Sharpe by default); after each fold the running value is reported so a pruner can stop a
hopeless trial early. Per-fold metrics and the joined out-of-sample returns are kept as trial
user attributes, which is what the overfitting statistics and the walk-forward selection report
read afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.errors import ConfigError, DataError
from quantalloc.tuning.spaces import SearchSpace

Evaluator = Callable[[Mapping[str, Any], pd.Timestamp, pd.Timestamp], Any]
"""``evaluate(params, start, end)`` -> daily returns Series (or an object with ``.returns``)."""

PERIODS = 252
METRICS = ("sharpe", "score", "return_drawdown")

# Everything a trial records lives in ONE user attribute (one storage write per trial: on SQLite
# each write is a commit), a mapping with these keys (read back by quantalloc.tuning.study).
ATTR = "walk_forward"
ATTR_IS = "is_metric"
ATTR_OOS = "oos_metric"
ATTR_FOLD_TRAIN = "fold_train"
ATTR_FOLD_TEST = "fold_test"
ATTR_FOLD_RETURNS = "fold_test_returns"
ATTR_OOS_RETURNS = "oos_returns"
ATTR_OOS_DATES = "oos_span"


def wf_attrs(trial: Any) -> dict[str, Any]:
    """The walk-forward record of a (frozen) trial; empty when it has none."""
    return dict(trial.user_attrs.get(ATTR, {}))


@dataclass(frozen=True)
class Fold:
    """One walk-forward fold: fit on ``[train_start, train_end]``, test on the window after."""

    index: int
    train_start: pd.Timestamp
    train_end: pd.Timestamp
    test_start: pd.Timestamp
    test_end: pd.Timestamp

    def to_dict(self) -> dict[str, str]:
        """ISO dates, for JSON output."""
        return {
            k: getattr(self, k).date().isoformat()
            for k in ("train_start", "train_end", "test_start", "test_end")
        }


def make_folds(
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    n_folds: int = 3,
    train_chunks: int = 2,
    anchored: bool = False,
) -> list[Fold]:
    """Split ``[start, end]`` into ``n_folds + train_chunks`` equal calendar chunks.

    Fold ``i`` tests on chunk ``train_chunks + i`` and trains on the ``train_chunks`` chunks just
    before it (rolling) or on every chunk before it (``anchored``). Test windows do not overlap
    and together cover the last ``n_folds`` chunks.
    """
    s, e = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    if n_folds < 1 or train_chunks < 1:
        raise ConfigError(
            f"walk-forward needs n_folds >= 1 and train_chunks >= 1, got {n_folds}, {train_chunks}"
        )
    if e <= s:
        raise ConfigError(f"the tuning window ends ({e.date()}) before it starts ({s.date()})")
    n_chunks = n_folds + train_chunks
    days = (e - s).days
    if days < 7 * n_chunks:
        raise ConfigError(
            f"{days} days from {s.date()} to {e.date()} is too short for {n_folds} folds of "
            f"{train_chunks}+1 chunks (need >= 1 week per chunk); widen the window or use "
            "fewer folds"
        )
    edges = [s + pd.Timedelta(days=round(days * k / n_chunks)) for k in range(n_chunks + 1)]
    folds = []
    for i in range(n_folds):
        t0 = edges[0] if anchored else edges[i]
        cut = edges[train_chunks + i]
        folds.append(
            Fold(
                i,
                t0,
                cut - pd.Timedelta(days=1),
                cut,
                edges[train_chunks + i + 1] - pd.Timedelta(days=1) if i < n_folds - 1 else e,
            )
        )
    return folds


def _returns_of(result: Any) -> pd.Series:
    r = getattr(result, "returns", result)
    if not isinstance(r, pd.Series):
        raise DataError(
            f"evaluate() must return a returns Series or an object with .returns, got "
            f"{type(result).__name__}"
        )
    return r.astype(float).fillna(0.0)


def sharpe(returns: pd.Series | np.ndarray) -> float:
    """Annualised Sharpe ratio (252 days, ddof=1); 0 for a series that never moves."""
    r = np.asarray(returns, dtype=float)
    if r.size < 2:
        return 0.0
    sd = r.std(ddof=1)
    return float(r.mean() / sd * math.sqrt(PERIODS)) if sd > 1e-15 else 0.0


def cagr(returns: pd.Series | np.ndarray) -> float:
    """Compound annual growth of a daily return series."""
    r = np.asarray(returns, dtype=float)
    if r.size == 0:
        return 0.0
    growth = float(np.prod(1.0 + r))
    return growth ** (PERIODS / r.size) - 1.0 if growth > 0 else -1.0


def max_drawdown(returns: pd.Series | np.ndarray) -> float:
    """Worst peak-to-trough fall of compounded returns, as a positive fraction."""
    wealth = np.cumprod(1.0 + np.asarray(returns, dtype=float))
    if wealth.size == 0:
        return 0.0
    peak = np.maximum.accumulate(np.maximum(wealth, 1.0))
    return float(-(wealth / peak - 1.0).min())


def total_return(returns: pd.Series | np.ndarray) -> float:
    """Compounded return of the whole series."""
    return float(np.prod(1.0 + np.asarray(returns, dtype=float)) - 1.0)


def score(returns: pd.Series | np.ndarray) -> float:
    """Strategy score (backtest issue): ``(1 + Sharpe)(1 + total return) / (1 + max DD)``."""
    return (1.0 + sharpe(returns)) * (1.0 + total_return(returns)) / (1.0 + max_drawdown(returns))


def window_metrics(returns: pd.Series | np.ndarray) -> dict[str, float]:
    """The metrics reported for a window: sharpe, cagr, max_drawdown, score, days."""
    r = np.asarray(returns, dtype=float)
    return {
        "sharpe": sharpe(r),
        "cagr": cagr(r),
        "max_drawdown": max_drawdown(r),
        "total_return": total_return(r),
        "score": score(r),
        "days": int(r.size),
    }


_SCALAR: dict[str, Callable[[np.ndarray], float]] = {"sharpe": sharpe, "score": score}


class WalkForwardObjective:
    """Callable optuna objective scoring ``space``'s parameters out of sample.

    Parameters
    ----------
    evaluate
        ``evaluate(params, start, end)`` backtests one parameter set (see :data:`Evaluator`).
    space
        The search space the trial samples from.
    folds
        Walk-forward folds (see :func:`make_folds`).
    metric
        ``"sharpe"`` (default), ``"score"`` ((1 + Sharpe)(1 + return) / (1 + max drawdown)), or
        ``"return_drawdown"``: two objectives, CAGR (maximise) and max drawdown (minimise).
    min_days
        A fold's test window must hold at least this many returns, else DataError.
    """

    def __init__(
        self,
        *,
        evaluate: Evaluator,
        space: SearchSpace,
        folds: Sequence[Fold],
        metric: str = "sharpe",
        min_days: int = 5,
    ) -> None:
        if metric not in METRICS:
            raise ConfigError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
        if not folds:
            raise ConfigError("walk-forward needs at least one fold")
        self.evaluate = evaluate
        self.space = space
        self.folds = list(folds)
        self.metric = metric
        self.min_days = min_days

    @property
    def directions(self) -> list[str]:
        """optuna directions of the study this objective fills."""
        if self.metric == "return_drawdown":
            return ["maximize", "minimize"]
        return ["maximize"]

    @property
    def multi_objective(self) -> bool:
        """True for the return-versus-drawdown objective."""
        return len(self.directions) > 1

    def _value(self, r: np.ndarray) -> float:
        return _SCALAR[self.metric](r) if self.metric in _SCALAR else sharpe(r)

    def run_fold(self, params: Mapping[str, Any], fold: Fold) -> tuple[pd.Series, pd.Series]:
        """In-sample and out-of-sample returns of ``params`` on ``fold``."""
        r = _returns_of(self.evaluate(params, fold.train_start, fold.test_end))
        r = r.sort_index()
        train = r.loc[fold.train_start : fold.train_end]
        test = r.loc[fold.test_start : fold.test_end]
        if len(test) < self.min_days:
            raise DataError(
                f"fold {fold.index}: only {len(test)} returns between {fold.test_start.date()} "
                f"and {fold.test_end.date()}; the data do not cover the tuning window"
            )
        return train, test

    def __call__(self, trial: Any) -> float | tuple[float, float]:
        """Evaluate one trial (an ``optuna.Trial``); raises ``optuna.TrialPruned`` when pruned."""
        import optuna

        params = self.space.suggest(trial)
        train_vals: list[float] = []
        test_vals: list[float] = []
        pieces: list[pd.Series] = []
        for fold in self.folds:
            train, test = self.run_fold(params, fold)
            train_vals.append(self._value(train.to_numpy()))
            test_vals.append(self._value(test.to_numpy()))
            pieces.append(test)
            if not self.multi_objective:
                running = self._value(pd.concat(pieces).to_numpy())
                trial.report(running, fold.index)
                if trial.should_prune():
                    trial.set_user_attr(
                        ATTR, {ATTR_FOLD_TRAIN: train_vals, ATTR_FOLD_TEST: test_vals}
                    )
                    raise optuna.TrialPruned(f"pruned after fold {fold.index}: {running:.4g}")
        oos = pd.concat(pieces)
        oos_arr = oos.to_numpy()
        value: float | tuple[float, float]
        if self.multi_objective:
            value = (cagr(oos_arr), max_drawdown(oos_arr))
            oos_metric = sharpe(oos_arr)
        else:
            value = self._value(oos_arr)
            oos_metric = value
        record = {
            ATTR_FOLD_TRAIN: train_vals,
            ATTR_FOLD_TEST: test_vals,
            ATTR_IS: float(np.mean(train_vals)),
            ATTR_OOS: oos_metric,
            ATTR_FOLD_RETURNS: [len(p) for p in pieces],
            ATTR_OOS_RETURNS: [float(f"{x:.10g}") for x in oos_arr],
            ATTR_OOS_DATES: [oos.index[0].date().isoformat(), oos.index[-1].date().isoformat()],
        }
        trial.set_user_attr(ATTR, record)
        return value


__all__ = [
    "METRICS",
    "Evaluator",
    "Fold",
    "WalkForwardObjective",
    "cagr",
    "make_folds",
    "max_drawdown",
    "score",
    "sharpe",
    "total_return",
    "wf_attrs",
    "window_metrics",
]
