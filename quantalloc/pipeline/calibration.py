"""Scenarios that price the market: joint horizon prices calibrated to forwards and option mids.

With no view, the scenario set must not disagree with the market: per symbol the expected
horizon price is the forward ``S e^{r h}``, and the discounted expected value at the horizon of
every listed option used (its intrinsic value when it expires there, its mark when it runs on)
is its mid within its half-spread. Two recipes keep the bootstrap's joint shape:

``copula`` (the default)
    Each symbol's column is mapped, rank for rank, onto the horizon distribution its smile
    implies (Breeden and Litzenberger 1978: the risk-neutral CDF is ``1 + e^{rh} dC/dK``), so
    the bootstrap's copula (every rank dependence of the cross-section) is kept exactly and each
    marginal is the market's. A scenario of rank ``r`` takes the mean of the implied quantile
    function over its cell ``[r/n, (r+1)/n]`` (which makes the forward exact up to the grid).
    The small quadrature error left on single contracts is removed by entropy pooling on those
    contracts (:mod:`quantalloc.pipeline.entropy`), which then hardly moves the probabilities.
``entropy``
    The bootstrap scenarios (rescaled to the ATM vol) keep their prices and get probabilities of
    minimum relative entropy that meet every constraint (Meucci 2008). With many symbols, each
    with its own skew, one weight vector must carry every marginal at once, so the effective
    number of scenarios falls and the joint shape is bent; the measurements are in
    ``benchmarks/bench_calibration.py``.

A leg still running at the horizon is marked with Black-Scholes at its *forward* implied vol:
the vol at the remaining time that makes its expected discounted mark equal its mid today
(:func:`forward_vols`), so a calendar earns no term-structure edge by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr

from quantalloc.errors import ConfigError, DataError
from quantalloc.options.book import leg_values
from quantalloc.options.implied_vol import implied_vol
from quantalloc.options.pricing import bs_price
from quantalloc.pipeline.entropy import Pooled, entropy_pooling

METHODS: tuple[str, ...] = ("copula", "entropy")
GRID_MULTIPLE = 4
MARGINAL_ITERATIONS = 300
GRID_POINTS = 6001
GRID_SDS = 8.0


@dataclass(frozen=True)
class PriceTargets:
    """What the scenarios must price: one row per contract (or forward).

    ``kind`` is +1 call, -1 put, 0 the forward; ``column`` the symbol's scenario column;
    ``remaining`` the years a contract runs past the horizon (0: it expires there) and ``vol`` the
    vol marking it there; ``mid`` and ``half_spread`` are today's prices per unit.
    """

    symbol: np.ndarray
    column: np.ndarray
    kind: np.ndarray
    strike: np.ndarray
    remaining: np.ndarray
    vol: np.ndarray
    mid: np.ndarray
    half_spread: np.ndarray

    def __len__(self) -> int:
        return int(self.kind.shape[0])

    def values(self, prices: np.ndarray, rate: float, horizon: float) -> np.ndarray:
        """Discounted value of every target in every scenario, shape ``(targets, scenarios)``."""
        out = leg_values(
            self.kind, self.strike, self.remaining, self.vol, prices[:, self.column], rate
        )
        result: np.ndarray = (out * np.exp(-rate * horizon)).T
        return result

    def select(self, mask: np.ndarray, column: int | None = None) -> PriceTargets:
        """The rows of ``mask`` (their scenario column set to ``column`` when given)."""
        parts = {f: getattr(self, f)[mask] for f in PriceTargets.__dataclass_fields__}
        if column is not None:
            parts["column"] = np.full(int(np.sum(mask)), column)
        return PriceTargets(**parts)

    def frame(self) -> pd.DataFrame:
        """The targets as a table."""
        return pd.DataFrame(
            {
                "symbol": self.symbol,
                "kind": pd.Series(self.kind).map({1: "call", -1: "put", 0: "forward"}),
                "strike": self.strike,
                "remaining": self.remaining,
                "mid": self.mid,
                "half_spread": self.half_spread,
            }
        )


def forward_targets(symbols: tuple[str, ...], present: np.ndarray) -> PriceTargets:
    """One forward row per symbol: the discounted horizon price must be ``present`` (the
    forward to the horizon discounted, ``F e^{-rh}``; spot when the carry is the rate)."""
    n = len(symbols)
    z = np.zeros(n)
    return PriceTargets(
        symbol=np.asarray(symbols, dtype=object),
        column=np.arange(n),
        kind=np.zeros(n, dtype=int),
        strike=z,
        remaining=z,
        vol=z,
        mid=np.asarray(present, dtype=float),
        half_spread=z,
    )


def chain_targets(
    fills: pd.DataFrame,
    column: int,
    *,
    session: pd.Timestamp,
    horizon_expiry: pd.Timestamp,
    spot: float,
    atm_vol: float,
    max_sds: float = 2.0,
) -> PriceTargets:
    """The out-of-the-money contracts of a chain's fills expiring at ``horizon_expiry``, within
    ``max_sds`` standard deviations (at ``atm_vol``) of spot: mid = the fill rule's reference,
    half-spread = half of buy minus sell."""
    f = fills.loc[fills["expiry"] == pd.Timestamp(horizon_expiry)]
    t = (pd.Timestamp(horizon_expiry) - session).days / 365.0
    x = np.log(f["strike"].to_numpy(float) / spot) / (atm_vol * np.sqrt(t))
    otm = np.where(f["kind"].to_numpy() == "call", x >= 0, x < 0)
    f = f.loc[otm & (np.abs(x) <= max_sds) & (f["ref"].to_numpy(float) > 0)]
    n = len(f)
    return PriceTargets(
        symbol=np.full(
            n, str(fills.get("symbol", pd.Series([""])).iloc[0]) if n else "", dtype=object
        ),
        column=np.full(n, column),
        kind=np.where(f["kind"].to_numpy() == "call", 1, -1),
        strike=f["strike"].to_numpy(float),
        remaining=np.zeros(n),
        vol=f["implied_vol"].to_numpy(float),
        mid=f["ref"].to_numpy(float),
        half_spread=0.5 * (f["buy"].to_numpy(float) - f["sell"].to_numpy(float)),
    )


def concat_targets(parts: list[PriceTargets]) -> PriceTargets:
    """Rows of several target sets, in order."""
    fields = PriceTargets.__dataclass_fields__
    return PriceTargets(**{f: np.concatenate([getattr(p, f) for p in parts]) for f in fields})


def smooth_smile(
    targets: PriceTargets, forward: float, atm_vol: float, rate: float, horizon: float
) -> Callable[[np.ndarray], np.ndarray]:
    """A smooth smile through the contracts' Black-76 vols: a quadratic in log-moneyness
    (least squares), flat beyond the quoted range, kept within [0.3, 3] x the ATM vol; the flat
    ATM vol when fewer than three contracts give a vol."""
    opt = (targets.kind != 0) & (targets.remaining <= 0)
    iv = np.full(int(opt.sum()), np.nan)
    if opt.any():
        iv = implied_vol(
            np.where(targets.kind[opt] > 0, "call", "put"),
            targets.mid[opt],
            forward * np.exp(-rate * horizon),
            targets.strike[opt],
            horizon,
            rate,
        )
    x = np.log(targets.strike[opt] / forward)
    ok = np.isfinite(iv) & (iv > 0)
    if ok.sum() < 3:
        return lambda k: np.full(np.shape(k), atm_vol)
    coef = np.polyfit(x[ok], iv[ok], 2)
    lo, hi = float(x[ok].min()), float(x[ok].max())
    return lambda k: np.clip(
        np.polyval(coef, np.clip(np.log(np.asarray(k) / forward), lo, hi)),
        0.3 * atm_vol,
        3.0 * atm_vol,
    )


def implied_quantiles(
    smile: Callable[[np.ndarray], np.ndarray], forward: float, horizon: float, m: int
) -> np.ndarray:
    """``m`` equal-probability quantiles of the horizon price a smile implies.

    The undiscounted call curve ``C(K) = F N(d1) - K N(d2)`` at the smile's vols on a fine grid
    of strikes gives the CDF ``1 + dC/dK`` (Breeden-Litzenberger), clipped to [0, 1] and made
    non-decreasing, then inverted at the cell midpoints ``(i + 1/2) / m``.
    """
    atm = float(np.asarray(smile(np.array([forward])))[0])
    width = GRID_SDS * max(atm, 0.05) * np.sqrt(horizon)
    k = forward * np.exp(np.linspace(-2.0 * width, width, GRID_POINTS))
    sd = np.maximum(np.asarray(smile(k), dtype=float), 1e-4) * np.sqrt(horizon)
    d1 = (np.log(forward / k) + 0.5 * sd**2) / sd
    call = forward * ndtr(d1) - k * ndtr(d1 - sd)
    cdf = np.maximum.accumulate(np.clip(1.0 + np.gradient(call, k), 0.0, 1.0))
    cdf[0], cdf[-1] = 0.0, 1.0
    first = np.searchsorted(cdf, 0.0, side="right") - 1
    last = np.searchsorted(cdf, 1.0, side="left")
    out: np.ndarray = np.interp(
        (np.arange(m) + 0.5) / m, cdf[first : last + 1], k[first : last + 1]
    )
    return out


def marginal(
    forward: float,
    atm_vol: float,
    targets: PriceTargets,
    *,
    rate: float,
    horizon: float,
    tolerance: float,
    points: int,
    max_iterations: int = MARGINAL_ITERATIONS,
) -> tuple[np.ndarray, Pooled]:
    """The horizon distribution one symbol's prices imply, as a weighted grid.

    The grid is ``points`` quantiles of the distribution of a smooth smile through the
    contracts (:func:`smooth_smile`, :func:`implied_quantiles`), uniform as a prior; entropy
    pooling on it with this symbol's rows alone then meets each price within its tolerance.
    """
    smile = smooth_smile(targets, forward, atm_vol, rate, horizon)
    grid = implied_quantiles(smile, forward, horizon, points)
    rows = targets.values(grid[:, None], rate, horizon)
    prior = np.full(points, 1.0 / points)
    pooled = entropy_pooling(
        prior, rows, targets.mid, tolerance * targets.half_spread, max_iterations=max_iterations
    )
    return grid, pooled


def cell_means(grid: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """``n`` equal-probability cells of a discrete distribution, each at its conditional mean.

    The integral of the quantile function ``G(u)`` is linear between the cumulative weights, so
    the cell means ``n (G((i+1)/n) - G(i/n))`` are exact and their average is the mean.
    """
    order = np.argsort(grid, kind="stable")
    x, w = grid[order], weights[order]
    cum_w = np.concatenate([[0.0], np.cumsum(w)])
    cum_wx = np.concatenate([[0.0], np.cumsum(w * x)])
    cum_w[-1] = 1.0
    g = np.interp(np.arange(n + 1) / n, cum_w, cum_wx)
    out: np.ndarray = np.diff(g) * n
    return out


def map_marginals(
    prices: np.ndarray,
    forwards: np.ndarray,
    atm_vol: np.ndarray,
    targets: PriceTargets,
    *,
    rate: float,
    horizon: float,
    tolerance: float,
) -> tuple[np.ndarray, list[Pooled]]:
    """Each column moved, rank for rank, to the cell means of its implied distribution."""
    n, j = prices.shape
    out = np.empty_like(prices, dtype=float)
    pooled = []
    for c in range(j):
        mine = targets.select(targets.column == c, column=0)
        grid, pool = marginal(
            float(forwards[c]),
            float(atm_vol[c]),
            mine,
            rate=rate,
            horizon=horizon,
            tolerance=tolerance,
            points=GRID_MULTIPLE * n,
        )
        pooled.append(pool)
        ranks = np.argsort(np.argsort(prices[:, c], kind="stable"), kind="stable")
        out[:, c] = cell_means(grid, pool.probabilities, n)[ranks]
    return out, pooled


@dataclass(frozen=True)
class Calibrated:
    """Calibrated horizon prices and probabilities, with the repricing of every target."""

    prices: np.ndarray
    probabilities: np.ndarray
    method: str
    repricing: pd.DataFrame
    pooled: Pooled

    @property
    def effective_scenarios(self) -> float:
        """Kish's effective number of scenarios of the probabilities."""
        return self.pooled.effective_scenarios


