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


__all__ = [
    "ScenarioSet",
    "block_bootstrap",
    "build_scenarios",
    "joint_log_returns",
    "parametric_draws",
    "rescale",
]
