"""Performance metrics with the empyrical / quantstats conventions.

Every function takes simple (not log) periodic returns, one row per trading day, either a 1-D
array / Series (one strategy) or a 2-D array of shape ``(days, n)`` (one column per parameter set,
computed column by column in one vectorised pass). Conventions, as in empyrical:

- a year is ``periods`` = 252 trading days;
- the risk-free rate is 0 unless given (as a per-period rate);
- standard deviations use ``ddof=1``;
- max drawdown is the worst peak-to-trough fall of the compounded returns, with the starting
  capital counting as the first peak; :func:`max_drawdown` returns it **negative** (empyrical's
  sign), while :func:`score` and the ``max_drawdown`` entry of :func:`summary` use its **positive
  magnitude** (0.25 for a 25% fall), as does :func:`calmar` through ``abs``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

PERIODS_PER_YEAR = 252

METRIC_NAMES: tuple[str, ...] = (
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "win_rate",
    "exposure",
    "trades",
    "score",
)
"""Keys of :func:`summary`, in display order."""


def _arr(returns: Any) -> np.ndarray:
    out = np.asarray(returns, dtype=float)
    if out.ndim not in (1, 2):
        raise ValueError(f"returns must be 1-D or 2-D, got shape {out.shape}")
    return out


def _scalar(value: np.ndarray) -> Any:
    return float(value) if np.ndim(value) == 0 else value


def total_return(returns: Any) -> Any:
    """Compounded return: ``prod(1 + r) - 1`` (empyrical ``cum_returns_final``)."""
    r = _arr(returns)
    return _scalar(np.prod(1.0 + np.nan_to_num(r), axis=0) - 1.0)


def cagr(returns: Any, periods: int = PERIODS_PER_YEAR) -> Any:
    """CAGR: ``(1 + total) ** (periods / n) - 1`` (empyrical ``annual_return``)."""
    r = _arr(returns)
    n = r.shape[0]
    if n == 0:
        return _scalar(np.full(r.shape[1:], np.nan))
    growth = np.prod(1.0 + np.nan_to_num(r), axis=0)
    return _scalar(growth ** (periods / n) - 1.0)


def volatility(returns: Any, periods: int = PERIODS_PER_YEAR) -> Any:
    """Annual volatility ``std(r, ddof=1) * sqrt(periods)`` (empyrical ``annual_volatility``)."""
    r = _arr(returns)
    return _scalar(_std(r) * np.sqrt(periods))


def _std(r: np.ndarray) -> np.ndarray:
    if r.shape[0] < 2:
        return np.full(r.shape[1:], np.nan)
    return np.asarray(np.nanstd(r, axis=0, ddof=1))


def sharpe(returns: Any, risk_free: float = 0.0, periods: int = PERIODS_PER_YEAR) -> Any:
    """Sharpe ratio: ``mean(r - rf) / std(r - rf, ddof=1) * sqrt(periods)``; NaN when std is 0."""
    r = _arr(returns) - risk_free
    sd = _std(r)
    mean = np.nanmean(r, axis=0) if r.shape[0] else np.full(r.shape[1:], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(sd > 0, mean / sd * np.sqrt(periods), np.nan)
    return _scalar(out)


def downside_risk(returns: Any, required: float = 0.0, periods: int = PERIODS_PER_YEAR) -> Any:
    """Annualised downside deviation: ``sqrt(mean(min(r - required, 0) ** 2)) * sqrt(periods)``."""
    r = _arr(returns) - required
    below = np.minimum(r, 0.0)
    return _scalar(np.sqrt(np.nanmean(below**2, axis=0)) * np.sqrt(periods))


def sortino(returns: Any, required: float = 0.0, periods: int = PERIODS_PER_YEAR) -> Any:
    """Sortino ratio: ``mean(r - required) * periods / downside_risk`` (empyrical's form).

    The downside deviation averages the squared shortfalls over *all* periods (gains count as 0),
    as empyrical does; the ratio is NaN when there is no downside.
    """
    r = _arr(returns) - required
    dr = np.asarray(downside_risk(r + required, required, periods))
    mean = np.nanmean(r, axis=0) * periods
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(dr > 0, mean / dr, np.nan)
    return _scalar(out)


def drawdown(returns: Any) -> Any:
    """Drawdown at each period (0 at a new high, -0.2 when 20% below the running peak)."""
    r = _arr(returns)
    wealth = np.cumprod(1.0 + np.nan_to_num(r), axis=0)
    peak = np.maximum.accumulate(np.maximum(wealth, 1.0), axis=0)
    return wealth / peak - 1.0


def max_drawdown(returns: Any) -> Any:
    """Worst drawdown as a **negative** fraction (empyrical's sign); 0 when there was no fall."""
    r = _arr(returns)
    if r.shape[0] == 0:
        return _scalar(np.zeros(r.shape[1:]))
    return _scalar(np.min(drawdown(r), axis=0))


def calmar(returns: Any, periods: int = PERIODS_PER_YEAR) -> Any:
    """Calmar ratio: ``cagr / abs(max_drawdown)``; NaN when there was no drawdown (as empyrical)."""
    mdd = np.abs(np.asarray(max_drawdown(returns)))
    growth = np.asarray(cagr(returns, periods))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(mdd > 0, growth / mdd, np.nan)
    return _scalar(out)


def score(sharpe_ratio: Any, total: Any, max_dd: Any) -> Any:
    """Strategy score ``(1 + Sharpe) * (1 + total return) / (1 + |max drawdown|)``.

    ``max_dd`` enters as a positive magnitude (its sign is dropped), so a deeper drawdown always
    lowers the score; a NaN Sharpe (flat equity) counts as 0.
    """
    s = np.nan_to_num(np.asarray(sharpe_ratio, dtype=float), nan=0.0)
    out = (1.0 + s) * (1.0 + np.asarray(total, dtype=float))
    return _scalar(out / (1.0 + np.abs(np.asarray(max_dd, dtype=float))))


def summary(
    returns: Any,
    *,
    exposure: Any = np.nan,
    trades: Any = 0,
    wins: Any = 0,
    periods: int = PERIODS_PER_YEAR,
) -> dict[str, Any]:
    """All of :data:`METRIC_NAMES` for ``returns`` (per column when 2-D).

    ``exposure`` is the share of periods with an open position, ``trades`` the number of closed
    trades and ``wins`` how many of them made money net of costs (win rate = wins / trades, NaN
    without trades). ``max_drawdown`` here is the positive magnitude.
    """
    r = _arr(returns)
    tot = total_return(r)
    sh = sharpe(r, periods=periods)
    mdd = np.abs(np.asarray(max_drawdown(r)))
    n_trades = np.asarray(trades, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        win_rate = np.where(n_trades > 0, np.asarray(wins, dtype=float) / n_trades, np.nan)
    out = {
        "total_return": tot,
        "cagr": cagr(r, periods),
        "volatility": volatility(r, periods),
        "sharpe": sh,
        "sortino": sortino(r, periods=periods),
        "max_drawdown": _scalar(mdd),
        "calmar": calmar(r, periods),
        "win_rate": _scalar(win_rate),
        "exposure": _scalar(np.asarray(exposure, dtype=float)),
        "trades": _scalar(n_trades),
        "score": score(sh, tot, mdd),
    }
    if r.ndim == 1:
        out["trades"] = int(out["trades"])
    return out


def curve_returns(returns: np.ndarray) -> np.ndarray:
    """The returns the metrics measure: the equity curve's own (``equity.pct_change()``).

    When the first close finds the account untouched (a zero first return in every column),
    that close is the curve's starting point, not a session's return, and is left out, as
    empyrical does on a returns series made from an equity curve: counting it would add a
    zero-return day to every CAGR and Sharpe. A first session that moved the account (a
    position opened and marked that day) is a real return and stays; totals never change.
    """
    r = np.asarray(returns, dtype=float)
    if len(r) > 1 and np.all(r[0] == 0.0):
        return r[1:]
    return r


def returns_from_equity(equity: pd.Series, capital: float) -> pd.Series:
    """Simple returns of ``equity``; the first one is measured against the starting ``capital``."""
    prev = equity.shift(1)
    prev.iloc[0] = capital
    return (equity / prev - 1.0).rename("returns")
