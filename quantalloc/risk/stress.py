"""Leg values at shocked spot and vol, and the stress table: index moves through each stock's
beta, crossed with parallel vol moves, every leg repriced by Black-Scholes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from quantalloc.options.pricing import bs_price
from quantalloc.risk.positions import Positions

INDEX_MOVES: tuple[float, ...] = (-0.20, -0.10, -0.05, 0.05, 0.10, 0.20)
"""Index moves of the stress table (fractions of the index level)."""
VOL_MOVES: tuple[float, ...] = (-5.0, 0.0, 5.0, 10.0)
"""Parallel moves of every leg's implied vol, in vol points."""
MIN_VOL = 0.01
MIN_SPOT_FACTOR = 0.01


def leg_values(
    book: Positions,
    spot: Mapping[str, float],
    rate: float,
    *,
    vol_shift: float = 0.0,
) -> np.ndarray:
    """Value per unit of every leg now at spots ``spot`` and vols moved by ``vol_shift`` points
    (a vol is floored at 1%); stock legs are worth the spot."""
    s = np.array([float(spot[str(x)]) for x in book.symbol], dtype=float)
    values = s.copy()
    opt = np.flatnonzero(book.kind != 0)
    if opt.size:
        vol = np.maximum(book.vol[opt] + vol_shift / 100.0, MIN_VOL)
        values[opt] = bs_price(
            book.kind[opt].astype(float), s[opt], book.strike[opt], book.t[opt], rate, vol
        )
    return values


def horizon_pnl(
    book: Positions,
    spot: Mapping[str, float],
    prices: np.ndarray,
    column: Mapping[str, int],
    horizon_years: float,
    rate: float,
) -> np.ndarray:
    """The book's P&L in each scenario row of ``prices`` (scenarios x symbols, ``column`` maps a
    symbol to its column) after ``horizon_years``: stock at the scenario price, options marked by
    Black-Scholes at their remaining time (intrinsic once expired), against their value now."""
    now = leg_values(book, spot, rate)
    cols = np.array([column[str(s)] for s in book.symbol], dtype=int)
    s_h = prices[:, cols] if len(cols) else np.zeros((prices.shape[0], 0))
    left = book.t - horizon_years
    later = s_h.copy()
    opt = book.kind != 0
    sign = book.kind.astype(float)
    done = opt & (left <= 1e-9)
    later[:, done] = np.maximum(sign[done] * (s_h[:, done] - book.strike[done]), 0.0)
    run = np.flatnonzero(opt & ~done)
    if run.size:
        later[:, run] = bs_price(
            sign[run], s_h[:, run], book.strike[run], left[run], rate, book.vol[run]
        )
    out: np.ndarray = (later - now[None, :]) @ book.units
    return out


def shocked_spots(
    spot: Mapping[str, float], beta: Mapping[str, float], index_move: float
) -> dict[str, float]:
    """Each spot moved by its beta times ``index_move`` (floored at 1% of the spot)."""
    return {
        s: float(v * max(1.0 + beta.get(s, 1.0) * index_move, MIN_SPOT_FACTOR))
        for s, v in spot.items()
    }


def stress_table(
    book: Positions,
    spot: Mapping[str, float],
    beta: Mapping[str, float],
    rate: float,
    *,
    index_moves: Sequence[float] = INDEX_MOVES,
    vol_moves: Sequence[float] = VOL_MOVES,
) -> list[dict[str, float]]:
    """Rows of ``index_move`` (fraction), ``vol_move`` (points) and ``pnl`` (currency): the
    book's change in value when the index moves and every implied vol moves at once."""
    base = leg_values(book, spot, rate) @ book.units
    rows = []
    for move in index_moves:
        shocked = shocked_spots(spot, beta, move)
        for dv in vol_moves:
            value = leg_values(book, shocked, rate, vol_shift=dv) @ book.units
            rows.append({"index_move": float(move), "vol_move": float(dv), "pnl": value - base})
    return rows


__all__ = [
    "INDEX_MOVES",
    "VOL_MOVES",
    "horizon_pnl",
    "leg_values",
    "shocked_spots",
    "stress_table",
]