def calibrate(
    prices: np.ndarray,
    forwards: np.ndarray,
    atm_vol: np.ndarray,
    targets: PriceTargets,
    *,
    rate: float,
    horizon: float,
    method: str = "copula",
    tolerance: float = 1.0,
    max_iterations: int = MARGINAL_ITERATIONS,
) -> Calibrated:
    """Calibrate joint horizon ``prices`` (scenarios x symbols) to the market.

    Parameters
    ----------
    prices
        The bootstrap's horizon prices, one column per symbol.
    forwards, atm_vol
        Per column, the forward to the horizon and the ATM implied vol (the tail grid's scale).
    targets
        Forwards and the contracts expiring at the horizon (:class:`PriceTargets`).
    rate, horizon
        Risk-free rate and the horizon in years (calendar days / 365, as the option prices).
    method
        ``copula`` or ``entropy`` (see the module notes).
    tolerance
        Fraction of each contract's half-spread allowed as a repricing error.
    max_iterations
        Work limit of the ``entropy`` method's joint dual.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown calibration method {method!r}; use {' or '.join(METHODS)}")
    if horizon <= 0:
        raise ConfigError(f"the calibration horizon must be positive, got {horizon} years")
    if prices.shape[1] != len(atm_vol) or prices.shape[1] != len(forwards):
        raise DataError(
            f"calibrate: {prices.shape[1]} scenario columns, {len(forwards)} forwards, "
            f"{len(atm_vol)} vols; give one of each per symbol"
        )
    n = prices.shape[0]
    if method == "copula":
        prices, parts = map_marginals(
            prices, forwards, atm_vol, targets, rate=rate, horizon=horizon, tolerance=tolerance
        )
        uniform = np.full(n, 1.0 / n)
        pooled = Pooled(
            uniform,
            np.zeros(0),
            np.zeros(0),
            sum(p.iterations for p in parts),
            all(p.converged for p in parts),
            0.0,
        )
    else:
        rows = targets.values(prices, rate, horizon)
        pooled = entropy_pooling(
            np.full(n, 1.0 / n),
            rows,
            targets.mid,
            tolerance * targets.half_spread,
            max_iterations=max_iterations,
        )
    rows = targets.values(prices, rate, horizon)
    return Calibrated(
        prices, pooled.probabilities, method, repricing(rows, pooled.probabilities, targets), pooled
    )


def repricing(rows: np.ndarray, probabilities: np.ndarray, targets: PriceTargets) -> pd.DataFrame:
    """Per target: the scenario price, its error against the mid, the error over the half-spread."""
    model = rows @ probabilities
    error = model - targets.mid
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(
            targets.half_spread > 0,
            np.abs(error) / targets.half_spread,
            np.where(error == 0, 0.0, np.inf),
        )
    return targets.frame().assign(model=model, error=error, spread_ratio=ratio)


def forward_vols(
    column: np.ndarray,
    probabilities: np.ndarray,
    kind: np.ndarray,
    strike: np.ndarray,
    remaining: np.ndarray,
    mid: np.ndarray,
    *,
    rate: float,
    horizon: float,
    iterations: int = 60,
) -> np.ndarray:
    """Per running contract, the vol at its remaining time whose expected mark is its mid.

    ``column`` holds the horizon prices of each contract's underlying, shape (scenarios,
    contracts). The discounted expected Black-Scholes mark rises with the vol, so a bisection
    on [0.005, 5] (``iterations`` halvings: a work limit) finds it; a mid below the mark at the
    lowest vol (or above the highest) gets that bound.
    """
    lo = np.full(kind.shape[0], 0.005)
    hi = np.full(kind.shape[0], 5.0)
    disc = np.exp(-rate * horizon)
    sign = kind.astype(float)
    for _ in range(iterations):
        mid_vol = 0.5 * (lo + hi)
        mark = bs_price(sign, column, strike, remaining, rate, mid_vol)
        value = disc * (probabilities @ mark)
        above = value > mid
        hi = np.where(above, mid_vol, hi)
        lo = np.where(above, lo, mid_vol)
    out: np.ndarray = 0.5 * (lo + hi)
    return out


__all__ = [
    "METHODS",
    "Calibrated",
    "PriceTargets",
    "calibrate",
    "cell_means",
    "concat_targets",
    "forward_targets",
    "forward_vols",
    "map_marginals",
    "marginal",
    "repricing",
]
