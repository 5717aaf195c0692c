"""Options priced with all Greeks per second: quantalloc vs a naive scalar loop vs QuantLib.

Run from the repository root: ``PYTHONPATH=. python benchmarks/bench_black_scholes.py [--n N]``.
Prints one table with the throughput of each implementation on the same random inputs (best of
several repeats), the largest differences against QuantLib, and implied-vol throughput. Timings
on a shared machine are noisy; compare the columns of one run rather than runs with each other.
The numba loop is a reference point only: the library stays numpy (no JIT warm-up, no threads
competing with the solvers).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np

from quantalloc.options import (
    Underlying,
    black_scholes,
    build_strategy,
    implied_vol,
    implied_vol_with_reasons,
    pnl_matrix,
    strategy_names,
)

try:
    import QuantLib as ql
except ImportError:  # pragma: no cover
    ql = None

try:
    import numba
except ImportError:  # pragma: no cover
    numba = None


def make_inputs(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    days = rng.integers(1, 730, n)
    spot = rng.uniform(20, 500, n)
    return {
        "kind": np.where(rng.random(n) < 0.5, "call", "put"),
        "spot": spot,
        "strike": spot * np.exp(rng.normal(0, 0.2, n)),
        "days": days,
        "t": days / 365.0,
        "rate": rng.uniform(0.0, 0.08, n),
        "vol": rng.uniform(0.05, 1.0, n),
        "dividend": rng.uniform(0.0, 0.04, n),
    }


def best_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def naive_bsm(kind: str, s: float, k: float, t: float, r: float, v: float, q: float) -> tuple:
    """Textbook scalar formulas with math.erf, one option at a time."""
    sqrt_t = math.sqrt(t)
    d1 = (math.log(s / k) + (r - q + 0.5 * v * v) * t) / (v * sqrt_t)
    d2 = d1 - v * sqrt_t

    def cdf(x: float) -> float:
        return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))

    pdf = math.exp(-0.5 * d1 * d1) / math.sqrt(2.0 * math.pi)
    dq, dr = math.exp(-q * t), math.exp(-r * t)
    gamma = dq * pdf / (s * v * sqrt_t)
    vega = s * dq * pdf * sqrt_t
    if kind == "call":
        price = s * dq * cdf(d1) - k * dr * cdf(d2)
        delta = dq * cdf(d1)
        theta = -s * dq * pdf * v / (2 * sqrt_t) - r * k * dr * cdf(d2) + q * s * dq * cdf(d1)
        rho = k * t * dr * cdf(d2)
    else:
        price = k * dr * cdf(-d2) - s * dq * cdf(-d1)
        delta = -dq * cdf(-d1)
        theta = -s * dq * pdf * v / (2 * sqrt_t) + r * k * dr * cdf(-d2) - q * s * dq * cdf(-d1)
        rho = -k * t * dr * cdf(-d2)
    return price, delta, gamma, vega, theta, rho


def quantlib_batch(x: dict[str, np.ndarray], n: int) -> np.ndarray:
    """NPV and five Greeks from QuantLib's analytic engine, quotes updated per option."""
    assert ql is not None
    today = ql.Date(2, 1, 2024)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    spot, rate, div, vol = (ql.SimpleQuote(0.0) for _ in range(4))
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(spot),
        ql.YieldTermStructureHandle(ql.FlatForward(today, ql.QuoteHandle(div), dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, ql.QuoteHandle(rate), dc)),
        ql.BlackVolTermStructureHandle(
            ql.BlackConstantVol(today, ql.NullCalendar(), ql.QuoteHandle(vol), dc)
        ),
    )
    engine = ql.AnalyticEuropeanEngine(process)
    out = np.empty((n, 6))
    for i in range(n):
        spot.setValue(float(x["spot"][i]))
        rate.setValue(float(x["rate"][i]))
        div.setValue(float(x["dividend"][i]))
        vol.setValue(float(x["vol"][i]))
        kind = ql.Option.Call if x["kind"][i] == "call" else ql.Option.Put
        option = ql.EuropeanOption(
            ql.PlainVanillaPayoff(kind, float(x["strike"][i])),
            ql.EuropeanExercise(today + int(x["days"][i])),
        )
        option.setPricingEngine(engine)
        out[i] = (option.NPV(), option.delta(), option.gamma(), option.vega(),
                  option.theta(), option.rho())  # fmt: skip
    return out


