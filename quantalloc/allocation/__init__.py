"""Convex allocation: Kelly-style objectives, labelled constraints, diagnosis and lot rounding.

Knows nothing of options, markets, the CLI or storage: it takes ``Candidates`` (scenario returns,
attributes, group labels, lot costs) and returns an ``AllocationResult``.
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
    "kelly_weights",
]
