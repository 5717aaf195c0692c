"""``kelly_weights``: the Kelly bets of the classic gambling setting, for other tools to call."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from quantalloc.allocation.candidates import Candidates
from quantalloc.allocation.constraints import Budget
from quantalloc.allocation.objectives import Kelly, KellyQuadratic, Objective, RiskConstrainedKelly
from quantalloc.allocation.problem import Allocator
from quantalloc.errors import ConfigError, DataError


def kelly_weights(
    gross_returns: np.ndarray | pd.DataFrame,
    probabilities: Sequence[float] | np.ndarray | None = None,
    *,
    drawdown: tuple[float, float] | None = None,
    method: str = "exact",
    solver: str | Sequence[str] | None = None,
) -> np.ndarray:
    """Kelly bets ``b >= 0``, ``sum b = 1`` for gross returns (outcomes x assets), as in the paper.

    Parameters
    ----------
    gross_returns
        Gross return ``r_ij`` of asset ``j`` in outcome ``i`` (1.0 = money back; include a cash
        column of ones to allow holding cash).
    probabilities
        Outcome probabilities; uniform when omitted.
    drawdown
        ``(alpha, beta)``: risk-constrained Kelly with Prob(min wealth < alpha) <= beta
        (Busseti, Ryu & Boyd 2016).
    method
        ``"exact"`` (expected log growth) or ``"quadratic"`` (its second-order approximation, with
        the quadratic drawdown constraint when ``drawdown`` is given).
    """
    if method not in ("exact", "quadratic"):
        raise ConfigError(f"method must be 'exact' or 'quadratic'; got {method!r}")
    gross = np.asarray(gross_returns, dtype=float)
    if gross.ndim != 2:
        raise DataError(f"gross_returns must be 2-D (outcomes x assets); got shape {gross.shape}")
    if (gross < 0).any():
        raise DataError("gross returns must be >= 0 (1.0 = money back); got a negative value")
    p = None if probabilities is None else np.asarray(probabilities, dtype=float)
    data = Candidates(returns=pd.DataFrame(gross - 1.0), probabilities=p)
    objective: Objective
    if drawdown is not None:
        alpha, beta = drawdown
        objective = RiskConstrainedKelly(alpha=alpha, beta=beta, quadratic=method == "quadratic")
    else:
        objective = KellyQuadratic() if method == "quadratic" else Kelly()
    allocator = Allocator(
        objective=objective, constraints=[Budget(limit=1.0, exact=True)], solver=solver
    )
    result = allocator.solve(data)
    weights = np.maximum(result.weights.to_numpy(), 0.0)
    return weights / weights.sum()
