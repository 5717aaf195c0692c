"""Exact Kelly at scale: naive cvxpy + Clarabel, quantalloc's working set, and Riskfolio-Lib.

Run: ``python benchmarks/bench_kelly.py [--quick]``. Prints, per size, seconds and optimum of
(a) the naive form (cvxpy, one exponential cone per scenario over all candidates, Clarabel),
(b) ``Allocator(objective=Kelly(), method="working_set")`` with the same constraints (budget,
20 industry caps, |delta| and |vega| limits), and their objective gap; then Riskfolio-Lib's exact
Kelly portfolio (its own setting: fully invested, long only) beside ours on that setting; then
risk-constrained Kelly at 10,000 scenarios. Timings on a shared 2-core machine are noisy.
"""

from __future__ import annotations

import argparse
import time

import cvxpy as cp
import numpy as np
import pandas as pd

from quantalloc.allocation import (
    Allocator,
    Budget,
    Candidates,
    ExposureLimit,
    GroupCap,
    Kelly,
    RiskConstrainedKelly,
)


def make_data(n: int, scenarios: int, seed: int = 0) -> Candidates:
    """Factor model with fat tails: 5 t(4) factors, t(4) idiosyncratic noise, small drifts."""
    rng = np.random.default_rng(seed)
    factors = rng.standard_t(4, (scenarios, 5)) * 0.02
    loadings = rng.normal(0, 1, (5, n)) * 0.5
    drift = 0.0005 + rng.normal(0, 0.0015, n)
    noise = 0.03 * rng.standard_t(4, (scenarios, n)) / np.sqrt(2)
    returns = np.maximum(drift + factors @ loadings + noise, -0.9)
    names = [f"c{i}" for i in range(n)]
    groups = pd.DataFrame({"industry": [f"ind{k}" for k in rng.integers(0, 20, n)]}, index=names)
    attributes = pd.DataFrame(
        {"delta": rng.normal(0, 1, n), "vega": rng.normal(0, 1, n)}, index=names
    )
    return Candidates(
        returns=pd.DataFrame(returns, columns=names), groups=groups, attributes=attributes
    )


CONSTRAINTS = [
    Budget(limit=0.9),
    GroupCap(by="industry", limit=0.25),
    ExposureLimit(attribute="delta", max_abs=0.05),
    ExposureLimit(attribute="vega", max_abs=0.05),
]


def naive(data: Candidates) -> tuple[float, float]:
    """The naive exact Kelly: all candidates, one exp cone per scenario, through cvxpy."""
    start = time.perf_counter()
    alloc = Allocator(objective=Kelly(), constraints=CONSTRAINTS)
    rows = alloc.rows(data)
    w = cp.Variable(data.n_candidates, nonneg=True)
    cons = []
    for r in rows:
        scale = r.scale(1.0, 0.9)
        if r.absolute:
            cons.append(cp.abs(r.coeffs @ w) <= r.upper * scale)  # type: ignore[operator]
        else:
            cons.append(r.coeffs @ w <= r.upper * scale)  # type: ignore[operator]
    problem = cp.Problem(cp.Maximize(data.p @ cp.log(1 + data.r @ w)), cons)
    problem.solve(solver="CLARABEL")
    return time.perf_counter() - start, float(problem.value)


def ours(data: Candidates) -> tuple[float, float, str]:
    start = time.perf_counter()
    result = Allocator(objective=Kelly(), constraints=CONSTRAINTS, method="working_set").solve(data)
    return time.perf_counter() - start, result.objective_value, result.solver


def riskfolio_side_by_side(data: Candidates) -> None:
    try:
        import riskfolio as rp
    except ImportError:
        print("riskfolio-lib not installed (pip install riskfolio-lib, the 'bench' extra)")
        return
    start = time.perf_counter()
    port = rp.Portfolio(returns=data.returns)
    port.assets_stats(method_mu="hist", method_cov="hist")
    weights = port.optimization(
        model="Classic", rm="MV", obj="MaxRet", kelly="exact", rf=0, l=0, hist=True
    )
    rf_seconds = time.perf_counter() - start
    w_rf = weights.to_numpy().ravel()
    growth_rf = float(data.p @ np.log(1 + data.r @ w_rf))
    start = time.perf_counter()
    result = Allocator(
        objective=Kelly(), constraints=[Budget(limit=1.0, exact=True)], method="working_set"
    ).solve(data)
    ours_seconds = time.perf_counter() - start
    print(
        f"  riskfolio exact Kelly (sum w = 1, w >= 0): {rf_seconds:7.2f} s  "
        f"E log growth {growth_rf:.9f}"
    )
    print(
        f"  quantalloc same setting (working set)   : {ours_seconds:7.2f} s  "
        f"E log growth {result.objective_value:.9f}  gap {result.objective_value - growth_rf:+.2e}"
    )


def rck_at_scale(n: int, scenarios: int, method: str) -> None:
    data = make_data(n, scenarios, seed=2)
    start = time.perf_counter()
    try:
        result = Allocator(
            objective=RiskConstrainedKelly(alpha=0.9, beta=0.1),
            constraints=CONSTRAINTS,
            method=method,
        ).solve(data)
        row = result.constraint("drawdown")
        print(
            f"  RCK {method:>11} {n:>5} x {scenarios:<6}: {result.status} in "
            f"{time.perf_counter() - start:6.2f} s, growth {result.objective_value:.9f}, "
            f"E[W^-lambda] = {row.value:.6f} (<= 1), {result.solver}"
        )
    except Exception as exc:  # report, do not hide: this is a benchmark
        print(
            f"  RCK {method:>11} {n:>5} x {scenarios:<6}: FAILED after "
            f"{time.perf_counter() - start:.2f} s: {exc}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument(
        "--skip-naive-large",
        action="store_true",
        help="skip the naive form at 1,000 x 10,000 (minutes)",
    )
    args = parser.parse_args()
    sizes = [(100, 500)] if args.quick else [(500, 2_000), (1_000, 10_000)]
    print("exact Kelly, budget + 20 industry caps + |delta| + |vega| limits")
    print(
        f"{'size':>14} {'naive s':>9} {'ours s':>8} {'naive objective':>17} "
        f"{'ours objective':>17} {'gap':>9}  solver"
    )
    for n, s in sizes:
        data = make_data(n, s)
        t_ours, v_ours, how = ours(data)
        if args.skip_naive_large and n * s > 2_000_000:
            print(f"{n:>5} x {s:<6} {'skipped':>9} {t_ours:8.2f} {'':>17} {v_ours:17.10f}")
            continue
        t_naive, v_naive = naive(data)
        print(
            f"{n:>5} x {s:<6} {t_naive:9.2f} {t_ours:8.2f} {v_naive:17.10f} {v_ours:17.10f} "
            f"{v_ours - v_naive:+9.1e}  {how}"
        )
    print("Riskfolio-Lib side by side")
    n, s = sizes[0]
    riskfolio_side_by_side(make_data(n, s, seed=1))
    print("risk-constrained Kelly (alpha 0.9, beta 0.1): direct cvxpy form vs working set")
    rck_sizes = [(100, 1_000)] if args.quick else [(100, 2_000), (100, 10_000), (1_000, 10_000)]
    for n, s in rck_sizes:
        if n * s <= 200_000:
            rck_at_scale(n, s, "direct")
        rck_at_scale(n, s, "working_set")


if __name__ == "__main__":
    main()
