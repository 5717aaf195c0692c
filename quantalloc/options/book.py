"""An option book as flat arrays: every leg of many candidates, valued at a horizon.

The vectorized economics of many candidate strategies at once (one row per leg, legs of a
candidate adjacent): the legs' values in each scenario at the horizon (intrinsic value, or a
Black-Scholes mark for legs that still run), the P&L per lot net of trading costs, the exact
max loss and max profit at the front expiry, the probability of profit under the pricing
distribution and the loss in a stress move. :class:`~quantalloc.options.strategy.Strategy`
does the same for one strategy at a time, with exact break-evens.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtri

from quantalloc.options.pricing import bs_price

NAKED_MARGIN = 0.20
"""Capital per lot of an unbounded-loss candidate: this fraction of the underlying's notional
(an exchange-style flat margin used to size and screen candidates)."""
POP_GRID = 1000
_Z = ndtri((np.arange(POP_GRID) + 0.5) / POP_GRID)


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

    def subset(self, keep: np.ndarray) -> LegBook:
        """The legs of the kept candidates (a boolean mask), renumbered 0..k-1 in order."""
        new_index = np.cumsum(keep) - 1
        mask = keep[self.candidate]
        return LegBook(
            candidate=new_index[self.candidate[mask]],
            symbol=self.symbol[mask],
            kind=self.kind[mask],
            units=self.units[mask],
            strike=self.strike[mask],
            price=self.price[mask],
            remaining=self.remaining[mask],
            vol=self.vol[mask],
            n_candidates=int(keep.sum()),
        )

    def on_own_columns(self) -> LegBook:
        """The same legs, each candidate reading price column ``candidate`` (its own grid)."""
        return dataclasses.replace(self, symbol=self.candidate)

    def pnl(self, prices: np.ndarray, rate: float) -> np.ndarray:
        """P&L per lot of each candidate in each price row, before costs: (rows, candidates)."""
        gains = horizon_values(self, prices, rate)  # a fresh array: turned into gains in place
        gains -= self.price[None, :]
        gains *= self.units[None, :]
        out: np.ndarray = np.add.reduceat(gains, self.starts(), axis=1)
        return out


def leg_costs(book: LegBook, bid_ask: float, min_tick: float, commission: float) -> np.ndarray:
    """Trading cost per lot of each candidate: half the bid-ask spread per option leg on entry,
    plus ``commission`` per leg on the way in and out."""
    is_option = book.kind != 0
    spread = np.where(is_option, np.maximum(bid_ask * book.price, min_tick), 0.0)
    per_leg = 0.5 * spread * np.abs(book.units) + 2.0 * commission
    return np.bincount(book.candidate, weights=per_leg, minlength=book.n_candidates)


def horizon_values(book: LegBook, prices: np.ndarray, rate: float) -> np.ndarray:
    """Value per unit of every leg in every scenario at the horizon, shape (scenarios, legs)
    (see :func:`leg_values`); leg ``i`` reads price column ``book.symbol[i]``.

    Candidates share legs (on the US solve 1,916 legs are 866 distinct): each distinct
    (symbol, kind, strike, remaining, vol) is valued once and spread over the legs that hold
    it; the values are elementwise, so these are the same numbers bit for bit.
    """
    spec = np.stack([book.symbol, book.kind, book.strike, book.remaining, book.vol], axis=1)
    _, first, back = np.unique(spec.astype(float), axis=0, return_index=True, return_inverse=True)
    values = leg_values(
        book.kind[first],
        book.strike[first],
        book.remaining[first],
        book.vol[first],
        prices[:, book.symbol[first]],
        rate,
    )
    out: np.ndarray = values[:, back.ravel()]
    return out


def leg_values(
    kind: np.ndarray,
    strike: np.ndarray,
    remaining: np.ndarray,
    vol: np.ndarray,
    s_t: np.ndarray,
    rate: float,
) -> np.ndarray:
    """Value per unit of legs at the horizon given their underlying's price there, shape of
    ``s_t`` (scenarios, legs).

    ``kind`` is +1 call, -1 put, 0 stock (or a forward). Stock legs are worth the price; options
    expiring at the horizon (``remaining`` 0) their intrinsic value; options that still run are
    marked with Black-Scholes at their ``remaining`` years and ``vol``.
    """
    # intrinsic values in place (a scenarios x legs array and its temporaries dominate the cost)
    values = s_t - strike[None, :]
    values *= kind.astype(float)[None, :]
    np.maximum(values, 0.0, out=values)
    stock = np.flatnonzero(kind == 0)
    if stock.size:
        values[:, stock] = s_t[:, stock]
    running = np.flatnonzero((remaining > 0) & (kind != 0))
    if running.size:
        values[:, running] = bs_price(
            kind[running].astype(float),
            s_t[:, running],
            strike[running],
            remaining[running],
            rate,
            vol[running],
        )
    out: np.ndarray = values
    return out


def pnl_per_lot(
    book: LegBook,
    prices: np.ndarray,
    *,
    rate: float,
    bid_ask: float = 0.0,
    min_tick: float = 0.0,
    commission: float = 0.0,
    leg_cost: np.ndarray | None = None,
) -> np.ndarray:
    """P&L per lot of each candidate in each scenario, net of costs: (scenarios, candidates).

    ``leg_cost`` (per lot, one per leg) replaces the flat rule of :func:`leg_costs` when given.
    """
    pnl = book.pnl(prices, rate)
    if leg_cost is None:
        costs = leg_costs(book, bid_ask, min_tick, commission)
    else:
        costs = np.bincount(book.candidate, weights=leg_cost, minlength=book.n_candidates)
    pnl -= costs[None, :]
    return pnl


def payoff_extremes(
    book: LegBook, premium: np.ndarray, cand: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Max loss and max profit per lot at the front expiry (inf where unbounded)."""
    knots = np.zeros((n, 6))
    strikes_by = [[0.0] for _ in range(n)]
    for c, k, kind in zip(cand, book.strike, book.kind, strict=True):
        if kind != 0:
            strikes_by[c].append(float(k))
    for c, ks in enumerate(strikes_by):
        top = max(ks) * 2.0 + 1.0
        row = (ks + [top] * 6)[:6]
        knots[c] = row
    s_leg = knots[cand]  # (legs, 6)
    sign = book.kind[:, None].astype(float)
    val = np.where(
        book.kind[:, None] == 0, s_leg, np.maximum(sign * (s_leg - book.strike[:, None]), 0.0)
    )
    # legs that still run after the front expiry (calendar) are valued at intrinsic here: the
    # calendar's max loss is replaced by its debit by the caller
    pnl = np.zeros((n, 6))
    np.add.at(pnl, cand, val * book.units[:, None])
    pnl -= premium[:, None]
    slope = np.bincount(
        cand, weights=book.units * ((book.kind == 1) | (book.kind == 0)), minlength=n
    )
    worst = pnl.min(axis=1)
    best = pnl.max(axis=1)
    max_loss = np.where(slope < -1e-12, np.inf, np.maximum(-worst, 0.0))
    max_profit = np.where(slope > 1e-12, np.inf, np.maximum(best, 0.0))
    return max_loss, max_profit


