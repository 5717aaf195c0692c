"""Scenarios that price the market: joint horizon prices calibrated to forwards and option mids.

With no view, the scenario set must not disagree with the market: per symbol the expected
horizon price is the forward ``S e^{r h}``, and the discounted expected value at the horizon of
every listed option used (its intrinsic value when it expires there, its mark when it runs on)
is its mid within its half-spread. Two recipes keep the bootstrap's joint shape:

``copula`` (the default)
    Each symbol's column is mapped, rank for rank, onto the horizon distribution its quotes
    imply (:mod:`quantalloc.pipeline.implied`: atoms from a smile through the quotes' vols,
    Breeden and Litzenberger 1978, exact at every quoted strike and at the forward), so the
    bootstrap's copula (every rank dependence of the cross-section) is kept exactly and each
    marginal is the market's. A scenario of rank ``r`` takes the mean of the implied quantile
    function over its cell ``[r/n, (r+1)/n]``, which keeps the forward exact; the cells are
    narrow where options are struck, so the contracts keep their prices to a small fraction of
    their spreads. Only quotes no distribution can meet (a butterfly arbitrage wider than the
    spreads, common in closing prices) call on entropy pooling of that symbol's atoms
    (:mod:`quantalloc.pipeline.entropy`), which misses them by the least amount.
``entropy``
    The bootstrap scenarios (rescaled to the ATM vol) keep their prices and get probabilities of
    minimum relative entropy that meet every constraint (Meucci 2008). With many symbols, each
    with its own skew, one weight vector must carry every marginal at once, so the effective
    number of scenarios falls and the joint shape is bent; the measurements are in
    ``benchmarks/bench_calibration.py``.

A leg still running at the horizon is marked with Black-Scholes at its *forward* implied vol:
the vol at the remaining time that makes its expected discounted mark equal its mid today
(:func:`quantalloc.pipeline.horizon.forward_vols`), so a calendar earns no term-structure edge
by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from quantalloc.errors import ConfigError, DataError
from quantalloc.options.book import leg_values
from quantalloc.pipeline.entropy import Pooled, entropy_pooling
from quantalloc.pipeline.implied import implied_atoms, quote_smile

METHODS: tuple[str, ...] = ("copula", "entropy")
GRID_MULTIPLE = 2
POOL_CELLS = 4
MARGINAL_ITERATIONS = 300


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
    """The horizon distribution one symbol's prices imply, as ``points``-odd weighted atoms.

    The atoms of the smile through the contracts (:mod:`quantalloc.pipeline.implied`) price each
    contract at its quote wherever the quotes admit a distribution; only where they do not (a
    butterfly arbitrage wider than the spreads) does entropy pooling with this symbol's rows
    move the masses, by the least relative entropy, to meet each price within its tolerance.
    """
    opt = (targets.kind != 0) & (targets.remaining <= 0)
    smile = quote_smile(
        targets.kind[opt],
        targets.strike[opt],
        targets.mid[opt],
        targets.half_spread[opt],
        forward=forward,
        atm_vol=atm_vol,
        rate=rate,
        horizon=horizon,
    )
    values, mass = implied_atoms(smile, forward, horizon, targets.strike[opt], points)
    rows = targets.values(values[:, None], rate, horizon)
    band = tolerance * targets.half_spread
    miss = np.abs(rows @ mass - targets.mid) - band
    if np.all(miss <= 1e-9 * np.maximum(np.abs(targets.mid), 1.0)):
        return values, Pooled(mass, np.zeros(len(targets)), np.zeros(len(targets)), 0, True, 0.0)
    # pooled on the distribution condensed to POOL_CELLS of the atoms each (equal-probability
    # cells at their conditional means): the dual's work falls by that factor
    cells = max(points // POOL_CELLS, 2)
    values = cell_means(values, mass, cells)
    rows = targets.values(values[:, None], rate, horizon)
    prior = np.full(cells, 1.0 / cells)
    return values, entropy_pooling(prior, rows, targets.mid, band, max_iterations=max_iterations)


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


def map_ranks(prices: np.ndarray, marginals: list[tuple[np.ndarray, Pooled]]) -> np.ndarray:
    """Each column of ``prices`` moved, rank for rank, to the cell means of its marginal (a grid
    and its probabilities, as :func:`marginal` gives them)."""
    n = prices.shape[0]
    out = np.empty_like(prices, dtype=float)
    for c, (grid, pool) in enumerate(marginals):
        ranks = np.argsort(np.argsort(prices[:, c], kind="stable"), kind="stable")
        out[:, c] = cell_means(grid, pool.probabilities, n)[ranks]
    return out


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
        marginals = [
            marginal(
                float(forwards[c]),
                float(atm_vol[c]),
                targets.select(targets.column == c, column=0),
                rate=rate,
                horizon=horizon,
                tolerance=tolerance,
                points=GRID_MULTIPLE * n,
            )
            for c in range(prices.shape[1])
        ]
        prices = map_ranks(prices, marginals)
        parts = [pool for _, pool in marginals]
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


__all__ = [
    "METHODS",
    "Calibrated",
    "PriceTargets",
    "calibrate",
    "cell_means",
    "concat_targets",
    "forward_targets",
    "map_ranks",
    "marginal",
    "repricing",
]
