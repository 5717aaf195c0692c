"""Calibrated scenarios: how well each recipe prices real chains, and what it costs the solve.

Part 1, repricing (tests/support/calibration_cases.py): NIFTY and nine NIFTY 50 stocks on the
NSE F&O session 2026-02-02 (closes and settlements; spreads modelled) and SPX on 2019-05-01
(bid/ask quotes), horizon the next monthly expiry; targets the forward and every out-of-the-money
contract within 2 sd. For the raw bootstrap, ``copula`` (each marginal implied by the chain,
joined by the bootstrap's ranks) and ``entropy`` (joint re-weighting), both with a work limit
of 300 dual iterations: the repricing error over the half-spread (median, worst, share within),
Kish's effective number of scenarios, the largest change of a Spearman rank correlation
between two symbols (the dependence kept), and seconds.

Part 2, solve time: the speed issue's table (``bench_solve.py``'s 51 US stocks at 422 x 2,000,
1,600 x 2,000 and 422 x 10,000, exact and risk-constrained Kelly) and the NIFTY 50 on NSE's
chains (``bench_solve_chains.py``), each ``solve()`` with equal-weight bootstrap scenarios
(``calibration = "none"``, views none) beside calibrated, view-weighted ones (``copula``,
views model): wall and CPU seconds, the scenario stage and the allocation (solve + lots).

    python benchmarks/bench_calibration.py [--part 1|2|both] [--scenarios 2000] [--repeat 3]
                                           [--sizes 422x2000 1600x2000 422x10000]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from quantalloc.pipeline import solve  # noqa: E402
from quantalloc.pipeline.calibration import calibrate, repricing  # noqa: E402
from quantalloc.pipeline.model import ModelSpec, load_model  # noqa: E402
from tests.support.calibration_cases import Case, nse_case, spx_case  # noqa: E402

SHARED = Path(os.environ.get("QUANTALLOC_SHARED_DATA", ROOT.parent / "shared" / "data"))
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")


def spearman(prices: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Weighted Spearman correlation matrix of the columns (ranks of the equal-weight sample)."""
    ranks = np.argsort(np.argsort(prices, axis=0), axis=0).astype(float)
    mean = p @ ranks
    dev = ranks - mean
    cov = dev.T @ (dev * p[:, None])
    sd = np.sqrt(np.diag(cov))
    out: np.ndarray = cov / np.outer(sd, sd)
    return out


def reprice(case: Case) -> None:
    n = case.prices.shape[0]
    eq = np.full(n, 1.0 / n)
    base = spearman(case.prices, eq)
    opt = case.targets.kind != 0
    rows = case.targets.values(case.prices, case.rate, case.horizon)
    raw = repricing(rows, eq, case.targets)["spread_ratio"].to_numpy()[opt]
    print(f"\n{case.name}: {case.prices.shape[1]} symbols, {int(opt.sum())} contracts, {n} scen.")
    head = ("recipe", "median", "worst", "within", "ESS", "d rank corr", "s")
    widths = (9, 8, 9, 8, 7, 13, 7)
    print("  " + "".join(f"{h:>{w}}" for h, w in zip(head, widths, strict=True)))
    within = (raw <= 1).mean()
    print(f"  {'raw':<9}{np.median(raw):8.2f}{raw.max():9.2f}{within:8.0%}{n:7d}{0:13.3f}")
    for method in ("copula", "entropy"):
        t0 = time.perf_counter()
        cal = calibrate(
            case.prices, case.forwards, case.atm, case.targets,
            rate=case.rate, horizon=case.horizon, method=method,
        )  # fmt: skip
        secs = time.perf_counter() - t0
        r = cal.repricing["spread_ratio"].to_numpy()[opt]
        drift = np.abs(spearman(cal.prices, cal.probabilities) - base).max()
        print(
            f"  {method:<9}{np.median(r):8.2f}{r.max():9.2f}{(r <= 1 + 1e-9).mean():8.0%}"
            f"{cal.effective_scenarios:7.0f}{drift:13.3f}{secs:7.1f}"
        )


def _without_calibration(model: ModelSpec) -> ModelSpec:
    return dataclasses.replace(
        model, view_rules=dataclasses.replace(model.view_rules, calibration="none")
    )


def _timed(run: Callable[[], Any], repeat: int) -> tuple[float, float, float, float]:
    """Least wall and CPU seconds of ``repeat`` calls (after one unmeasured warm-up), with
    the scenario stage and the allocation (convex solve and lots) of the fastest."""
    run()
    rows = []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = run()
        timings = result.solver["timings"]
        rows.append(
            (
                time.perf_counter() - t0,
                time.process_time() - c0,
                timings.get("scenarios", 0.0),
                timings.get("allocation: solve + lots", 0.0),
            )
        )
    wall = min(r[0] for r in rows)
    cpu = min(r[1] for r in rows)
    best = min(rows)
    return wall, cpu, best[2], best[3]


