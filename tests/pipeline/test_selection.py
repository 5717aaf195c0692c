"""Candidate selection rules and contract metrics (reference values say where they come from)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from quantalloc.options.book import leg_costs, pnl_per_lot
from quantalloc.pipeline.contracts import ContractRequest, build_contracts
from quantalloc.pipeline.inputs import clean_allocations, clean_universe
from quantalloc.pipeline.model import STRATEGY_NAMES, load_model
from quantalloc.pipeline.selection import (
    allowed_strategies,
    choose_expiries,
    industry_symbols,
    monthly_expiry,
    priority_industries,
)

AS_OF = date(2024, 1, 10)
FRONT = date(2024, 2, 16)
BACK = date(2024, 3, 15)
RATE = 0.04


def _build(strategies, spot=100.0, vol=0.25, flat=False, otm=0.03, lot=100):  # type: ignore[no-untyped-def]
    reqs = [ContractRequest("AAA", s, FRONT, BACK, otm) for s in strategies]
    return build_contracts(
        reqs,
        as_of=AS_OF,
        spot={"AAA": spot},
        atm_vol={"AAA": vol},
        skew=0.0 if flat else 1.0,
        lot_size={"AAA": lot},
        market="us",
        rate=RATE,
        wing=0.05,
        symbol_column={"AAA": 0},
    )


def _row(priced, name):  # type: ignore[no-untyped-def]
    t = priced.table
    return t.loc[t["strategy_name"] == name].iloc[0]


# ------------------------------------------------------------------ selection


def test_priority_industries_by_weight_with_floor_and_count() -> None:
    alloc = clean_allocations(
        pd.DataFrame(
            {
                "industry": ["A", "B", "C", "D"],
                "position_type": ["LONG", "short", "NEUTRAL", "LONG"],
                "weight_percentage": [20.0, 30.0, 4.0, 10.0],
                "rating": ["Strong Overweight", "Moderate Underweight", "Neutral", None],
            }
        )
    )
    spec = load_model().industries
    got = priority_industries(alloc, spec, max_industries=2)
    assert [i.industry for i in got] == ["B", "A"]  # C below 5%, D cut by the count
    assert got[0].position_type == "SHORT"
    assert got[0].target == pytest.approx(30 / 50) and got[1].target == pytest.approx(20 / 50)
    all_ = priority_industries(alloc, spec, max_industries=10)
    assert [i.industry for i in all_] == ["B", "A", "D"]


def test_industry_symbols_prefer_large_caps_and_fno() -> None:
    uni = clean_universe(
        pd.DataFrame(
            {
                "symbol": ["S1", "S2", "S3", "S4"],
                "industry": ["X", "X", "X", "Y"],
                "fno_stock": [True, True, False, True],
                "market_cap_category": ["Small", "Large", "Large", "Large"],
            }
        )
    )
    assert industry_symbols(uni, "X", ["S1", "S2", "S3", "S4"], 5) == ["S2", "S1"]
    assert industry_symbols(uni, "X", ["S1"], 5) == ["S1"]  # only symbols with prices


def test_allowed_strategies_follow_mapping_state_and_direction() -> None:
    model = load_model()
    # the framework's examples: LONG + Strong Overweight -> bull call spreads, cash-secured puts
    got = allowed_strategies(model, "LONG", "Strong Overweight")
    assert {"bull_call_spread", "cash_secured_put"} <= set(got)
    got = allowed_strategies(model, "SHORT", "moderate underweight")
    assert set(got) == {"bear_put_spread", "bear_call_spread"}
    # the state's avoided strategies go; preferred ones pointing the same way come in
    got = allowed_strategies(
        model,
        "LONG",
        "Strong Overweight",
        preferred=["covered_call", "bear_put_spread"],
        avoided=["long_call"],
    )
    assert "long_call" not in got and "covered_call" in got and "bear_put_spread" not in got
    # a combination the file does not list falls to the position type's default
    assert allowed_strategies(model, "LONG", "something new") == model.strategy_map.defaults["LONG"]


def test_monthly_expiries_on_known_dates() -> None:
    # US: third Friday (15 Dec 2017, 19 Jan 2024 are the listed monthly expiries)
    assert monthly_expiry(2017, 12, "us") == date(2017, 12, 15)
    assert monthly_expiry(2024, 1, "us") == date(2024, 1, 19)
    # India: last Thursday before September 2025 (28 Dec 2023), last Tuesday from then on
    # (30 Sep 2025; NSE moved every equity-derivative expiry to Tuesday from 1 Sep 2025)
    assert monthly_expiry(2025, 9, "in") == date(2025, 9, 30)
    assert monthly_expiry(2023, 12, "in") == date(2023, 12, 28)


def test_choose_expiries_prefers_the_dte_window() -> None:
    got = choose_expiries(date(2024, 1, 10), 30, 45, 2, "us")
    # 16 Feb (37 days) is inside the window; of the rest, 15 Mar (65 days) lies closer to the
    # window's middle (37.5) than 19 Jan (9 days)
    assert got == [date(2024, 2, 16), date(2024, 3, 15)]
    # expiries under 7 days away are never chosen: from 12 Jan the 19 Jan expiry is 7 days out
    near = choose_expiries(date(2024, 1, 13), 0, 10, 1, "us")
    assert near == [date(2024, 2, 16)]


# ------------------------------------------------------------------ contract metrics


def test_vertical_spread_max_loss_and_profit_are_debit_and_width_minus_debit() -> None:
    p = _build(["bull_call_spread", "bear_put_spread"])
    for name in ("bull_call_spread", "bear_put_spread"):
        r = _row(p, name)
        legs = p.legs[int(r.name)]
        width = abs(legs[0]["strike"] - legs[1]["strike"]) * 100
        assert r.max_loss == pytest.approx(r.net_premium, rel=1e-12)
        assert r.max_profit == pytest.approx(width - r.net_premium, rel=1e-12)
        assert r.capital == pytest.approx(r.net_premium)


def test_credit_spreads_and_condor_capital_is_width_minus_credit() -> None:
    p = _build(["bull_put_spread", "bear_call_spread", "iron_condor"])
    for name in ("bull_put_spread", "bear_call_spread"):
        r = _row(p, name)
        legs = p.legs[int(r.name)]
        width = abs(legs[0]["strike"] - legs[1]["strike"]) * 100
        assert r.net_premium < 0
        assert r.capital == pytest.approx(width + r.net_premium, rel=1e-12)
        assert r.max_profit == pytest.approx(-r.net_premium, rel=1e-12)
    ic = _row(p, "iron_condor")
    strikes = sorted(leg["strike"] for leg in p.legs[int(ic.name)])
    widest = max(strikes[1] - strikes[0], strikes[3] - strikes[2]) * 100
    assert ic.max_loss == pytest.approx(widest + ic.net_premium, rel=1e-12)


def test_unbounded_strategies_are_flagged_and_get_a_margin() -> None:
    p = _build(["short_strangle", "short_straddle", "long_call", "cash_secured_put"])
    assert bool(_row(p, "short_strangle").unbounded_loss)
    assert bool(_row(p, "short_straddle").unbounded_loss)
    assert np.isinf(_row(p, "short_straddle").max_loss)
    assert _row(p, "short_straddle").capital == pytest.approx(0.20 * 100 * 100)
    assert not bool(_row(p, "long_call").unbounded_loss)
    assert np.isinf(_row(p, "long_call").max_profit)
    csp = _row(p, "cash_secured_put")
    strike = p.legs[int(csp.name)][0]["strike"]
    # cash-secured put: strike x lot minus the credit, which is also the loss if the stock goes to 0
    assert csp.capital == pytest.approx(strike * 100 + csp.net_premium, rel=1e-12)


def test_straddle_legs_obey_put_call_parity() -> None:
    # C - P = S - K exp(-r t): both legs share a strike, hence a vol, under the skew
    p = _build(["long_straddle"], spot=101.3)
    legs = p.legs[0]
    call = next(leg for leg in legs if leg["kind"] == "call")
    put = next(leg for leg in legs if leg["kind"] == "put")
    t = (FRONT - AS_OF).days / 365
    assert call["price"] - put["price"] == pytest.approx(
        101.3 - call["strike"] * np.exp(-RATE * t), abs=1e-10
    )


def test_long_call_pop_matches_the_lognormal_closed_form() -> None:
    # P(S_T > K + c) under risk-neutral GBM = N(d2) with strike K + c (Hull, ch. 15)
    p = _build(["long_call"], flat=True)
    r = _row(p, "long_call")
    k = p.legs[0][0]["strike"] + r.net_premium / 100
    t = (FRONT - AS_OF).days / 365
    d2 = (np.log(100 / k) + (RATE - 0.5 * 0.25**2) * t) / (0.25 * np.sqrt(t))
    assert r.probability_of_profit == pytest.approx(norm.cdf(d2), abs=2e-3)


def test_strategy_delta_matches_a_finite_difference() -> None:
    # Black-Scholes delta holds vol fixed, so the smile is switched off (flat) for the check
    h = 1e-3
    names = ["iron_condor", "collar", "bull_call_spread", "long_strangle"]
    base = _build(names, spot=100.2, flat=True)
    up = _build(names, spot=100.2 + h, flat=True)
    down = _build(names, spot=100.2 - h, flat=True)
    for name in names:
        fd = (_row(up, name).net_premium - _row(down, name).net_premium) / (2 * h)
        assert _row(base, name).delta == pytest.approx(fd, rel=1e-5, abs=1e-6)


def test_every_strategy_builds_with_finite_numbers() -> None:
    p = _build(STRATEGY_NAMES)
    assert set(p.table["strategy_name"]) == set(STRATEGY_NAMES)
    cols = ["net_premium", "capital", "probability_of_profit", "delta", "gamma", "vega", "theta"]
    assert np.isfinite(p.table[cols].to_numpy(dtype=float)).all()
    assert (p.table["capital"] > 0).all()


def test_pnl_at_expiry_and_costs_by_hand() -> None:
    p = _build(["bull_call_spread"])
    r = _row(p, "bull_call_spread")
    legs = p.legs[0]
    width = abs(legs[0]["strike"] - legs[1]["strike"]) * 100
    prices = np.array([[1000.0], [1.0]])  # far above both strikes; far below both
    gross = pnl_per_lot(p.book, prices, rate=RATE)
    np.testing.assert_allclose(gross[:, 0], [width - r.net_premium, -r.net_premium], rtol=1e-12)
    # costs: half of max(3% of price, 0.05) per unit on each leg, commission 0.65 in and out
    cost = sum(0.5 * max(0.03 * leg["price"], 0.05) * 100 + 2 * 0.65 for leg in legs)
    assert leg_costs(p.book, 0.03, 0.05, 0.65)[0] == pytest.approx(cost)
    net = pnl_per_lot(p.book, prices, rate=RATE, bid_ask=0.03, min_tick=0.05, commission=0.65)
    np.testing.assert_allclose(gross - net, cost)


def test_zero_width_spreads_are_dropped() -> None:
    # a 3-rupee stock on a 1-rupee strike grid: 3% and 8% OTM round to the same strike
    reqs = [ContractRequest("AAA", "bear_call_spread", FRONT, BACK, 0.03)]
    p = build_contracts(
        reqs,
        as_of=AS_OF,
        spot={"AAA": 3.0},
        atm_vol={"AAA": 0.3},
        lot_size={"AAA": 100},
        market="in",
        rate=RATE,
        wing=0.05,
        symbol_column={"AAA": 0},
    )
    assert p.table.empty


@pytest.mark.parametrize(
    "name",
    [
        "bull_call_spread",
        "bear_put_spread",
        "bull_put_spread",
        "iron_condor",
        "iron_butterfly",
        "long_call_butterfly",
        "long_straddle",
        "covered_call",
        "cash_secured_put",
        "collar",
    ],
)
def test_contract_metrics_match_the_options_engines_strategy(name: str) -> None:
    # the same legs through quantalloc.options.Strategy: an independent implementation of
    # premium, Greeks, max loss/profit and probability of profit
    from quantalloc.options import Direction, Leg, Strategy

    p = _build([name], spot=101.0)
    row = p.table.iloc[0]
    t = (FRONT - AS_OF).days / 365
    legs = []
    for leg_i, leg in enumerate(p.legs[0]):
        opt = leg["kind"] != "stock"
        legs.append(
            Leg(
                kind=leg["kind"],
                side=leg["side"],
                strike=leg["strike"] if opt else 0.0,
                price=leg["price"],
                quantity=leg["quantity"],
                t=t if opt else float("nan"),
                vol=float(p.book.vol[leg_i]) if opt else float("nan"),
            )
        )
    has_stock = any(leg["kind"] == "stock" for leg in p.legs[0])
    ref = Strategy(
        name=name,
        display_name=name,
        direction=Direction.NEUTRAL,
        theta_positive=False,
        capital_rule="stock" if has_stock else "debit",
        legs=tuple(legs),
        spot=101.0,
        rate=RATE,
        vol=0.25,
        lot_size=100,
    )
    assert row.net_premium == pytest.approx(ref.entry_cost, rel=1e-12)
    g = ref.greeks_display
    for greek in ("delta", "gamma", "vega", "theta"):
        assert row[greek] == pytest.approx(g[greek], rel=1e-9, abs=1e-9)
    summary = ref.payoff
    assert row.max_loss == pytest.approx(summary.max_loss, rel=1e-9)
    if np.isfinite(summary.max_profit):
        assert row.max_profit == pytest.approx(summary.max_profit, rel=1e-9)
    else:
        assert np.isinf(row.max_profit)
    assert row.probability_of_profit == pytest.approx(summary.probability_of_profit, abs=2e-3)


def test_chain_surface_and_listed_strikes_are_used() -> None:
    from quantalloc.options import black_scholes

    reqs = [ContractRequest("AAA", "long_call", FRONT, BACK, 0.03)]
    p = build_contracts(
        reqs,
        as_of=AS_OF,
        spot={"AAA": 100.0},
        atm_vol={"AAA": 0.25},
        surfaces={"AAA": lambda k, t: np.full(np.shape(k), 0.5)},
        listed={"AAA": (95.0, 100.0, 107.0)},
        lot_size={"AAA": 100},
        market="us",
        rate=RATE,
        wing=0.05,
        symbol_column={"AAA": 0},
    )
    leg = p.legs[0][0]
    assert leg["strike"] == 100.0  # 103 is nearest the listed 100
    t = (FRONT - AS_OF).days / 365
    ref = black_scholes("call", 100.0, 100.0, t, RATE, 0.5).price
    assert leg["price"] == pytest.approx(float(ref), rel=1e-12)  # priced at the chain's vol


def test_industry_symbols_follow_the_stock_rankings_score() -> None:
    uni = pd.DataFrame(
        {
            "symbol": ["SBIN", "HDFCBANK", "KOTAKBANK", "AXISBANK"],
            "industry": ["Banks"] * 4,
            "fno_stock": [True] * 4,
            "market_cap_category": ["Large"] * 4,
        }
    )
    have = list(uni["symbol"])
    # alphabetical without scores; by score (highest first, unranked last) with them
    assert industry_symbols(uni, "Banks", have, 2) == ["AXISBANK", "HDFCBANK"]
    scores = {"SBIN": 90.0, "KOTAKBANK": 85.0, "HDFCBANK": 40.0}
    assert industry_symbols(uni, "Banks", have, 3, scores) == ["SBIN", "KOTAKBANK", "HDFCBANK"]
