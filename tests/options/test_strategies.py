"""Strategy builders: payoffs equal the sum of their legs, capital rules by hand, odds, Greeks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtri

from quantalloc.errors import ConfigError, DataError
from quantalloc.options import (
    STRATEGIES,
    Direction,
    Leg,
    MarginRule,
    SkewModel,
    Strategy,
    StrikeGrid,
    StrikeRule,
    Underlying,
    black_scholes,
    build_strategy,
    pnl_matrix,
    strategy_info,
    strategy_names,
    strike_for_delta,
    strike_step,
    summary_frame,
    theta_positive_strategies,
)

T = 30 / 365
REQUIRED = {
    "long_call", "long_put", "bull_call_spread", "bear_put_spread", "bull_put_spread",
    "bear_call_spread", "iron_condor", "iron_butterfly", "long_call_butterfly", "long_straddle",
    "short_straddle", "long_strangle", "short_strangle", "covered_call", "cash_secured_put",
    "protective_put", "collar", "calendar_spread",
}  # fmt: skip


@pytest.fixture(scope="module")
def und() -> Underlying:
    return Underlying("AAPL", 187.3, 0.25, market="us", rate=0.04, dividend=0.005, lot_size=100)


@pytest.fixture(scope="module")
def built(und: Underlying) -> dict[str, Strategy]:
    return {name: build_strategy(name, und, T) for name in strategy_names()}


def legs_pnl(s: Strategy, prices: np.ndarray) -> np.ndarray:
    """Sum over legs of sign * quantity * lot * (payoff at expiry - entry price)."""
    return sum(g.sign * g.quantity * s.lot_size * (g.payoff(prices) - g.price) for g in s.legs)  # type: ignore[return-value]


def test_registry_names_and_flags() -> None:
    assert REQUIRED <= set(strategy_names())
    for name, info in STRATEGIES.items():
        assert name == info.name and name.islower() and " " not in name
        assert info.display_name and isinstance(info.direction, Direction)
    assert set(theta_positive_strategies()) == {
        "bull_put_spread", "bear_call_spread", "iron_condor", "iron_butterfly",
        "short_straddle", "short_strangle", "covered_call", "cash_secured_put",
    }  # fmt: skip
    assert strategy_info("bull_call_spread").direction is Direction.LONG
    assert strategy_info("bear_put_spread").direction is Direction.SHORT
    assert strategy_info("iron_condor").direction is Direction.NEUTRAL
    with pytest.raises(ConfigError, match="unknown strategy 'butterfly'"):
        strategy_info("butterfly")


def test_theta_positive_means_net_short_premium(built: dict[str, Strategy]) -> None:
    # the static flag agrees with the priced position: net credit <=> theta positive
    for name, s in built.items():
        assert s.theta_positive == (s.net_premium > 0), name


@pytest.mark.parametrize("name", sorted(REQUIRED - {"calendar_spread"}))
def test_payoff_is_sum_of_legs_and_summary_is_consistent(
    name: str, built: dict[str, Strategy]
) -> None:
    s = built[name]
    strikes = [g.strike for g in s.legs if g.kind != "stock"]
    prices = np.union1d(np.linspace(0.0, 3 * s.spot, 6001), strikes)
    pnl = s.pnl(prices)
    assert np.allclose(pnl, legs_pnl(s, prices), atol=1e-9)
    # max profit / loss against a dense grid (exact at the strikes, so within grid spacing)
    if math.isfinite(s.max_profit):
        assert s.max_profit == pytest.approx(pnl.max(), abs=1e-6)
    else:
        assert pnl[-1] > pnl[-2] > 0
    if math.isfinite(s.max_loss):
        assert s.max_loss == pytest.approx(-pnl.min(), abs=1e-6)
    else:
        assert pnl[-1] < pnl[-2]
    # break-evens are zeros of the P&L and every sign change of the grid is near one
    assert np.allclose(s.pnl(np.array(s.breakevens)), 0.0, atol=1e-6)
    changes = prices[1:][np.sign(pnl[1:]) != np.sign(pnl[:-1])]
    for c in changes:
        assert min(abs(b - c) for b in s.breakevens) < 3 * s.spot / 6000 + 1e-9


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_probability_of_profit_matches_quadrature(name: str, built: dict[str, Strategy]) -> None:
    # independent check: average the profit indicator over 200k lognormal quantiles
    s = built[name]
    u = (np.arange(200_000) + 0.5) / 200_000
    h = s.horizon
    z = ndtri(u)
    prices = s.spot * np.exp((s.rate - s.dividend - 0.5 * s.vol**2) * h + s.vol * np.sqrt(h) * z)
    assert s.probability_of_profit == pytest.approx(np.mean(s.pnl(prices) > 0), abs=2e-4)


def test_capital_rules_by_hand(built: dict[str, Strategy], und: Underlying) -> None:
    lot = 100
    # debit strategies: the premium paid
    for name in ("long_call", "bull_call_spread", "long_straddle", "long_call_butterfly"):
        assert built[name].capital_required == pytest.approx(-built[name].net_premium)
    # credit spread: width x lot - credit
    bps = built["bull_put_spread"]
    width = bps.legs[0].strike - bps.legs[1].strike
    assert bps.capital_required == pytest.approx(width * lot - bps.net_premium)
    assert bps.max_loss == pytest.approx(width * lot - bps.net_premium)
    assert bps.max_profit == pytest.approx(bps.net_premium)
    # iron condor: the wider wing minus the credit
    ic = built["iron_condor"]
    k = [g.strike for g in ic.legs]
    assert ic.capital_required == pytest.approx(
        max(k[1] - k[0], k[3] - k[2]) * lot - ic.net_premium
    )
    # cash-secured put: strike x lot - credit
    csp = built["cash_secured_put"]
    assert csp.capital_required == pytest.approx(csp.legs[0].strike * lot - csp.net_premium)
    # covered call: stock cost net of the call premium received
    cc = built["covered_call"]
    assert cc.capital_required == pytest.approx((und.spot - cc.legs[1].price) * lot)
    # short straddle: CBOE-style naked margin, max over the sides of 20% S - OTM, floor 10%
    ss = built["short_straddle"]
    kk = ss.legs[0].strike
    call_req = max(0.2 * und.spot - max(kk - und.spot, 0), 0.1 * und.spot)
    put_req = max(0.2 * und.spot - max(und.spot - kk, 0), 0.1 * kk)
    assert ss.capital_required == pytest.approx(max(call_req, put_req) * lot)
    assert math.isinf(ss.max_loss) and math.isinf(built["long_call"].max_profit)


def test_butterfly_by_hand(built: dict[str, Strategy]) -> None:
    b = built["long_call_butterfly"]
    lo, body, hi = (g.strike for g in b.legs)
    assert body - lo == pytest.approx(hi - body)
    # max profit at the body: (body - lo) x lot - debit; max loss the debit
    assert b.max_profit == pytest.approx((body - lo) * 100 + b.net_premium)
    assert b.max_loss == pytest.approx(-b.net_premium)
    debit_per_unit = -b.net_premium / 100
    assert b.breakevens == pytest.approx((lo + debit_per_unit, hi - debit_per_unit))


def test_position_greeks_are_leg_sums(built: dict[str, Strategy], und: Underlying) -> None:
    for s in built.values():
        total = dict.fromkeys(("delta", "gamma", "vega", "theta", "rho"), 0.0)
        for g in s.legs:
            if g.kind == "stock":
                total["delta"] += g.sign * g.quantity * s.lot_size
                continue
            bs = black_scholes(g.kind, und.spot, g.strike, g.t, s.rate, g.vol, und.dividend)
            for key in total:
                total[key] += g.sign * g.quantity * s.lot_size * float(getattr(bs, key))
        for key, value in total.items():
            assert s.greeks[key] == pytest.approx(value, abs=1e-9), (s.name, key)
    assert built["long_call"].greeks["theta"] < 0 < built["short_straddle"].greeks["theta"]


def test_delta_rule_places_strikes_near_target(und: Underlying) -> None:
    # unrounded: the strike's Black-Scholes delta is the target exactly (flat vol)
    for kind, sign in (("call", 1.0), ("put", -1.0)):
        k = strike_for_delta(kind, 0.16, 187.3, T, 0.04, 0.25, 0.005)
        d = float(black_scholes(kind, 187.3, k, T, 0.04, 0.25, 0.005).delta)
        assert d == pytest.approx(sign * 0.16, abs=1e-12)
    # with the skew and the 2.5 grid: strikes on the grid, deltas near the target
    s = build_strategy("short_strangle", und, T, strike=StrikeRule(delta=0.16))
    step = strike_step(und.spot, "us")
    for g in s.legs:
        d = float(black_scholes(g.kind, und.spot, g.strike, T, s.rate, g.vol, und.dividend).delta)
        assert g.strike % step == 0
        assert abs(abs(d) - 0.16) < 0.03  # half a 2.5 step moves a 16-delta option ~0.02
    pct = build_strategy("long_strangle", und, T, strike=StrikeRule(otm=0.10))
    # 187.3 * 0.9 = 168.57 -> 167.5 and 187.3 * 1.1 = 206.03 -> 205.0 on the 2.5 grid
    assert [g.strike for g in pct.legs] == [167.5, 205.0]


def test_strike_steps_and_grid() -> None:
    assert strike_step(187.3, "us") == 2.5
    assert strike_step(720.0, "us", "SPY") == 1.0
    assert strike_step(23501.1, "in", "^NSEI") == 50.0
    assert strike_step(2900.0, "in") == 100.0
    assert strike_step(480.0, "in") == 10.0
    grid = StrikeGrid(step=2.5)
    assert grid.round(188.6) == 187.5 and grid.wing(187.5, 0.4, up=True) == 190.0
    listed = StrikeGrid(step=1.0, listed=(90.0, 95.0, 105.0))
    assert listed.round(99.0) == 95.0 and listed.shift(95.0, 1) == 105.0
    with pytest.raises(DataError, match="no listed strike"):
        listed.shift(105.0, 1)
    with pytest.raises(DataError, match="positive"):
        strike_step(0.0, "us")


def test_india_market_lot_and_margin() -> None:
    u = Underlying("RELIANCE", 2900.0, 0.22, market="in", lot_size=250)
    s = build_strategy("short_strangle", u, T)
    assert all(g.strike % 100 == 0 for g in s.legs)
    assert s.margin == MarginRule(rate=0.18, min_rate=0.10)
    assert s.rate == 0.065  # the market's risk-free rate


def test_calendar_spread_marks_back_month(built: dict[str, Strategy], und: Underlying) -> None:
    cal = built["calendar_spread"]
    front, back = cal.legs
    assert front.side == "sell" and back.side == "buy" and back.t == pytest.approx(2 * T)
    prices = np.array([170.0, front.strike, 205.0])
    # at the front expiry the back call has T left and is worth its Black-Scholes value
    remaining = black_scholes(
        "call", prices, back.strike, back.t - T, cal.rate, back.vol, und.dividend
    )
    expected = 100 * (
        -(np.maximum(prices - front.strike, 0) - front.price) + remaining.price - back.price
    )
    assert cal.pnl(prices) == pytest.approx(expected, abs=1e-9)
    # peak P&L at the strike; losses bounded by about the debit
    assert cal.max_profit == pytest.approx(cal.pnl(np.array([front.strike]))[0], rel=1e-3)
    assert cal.max_loss <= -cal.net_premium + 1e-6
    # marking at a higher vol raises the value of the long back month
    assert cal.pnl(prices, vol=0.5)[1] > cal.pnl(prices)[1]


def test_pnl_before_expiry_uses_black_scholes(built: dict[str, Strategy], und: Underlying) -> None:
    s = built["bull_call_spread"]
    prices = np.array([180.0, 190.0])
    mark = sum(
        g.sign * 100 * (black_scholes(g.kind, prices, g.strike, g.t - 0.01, s.rate, g.vol,
                                      und.dividend).price - g.price)
        for g in s.legs
    )  # fmt: skip
    assert s.pnl(prices, horizon=0.01) == pytest.approx(mark, abs=1e-9)
    # at horizon 0 with entry vols, the P&L is zero at spot (bought at model prices)
    assert s.pnl(np.array([und.spot]), horizon=0.0)[0] == pytest.approx(0.0, abs=1e-9)


def test_pnl_matrix_matches_single_strategy(built: dict[str, Strategy]) -> None:
    strategies = list(built.values())
    rng = np.random.default_rng(9)
    shared = 187.3 * np.exp(rng.normal(0, 0.1, 700))
    m = pnl_matrix(strategies, shared, chunk_cells=3000)  # small chunks exercise the blocking
    assert m.shape == (len(strategies), 700)
    for i, s in enumerate(strategies):
        assert m[i] == pytest.approx(s.pnl(shared), abs=1e-9)
    per_row = np.vstack([shared * (1 + 0.01 * i) for i in range(len(strategies))])
    m2 = pnl_matrix(strategies, per_row, horizon=T / 2, vol=0.3)
    for i, s in enumerate(strategies):
        assert m2[i] == pytest.approx(s.pnl(per_row[i], horizon=T / 2, vol=0.3), abs=1e-9)
    with pytest.raises(ConfigError, match="shape"):
        pnl_matrix(strategies, np.ones((3, 5)))


def test_as_dict_is_json_ready(built: dict[str, Strategy]) -> None:
    import json

    s = built["short_strangle"]
    d = s.as_dict()
    text = json.dumps(d)
    assert '"position_type": "NEUTRAL"' in text
    assert d["max_loss"] is None and d["legs"][0]["side"] == "sell"
    # JSON Greeks in display units: vega per vol point, theta per day
    assert d["vega"] == pytest.approx(s.greeks["vega"] / 100)
    assert d["theta"] == pytest.approx(s.greeks["theta"] / 365)
    frame = summary_frame(list(built.values()))
    assert len(frame) == len(built) and frame["strategy_name"].is_unique
    row = frame.set_index("strategy_name").loc["iron_condor"]
    assert row["capital_required"] == pytest.approx(built["iron_condor"].capital_required)


def test_custom_legs_strategy() -> None:
    legs = (
        Leg("call", "buy", 100.0, 5.0, 1.0, 0.1, 0.2),
        Leg("call", "sell", 110.0, 2.0, 2.0, 0.1, 0.2),
    )
    s = Strategy("ratio_spread", "Ratio Spread", Direction.NEUTRAL, False, "margin", legs,
                 spot=100.0, rate=0.0, vol=0.2)  # fmt: skip
    # one long 100 call, two short 110 calls, net debit 1: unbounded loss above
    assert math.isinf(s.max_loss) and s.max_profit == pytest.approx(9.0)
    assert s.breakevens == pytest.approx((101.0, 119.0))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "iron_condor", "t": 0.0}, "time to expiry"),
        ({"name": "iron_condor", "t": T, "width": 1.5}, "wing width"),
        ({"name": "short_strangle", "t": T, "strike": StrikeRule(delta=0.7)}, "not below"),
        ({"name": "calendar_spread", "t": T, "far_t": T / 2}, "back month"),
        ({"name": "calendar_spread", "t": T, "kind": "stock"}, "kind"),
        ({"name": "nope", "t": T}, "unknown strategy"),
    ],
)
def test_bad_builds(und: Underlying, kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build_strategy(kwargs.pop("name"), und, kwargs.pop("t"), **kwargs)


def test_bad_inputs() -> None:
    with pytest.raises(DataError, match="ATM vol"):
        Underlying("X", 100.0, -0.2)
    with pytest.raises(DataError, match="spot"):
        Underlying("X", 0.0, 0.2)
    with pytest.raises(ConfigError, match="StrikeRule"):
        StrikeRule(delta=0.3, otm=0.1)
    with pytest.raises(ConfigError, match="delta target"):
        StrikeRule(delta=1.3)
    with pytest.raises(ConfigError, match="quantity"):
        Leg("call", "buy", 100.0, 1.0, 0.0, 0.1, 0.2)


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(sorted(REQUIRED - {"calendar_spread"})),
    spot=st.floats(20.0, 3000.0),
    vol=st.floats(0.08, 0.9),
    days=st.integers(3, 120),
    width=st.floats(0.02, 0.2),
    prices=st.lists(st.floats(0.0, 6000.0), min_size=1, max_size=30),
)
def test_payoff_equals_sum_of_legs_property(
    name: str, spot: float, vol: float, days: int, width: float, prices: list[float]
) -> None:
    u = Underlying("X", spot, vol, market="us", lot_size=100, skew=SkewModel())
    try:
        s = build_strategy(name, u, days / 365, width=width)
    except ConfigError:
        return  # e.g. strikes that collapse on a coarse grid: refused, not mispriced
    p = np.asarray(prices)
    assert np.allclose(s.pnl(p), legs_pnl(s, p), atol=1e-7 * max(1.0, spot))
    assert 0.0 <= s.probability_of_profit <= 1.0
    assert s.capital_required >= 0.0
