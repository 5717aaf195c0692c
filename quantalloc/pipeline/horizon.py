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
from scipy.special import ndtr

from quantalloc.options.book import LegBook
from quantalloc.pipeline.calibration import (
    Calibrated,
    PriceTargets,
    calibrate,
    cell_means,
    concat_targets,
    forward_targets,
)
from quantalloc.pipeline.edge import attribute
from quantalloc.pipeline.views import View, apply_views
from quantalloc.threads import one_blas_thread

NEWTON_STEPS = 12
FINE_STEPS = 1
COARSE_CELLS = 512
PARITY_STRIKES = 5
SQRT_2PI = float(np.sqrt(2.0 * np.pi))


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
    vol at its remaining time that makes its expected discounted mark its mid.

    Legs alike (symbol, kind, strike, remaining time, mid) are solved once. Newton steps on the
    expected vega run first on each underlying's distribution condensed to ``COARSE_CELLS``
    equal-probability cells (each at its conditional mean), from the leg's own vol, then
    ``FINE_STEPS`` more on every scenario (work limits: ``NEWTON_STEPS`` and ``FINE_STEPS``).
    """
    vol = book.vol.astype(float).copy()
    run = np.flatnonzero((book.remaining > 0) & (book.kind != 0))
    if not run.size:
        return vol
    key = np.column_stack(
        [book.symbol[run], book.kind[run], book.strike[run], book.remaining[run], mid[run]]
    ).astype(float)
    uniq, first, back = np.unique(key, axis=0, return_index=True, return_inverse=True)
    legs = run[first]
    symbols, column = np.unique(book.symbol[legs], return_inverse=True)
    coarse = np.column_stack(
        [cell_means(prices[:, j], probabilities, COARSE_CELLS) for j in symbols]
    )
    even = np.full(COARSE_CELLS, 1.0 / COARSE_CELLS)
    sigma = vol[legs].copy()
    for grid, weights, steps in (
        (coarse, even, NEWTON_STEPS),
        (prices[:, symbols], probabilities, FINE_STEPS),
    ):
        sigma = _newton(
            grid[:, column], weights, uniq[:, 1], uniq[:, 2], uniq[:, 3], uniq[:, 4], sigma,
            rate=rate, horizon=horizon, steps=steps,
        )  # fmt: skip
    vol[run] = sigma[back.ravel()]
    return vol


def _newton(
    s: np.ndarray,
    p: np.ndarray,
    sign: np.ndarray,
    strike: np.ndarray,
    tau: np.ndarray,
    mid: np.ndarray,
    sigma: np.ndarray,
    *,
    rate: float,
    horizon: float,
    steps: int,
) -> np.ndarray:
    """``steps`` Newton steps on ``E_p[disc * BS(s, sigma)] = mid`` per column of ``s``."""
    disc = np.exp(-rate * horizon)
    log_s = np.log(s)
    root = np.sqrt(tau)
    k_disc = strike * np.exp(-rate * tau)
    moneyness = log_s - np.log(k_disc)
    for _ in range(steps):
        sd = sigma * root
        d1 = moneyness / sd + 0.5 * sd
        vega = np.exp(-0.5 * d1 * d1)
        vega *= s
        d1 *= sign
        d2 = d1 - sign * sd
        price = ndtr(d1, out=d1)
        price *= s
        price -= k_disc * ndtr(d2, out=d2)
        value = disc * sign * (p @ price)
        slope = disc * (root / SQRT_2PI) * (p @ vega)
        step = np.where(slope > 1e-12, (value - mid) / np.maximum(slope, 1e-12), 0.0)
        sigma = np.clip(sigma - step, 0.01, 3.0)
        if np.all(np.abs(value - mid) <= 1e-10 * np.maximum(mid, 1e-8)):
            break
    return sigma


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
    """Calibrated prices, the forwards (:func:`parity_forwards`), and the book with its running
    legs at forward vols."""
    symbols = tuple(str(j) for j in range(prices.shape[1]))
    options = leg_targets(book, legs)
    forwards = parity_forwards(options, spot, rate, horizon)
    present = forwards * np.exp(-rate * horizon)
    targets = concat_targets([forward_targets(symbols, present), options])
    cal = calibrate(prices, forwards, atm, targets, rate=rate, horizon=horizon, method=method)
    with one_blas_thread():  # small products: see quantalloc.threads
        vols = forward_vols(book, cal.prices, cal.probabilities, legs.mid, rate, horizon)
    return cal, forwards, dataclasses.replace(book, vol=vols)


def parity_forwards(
    options: PriceTargets, spot: np.ndarray, rate: float, horizon: float
) -> np.ndarray:
    """Per symbol the forward its own legs imply by put-call parity, ``K + (C - P) e^{rh}`` (the
    median over the strikes with both a call and a put, up to ``PARITY_STRIKES`` nearest spot),
    else ``S e^{rh}``. A chain's prices carry the market's forward (an index's dividends, a
    stock's borrow); asked to meet ``S e^{rh}`` instead, no distribution prices a call and a put
    at one strike within their spreads."""
    growth = np.exp(rate * horizon)
    out = spot * growth
    quotes: dict[int, tuple[dict[float, float], dict[float, float]]] = {}
    rows = zip(
        options.column.tolist(), options.kind.tolist(), options.strike.tolist(),
        options.mid.tolist(), strict=True,
    )  # fmt: skip
    for col, kind, strike, mid in rows:
        if kind in (1, -1) and mid == mid:  # the first quote of each side at each strike
            calls, puts = quotes.setdefault(int(col), ({}, {}))
            (calls if kind == 1 else puts).setdefault(strike, mid)
    for col, (calls, puts) in sorted(quotes.items()):
        strikes = np.array(sorted(set(calls) & set(puts)))
        if strikes.size == 0:
            continue
        forward = (
            strikes
            + (np.array([calls[k] for k in strikes]) - np.array([puts[k] for k in strikes]))
            * growth
        )
        nearest = np.argsort(np.abs(strikes - spot[col]), kind="stable")[:PARITY_STRIKES]
        f = float(np.median(forward[nearest]))
        if 0.5 * spot[col] < f < 2.0 * spot[col]:
            out[col] = f
    return out


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
    "parity_forwards",
]