def probability_of_profit(
    book: LegBook,
    table: pd.DataFrame,
    atm_vol: dict[str, float],
    rate: float,
    front_t: np.ndarray,
    n: int,
) -> np.ndarray:
    """P(P&L > 0 at the front expiry) under the lognormal pricing distribution.

    Candidates on one symbol with one front expiry share a price grid, so the legs they share
    are valued once (:func:`horizon_values`); each grid column is the same elementwise formula,
    so these are the numbers of one grid per candidate, bit for bit."""
    vol = table["symbol"].map(atm_vol).to_numpy(dtype=float)
    spot = table["spot"].to_numpy(dtype=float)
    codes = pd.factorize(table["symbol"])[0]
    _, first, column = np.unique(
        np.stack([codes.astype(float), front_t], axis=1), axis=0, return_index=True,
        return_inverse=True,
    )  # fmt: skip
    vol, spot, t = vol[first], spot[first], front_t[first]
    grid = spot[None, :] * np.exp(
        (rate - 0.5 * vol**2)[None, :] * t[None, :] + (vol * np.sqrt(t))[None, :] * _Z[:, None]
    )
    shared = dataclasses.replace(book, symbol=column.ravel()[book.candidate])
    pnl = shared.pnl(grid, rate)
    out: np.ndarray = (pnl > 0).mean(axis=0)
    return out


def stress_loss(book: LegBook, spot: np.ndarray, move: float, rate: float) -> np.ndarray:
    """Loss per lot at the front expiry after a +-``move`` x spot move (the larger of the two)."""
    n = book.n_candidates
    cols = np.arange(n)
    worst = np.zeros(n)
    for m in (1.0 - move, 1.0 + move):
        grid = (spot * m)[None, :]
        pnl = book.on_own_columns().pnl(grid, rate)[0]
        worst = np.maximum(worst, -pnl[cols])
    return worst


__all__ = [
    "NAKED_MARGIN",
    "POP_GRID",
    "LegBook",
    "horizon_values",
    "leg_costs",
    "leg_values",
    "payoff_extremes",
    "pnl_per_lot",
    "probability_of_profit",
    "stress_loss",
]
