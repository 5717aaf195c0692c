"""Convex allocation: Kelly-style objectives, labelled constraints, diagnosis and lot rounding.

Knows nothing of options, markets, the CLI or storage: it takes ``Candidates`` (scenario returns,
attributes, group labels, lot costs) and returns an ``AllocationResult``.

Units: a weight is a fraction of capital; returns and attributes are per unit of currency invested
(a strategy with P&L ``pnl_s`` per lot and cost ``c`` per lot has return ``pnl_s / c``; vega ``v``
per lot gives attribute ``v / c``); limits are fractions of the budget unless ``unit="capital"`` or
``unit="currency"``.

Example::

    data = Candidates(returns=pnl_per_lot / cost_per_lot,          # scenarios x candidates
                      attributes=greeks_per_lot.div(cost_per_lot, axis=0),
                      groups=labels[["symbol", "strategy", "industry"]],
                      lot_cost=cost_per_lot)
    allocator = Allocator(
        objective=Kelly(),
        constraints=[Budget(limit=0.8), GroupCap(by="symbol", limit=0.2),
                     GroupCap(by="industry", limit=0.3),
                     GroupTarget(by="industry", targets={"Energy": 0.25}, tolerance=0.05),
                     ExposureLimit(attribute="vega", max_abs=0.05),
                     FlaggedCap(flag="theta_positive", limit=0.6), MaxLoss(limit=0.02)],
        capital=1_000_000, rounding=LotRounding(method="mip"))
    result = allocator.solve(data)               # ConstraintConflict if the limits conflict
    result.lots, result.constraint_table         # whole lots; name/limit/value/binding/dual
    allocator.solve(data, capital=2e6, limits={"max_industry": 0.25})   # no recompilation
"""

from quantalloc.allocation.candidates import Candidates
from quantalloc.allocation.constraints import (
    Budget,
    CandidateBounds,
    ExposureLimit,
    FlaggedCap,
    GroupCap,
    GroupTarget,
    LinearConstraint,
    LongShortSplit,
    MaxLoss,
    Row,
    ShareTarget,
)
from quantalloc.allocation.diagnosis import ConstraintConflict, Diagnosis, Relaxation
from quantalloc.allocation.kelly import kelly_weights
from quantalloc.allocation.lots import LotRounding
from quantalloc.allocation.objectives import (
    FractionalKelly,
    Kelly,
    KellyQuadratic,
    MeanCVaR,
    Objective,
    RiskConstrainedKelly,
    Score,
)
from quantalloc.allocation.problem import Allocator
from quantalloc.allocation.result import AllocationResult, ConstraintRow, Rounding
from quantalloc.allocation.risk import ConicConstraint, CVaRCap, DrawdownRisk

__all__ = [
    "AllocationResult",
    "Allocator",
    "Budget",
    "CVaRCap",
    "CandidateBounds",
    "Candidates",
    "ConicConstraint",
    "ConstraintConflict",
    "ConstraintRow",
    "Diagnosis",
    "DrawdownRisk",
    "ExposureLimit",
    "FlaggedCap",
    "FractionalKelly",
    "GroupCap",
    "GroupTarget",
    "Kelly",
    "KellyQuadratic",
    "LinearConstraint",
    "LongShortSplit",
    "LotRounding",
    "MaxLoss",
    "MeanCVaR",
    "Objective",
    "Relaxation",
    "RiskConstrainedKelly",
    "Rounding",
    "Row",
    "Score",
    "ShareTarget",
    "kelly_weights",
]
