"""Edge attribution: each candidate's expected return split into the named views and the costs.

With ``g`` a candidate's P&L per lot at mid prices (before costs) in every scenario, ``p0`` the
calibrated probabilities and ``p1 .. pk`` those after each view in turn
(:func:`quantalloc.pipeline.views.apply_views`):

- ``market``: ``E_p0[g]``, what the calibrated scenarios leave (within the spreads they price);
- one entry per view: ``E_pi[g] - E_p(i-1)[g]``, the return that view adds;
- ``spread`` and ``fees``: minus the costs paid.

All per unit of the candidate's capital; the entries telescope, so they sum to the expected
return ``E_pk[g] - costs`` exactly (up to rounding).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MARKET = "market"
SPREAD = "spread"
FEES = "fees"


def attribute(
    gross: np.ndarray,
    probabilities: list[np.ndarray],
    names: list[str],
    spread: np.ndarray,
    fees: np.ndarray,
    capital: np.ndarray,
) -> pd.DataFrame:
    """Edge per candidate (rows) and source (columns), per unit of capital.

    Parameters
    ----------
    gross
        P&L per lot at mid, scenarios x candidates.
    probabilities
        ``[p0, p1, ..., pk]``: calibrated, then after each view.
    names
        The ``k`` view names.
    spread, fees, capital
        Per candidate: the spread paid and the fees per lot, and the capital per lot.
    """
    means = np.array([p @ gross for p in probabilities])
    parts = {MARKET: means[0]}
    for i, name in enumerate(names, start=1):
        parts[name] = means[i] - means[i - 1]
    parts[SPREAD] = -np.asarray(spread, dtype=float)
    parts[FEES] = -np.asarray(fees, dtype=float)
    return pd.DataFrame(parts).div(np.asarray(capital, dtype=float), axis=0)


def portfolio_edge(edge: pd.DataFrame, amounts: np.ndarray, total: float) -> dict[str, float]:
    """The positions' edge weighted by ``amounts`` (capital in each) over ``total``."""
    if not len(edge) or total <= 0:
        return {str(c): 0.0 for c in edge.columns}
    weighted = edge.mul(np.asarray(amounts, dtype=float), axis=0).sum(axis=0) / total
    return {str(k): float(v) for k, v in weighted.items()}


__all__ = ["FEES", "MARKET", "SPREAD", "attribute", "portfolio_edge"]
