"""The candidates' P&L at one horizon under calibrated, view-tilted scenarios.

One horizon, the nearest expiry offered (the market state's DTE window chooses the expiries),
in calendar days / 365 like every option price. Steps:

1. joint bootstrap scenarios (:mod:`quantalloc.pipeline.scenarios`);
2. calibrated to the market (:mod:`quantalloc.pipeline.calibration`): per symbol the forward and
   the mids of the option legs expiring at the horizon, each within its half-spread;
3. every leg still running at the horizon is marked at its forward implied vol (the vol at its
   remaining time whose expected mark is its mid), so expiries compete on equal terms;
4. the views tilt the probabilities (:mod:`quantalloc.pipeline.views`) and the edge of every
   candidate is split among them (:mod:`quantalloc.pipeline.edge`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from quantalloc.options.book import LegBook
from quantalloc.options.pricing import bs_price_vega
from quantalloc.pipeline.calibration import (
    Calibrated,
    PriceTargets,
    calibrate,
    concat_targets,
    forward_targets,
)
from quantalloc.pipeline.edge import attribute
from quantalloc.pipeline.views import View, apply_views

NEWTON_STEPS = 8
CONVERGED = 1e-12  # a vol step this small (relative) ends a leg's Newton steps


@dataclass(frozen=True)
class LegPrices:
    """Per leg of a book: its mid, half-spread and fees per unit (the spread paid is in the
    difference between its fill ``book.price`` and its mid, or in ``half`` for a model price)."""

    mid: np.ndarray
    half: np.ndarray
    spread_paid: np.ndarray
    fees: np.ndarray


def leg_targets(book: LegBook, legs: LegPrices) -> PriceTargets:
    """The distinct option legs expiring at the horizon, as calibration targets."""
    expiring = np.flatnonzero((book.kind != 0) & (book.remaining <= 0))
    seen: dict[tuple[int, int, float], int] = {}
    for i in expiring:
        seen.setdefault((int(book.symbol[i]), int(book.kind[i]), float(book.strike[i])), int(i))
    idx = np.array(list(seen.values()), dtype=int)
    return PriceTargets(
        symbol=book.symbol[idx].astype(object),
        column=book.symbol[idx].astype(int),
        kind=book.kind[idx].astype(int),
        strike=book.strike[idx].astype(float),
        remaining=np.zeros(idx.size),
        vol=book.vol[idx].astype(float),
        mid=legs.mid[idx],
        half_spread=legs.half[idx],
    )


def forward_vols(
    book: LegBook,
    prices: np.ndarray,
    probabilities: np.ndarray,
    mid: np.ndarray,
    rate: float,
    horizon: float,
) -> np.ndarray:
    """The book's vols with each running option leg's replaced by its forward implied vol: the
    vol at its remaining time that makes its expected discounted mark its mid (Newton steps on
    the expected vega, from the leg's own vol; a work limit of ``NEWTON_STEPS``).

    Candidates share legs (on the 51 US stocks 1,036 running legs are 472 contracts): each
    distinct (contract, starting vol, mid) is solved once, pricing its mark and vega only, and
    leaves the steps once one moves its vol by at most ``CONVERGED`` of itself (the next step,
    quadratically smaller, would change nothing but the last bits).
    """
    vol = book.vol.astype(float).copy()
    run = np.flatnonzero((book.remaining > 0) & (book.kind != 0))
    if not run.size:
        return vol
    spec = np.stack(
        [
            book.symbol[run],
            book.kind[run],
            book.strike[run],
            book.remaining[run],
            vol[run],
            mid[run],
        ],
        axis=1,
    ).astype(float)
    _, first, back = np.unique(spec, axis=0, return_index=True, return_inverse=True)
    leg = run[first]
    spot = prices[:, book.symbol[leg]]
    sign = np.where(book.kind[leg] > 0, 1.0, -1.0)
    strike, t, target = book.strike[leg].astype(float), book.remaining[leg].astype(float), mid[leg]
    sigma = vol[leg]
    disc = np.exp(-rate * horizon)
    live = np.arange(leg.size)
    for _ in range(NEWTON_STEPS):
        price, vega = bs_price_vega(
            sign[live], spot[:, live], strike[live], t[live], rate, sigma[live]
        )
        value = disc * (probabilities @ price)
        slope = disc * (probabilities @ vega)
        step = np.where(slope > 1e-12, (value - target[live]) / np.maximum(slope, 1e-12), 0.0)
        before = sigma[live]
        sigma[live] = np.clip(before - step, 0.01, 3.0)
        live = live[np.abs(sigma[live] - before) > CONVERGED * before]
        if not live.size:
            break
    vol[run] = sigma[back.ravel()]
    return vol


def calibrated(
    prices: np.ndarray,
    spot: np.ndarray,
    atm: np.ndarray,
    book: LegBook,
    legs: LegPrices,
    *,
    rate: float,
    horizon: float,
    method: str,
) -> tuple[Calibrated, np.ndarray, LegBook]:
    """Calibrated prices, the forwards, and the book with its running legs at forward vols."""
    symbols = tuple(str(j) for j in range(prices.shape[1]))
    forwards = spot * np.exp(rate * horizon)
    targets = concat_targets([forward_targets(symbols, spot), leg_targets(book, legs)])
    cal = calibrate(prices, forwards, atm, targets, rate=rate, horizon=horizon, method=method)
    vols = forward_vols(book, cal.prices, cal.probabilities, legs.mid, rate, horizon)
    return cal, forwards, dataclasses.replace(book, vol=vols)


def edge_and_probabilities(
    prices: np.ndarray,
    prior: np.ndarray,
    forwards: np.ndarray,
    views: list[View],
    horizon: float,
    gross: np.ndarray,
    costs: tuple[np.ndarray, np.ndarray],
    capital: np.ndarray,
) -> tuple[np.ndarray, pd.DataFrame]:
    """The probabilities after every view and each candidate's edge (per unit of capital)."""
    steps = apply_views(prices, prior, forwards, views, horizon)
    edge = attribute(gross, [prior, *steps], [v.name for v in views], *costs, capital)
    return (steps[-1] if steps else prior), edge


__all__ = [
    "LegPrices",
    "calibrated",
    "edge_and_probabilities",
    "forward_vols",
    "leg_targets",
]
