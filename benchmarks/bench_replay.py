"""Seconds per rebalance of the allocator replay, against issue 16's goals.

Two replays, each run in this process through ``run_strategy`` (imports and the first read of
the data files are outside the figure; the replay's own ``timings`` are printed):

- **US** — the README's allocator command: the 51 US stocks of ``csv:../shared/data/us``,
  2016-01-04 .. 2017-11-30, a solve every 21 sessions at 300 scenarios, marks by the proxy.
  Goal: at most 0.5 s a rebalance; issue 16 measured 1.3-1.5 s a solve before.
- **NIFTY 50 on chains** — the README's NSE command: the NIFTY 50 on the F&O bhavcopy of
  2026-01-01 .. 2026-02-13, a solve every 5 sessions on that session's listed contracts, every
  position marked at its contract's price. Goal: at most 2 s a rebalance.

    python benchmarks/bench_replay.py [--only us|in] [--end 2016-06-30]

The machine's load average is printed beside the figures: on a shared 2-core machine the
seconds scale with it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHARED = Path(os.environ.get("QUANTALLOC_SHARED_DATA", ROOT.parent / "shared" / "data"))
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")
BEFORE = "1.3-1.5 s a solve (issue 16, measured alone, 300 scenarios)"


def us_tables(folder: Path) -> dict[str, str]:
    """The README's two tables: each GICS sector an industry, equal NEUTRAL weights."""
    c = pd.read_csv(SHARED / "us" / "constituents.csv")
    sectors = sorted(c["sector"].unique())
    pd.DataFrame({"symbol": c["symbol"], "industry": c["sector"], "sector": c["sector"],
                  "fno_stock": True, "lot_size": 100, "market_cap_category": "Large"}
                 ).to_csv(folder / "us_stock_data.csv", index=False)  # fmt: skip
    pd.DataFrame({"industry": sectors, "sector": sectors, "position_type": "NEUTRAL",
                  "weight_percentage": round(100 / len(sectors), 2), "rating": "Neutral"}
                 ).to_csv(folder / "us_industries.csv", index=False)  # fmt: skip
    return {
        "stock_data": str(folder / "us_stock_data.csv"),
        "industry_allocations": str(folder / "us_industries.csv"),
    }


def in_tables(folder: Path) -> dict[str, str]:
    """The README's NSE tables (tests/pipeline/test_solve_chains.py writes the same)."""
    from tests.pipeline.test_solve_chains import _tables

    args = _tables(SHARED, folder)
    return {
        "stock_data": args[1].split("=", 1)[1],
        "industry_allocations": args[3].split("=", 1)[1],
    }


def one_solve(data: str, as_of: str, capital: float, params: dict) -> float:
    """Seconds of one standalone ``quantalloc.solve`` as the replay's first rebalance asks it
    (GARCH fits not remembered): the per-solve figure of before, under today's load."""
    from quantalloc.backtest.strategies import allocator
    from quantalloc.data.sources import get_provider
    from quantalloc.options import forecast
    from quantalloc.pipeline import solve

    p = allocator.PARAMS(
        **{k: v for k, v in params.items() if k in allocator.PARAMS.__dataclass_fields__}
    )
    extra = {"chains": p.chains} if p.chains else {}
    provider = get_provider(data, p.market)
    forecast._FITS.clear()
    t0 = time.perf_counter()
    solve(risk=p.risk, model=allocator._spec(p), market=p.market, capital=capital, as_of=as_of,
          data=provider, tables=allocator._tables(p), n_scenarios=p.n_scenarios, seed=p.seed,
          **extra)  # fmt: skip
    forecast._FITS.clear()
    return time.perf_counter() - t0


def run(name: str, data: str, start: str, end: str, capital: float, params: dict) -> None:
    from quantalloc.backtest.registry import run_strategy
    from quantalloc.data.sources import get_provider

    alone = one_solve(data, start, capital, params)
    provider = get_provider(data, params["market"])
    t0 = time.perf_counter()
    result = run_strategy("allocator", provider, start, end, capital, params)
    wall = time.perf_counter() - t0
    t = result.timings
    load = os.getloadavg()[0]
    print(
        f"{name:<22} {t['rebalances']:>3} rebalances  {t['seconds_per_rebalance']:6.2f} s each "
        f"({t['solve_seconds_per_rebalance']:.2f} s in the solve)  whole run {wall:6.1f} s  "
        f"load {load:.1f}  total {result.metrics['total_return']:+.1%}"
    )
    print(f"{'':<22} one standalone solve of its first session: {alone:.2f} s (same load)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=("us", "in"), default=None)
    ap.add_argument("--end", default="2017-11-30", help="US window's end (shorter: quicker)")
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    import tempfile

    import quantalloc.pipeline  # noqa: F401  (imports outside the figures)

    print(f"before this issue: {BEFORE}; goals: US <= 0.5 s, NIFTY 50 on chains <= 2 s")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.only in (None, "us"):
            params = {"market": "us", **us_tables(folder)}
            run("US (README command)", f"csv:{SHARED / 'us'}", "2016-01-04", args.end,
                1_000_000, params)  # fmt: skip
        if args.only in (None, "in"):
            params = {
                "market": "in", "risk": "aggressive", "rebalance_days": 5,
                "take_profit": 0.5, "stop_loss": 1.0,
                "chains": str(SHARED / "in" / "fo_bhavcopy"), **in_tables(folder),
            }  # fmt: skip
            run("NIFTY 50 on chains", f"csv:{SHARED / 'in'}", "2026-01-01", "2026-02-13",
                10_000_000, params)  # fmt: skip


if __name__ == "__main__":
    main()
