"""Solver choice and fallback, in one place."""

from __future__ import annotations

import os
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from quantalloc.errors import ConfigError, SolverError

if TYPE_CHECKING:  # cvxpy loads only when a compiled problem is solved
    import cvxpy as cp

# Tried in this order, skipping the ones not installed. Clarabel handles exponential cones (Kelly)
# well; SCS is a first-order fallback; ECOS only when present.
DEFAULT_ORDER = ("CLARABEL", "SCS", "ECOS")
MIP_ORDER = ("HIGHS", "SCIPY")
_banner_lock = threading.Lock()
_banner_done = False


def quiet_highs() -> None:
    """Build the process's first HiGHS instance with file descriptor 1 pointed at /dev/null.

    highspy prints its banner ("Running HiGHS ...") from C straight to fd 1 when the first
    ``Highs()`` of a process is built; ``output_flag=False`` cannot stop it, and it would land in
    the middle of a command's output (``quantalloc solve > out.txt``). Later instances print
    nothing, so one silent construction is enough.
    """
    global _banner_done
    with _banner_lock:
        if _banner_done:
            return
        _banner_done = True
        try:
            import highspy
        except ImportError:  # pragma: no cover - cvxpy then has no HIGHS solver either
            return
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 1)
                highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)


# cvxpy's status strings (cp.OPTIMAL, ...), spelled out so that reading them needs no cvxpy
OPTIMAL_INACCURATE = "optimal_inaccurate"
OK = ("optimal",)
INFEASIBLE = ("infeasible", "infeasible_inaccurate")
UNBOUNDED = ("unbounded", "unbounded_inaccurate")


@dataclass(frozen=True)
class SolveOutcome:
    """Which solver finished, with what status, after how long (seconds)."""

    solver: str
    status: str
    seconds: float
    attempts: tuple[tuple[str, str], ...]


def solver_order(solver: str | Sequence[str] | None, mip: bool = False) -> list[str]:
    """The installed solvers to try, in order; ConfigError for an unknown or missing one."""
    import cvxpy as cp

    installed = set(cp.installed_solvers())
    if solver is None:
        order = [s for s in (MIP_ORDER if mip else DEFAULT_ORDER) if s in installed]
        if not order:
            raise ConfigError(f"no suitable solver installed; installed: {sorted(installed)}")
        return order
    wanted = [solver] if isinstance(solver, str) else list(solver)
    wanted = [s.upper() for s in wanted]
    missing = [s for s in wanted if s not in installed]
    if missing:
        raise ConfigError(
            f"solver {missing[0]} is not installed; installed: {sorted(installed)}; "
            "pip install it or pick another"
        )
    return wanted


def solve_with_fallback(
    problem: cp.Problem, order: list[str], *, warm_start: bool = True, **options: object
) -> SolveOutcome:
    """Solve with the first solver that reaches an optimal, infeasible or unbounded verdict.

    A failed attempt (error, iteration limit) moves to the next solver; an inaccurate optimum is
    returned as such (status ``optimal_inaccurate``); when all fail, SolverError names every attempt
    and what to try.
    """
    import cvxpy as cp

    attempts: list[tuple[str, str]] = []
    start = time.perf_counter()
    if "HIGHS" in order:
        quiet_highs()
    for name in order:
        try:
            with warnings.catch_warnings():  # inaccurate results are handled by status below
                warnings.simplefilter("ignore", UserWarning)
                problem.solve(solver=name, warm_start=warm_start, **options)
            status = str(problem.status)
        except cp.error.SolverError as exc:
            status = f"error ({str(exc).splitlines()[0][:80]})"
        attempts.append((name, status))
        # a verdict, even an inaccurate optimum (the result's status says so), ends the search:
        # measured, SCS took 6 s per call to improve on Clarabel's "optimal_inaccurate"
        if status in OK or status in (INFEASIBLE[0], UNBOUNDED[0], OPTIMAL_INACCURATE):
            return SolveOutcome(name, status, time.perf_counter() - start, tuple(attempts))
    # nothing conclusive: accept an "inaccurate" verdict (the result's status says so), else fail
    for name, status in attempts:
        if status in INFEASIBLE or status in UNBOUNDED:
            return SolveOutcome(name, status, time.perf_counter() - start, tuple(attempts))
    tried = ", ".join(f"{n}: {s}" for n, s in attempts)
    raise SolverError(
        f"no solver reached an optimal allocation ({tried}); try fewer scenarios or candidates, "
        "rescale returns (they should be fractions, not percent), loosen tight limits, or pass "
        "solver='SCS' with a looser tolerance"
    )