def numba_kernel() -> Callable[..., None] | None:
    """A fused, multi-threaded numba loop over the same formulas (for comparison only)."""
    if numba is None:
        return None

    @numba.njit(parallel=True, fastmath=False, cache=True)
    def kernel(w, s, k, t, r, v, q, out):  # type: ignore[no-untyped-def]
        for i in numba.prange(s.size):
            sqrt_t = math.sqrt(t[i])
            sv = v[i] * sqrt_t
            d1 = (math.log(s[i] / k[i]) + (r[i] - q[i]) * t[i]) / sv + 0.5 * sv
            d2 = d1 - sv
            n1 = 0.5 * math.erfc(-w[i] * d1 / math.sqrt(2.0))
            n2 = 0.5 * math.erfc(-w[i] * d2 / math.sqrt(2.0))
            pdf = math.exp(-0.5 * d1 * d1) * 0.3989422804014327
            sdq = s[i] * math.exp(-q[i] * t[i])
            kdr = k[i] * math.exp(-r[i] * t[i])
            s_leg, k_leg = sdq * n1, kdr * n2
            out[0, i] = w[i] * (s_leg - k_leg)
            out[1, i] = w[i] * sdq / s[i] * n1
            out[2, i] = sdq * pdf / (s[i] * s[i] * sv)
            out[3, i] = sdq * pdf * sqrt_t
            out[4, i] = -0.5 * sdq * pdf * v[i] / sqrt_t + w[i] * (q[i] * s_leg - r[i] * k_leg)
            out[5, i] = w[i] * t[i] * k_leg

    return kernel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="options per vectorized batch")
    parser.add_argument("--naive-n", type=int, default=50_000)
    parser.add_argument("--quantlib-n", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    x = make_inputs(args.n)
    cols = ("spot", "strike", "t", "rate", "vol", "dividend")
    w = np.where(x["kind"] == "call", 1.0, -1.0)

    rows: list[tuple[str, int, float]] = []
    black_scholes(x["kind"][:1000], *(x[c][:1000] for c in cols))  # warm up
    sec = best_time(lambda: black_scholes(x["kind"], *(x[c] for c in cols)), args.repeats)
    rows.append(("quantalloc black_scholes, kind strings", args.n, args.n / sec))
    sec = best_time(lambda: black_scholes(w, *(x[c] for c in cols)), args.repeats)
    rows.append(("quantalloc black_scholes, kind as +1/-1", args.n, args.n / sec))

    m = args.naive_n
    sec = best_time(
        lambda: [naive_bsm(str(x["kind"][i]), *(float(x[c][i]) for c in cols)) for i in range(m)],
        max(1, args.repeats // 2),
    )
    rows.append(("naive scalar loop (math.erf)", m, m / sec))

    kernel = numba_kernel()
    if kernel is not None:
        out = np.empty((6, args.n))
        arrays = [w, *(np.ascontiguousarray(x[c]) for c in cols)]
        kernel(*(a[:10] for a in arrays), out[:, :10])  # compile (or load the cache)
        sec = best_time(lambda: kernel(*arrays, out), args.repeats)
        label = f"numba prange loop ({numba.get_num_threads()} threads), reference only"
        rows.append((label, args.n, args.n / sec))

    diffs: dict[str, float] = {}
    if ql is not None:
        q = args.quantlib_n
        t0 = time.perf_counter()
        ref = quantlib_batch(x, q)
        sec = time.perf_counter() - t0
        rows.append((f"QuantLib {ql.__version__} AnalyticEuropeanEngine", q, q / sec))
        ours = black_scholes(x["kind"][:q], *(x[c][:q] for c in cols))
        for j, name in enumerate(("price", "delta", "gamma", "vega", "theta", "rho")):
            diffs[name] = float(np.max(np.abs(getattr(ours, name) - ref[:, j])))

    print(f"Black-Scholes-Merton price + delta, gamma, vega, theta, rho  (machine: shared, "
          f"{__import__('os').cpu_count()} cores; best of {args.repeats})")  # fmt: skip
    print(f"{'implementation':<58}{'options':>10}{'options/s':>16}")
    for label, count, rate in rows:
        print(f"{label:<58}{count:>10,}{rate:>16,.0f}")
    if diffs:
        print("largest absolute difference vs QuantLib: "
              + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()))  # fmt: skip

    # implied volatility throughput on prices generated at known vols
    n_iv = min(args.n, 200_000)
    price = black_scholes(w[:n_iv], *(x[c][:n_iv] for c in cols)).price
    iv_args = (w[:n_iv], price, x["spot"][:n_iv], x["strike"][:n_iv], x["t"][:n_iv],
               x["rate"][:n_iv], x["dividend"][:n_iv])  # fmt: skip
    sec = best_time(lambda: implied_vol(*iv_args), max(1, args.repeats // 2))
    res = implied_vol_with_reasons(*iv_args)
    ok = res.reason == ""
    err = np.max(np.abs(res.vol[ok] - x["vol"][:n_iv][ok]))
    print(f"implied_vol: {n_iv:,} options in {sec:.3f} s = {n_iv / sec:,.0f} /s; "
          f"{ok.mean():.2%} solved (largest vol error {err:.1e}); the rest flagged "
          f"at_lower_bound: time value below the price's rounding")  # fmt: skip

    # scenario P&L of a candidate set, as the allocation step evaluates it
    t0 = time.perf_counter()
    cands = [
        build_strategy(
            name,
            Underlying(f"S{i}", 50.0 + 7 * i, 0.2 + 0.01 * (i % 20), lot_size=100),
            (20 + i % 40) / 365,
        )
        for i in range(20)
        for name in strategy_names()
    ]
    built = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    spots = np.array([c.spot for c in cands])[:, None]
    scen = spots * np.exp(rng.normal(0.0, 0.08, (1, 5000)))
    sec = best_time(lambda: pnl_matrix(cands, scen), args.repeats)
    loop = best_time(lambda: [c.pnl(scen[i]) for i, c in enumerate(cands)], args.repeats)
    print(f"pnl_matrix: {len(cands)} strategies x 5,000 scenarios in {sec * 1e3:.1f} ms "
          f"({len(cands) * 5000 / sec:,.0f} cells/s; per-strategy loop {loop * 1e3:.1f} ms; "
          f"building + pricing the {len(cands)} candidates took {built * 1e3:.0f} ms)")  # fmt: skip


if __name__ == "__main__":
    main()
