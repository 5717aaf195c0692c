"""What terms see while the problem is built: the weight variable, shared auxiliaries, parameters.

Every number that may change between solves (capital, limits, targets, probabilities, scenario
returns when small enough) lives in a ``cp.Parameter`` registered with a function computing its
value from the data and settings, so a re-solve refreshes values and never recompiles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from quantalloc.allocation.candidates import Candidates

if TYPE_CHECKING:  # cvxpy loads only when a compiled problem is built
    import cvxpy as cp

# Scenario returns become a cp.Parameter only below this many entries: cvxpy's DPP compilation of a
# scenarios x candidates parameter matrix is slow (measured: 1,000 x 200 took 17 s to compile versus
# 1.3 s with constants), so larger problems hold returns as constants and recompile on change.
SCENARIO_PARAMETER_LIMIT = 20_000


@dataclass(frozen=True)
class Settings:
    """Numbers every term may need: capital (currency) and the budget as a fraction of capital."""

    capital: float
    budget: float


ValueFn = Callable[[Candidates, Settings], Any]


@dataclass
class BuildContext:
    """Shared state while terms build their cvxpy expressions."""

    data: Candidates
    w: cp.Variable
    parametrize_scenarios: bool
    parameters: list[tuple[cp.Parameter, ValueFn]] = field(default_factory=list)
    constraints: list[cp.Constraint] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)

    def parameter(self, shape: tuple[int, ...] | int, fn: ValueFn, **kwargs: Any) -> cp.Parameter:
        """A parameter whose value is ``fn(data, settings)`` at every solve."""
        import cvxpy as cp

        param = cp.Parameter(shape, **kwargs)
        self.parameters.append((param, fn))
        return param

    def refresh(self, data: Candidates, settings: Settings) -> None:
        """Recompute every parameter value for new data or settings."""
        self.data = data
        for param, fn in self.parameters:
            param.value = np.asarray(fn(data, settings), dtype=float).reshape(param.shape)

    def data_matrix(
        self, key: str, fn: Callable[[Candidates], np.ndarray]
    ) -> cp.Parameter | np.ndarray:
        """A scenario-sized matrix: a parameter when small, else a constant."""
        if key not in self.cache:
            value = fn(self.data)
            if self.parametrize_scenarios:
                self.cache[key] = self.parameter(value.shape, lambda d, s: fn(d))
            else:
                self.cache[key] = value
        return self.cache[key]

    def probabilities(self) -> cp.Parameter:
        """Scenario probabilities as a nonnegative parameter."""
        if "p" not in self.cache:
            self.cache["p"] = self.parameter(self.data.n_scenarios, lambda d, s: d.p, nonneg=True)
        return self.cache["p"]

    def returns(self) -> cp.Parameter | np.ndarray:
        """Scenario returns, scenarios x candidates."""
        return self.data_matrix("R", lambda d: d.r)

    def log_wealth(self) -> cp.Variable:
        """``t`` with ``t_s <= log(1 + r_s . w)``: shared by Kelly and the drawdown constraint."""
        import cvxpy as cp

        if "t" not in self.cache:
            t = cp.Variable(self.data.n_scenarios, name="log_wealth")
            self.constraints.append(t <= cp.log(1 + self.returns() @ self.w))
            self.cache["t"] = t
        return self.cache["t"]

    def mean_return(self) -> cp.Parameter:
        """Expected return per candidate, ``E[r_i]``."""
        if "mu" not in self.cache:
            self.cache["mu"] = self.parameter(self.data.n_candidates, lambda d, s: d.p @ d.r)
        return self.cache["mu"]

    def second_moment_factor(self) -> cp.Parameter:
        """``F`` with ``F'F = E[r r']`` (thin QR of ``sqrt(p) R``): ``E[(r.w)^2] = ||F w||^2``."""
        if "F" not in self.cache:
            k = min(self.data.n_scenarios, self.data.n_candidates)
            self.cache["F"] = self.parameter(
                (k, self.data.n_candidates), lambda d, s: moment_factor(d)
            )
        return self.cache["F"]


def moment_factor(data: Candidates) -> np.ndarray:
    """Thin factor ``F`` of the second moment: ``F'F = sum_s p_s r_s r_s'``."""
    scaled = np.sqrt(data.p)[:, None] * data.r
    if scaled.shape[0] <= scaled.shape[1]:
        return scaled
    return np.asarray(cast(Any, np.linalg.qr)(scaled, mode="r"))