def solve_times(repeat: int, sizes: list[str]) -> None:
    """The speed issue's table (bench_solve.py: 51 US stocks, ``industry_first`` with its full
    constraints) and the NIFTY 50 on chains (bench_solve_chains.py), each solved with today's
    equal weights (``calibration = "none"``, views none) and with calibrated scenarios weighted
    by the model's views (``copula``, views model), side by side."""
    from bench_solve import SIZES, Recorder, engine_alone, sized_model, tables

    import quantalloc.pipeline.sizing as sizing
    from tests.pipeline.test_solve import in_tables

    base = load_model("industry_first")
    us = tables()
    cases: list[tuple[str, Callable[[ModelSpec, str], Any], ModelSpec]] = []
    for n, s, expiries, otm in SIZES:
        if f"{n}x{s}" not in sizes:
            continue
        for kind in ("kelly", "rck"):
            spec = sized_model(n, expiries, otm, kind, base)

            def us_run(model: ModelSpec, views: str, s: int = s) -> Any:
                return solve(
                    risk="moderate", model=model, market="us", data=f"csv:{SHARED / 'us'}",
                    tables=us, n_scenarios=s, views=views,
                )  # fmt: skip

            cases.append((f"US 51, {n} x {s:,} {kind}", us_run, spec))
    nifty = in_tables(SHARED)

    def in_run(model: ModelSpec, views: str) -> Any:
        return solve(
            risk="aggressive", model=model, market="in", data=f"csv:{SHARED / 'in'}",
            chains=str(SHARED / "in" / "fo_bhavcopy"), as_of="2026-02-02", tables=nifty,
            views=views,
        )  # fmt: skip

    cases.append(("NIFTY 50 chains, 2026-02-02", in_run, base))
    print(f"\nsolve() side by side, best of {repeat} (seconds; wall / CPU; stages of the best)")
    head = f"  {'case':<30}| {'equal weights: wall':>19} {'CPU':>5} {'scen':>5} {'alloc':>5} "
    print(head + f"| {'calibrated: wall':>16} {'CPU':>5} {'scen':>5} {'alloc':>5} | CPU ratio")
    engine_rows = []
    sizing.Allocator = Recorder  # type: ignore[misc]
    for label, run, spec in cases:
        plain = _without_calibration(spec)
        eq = _timed(lambda run=run, plain=plain: run(plain, "none"), repeat)
        cal = _timed(lambda run=run, spec=spec: run(spec, "model"), repeat)
        print(
            f"  {label:<30}| {eq[0]:19.2f} {eq[1]:5.2f} {eq[2]:5.2f} {eq[3]:5.2f} "
            f"| {cal[0]:16.2f} {cal[1]:5.2f} {cal[2]:5.2f} {cal[3]:5.2f} | {cal[1] / eq[1]:6.2f}",
            flush=True,
        )
        rec = dict(Recorder.last)
        weighted = engine_alone(rec, repeat)
        equal = engine_alone(rec, repeat, _equal_weights(rec["data"]))
        engine_rows.append((label, equal, weighted))
    sizing.Allocator = sizing.Allocator.__mro__[1]  # type: ignore[misc]
    print(
        "\nThe engine alone on the calibrated run's candidates (Allocator.solve with the model's\n"
        "constraints and lots): its calibrated, view-weighted scenarios beside as many equally\n"
        "weighted ones resampled from them (the same distribution and edges); best of "
        f"{repeat} (seconds: wall, CPU, convex solve, lots)"
    )
    print(f"  {'case':<30}| {'equal weights':>13} {'CPU':>5} {'solve':>5} {'lots':>5} "
          f"| {'weighted':>8} {'CPU':>5} {'solve':>5} {'lots':>5} | solve ratio")  # fmt: skip
    for label, eq_e, w_e in engine_rows:
        print(
            f"  {label:<30}| {eq_e[0]:13.2f} {eq_e[3]:5.2f} {eq_e[1]:5.2f} {eq_e[2]:5.2f} "
            f"| {w_e[0]:8.2f} {w_e[3]:5.2f} {w_e[1]:5.2f} {w_e[2]:5.2f} "
            f"| {w_e[1] / max(eq_e[1], 1e-9):6.2f}"
        )
    print(f"machine load after (1/5/15 min): {os.getloadavg()}")


def _equal_weights(data: Any) -> Any:
    """The same candidates on as many equally likely scenarios drawn from the weighted ones
    (systematic resampling: scenario ``s`` repeated about ``n p_s`` times), so both sets carry
    the same distribution and the same edges. Equal weights on the calibrated scenarios
    themselves would price the market: no edge, nothing to allocate, nothing to time."""
    from quantalloc.allocation import Candidates

    n = data.n_scenarios
    picks = np.searchsorted(np.cumsum(data.p), (np.arange(n) + 0.5) / n)
    return Candidates(
        returns=data.returns.iloc[np.minimum(picks, n - 1)].reset_index(drop=True),
        probabilities=np.full(n, 1.0 / n),
        attributes=data.attributes,
        groups=data.groups,
        lot_cost=data.lot_cost,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", default="both", choices=["1", "2", "both"])
    ap.add_argument("--scenarios", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sizes", nargs="*", default=["422x2000", "1600x2000", "422x10000"])
    args = ap.parse_args()
    print(f"machine load (1/5/15 min): {os.getloadavg()} on {os.cpu_count()} cores")
    if args.part in ("1", "both"):
        reprice(spx_case(SHARED, n=args.scenarios))
        reprice(nse_case(SHARED, n=args.scenarios))
    if args.part in ("2", "both"):
        solve_times(args.repeat, args.sizes)


if __name__ == "__main__":
    main()
