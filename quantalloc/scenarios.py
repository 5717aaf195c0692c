"""Joint scenarios of every underlying's price at the horizon.

Two recipes, both seeded and reproducible:

``bootstrap`` (default)
    A circular moving-block bootstrap of the historical *joint* daily log returns (whole rows, so
    the cross-section's correlation and fat tails survive; blocks of ``block_length`` days keep
    short-range autocorrelation and volatility clustering). Each scenario sums ``ceil(h / b)``
    blocks, truncated to the horizon of ``h`` trading days.
``parametric``
    Multivariate normal horizon log returns with the historical correlation matrix.

Either way each column is then standardised and rescaled to the *current* implied-vol level:
``log(S_T / S_0) = (mu - sigma^2 / 2) tau + sigma sqrt(tau) z``, where ``z`` is the standardised
sample (mean 0, variance 1 per symbol), ``sigma`` the symbol's implied vol (times ``vol_scale``)
and ``mu`` the annual drift (risk-free rate plus any view). The shape of the joint distribution
comes from history; its scale from today's option market.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr

from quantalloc.errors import ConfigError, DataError

MIN_HISTORY_DAYS = 60


@dataclass(frozen=True, slots=True)
class ScenarioSet:
    """Joint scenarios: ``prices[s, j]`` is symbol ``j``'s horizon price in scenario ``s``."""

    symbols: tuple[str, ...]
    spot: np.ndarray
    prices: np.ndarray
    log_returns: np.ndarray
    horizon_days: int
    horizon_years: float
    method: str
    seed: int

    @property
    def n_scenarios(self) -> int:
        """Number of scenarios (rows)."""
        return int(self.prices.shape[0])

    def column(self, symbol: str) -> np.ndarray:
        """Horizon prices of ``symbol`` across scenarios."""
        return self.prices[:, self.symbols.index(symbol)]

    def frame(self) -> pd.DataFrame:
        """Horizon prices as a DataFrame (scenarios x symbols)."""
        return pd.DataFrame(self.prices, columns=list(self.symbols))


def joint_log_returns(closes: pd.DataFrame, lookback_days: int | None = None) -> pd.DataFrame:
    """Daily log returns of the columns of ``closes`` on the dates all of them trade.

    Raises DataError when fewer than ``MIN_HISTORY_DAYS`` common returns remain.
    """
    if closes.empty or closes.shape[1] == 0:
        raise DataError("no price history to build scenarios from; load at least one symbol")
    common = closes.dropna(how="any")
    if lookback_days is not None:
        common = common.iloc[-(lookback_days + 1) :]
    if (common <= 0).any().any():
        bad = common.columns[(common <= 0).any()].tolist()
        raise DataError(f"non-positive closes for {bad}; fix the price data")
    logs = pd.DataFrame(
        np.log(common.to_numpy(dtype=float)), index=common.index, columns=common.columns
    )
    rets = logs.diff().iloc[1:]
    if len(rets) < MIN_HISTORY_DAYS:
        raise DataError(
            f"only {len(rets)} daily returns common to all {closes.shape[1]} symbols "
            f"(need >= {MIN_HISTORY_DAYS}); give a longer history or fewer symbols"
        )
    return rets


