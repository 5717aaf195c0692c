"""Black-Scholes-Merton prices and Greeks: textbook values, parity, finite differences, QuantLib."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantalloc.errors import ConfigError, DataError
from quantalloc.options import black_scholes, intrinsic
from tests.options.quantlib_ref import ql, quantlib_bsm, random_inputs


def test_hull_example_call_and_put() -> None:
    # Hull, Options, Futures and Other Derivatives (BSM chapter, worked example):
    # S=42, K=40, r=10%, sigma=20%, T=0.5 -> c = 4.76, p = 0.81
    call = black_scholes("call", 42, 40, 0.5, 0.10, 0.20)
    put = black_scholes("put", 42, 40, 0.5, 0.10, 0.20)
    assert float(call.price) == pytest.approx(4.76, abs=0.005)
    assert float(put.price) == pytest.approx(0.81, abs=0.005)


def test_hull_greeks_example() -> None:
    # Hull, "The Greek Letters" chapter: S=49, K=50, r=5%, sigma=20%, T=20 weeks (0.3846):
    # call price 2.40, delta 0.522, gamma 0.066, vega 12.1, theta -4.31 per year, rho 8.91
    g = black_scholes("call", 49, 50, 0.3846, 0.05, 0.20)
    assert float(g.price) == pytest.approx(2.40, abs=0.005)
    assert float(g.delta) == pytest.approx(0.522, abs=0.0005)
    assert float(g.gamma) == pytest.approx(0.066, abs=0.0005)
    assert float(g.vega) == pytest.approx(12.1, abs=0.05)
    assert float(g.theta) == pytest.approx(-4.31, abs=0.005)
    assert float(g.rho) == pytest.approx(8.91, abs=0.005)
    # display units: per vol point and per calendar day
    assert float(g.vega_per_point) == pytest.approx(0.121, abs=0.0005)
    assert float(g.theta_per_day) == pytest.approx(-4.31 / 365, abs=1e-4)


def test_hull_index_option_with_dividend_yield() -> None:
    # Hull, options on stock indices: S=930, K=900, r=8%, q=3%, sigma=20%, T=2/12 -> c = 51.83
    c = black_scholes("call", 930, 900, 2 / 12, 0.08, 0.20, dividend=0.03)
    assert float(c.price) == pytest.approx(51.83, abs=0.005)


def test_put_call_parity_to_1e10() -> None:
    # c - p = S e^{-qT} - K e^{-rT} (model-free identity)
    x = random_inputs(5000, seed=1)
    k = x["spot"] * x["strike_ratio"]
    c = black_scholes("call", x["spot"], k, x["t"], x["rate"], x["vol"], x["dividend"])
    p = black_scholes("put", x["spot"], k, x["t"], x["rate"], x["vol"], x["dividend"])
    fwd = x["spot"] * np.exp(-x["dividend"] * x["t"]) - k * np.exp(-x["rate"] * x["t"])
    assert np.max(np.abs(c.price - p.price - fwd)) < 1e-10
    # delta parity: delta_c - delta_p = e^{-qT}; gamma and vega are equal
    assert np.max(np.abs(c.delta - p.delta - np.exp(-x["dividend"] * x["t"]))) < 1e-12
    assert np.max(np.abs(c.gamma - p.gamma)) < 1e-12
    assert np.max(np.abs(c.vega - p.vega)) < 1e-9


@pytest.mark.parametrize("kind", ["call", "put"])
def test_greeks_match_central_differences(kind: str) -> None:
    x = random_inputs(400, seed=2)
    s, k = x["spot"], x["spot"] * x["strike_ratio"]
    t, r, v, q = x["t"], x["rate"], x["vol"], x["dividend"]
    g = black_scholes(kind, s, k, t, r, v, q)

    def price(**bump: np.ndarray) -> np.ndarray:
        a = {"spot": s, "strike": k, "t": t, "rate": r, "vol": v, "dividend": q, **bump}
        return black_scholes(kind, **a).price

    hs = 1e-4 * s
    fd_delta = (price(spot=s + hs) - price(spot=s - hs)) / (2 * hs)
    fd_gamma = (price(spot=s + hs) - 2 * g.price + price(spot=s - hs)) / hs**2
    h = 1e-5
    fd_vega = (price(vol=v + h) - price(vol=v - h)) / (2 * h)
    fd_rho = (price(rate=r + h) - price(rate=r - h)) / (2 * h)
    ht = 1e-6
    fd_theta = -(price(t=t + ht) - price(t=t - ht)) / (2 * ht)  # time passing shortens t
    scale = np.maximum(s, 1.0)
    assert np.max(np.abs(g.delta - fd_delta)) < 1e-6
    assert np.max(np.abs(g.gamma - fd_gamma) * scale) < 1e-4
    assert np.max(np.abs(g.vega - fd_vega) / scale) < 1e-7
    assert np.max(np.abs(g.rho - fd_rho) / np.maximum(k, 1.0)) < 1e-7
    assert np.max(np.abs(g.theta - fd_theta) / scale) < 1e-5


@pytest.mark.skipif(ql is None, reason="QuantLib not installed")
def test_side_by_side_with_quantlib() -> None:
    x = random_inputs(300, seed=3)
    k = x["spot"] * x["strike_ratio"]
    ours = black_scholes(x["kind"], x["spot"], k, x["t"], x["rate"], x["vol"], x["dividend"])
    worst: dict[str, float] = {}
    for i in range(x["kind"].size):
        ref = quantlib_bsm(
            str(x["kind"][i]),
            float(x["spot"][i]),
            float(k[i]),
            int(x["days"][i]),
            float(x["rate"][i]),
            float(x["vol"][i]),
            float(x["dividend"][i]),
        )
        for name, value in ref.items():
            diff = abs(float(getattr(ours, name)[i]) - value) / max(1.0, abs(value))
            worst[name] = max(worst.get(name, 0.0), diff)
    print("largest relative difference vs QuantLib:", {n: f"{d:.2e}" for n, d in worst.items()})
    for name, diff in worst.items():
        assert diff < 1e-9, (name, diff)


def test_kind_array_and_broadcasting() -> None:
    res = black_scholes(
        np.array(["call", "put", "CALL", "p"]), 100.0, [90, 100, 110, 120], 1, 0.0, 0.2
    )
    assert res.price.shape == (4,)
    single = [float(black_scholes(k, 100.0, s, 1, 0.0, 0.2).price) for k, s in
              [("call", 90), ("put", 100), ("call", 110), ("put", 120)]]  # fmt: skip
    assert np.allclose(res.price, single, rtol=0, atol=1e-14)
    grid = black_scholes(
        "call", np.array([[90.0], [110.0]]), np.array([95.0, 100.0, 105.0]), 0.5, 0.01, 0.3
    )
    assert grid.delta.shape == (2, 3)
    scalar = black_scholes("call", 100, 100, 1, 0.0, 0.2)
    assert scalar.price.shape == ()
    # sign arrays (+1 call, -1 put) are accepted too
    assert np.allclose(
        black_scholes(np.array([1.0, -1.0]), 100, 100, 1, 0, 0.2).price,
        res.price[:2] * 0
        + [float(black_scholes("call", 100, 100, 1, 0, 0.2).price), float(res.price[1])],
        atol=1e-14,
    )


def test_large_inputs_are_blocked_consistently() -> None:
    # above 65,536 elements the work runs in cache-sized blocks: same numbers as unblocked
    from quantalloc.options.pricing import _bsm

    x = random_inputs(70_001, seed=4)
    k = x["spot"] * x["strike_ratio"]
    args = (x["spot"], k, x["t"], x["rate"], x["vol"], x["dividend"])
    blocked = black_scholes(x["kind"], *args)
    plain = _bsm(np.where(x["kind"] == "call", 1.0, -1.0), *args)
    for name in ("price", "delta", "gamma", "vega", "theta", "rho"):
        assert np.array_equal(getattr(blocked, name), getattr(plain, name)), name
    grid = black_scholes("put", x["spot"][:300, None], k[None, :300], 0.5, 0.02, 0.3)
    assert grid.price.shape == (300, 300)
    assert grid.price[7, 11] == black_scholes("put", x["spot"][7], k[11], 0.5, 0.02, 0.3).price


def test_zero_vol_is_the_deterministic_limit() -> None:
    # vol = 0: the option pays its forward intrinsic value for sure, discounted
    # r = q makes the forward equal spot, so the middle strike sits exactly at the forward
    s, k, t, r, q = 100.0, np.array([90.0, 100.0, 110.0]), 1.0, 0.03, 0.03
    c = black_scholes("call", s, k, t, r, 0.0, q)
    p = black_scholes("put", s, k, t, r, 0.0, q)
    fwd_gap = s * np.exp(-q * t) - k * np.exp(-r * t)
    assert np.allclose(c.price, np.maximum(fwd_gap, 0.0), atol=1e-12)
    assert np.allclose(p.price, np.maximum(-fwd_gap, 0.0), atol=1e-12)
    assert c.gamma[0] == 0.0 and c.gamma[2] == 0.0 and np.isinf(c.gamma[1])
    assert c.delta[0] == pytest.approx(np.exp(-q * t)) and c.delta[2] == 0.0
    assert c.delta[1] == pytest.approx(0.5 * np.exp(-q * t))  # midpoint exactly at the forward


def test_nan_passes_through() -> None:
    res = black_scholes("call", [100.0, np.nan], 100.0, 1.0, 0.0, [0.2, 0.2])
    assert np.isfinite(res.price[0]) and np.isnan(res.price[1]) and np.isnan(res.delta[1])


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (("call", 100, 100, 1, 0.0, -0.2), DataError, "vol must be >= 0"),
        (("call", 100, 100, 0.0, 0.0, 0.2), DataError, "expired"),
        (("put", 100, 100, -1.0, 0.0, 0.2), DataError, "t"),
        (("call", 100, 0.0, 1, 0.0, 0.2), DataError, "strike must be > 0"),
        (("call", -5, 100, 1, 0.0, 0.2), DataError, "spot must be > 0"),
        (("straddle", 100, 100, 1, 0.0, 0.2), ConfigError, "unknown option kind"),
        ((np.array(["call", "cal"]), 100, 100, 1, 0.0, 0.2), ConfigError, "cal"),
        (("call", "abc", 100, 1, 0.0, 0.2), DataError, "numeric"),
    ],
)
def test_bad_inputs(args: tuple, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        black_scholes(*args)


def test_intrinsic() -> None:
    assert intrinsic("call", [90, 110], 100).tolist() == [0.0, 10.0]
    assert intrinsic("put", [90, 110], 100).tolist() == [10.0, 0.0]


finite = dict(allow_nan=False, allow_infinity=False)
inputs = st.tuples(
    st.sampled_from(["call", "put"]),
    st.floats(1.0, 1000.0, **finite),  # spot
    st.floats(0.3, 3.0, **finite),  # strike / spot
    st.floats(1 / 365, 5.0, **finite),  # t
    st.floats(-0.02, 0.15, **finite),  # rate
    st.floats(0.01, 2.0, **finite),  # vol
    st.floats(0.0, 0.1, **finite),  # dividend
)


@settings(max_examples=150, deadline=None)
@given(inputs)
def test_no_arbitrage_bounds(x: tuple) -> None:
    kind, s, m, t, r, v, q = x
    k = s * m
    price = float(black_scholes(kind, s, k, t, r, v, q).price)
    sdq, kdr = s * np.exp(-q * t), k * np.exp(-r * t)
    w = 1.0 if kind == "call" else -1.0
    tol = 1e-9 * max(s, k)
    assert price >= max(w * (sdq - kdr), 0.0) - tol
    assert price <= (sdq if kind == "call" else kdr) + tol


@settings(max_examples=100, deadline=None)
@given(inputs, st.floats(0.01, 0.5, **finite))
def test_monotone_in_strike_and_vol(x: tuple, bump: float) -> None:
    kind, s, m, t, r, v, q = x
    k = s * m
    base = float(black_scholes(kind, s, k, t, r, v, q).price)
    higher_k = float(black_scholes(kind, s, k * (1 + bump), t, r, v, q).price)
    higher_v = float(black_scholes(kind, s, k, t, r, v + bump, q).price)
    tol = 1e-10 * max(s, k)
    if kind == "call":
        assert higher_k <= base + tol
    else:
        assert higher_k >= base - tol
    assert higher_v >= base - tol
