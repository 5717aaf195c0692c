"""No dust: a minimum size and a fixed cost per position in the integer step.

A position is a candidate with at least one lot. :class:`PositionRules` asks each position for
at least ``min_lots`` lots and ``min_capital`` of capital (a fraction of capital), and charges
``fixed_cost`` (a fraction of capital) per position opened. In the integer program each
candidate ``j`` gains a binary ``y_j`` (open or not) with the rows ``x_j <= M_j y_j`` and
``m_j y_j <= x_j`` (``m_j`` the smallest lot count meeting both minimums, ``M_j`` the lots'
upper bound), and ``fixed_cost`` per ``y_j`` joins the objective, in the same units as the
distance from the continuous weights (a fraction of capital).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from quantalloc.allocation.highs import LinearModel
from quantalloc.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class PositionRules:
    """Minimum size and fixed cost of a position (see the module notes)."""

    min_lots: int = 1
    min_capital: float = 0.0
    fixed_cost: float = 0.0

    def __post_init__(self) -> None:
        if self.min_lots < 1:
            raise ConfigError(f"min_lots must be >= 1; got {self.min_lots}")
        for name in ("min_capital", "fixed_cost"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.0 <= value < 1.0):
                raise ConfigError(
                    f"{name} is a fraction of capital in [0, 1); got {value}: pass the "
                    "currency amount over the capital"
                )

    @property
    def active(self) -> bool:
        """Whether any rule binds beyond whole lots (one lot, no cost)."""
        return self.min_lots > 1 or self.min_capital > 0 or self.fixed_cost > 0

    def smallest(self, unit: np.ndarray) -> np.ndarray:
        """Per candidate, the fewest lots a position may hold (``unit``: one lot's weight)."""
        by_capital = np.ceil(self.min_capital / np.where(unit > 0, unit, np.inf) - 1e-9)
        return np.maximum(float(self.min_lots), by_capital)

    def without_dust(self, lots: np.ndarray, unit: np.ndarray) -> np.ndarray:
        """``lots`` with every position below its minimum closed (for a rounding outside the
        integer program)."""
        small = (lots > 0) & (lots < self.smallest(unit))
        return np.where(small, 0, lots)

    def cost(self, lots: np.ndarray) -> float:
        """The fixed costs of the positions in ``lots``, as a fraction of capital."""
        return self.fixed_cost * float(np.count_nonzero(lots))


def with_positions(
    model: LinearModel, n_lots: int, unit: np.ndarray, rules: PositionRules
) -> LinearModel:
    """``model`` (whose first ``n_lots`` columns are the lots of candidates with one-lot
    weights ``unit``) with a binary per candidate, the minimum-size rows and the fixed costs."""
    upper = np.asarray(model.col_upper[:n_lots], dtype=float)
    # an unbounded lot count is bounded by the whole capital (a weight above 1 is never held)
    big = np.where(np.isfinite(upper), upper, np.ceil(1.0 / np.maximum(unit, 1e-12)) + 1)
    least = np.minimum(rules.smallest(unit), np.maximum(big, 1.0))
    n_cols, n_rows = model.a.shape[1], model.a.shape[0]
    x = sp.identity(n_lots, format="csr")
    pad = sp.csr_matrix((n_lots, n_cols - n_lots))
    open_rows = sp.vstack(
        [
            sp.hstack([x, pad, -sp.diags(big)]),  # x - M y <= 0
            sp.hstack([-x, pad, sp.diags(least)]),  # m y - x <= 0
        ]
    )
    a = sp.vstack([sp.hstack([model.a, sp.csr_matrix((n_rows, n_lots))]), open_rows], "csc")
    integer = model.integer if model.integer is not None else np.zeros(n_cols, dtype=bool)
    return dataclasses.replace(
        model,
        cost=np.concatenate([model.cost, np.full(n_lots, rules.fixed_cost)]),
        a=a,
        row_lower=np.concatenate([model.row_lower, np.full(2 * n_lots, -np.inf)]),
        row_upper=np.concatenate([model.row_upper, np.zeros(2 * n_lots)]),
        col_lower=np.concatenate([model.col_lower, np.zeros(n_lots)]),
        col_upper=np.concatenate([model.col_upper, np.ones(n_lots)]),
        integer=np.concatenate([integer, np.ones(n_lots, dtype=bool)]),
    )


__all__ = ["PositionRules", "with_positions"]
