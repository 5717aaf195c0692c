"""QuantLib reference prices and Greeks (an independent implementation) for side-by-side checks."""

from __future__ import annotations

import numpy as np

try:
    import QuantLib as ql
except ImportError:  # pragma: no cover - QuantLib is a test extra
    ql = None


def quantlib_bsm(
    kind: str, spot: float, strike: float, days: int, rate: float, vol: float, dividend: float
) -> dict[str, float]:
    """Analytic European BSM from QuantLib; t = days / 365 (Actual/365 Fixed, continuous rates)."""
    assert ql is not None
    today = ql.Date(2, 1, 2024)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, dividend, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, rate, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), vol, dc)),
    )
    payoff = ql.PlainVanillaPayoff(ql.Option.Call if kind == "call" else ql.Option.Put, strike)
    option = ql.EuropeanOption(payoff, ql.EuropeanExercise(today + days))
    option.setPricingEngine(ql.AnalyticEuropeanEngine(process))
    return {
        "price": option.NPV(),
        "delta": option.delta(),
        "gamma": option.gamma(),
        "vega": option.vega(),
        "theta": option.theta(),
        "rho": option.rho(),
    }


def quantlib_implied_vol(
    kind: str, price: float, spot: float, strike: float, days: int, rate: float, dividend: float
) -> float:
    """QuantLib's implied volatility of a European option price."""
    assert ql is not None
    today = ql.Date(2, 1, 2024)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    vol_quote = ql.SimpleQuote(0.2)
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, dividend, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, rate, dc)),
        ql.BlackVolTermStructureHandle(
            ql.BlackConstantVol(today, ql.NullCalendar(), ql.QuoteHandle(vol_quote), dc)
        ),
    )
    payoff = ql.PlainVanillaPayoff(ql.Option.Call if kind == "call" else ql.Option.Put, strike)
    option = ql.EuropeanOption(payoff, ql.EuropeanExercise(today + days))
    option.setPricingEngine(ql.AnalyticEuropeanEngine(process))
    return float(option.impliedVolatility(price, process, 1e-12, 1000, 1e-4, 10.0))


def random_inputs(n: int, seed: int = 7) -> dict[str, np.ndarray]:
    """Random but sane option inputs; t is a whole number of days (for QuantLib's dates)."""
    rng = np.random.default_rng(seed)
    days = rng.integers(1, 3 * 365, n)
    return {
        "kind": np.where(rng.random(n) < 0.5, "call", "put"),
        "spot": rng.uniform(20, 500, n),
        "strike_ratio": np.exp(rng.normal(0, 0.25, n)),
        "days": days,
        "t": days / 365.0,
        "rate": rng.uniform(-0.01, 0.10, n),
        "vol": rng.uniform(0.05, 1.2, n),
        "dividend": rng.uniform(0.0, 0.06, n),
    }
