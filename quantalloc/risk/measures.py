"""Value at risk and conditional value at risk of a P&L sample (weighted or equally likely)."""

from __future__ import annotations

import numpy as np

from quantalloc.errors import DataError


def var_cvar(
    pnl: np.ndarray, confidence: float, probabilities: np.ndarray | None = None
) -> tuple[float, float]:
    """VaR and CVaR at ``confidence`` of the loss ``-pnl``, as positive amounts of loss.

    With tail mass ``a = 1 - confidence`` and the losses sorted worst first: VaR is the loss
    exceeded with probability at most ``a`` (the first loss whose cumulative probability reaches
    ``a``) and CVaR the probability-weighted mean loss over the worst mass ``a``, the last
    scenario taken in part (Rockafellar & Uryasev 2002), so CVaR >= VaR. ``probabilities``
    weigh the scenarios (None: equally likely, where ``k = a n`` gives VaR as the
    ``ceil(k)``-th largest loss). A tail of gains gives negative numbers.
    """
    if not 0 < confidence < 1:
        raise DataError(f"confidence must be in (0, 1); got {confidence}")
    loss = -np.asarray(pnl, dtype=float).ravel()
    if loss.size == 0 or not np.isfinite(loss).all():
        raise DataError("VaR needs a non-empty P&L sample of finite numbers")
    if probabilities is None:
        prob = np.full(loss.size, 1.0 / loss.size)
    else:
        prob = np.asarray(probabilities, dtype=float).ravel()
        if prob.shape != loss.shape or (prob < 0).any() or abs(prob.sum() - 1.0) > 1e-9:
            raise DataError(
                f"probabilities must be {loss.size} non-negative numbers summing to 1; got "
                f"{prob.size} summing to {prob.sum():.6g}"
            )
    order = np.argsort(-loss, kind="stable")
    worst, mass = loss[order], prob[order]
    tail = 1.0 - confidence
    before = np.concatenate([[0.0], np.cumsum(mass)[:-1]])
    weights = np.clip(tail - before, 0.0, mass)
    weights[weights < 1e-12] = 0.0
    reached = np.flatnonzero(before + mass >= tail - 1e-12)
    var = float(worst[reached[0]] if reached.size else worst[-1])
    cvar = float(weights @ worst / weights.sum())
    return var, cvar


__all__ = ["var_cvar"]
