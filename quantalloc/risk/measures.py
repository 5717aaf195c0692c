"""Value at risk and conditional value at risk of a P&L sample (equally likely scenarios)."""

from __future__ import annotations

import math

import numpy as np

from quantalloc.errors import DataError


def var_cvar(pnl: np.ndarray, confidence: float) -> tuple[float, float]:
    """VaR and CVaR at ``confidence`` of the loss ``-pnl``, as positive amounts of loss.

    With ``n`` equally likely scenarios and tail ``k = (1 - confidence) n``: VaR is the loss
    exceeded with probability at most ``1 - confidence`` (the ``ceil(k)``-th largest loss) and
    CVaR the mean loss over the worst ``k`` scenarios, the last one weighted by the fractional
    part (Rockafellar & Uryasev 2002), so CVaR >= VaR. A tail of gains gives negative numbers.
    """
    if not 0 < confidence < 1:
        raise DataError(f"confidence must be in (0, 1); got {confidence}")
    loss = -np.asarray(pnl, dtype=float).ravel()
    if loss.size == 0 or not np.isfinite(loss).all():
        raise DataError("VaR needs a non-empty P&L sample of finite numbers")
    worst = np.sort(loss)[::-1]
    k = (1.0 - confidence) * worst.size
    whole = math.floor(k + 1e-9)
    var = float(worst[max(math.ceil(k - 1e-9), 1) - 1])
    weights = np.zeros(worst.size)
    weights[:whole] = 1.0
    if whole < worst.size and k - whole > 1e-9:
        weights[whole] = k - whole
    cvar = float(weights @ worst / weights.sum())
    return var, cvar


__all__ = ["var_cvar"]