def block_bootstrap(
    returns: np.ndarray, horizon: int, n: int, block_length: int, rng: np.random.Generator
) -> np.ndarray:
    """Sum of ``horizon`` daily rows drawn as circular blocks; shape (n, n_symbols).

    Uses prefix sums of the wrapped series, so the cost is O(n * blocks * symbols).
    """
    t, _ = returns.shape
    if horizon < 1 or n < 1 or block_length < 1:
        raise ConfigError(
            f"horizon, n and block_length must be >= 1 (got {horizon}, {n}, {block_length})"
        )
    b = min(block_length, horizon, t)
    k = -(-horizon // b)
    lengths = np.full(k, b)
    lengths[-1] = horizon - b * (k - 1)
    wrapped = np.concatenate([returns, returns[:b]], axis=0)
    prefix = np.vstack([np.zeros((1, returns.shape[1])), np.cumsum(wrapped, axis=0)])
    starts = rng.integers(0, t, size=(n, k))
    ends = starts + lengths[None, :]
    sums: np.ndarray = (prefix[ends] - prefix[starts]).sum(axis=1)
    return sums


def parametric_draws(
    returns: np.ndarray, horizon: int, n: int, rng: np.random.Generator
) -> np.ndarray:
    """Multivariate normal horizon returns with the daily covariance times ``horizon``."""
    cov = np.atleast_2d(np.cov(returns, rowvar=False)) * horizon
    std = np.sqrt(np.clip(np.diag(cov), 1e-18, None))
    corr = cov / np.outer(std, std)
    # eigen-clip: a sample correlation of many symbols over few days may be singular
    vals, vecs = np.linalg.eigh(corr)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    z = rng.standard_normal((n, corr.shape[0])) @ root.T
    out: np.ndarray = z * std
    return out


def rescale(
    draws: np.ndarray, vol: np.ndarray, drift: np.ndarray, horizon_years: float
) -> np.ndarray:
    """Standardise each column; give it mean ``(mu - vol^2/2) tau`` and sd ``vol sqrt(tau)``."""
    mean = draws.mean(axis=0)
    sd = draws.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    z = (draws - mean) / sd
    out: np.ndarray = (drift - 0.5 * vol**2) * horizon_years + vol * np.sqrt(horizon_years) * z
    return out


def build_scenarios(
    closes: pd.DataFrame,
    spot: np.ndarray | pd.Series | dict[str, float],
    vol: np.ndarray | pd.Series | dict[str, float],
    drift: np.ndarray | pd.Series | dict[str, float] | float,
    *,
    horizon_days: int,
    n_scenarios: int = 2000,
    method: str = "bootstrap",
    block_length: int = 5,
    lookback_days: int | None = 756,
    seed: int = 0,
    vol_scale: float = 1.0,
    trading_days: int = 252,
) -> ScenarioSet:
    """Joint horizon scenarios of the symbols in ``closes`` (columns), scaled to ``vol``.

    Parameters
    ----------
    closes
        Daily closes, one column per symbol (dates as index).
    spot, vol, drift
        Per symbol (same order as the columns, or keyed by symbol): today's price, annual implied
        vol, annual drift (a float applies to all).
    horizon_days
        Trading days to the horizon.
    """
    symbols = tuple(str(c) for c in closes.columns)
    spot_v = _vector(spot, symbols, "spot")
    vol_v = _vector(vol, symbols, "vol") * vol_scale
    drift_v = _vector(drift, symbols, "drift")
    if np.any(spot_v <= 0) or np.any(~np.isfinite(spot_v)):
        raise DataError(f"spot prices must be positive and finite, got {spot_v.tolist()}")
    if np.any(vol_v <= 0) or np.any(~np.isfinite(vol_v)):
        bad = [s for s, v in zip(symbols, vol_v, strict=True) if not (np.isfinite(v) and v > 0)]
        raise DataError(f"implied vol must be positive and finite; bad for {bad}")
    if horizon_days < 1:
        raise ConfigError(f"horizon must be at least 1 trading day, got {horizon_days}")
    rets = joint_log_returns(closes, lookback_days).to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    if method == "bootstrap":
        draws = block_bootstrap(rets, horizon_days, n_scenarios, block_length, rng)
    elif method == "parametric":
        draws = parametric_draws(rets, horizon_days, n_scenarios, rng)
    else:
        raise ConfigError(f"unknown scenario method {method!r}; use bootstrap or parametric")
    tau = horizon_days / trading_days
    logr = rescale(draws, vol_v, drift_v, tau)
    prices = spot_v[None, :] * np.exp(logr)
    return ScenarioSet(
        symbols=symbols,
        spot=spot_v,
        prices=prices,
        log_returns=logr,
        horizon_days=int(horizon_days),
        horizon_years=float(tau),
        method=method,
        seed=int(seed),
    )


def _vector(
    value: np.ndarray | pd.Series | dict[str, float] | float, symbols: tuple[str, ...], what: str
) -> np.ndarray:
    if isinstance(value, int | float):
        return np.full(len(symbols), float(value))
    if isinstance(value, dict | pd.Series):
        missing = [s for s in symbols if s not in value]
        if missing:
            raise DataError(f"no {what} for {missing}; give one per symbol")
        return np.array([float(value[s]) for s in symbols])
    arr = np.asarray(value, dtype=float).ravel()
    if arr.shape[0] != len(symbols):
        raise DataError(f"{what} has {arr.shape[0]} values for {len(symbols)} symbols")
    return arr


# ----------------------------------------------------------------------------- P&L per lot


@dataclass(frozen=True, slots=True)
class LegBook:
    """Every leg of every candidate, flat, grouped by candidate (legs of one candidate adjacent).

    ``units`` are signed units per lot (+ bought, - sold: quantity x lot size); ``kind`` is
    +1 call, -1 put, 0 stock; ``remaining`` the years a leg still has to run at the horizon
    (0 for legs expiring at the horizon); ``vol`` the vol used to mark a leg that still runs.
    """

    candidate: np.ndarray
    symbol: np.ndarray
    kind: np.ndarray
    units: np.ndarray
    strike: np.ndarray
    price: np.ndarray
    remaining: np.ndarray
    vol: np.ndarray
    n_candidates: int

    def starts(self) -> np.ndarray:
        """Index of each candidate's first leg (legs are grouped by candidate)."""
        return np.searchsorted(self.candidate, np.arange(self.n_candidates))


def leg_costs(book: LegBook, bid_ask: float, min_tick: float, commission: float) -> np.ndarray:
    """Trading cost per lot of each candidate: half the bid-ask spread per option leg on entry,
    plus ``commission`` per leg on the way in and out."""
    is_option = book.kind != 0
    spread = np.where(is_option, np.maximum(bid_ask * book.price, min_tick), 0.0)
    per_leg = 0.5 * spread * np.abs(book.units) + 2.0 * commission
    return np.bincount(book.candidate, weights=per_leg, minlength=book.n_candidates)


def horizon_values(book: LegBook, prices: np.ndarray, rate: float) -> np.ndarray:
    """Value per unit of every leg in every scenario at the horizon, shape (scenarios, legs).

    Stock legs are worth the scenario price; options expiring at the horizon their intrinsic
    value; options that still run are marked with Black-Scholes at their remaining time and vol.
    """
    s_t = prices[:, book.symbol]
    sign = book.kind.astype(float)
    values = np.where(book.kind == 0, s_t, np.maximum(sign * (s_t - book.strike), 0.0))
    running = np.flatnonzero((book.remaining > 0) & (book.kind != 0))
    if running.size:
        values[:, running] = bs_price(
            book.kind[running].astype(float),
            s_t[:, running],
            book.strike[running],
            book.remaining[running],
            rate,
            book.vol[running],
        )
    out: np.ndarray = values
    return out


def bs_price(
    sign: np.ndarray,
    spot: np.ndarray,
    strike: np.ndarray,
    t: np.ndarray,
    rate: float,
    vol: np.ndarray,
) -> np.ndarray:
    """Black-Scholes price only (``sign`` +1 call, -1 put; no dividend), for marking many legs.

    The same formula as :func:`quantalloc.options.black_scholes` without the Greeks, which
    would cost five times as much over a scenarios x legs grid.
    """
    sd = vol * np.sqrt(t)
    d1 = (np.log(spot / strike) + (rate + 0.5 * vol**2) * t) / sd
    d2 = d1 - sd
    disc = strike * np.exp(-rate * t)
    out: np.ndarray = sign * (spot * ndtr(sign * d1) - disc * ndtr(sign * d2))
    return out


def pnl_per_lot(
    book: LegBook,
    prices: np.ndarray,
    *,
    rate: float,
    bid_ask: float = 0.0,
    min_tick: float = 0.0,
    commission: float = 0.0,
) -> np.ndarray:
    """P&L per lot of each candidate in each scenario, net of costs: (scenarios, candidates)."""
    values = horizon_values(book, prices, rate)
    gains = (values - book.price[None, :]) * book.units[None, :]
    pnl: np.ndarray = np.add.reduceat(gains, book.starts(), axis=1)
    pnl -= leg_costs(book, bid_ask, min_tick, commission)[None, :]
    return pnl


__all__ = [
    "LegBook",
    "ScenarioSet",
    "block_bootstrap",
    "build_scenarios",
    "horizon_values",
    "joint_log_returns",
    "leg_costs",
    "parametric_draws",
    "pnl_per_lot",
    "rescale",
]
