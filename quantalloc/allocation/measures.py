"""Measures of an allocation over the scenarios: wealth, log growth, CVaR.

Numbers for a realised weight vector (``expected_log_growth``, ``cvar``) and the cvxpy form of
CVaR that objectives and constraints share (``cvar_expression``). They sit below the terms
(objectives, conic constraints), which build on them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from quantalloc.allocation.candidates import Candidates
from quantalloc.allocation.context import BuildContext

if TYPE_CHECKING:  # cvxpy loads only when a compiled problem is built
    import cvxpy as cp


def wealth_factors(w: np.ndarray, data: Candidates) -> np.ndarray:
    """Wealth after each scenario, ``1 + r_s . w``."""
    return 1.0 + data.r @ np.asarray(w, dtype=float)


def expected_log_growth(w: np.ndarray, data: Candidates) -> float:
    """``E[log(1 + r . w)]``; ``-inf`` when some scenario wipes out the capital."""
    wealth = wealth_factors(w, data)
    if (wealth <= 0).any():
        return -math.inf
    return float(data.p @ np.log(wealth))


def cvar(w: np.ndarray, data: Candidates, confidence: float) -> float:
    """Conditional value at risk of the loss ``-r . w`` at ``confidence`` (Rockafellar-Uryasev)."""
    loss = -(data.r @ np.asarray(w, dtype=float))
    order = np.argsort(loss)[::-1]
    tail = 1.0 - confidence
    p_sorted = data.p[order]
    cum = np.cumsum(p_sorted)
    take = np.minimum(p_sorted, np.maximum(tail - (cum - p_sorted), 0.0))
    return float(take @ loss[order] / tail)


def cvar_expression(ctx: BuildContext, confidence: float) -> cp.Expression:
    """Rockafellar-Uryasev CVaR of the loss ``-r . w``, built once per confidence level."""
    import cvxpy as cp

    key = f"cvar[{confidence}]"
    if key not in ctx.cache:
        z = cp.Variable()
        u = cp.Variable(ctx.data.n_scenarios, nonneg=True)
        ctx.constraints.append(u >= -(ctx.returns() @ ctx.w) - z)
        tail_p = ctx.parameter(
            ctx.data.n_scenarios, lambda d, s: d.p / (1.0 - confidence), nonneg=True
        )
        ctx.cache[key] = z + tail_p @ u
    return ctx.cache[key]


__all__ = ["cvar", "cvar_expression", "expected_log_growth", "wealth_factors"]
