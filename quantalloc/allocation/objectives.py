"""Objective terms: each builds its cvxpy expression (maximised) and evaluates an allocation.

Terms compose: ``Kelly() + 0.1 * Score()`` maximises the sum; ``objective.evaluate(w, data)``
returns the same quantity for any weight vector, which is what lot rounding and the result report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from quantalloc.allocation.candidates import Candidates
from quantalloc.allocation.context import BuildContext
from quantalloc.allocation.measures import cvar, cvar_expression, expected_log_growth
from quantalloc.allocation.risk import ConicConstraint, DrawdownRisk
from quantalloc.errors import ConfigError

if TYPE_CHECKING:  # cvxpy loads only when a compiled problem is built
    import cvxpy as cp


class Objective:
    """Base class of objective terms (maximised)."""

    name = "objective"

    def build(self, ctx: BuildContext) -> cp.Expression:
        raise NotImplementedError

    def evaluate(self, w: np.ndarray, data: Candidates) -> float:
        raise NotImplementedError

    def extra_constraints(self) -> list[ConicConstraint]:
        """Labelled constraints the term brings (the drawdown bound of risk-constrained Kelly)."""
        return []

    def post_scale(self) -> float:
        """Factor applied to the optimal weights after solving (fractional Kelly), 1 otherwise."""
        return 1.0

    def __add__(self, other: Objective) -> Objective:
        return Sum(terms=[*_terms(self), *_terms(other)])

    def __mul__(self, weight: float) -> Objective:
        return Weighted(term=self, weight=float(weight))

    __rmul__ = __mul__


def _terms(obj: Objective) -> list[Objective]:
    return list(obj.terms) if isinstance(obj, Sum) else [obj]


@dataclass(eq=False)
class Sum(Objective):
    """Sum of terms."""

    terms: list[Objective] = field(default_factory=list)

    @property
    def name(self) -> str:  # type: ignore[override]
        return " + ".join(t.name for t in self.terms)

    def build(self, ctx: BuildContext) -> cp.Expression:
        import cvxpy as cp

        return cp.sum(cp.hstack([t.build(ctx) for t in self.terms]))

    def evaluate(self, w: np.ndarray, data: Candidates) -> float:
        return float(sum(t.evaluate(w, data) for t in self.terms))

    def extra_constraints(self) -> list[ConicConstraint]:
        return [c for t in self.terms for c in t.extra_constraints()]

    def post_scale(self) -> float:
        scales = {t.post_scale() for t in self.terms}
        if len(scales) > 1:
            raise ConfigError("fractional Kelly cannot be summed with other terms; use it alone")
        return scales.pop()


@dataclass(eq=False)
class Weighted(Objective):
    """A term times a nonnegative weight."""

    term: Objective
    weight: float

    def __post_init__(self) -> None:
        if not self.weight >= 0:
            raise ConfigError(
                f"objective weights must be >= 0 (maximised terms); got {self.weight}"
            )

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"{self.weight:g}*{self.term.name}"

    def build(self, ctx: BuildContext) -> cp.Expression:
        return self.weight * self.term.build(ctx)

    def evaluate(self, w: np.ndarray, data: Candidates) -> float:
        return self.weight * self.term.evaluate(w, data)

    def extra_constraints(self) -> list[ConicConstraint]:
        return self.term.extra_constraints()


class Kelly(Objective):
    """Exact Kelly: maximise expected log growth ``E[log(1 + r . w)]`` over the scenarios."""

    name = "kelly"

    def build(self, ctx: BuildContext) -> cp.Expression:
        return ctx.probabilities() @ ctx.log_wealth()

    def evaluate(self, w: np.ndarray, data: Candidates) -> float:
        return expected_log_growth(w, data)


class KellyQuadratic(Objective):
    """Second-order Kelly: ``E[r . w] - E[(r . w)^2] / 2`` (Busseti, Ryu & Boyd 2016, section 6)."""

    name = "kelly_quadratic"

    def build(self, ctx: BuildContext) -> cp.Expression:
        import cvxpy as cp

        return ctx.mean_return() @ ctx.w - 0.5 * cp.sum_squares(ctx.second_moment_factor() @ ctx.w)

    def evaluate(self, w: np.ndarray, data: Candidates) -> float:
        x = data.r @ np.asarray(w, dtype=float)
        return float(data.p @ x - 0.5 * data.p @ (x * x))


@dataclass(eq=False, kw_only=True)
class FractionalKelly(Kelly):
    """Fractional Kelly: the Kelly optimum scaled by ``fraction`` (the rest stays in cash).

    Scaling keeps every constraint whose feasible set contains zero and is convex (caps, budget,
    exposure limits); a constraint with a positive lower bound (a target) may break, and the solve
    then raises ConfigError naming it.
    """

    fraction: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.fraction <= 1:
            raise ConfigError(f"fractional Kelly needs 0 < fraction <= 1; got {self.fraction}")

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"fractional_kelly({self.fraction:g})"

    def post_scale(self) -> float:
        return self.fraction


@dataclass(eq=False, kw_only=True)
class RiskConstrainedKelly(Kelly):
    """Kelly with the drawdown bound Prob(wealth ever < alpha) <= beta (Busseti, Ryu & Boyd 2016).

    Adds ``E[(1 + r . w)^(-lambda)] <= 1`` with ``lambda = log(beta) / log(alpha)`` (their eq. 6),
    as the labelled constraint ``drawdown``. ``quadratic=True`` uses the quadratic objective and the
    quadratic drawdown constraint (their section 6) instead.
    """

    alpha: float = 0.7
    beta: float = 0.1
    quadratic: bool = False

    @property
    def name(self) -> str:  # type: ignore[override]
        kind = "rck_quadratic" if self.quadratic else "rck"
        return f"{kind}(alpha={self.alpha:g}, beta={self.beta:g})"

    def build(self, ctx: BuildContext) -> cp.Expression:
        if self.quadratic:
            return KellyQuadratic().build(ctx)
        return super().build(ctx)

    def evaluate(self, w: np.ndarray, data: Candidates) -> float:
        if self.quadratic:
            return KellyQuadratic().evaluate(w, data)
        return super().evaluate(w, data)

    def extra_constraints(self) -> list[ConicConstraint]:
        return [DrawdownRisk(alpha=self.alpha, beta=self.beta, quadratic=self.quadratic)]


@dataclass(eq=False, kw_only=True)
class MeanCVaR(Objective):
    """Expected return minus ``penalty`` times CVaR of the loss at ``confidence``.

    For a CVaR cap instead of (or besides) a penalty, add ``CVaRCap`` to the constraints.
    """

    confidence: float = 0.95
    penalty: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.confidence < 1:
            raise ConfigError(f"CVaR confidence must be in (0, 1); got {self.confidence}")
        if self.penalty < 0:
            raise ConfigError(f"CVaR penalty must be >= 0; got {self.penalty}")

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"mean_cvar({self.confidence:g}, penalty={self.penalty:g})"

    def build(self, ctx: BuildContext) -> cp.Expression:
        mean = ctx.mean_return() @ ctx.w
        if self.penalty == 0:
            return mean
        return mean - self.penalty * cvar_expression(ctx, self.confidence)

    def evaluate(self, w: np.ndarray, data: Candidates) -> float:
        mean = float(data.p @ (data.r @ np.asarray(w, dtype=float)))
        return mean - self.penalty * cvar(w, data, self.confidence)


@dataclass(eq=False, kw_only=True)
class Score(Objective):
    """Maximise a per-candidate score (an attribute), as ranking by total_score did."""

    attribute: str = "score"

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"score({self.attribute})"

    def build(self, ctx: BuildContext) -> cp.Expression:
        attr = self.attribute
        ctx.data.attribute(attr)  # fail early with the known attributes
        score = ctx.parameter(ctx.data.n_candidates, lambda d, s: d.attribute(attr))
        return score @ ctx.w

    def evaluate(self, w: np.ndarray, data: Candidates) -> float:
        return float(data.attribute(self.attribute) @ np.asarray(w, dtype=float))
