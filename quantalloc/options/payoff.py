"""P&L of many strategies over many scenarios at once (the allocation's scenario matrix)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from quantalloc.errors import ConfigError
from quantalloc.options.legs import LegBlock
from quantalloc.options.strategy import Strategy

FloatArray = NDArray[np.float64]


def pnl_matrix(
    strategies: Sequence[Strategy],
    prices: ArrayLike,
    horizon: float | None = None,
    vol: ArrayLike | None = None,
    *,
    chunk_cells: int = 50_000,
) -> FloatArray:
    """P&L per lot of each strategy (rows) in each scenario (columns).

    Parameters
    ----------
    strategies
        Priced strategies (any mix of underlyings).
    prices
        Underlying prices at the horizon: shape ``(n_scenarios,)`` shared by every strategy, or
        ``(n_strategies, n_scenarios)`` with each row the scenarios of that strategy's underlying.
    horizon
        Years from entry; ``None`` uses each strategy's own first expiry.
    vol
        Marking vol for legs still alive at the horizon: ``None`` (each leg's entry vol), a
        number, or an array broadcastable to ``(n_strategies, n_scenarios)``.
    chunk_cells
        Legs x scenarios evaluated per block (bounds memory).

    Returns
    -------
    numpy.ndarray
        Shape ``(n_strategies, n_scenarios)``.
    """
    n = len(strategies)
    s = np.asarray(prices, dtype=float)
    if s.ndim == 1:
        s = np.broadcast_to(s, (n, s.size))
    if s.ndim != 2 or s.shape[0] != n:
        raise ConfigError(
            f"prices must have shape (n_scenarios,) or ({n}, n_scenarios), got {np.shape(prices)}"
        )
    m = s.shape[1]
    sigma = None if vol is None else np.broadcast_to(np.asarray(vol, dtype=float), (n, m))
    out = np.zeros((n, m))
    if n == 0 or m == 0:
        return out
    legs_per = max(len(st.legs) for st in strategies)
    step = max(1, chunk_cells // max(1, legs_per * m))
    for start in range(0, n, step):
        group = strategies[start : start + step]
        block = LegBlock.pack(
            [st.legs for st in group],
            [st.lot_size for st in group],
            [st.rate for st in group],
            [st.dividend for st in group],
        )
        rows = start + block.owner
        leg_prices = np.ascontiguousarray(s[rows])
        h = (
            np.array([st.horizon for st in group])[block.owner]
            if horizon is None
            else np.full(block.owner.size, float(horizon))
        )
        leg_vol = None if sigma is None else sigma[rows]
        values = block.values(leg_prices, h, leg_vol)
        values -= block.entry[:, None]
        # sum legs into their strategies with one small matmul: weights[i, j] = units of leg j
        # when it belongs to strategy i (faster than reduceat over rows)
        weights = np.zeros((len(group), block.owner.size))
        weights[block.owner, np.arange(block.owner.size)] = block.units
        out[start : start + len(group)] = weights @ values
    return out


def summary_frame(strategies: Sequence[Strategy]) -> pd.DataFrame:
    """One row per strategy: identity, per-lot economics, payoff figures and plain Greeks."""
    rows = []
    for st in strategies:
        rows.append(
            {
                "symbol": st.symbol,
                "strategy_name": st.name,
                "display_name": st.display_name,
                "position_type": st.direction.value,
                "theta_positive": st.theta_positive,
                "expiry_years": st.horizon,
                "lot_size": st.lot_size,
                "net_premium": st.net_premium,
                "capital_required": st.capital_required,
                "max_profit": st.max_profit,
                "max_loss": st.max_loss,
                "breakevens": st.breakevens,
                "probability_of_profit": st.probability_of_profit,
                **st.greeks,
            }
        )
    return pd.DataFrame.from_records(rows)


__all__ = ["pnl_matrix", "summary_frame"]
