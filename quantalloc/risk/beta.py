"""Each stock's beta to the market index from daily returns."""

from __future__ import annotations

import numpy as np
import pandas as pd


def betas(
    closes: pd.DataFrame,
    index_close: pd.Series,
    *,
    lookback: int = 252,
    min_observations: int = 60,
) -> tuple[dict[str, float], list[str]]:
    """OLS beta of each column's daily log return on the index's, over the last ``lookback``
    sessions both trade; a symbol with fewer than ``min_observations`` common sessions gets
    beta 1.0 and is named in the returned notes."""
    index_ret = pd.Series(np.log(index_close.astype(float)), index=index_close.index).diff()
    out: dict[str, float] = {}
    short: list[str] = []
    for sym in closes.columns:
        ret = pd.Series(np.log(closes[sym].astype(float)), index=closes.index).diff()
        both = pd.concat([ret, index_ret], axis=1, join="inner").dropna().tail(lookback)
        if len(both) < min_observations:
            out[str(sym)] = 1.0
            short.append(str(sym))
            continue
        x = both.iloc[:, 1].to_numpy()
        y = both.iloc[:, 0].to_numpy()
        var = float(np.var(x))
        out[str(sym)] = float(np.cov(x, y, bias=True)[0, 1] / var) if var > 0 else 1.0
    notes = (
        [f"beta 1.0 assumed for {', '.join(short)}: fewer than {min_observations} sessions"]
        if short
        else []
    )
    return out, notes


__all__ = ["betas"]
