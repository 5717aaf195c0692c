"""Calibrated scenarios: how well each recipe prices real chains, and what it costs the solve.

Part 1, repricing (tests/support/calibration_cases.py): NIFTY and nine NIFTY 50 stocks on the
NSE F&O session 2026-02-02 (closes and settlements; spreads modelled) and SPX on 2019-05-01
(bid/ask quotes), horizon the next monthly expiry; targets the forward and every out-of-the-money
contract within 2 sd. For the raw bootstrap, ``copula`` (each marginal implied by the chain,
joined by the bootstrap's ranks) and ``entropy`` (joint re-weighting), both with a work limit
of 300 dual iterations: the repricing error over the half-spread (median, worst, share within),
Kish's effective number of scenarios, the largest change of a Spearman rank correlation
between two symbols (the dependence kept), and seconds.

Part 2, solve time (the speed issue's demo solve, exact Kelly): equal-weight bootstrap
scenarios (``calibration = "none"``, views none) against calibrated, view-weighted ones
(``copula``, views model), side by side.

    python benchmarks/bench_calibration.py [--part 1|2|both] [--scenarios 2000]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from quantalloc.pipeline import solve  # noqa: E402
from quantalloc.pipeline.calibration import calibrate, repricing  # noqa: E402
from quantalloc.pipeline.model import load_model  # noqa: E402
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


def solve_times(scenarios: int, repeat: int) -> None:
    base = load_model("industry_first")
    plain = dataclasses.replace(
        base, view_rules=dataclasses.replace(base.view_rules, calibration="none")
    )
    print(f"\nsolve on the demo market, exact Kelly, {scenarios} scenarios, median of {repeat}")
    print(f"  {'scenarios':<34}{'total s':>9}{'scenarios s':>13}{'solve s':>9}{'lots s':>8}")
    for label, spec, views in (
        ("equal weights (bootstrap)", plain, "none"),
        ("calibrated + views (weighted)", base, "model"),
    ):
        runs = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            r = solve(model=spec, data="demo", views=views, n_scenarios=scenarios)
            runs.append(
                (
                    time.perf_counter() - t0,
                    r.solver["timings"].get("scenarios", 0.0),
                    r.solver["solve_seconds"],
                    r.solver["rounding"]["seconds"],
                )
            )
        med = [statistics.median(x) for x in zip(*runs, strict=True)]
        print(f"  {label:<34}{med[0]:9.2f}{med[1]:13.2f}{med[2]:9.2f}{med[3]:8.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", default="both", choices=["1", "2", "both"])
    ap.add_argument("--scenarios", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"machine load (1/5/15 min): {os.getloadavg()} on {os.cpu_count()} cores")
    if args.part in ("1", "both"):
        reprice(spx_case(SHARED, n=args.scenarios))
        reprice(nse_case(SHARED, n=args.scenarios))
    if args.part in ("2", "both"):
        solve_times(args.scenarios, args.repeat)


if __name__ == "__main__":
    main()
