"""Nonlinear (conic) labelled constraints: the Kelly drawdown bound and a CVaR cap."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from quantalloc.allocation.candidates import Candidates
from quantalloc.allocation.constraints import Unit, _check_unit, _fmt
from quantalloc.allocation.context import BuildContext, Settings, moment_factor
from quantalloc.allocation.measures import cvar, cvar_expression, wealth_factors
from quantalloc.errors import ConfigError

if TYPE_CHECKING:  # cvxpy loads only when a compiled problem is built
    import cvxpy as cp


class ConicConstraint:
    """Base class: one labelled convex constraint ``value(w) <= limit``."""

    name = "conic"
    priority = 10.0
    unit: str = "raw"

    def build(self, ctx: BuildContext, slack: cp.Expression | float = 0.0) -> cp.Constraint:
        """The cvxpy constraint (with an optional nonnegative slack on its right side)."""
        raise NotImplementedError

    def limit_value(self, settings: Settings) -> float:
        raise NotImplementedError

    def evaluate(self, w: np.ndarray, data: Candidates, settings: Settings) -> float:
        raise NotImplementedError

    def describe(self, settings: Settings) -> str:
        return f"<= {self.limit_value(settings):.4g}"

    def set_limit(self, value: float) -> None:
        """Apply a per-solve override from ``limits=``."""
        raise ConfigError(f"{self.name} has no adjustable limit")

    def adjustable(self) -> float:
        """The number ``limits={name: ...}`` sets (the diagnosis relaxes it)."""
        raise ConfigError(f"{self.name} has no adjustable limit")


@dataclass(eq=False, kw_only=True)
class DrawdownRisk(ConicConstraint):
    """Risk-constrained Kelly bound: Prob(min wealth < alpha) <= beta (Busseti, Ryu & Boyd 2016).

    Exact form: ``log E[exp(-lambda log(1 + r . w))] <= 0``, i.e. ``E[(1 + r . w)^-lambda] <= 1``,
    with ``lambda = log(beta) / log(alpha)``; the realised value reported is that expectation
    (limit 1). ``quadratic=True`` uses the paper's quadratic approximation
    ``(lambda + 1) / 2 * E[(r . w)^2] <= E[r . w]`` (value = left minus right side, limit 0).
    """

    alpha: float = 0.7
    beta: float = 0.1
    quadratic: bool = False
    name: str = "drawdown"
    priority: float = 10.0

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1 or not 0 < self.beta < 1:
            raise ConfigError(
                f"drawdown needs 0 < alpha < 1 and 0 < beta < 1; got alpha={self.alpha}, "
                f"beta={self.beta} (e.g. alpha=0.7, beta=0.1: Prob(wealth < 70%) <= 10%)"
            )

    @property
    def lam(self) -> float:
        """``lambda = log(beta) / log(alpha)``."""
        return math.log(self.beta) / math.log(self.alpha)

    def build(self, ctx: BuildContext, slack: cp.Expression | float = 0.0) -> cp.Constraint:
        import cvxpy as cp

        # lambda enters through parameters, so a new beta (limits={"drawdown": beta}) re-solves
        # without recompiling
        if self.quadratic:
            g = ctx.parameter(
                (min(ctx.data.n_scenarios, ctx.data.n_candidates), ctx.data.n_candidates),
                lambda d, s: math.sqrt((self.lam + 1) / 2) * moment_factor(d),
            )
            return cp.sum_squares(g @ ctx.w) <= ctx.mean_return() @ ctx.w + slack
        # scaled by the scenario count so exp() arguments stay O(1) with many scenarios:
        # log sum_s exp(log(S p_s) - lam t_s) <= log S  is the same constraint
        n_scen = ctx.data.n_scenarios
        log_sp = ctx.parameter(n_scen, lambda d, s: np.log(np.maximum(d.p * n_scen, 1e-300)))
        lam = ctx.parameter((), lambda d, s: self.lam, nonneg=True)
        return cp.log_sum_exp(log_sp - lam * ctx.log_wealth()) <= math.log(n_scen) + slack

    def limit_value(self, settings: Settings) -> float:
        return 0.0 if self.quadratic else 1.0

    def evaluate(self, w: np.ndarray, data: Candidates, settings: Settings) -> float:
        w = np.asarray(w, dtype=float)
        if self.quadratic:
            x = data.r @ w
            return float((self.lam + 1) / 2 * (data.p @ (x * x)) - data.p @ x)
        wealth = wealth_factors(w, data)
        if (wealth <= 0).any():
            return math.inf
        return float(data.p @ np.exp(-self.lam * np.log(wealth)))

    def describe(self, settings: Settings) -> str:
        return f"Prob(wealth < {self.alpha:g}) <= {self.beta:g}"

    def set_limit(self, value: float) -> None:
        """``limits={"drawdown": beta}`` sets a new beta."""
        if not 0 < value < 1:
            raise ConfigError(f"drawdown beta must be in (0, 1); got {value}")
        self.beta = float(value)

    def adjustable(self) -> float:
        return self.beta


@dataclass(eq=False, kw_only=True)
class CVaRCap(ConicConstraint):
    """Cap on the CVaR of the loss ``-r . w`` at ``confidence``: row ``max_cvar``."""

    limit: float = 0.05
    confidence: float = 0.95
    unit: Unit = "capital"
    name: str = "max_cvar"
    priority: float = 1.0

    def __post_init__(self) -> None:
        _check_unit(self.unit)
        if not 0 < self.confidence < 1:
            raise ConfigError(f"CVaR confidence must be in (0, 1); got {self.confidence}")

    def _scale(self, settings: Settings) -> float:
        return {"budget": settings.budget, "capital": 1.0, "currency": 1.0 / settings.capital}[
            self.unit
        ]

    def build(self, ctx: BuildContext, slack: cp.Expression | float = 0.0) -> cp.Constraint:
        cap = ctx.parameter((), lambda d, s: self.limit * self._scale(s))
        return cvar_expression(ctx, self.confidence) <= cap + slack

    def limit_value(self, settings: Settings) -> float:
        return self.limit

    def evaluate(self, w: np.ndarray, data: Candidates, settings: Settings) -> float:
        return cvar(w, data, self.confidence) / self._scale(settings)

    def describe(self, settings: Settings) -> str:
        return f"CVaR{self.confidence:g} <= {_fmt(self.limit, self.unit)}"

    def set_limit(self, value: float) -> None:
        self.limit = float(value)

    def adjustable(self) -> float:
        return self.limit
