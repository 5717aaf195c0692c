"""solve() end to end: the real US and NIFTY 50 data, the demo market, infeasible settings.

Every run is checked against the JSON contract and against every limit it states.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from quantalloc.errors import DataError
from quantalloc.pipeline import solve
from quantalloc.pipeline.document import (
    ALLOCATION_KEYS,
    CONSTRAINT_KEYS,
    LEG_KEYS,
    LIMIT_KEYS,
    MARKET_KEYS,
    PORTFOLIO_KEYS,
    RISK_KEYS,
    TOP_LEVEL_KEYS,
)
from tests.pipeline.test_state_rules import check_state_rules

STATES = {
    f"{d}_{v}_VIX" for d in ("Bullish", "Neutral", "Bearish") for v in ("Low", "Normal", "High")
}
TOL = 1e-7

# An industry allocation for the US test (GICS sectors as industries): a portfolio's view, written
# here so the test does not depend on any file outside the shared data.
US_ALLOCATION = pd.DataFrame(
    [
        ("Information Technology", "LONG", 18.0, "Strong Overweight"),
        ("Health Care", "LONG", 14.0, "Moderate Overweight"),
        ("Financials", "LONG", 12.0, "Moderate Overweight"),
        ("Consumer Discretionary", "NEUTRAL", 10.0, "Neutral"),
        ("Industrials", "LONG", 9.0, "Neutral"),
        ("Energy", "SHORT", 8.0, "Moderate Underweight"),
        ("Consumer Staples", "NEUTRAL", 7.0, "Neutral"),
        ("Utilities", "SHORT", 6.0, "Strong Underweight"),
        ("Materials", "NEUTRAL", 4.0, "Neutral"),
        ("Real Estate", "NEUTRAL", 3.0, "Neutral"),
        ("Telecommunication Services", "SHORT", 2.0, "Moderate Underweight"),
    ],
    columns=["industry", "position_type", "weight_percentage", "rating"],
).assign(sector=lambda f: f["industry"])

# Information Technology at 60 of 95 points: a target of 63% of the budget, above the 30% cap.
TARGET_ABOVE_CAP = US_ALLOCATION.iloc[:3].assign(weight_percentage=[60.0, 20.0, 15.0])

IN_ALLOCATION = [
    ("Financial Services", "LONG", 14.0, "Strong Overweight"),
    ("IT", "LONG", 12.0, "Moderate Overweight"),
    ("Oil Gas & Consumable Fuels", "NEUTRAL", 10.0, "Neutral"),
    ("Fast Moving Consumer Goods", "LONG", 8.0, "Moderate Overweight"),
    ("Automobile and Auto Components", "LONG", 8.0, "Neutral"),
    ("Healthcare", "NEUTRAL", 6.0, "Neutral"),
    ("Metals & Mining", "SHORT", 6.0, "Moderate Underweight"),
    ("Construction", "NEUTRAL", 5.0, "Neutral"),
    ("Power", "SHORT", 4.0, "Strong Underweight"),
]


def us_tables(shared: Path) -> dict[str, pd.DataFrame]:
    """stock_data from the 51 stocks' sectors (constituents.csv), lot size 100 (US contracts)."""
    root = shared / "us"
    have = {p.stem for p in (root / "daily").glob("*.csv")}
    cons = pd.read_csv(root / "constituents.csv")
    cons = cons.loc[cons["symbol"].isin(have)]
    stock = pd.DataFrame(
        {
            "symbol": cons["symbol"],
            "industry": cons["sector"],
            "sector": cons["sector"],
            "fno_stock": True,
            "lot_size": 100,
            "market_cap_category": "Large",
        }
    )
    return {"stock_data": stock, "industry_allocations_current": US_ALLOCATION.copy()}


def in_tables(shared: Path) -> dict[str, pd.DataFrame]:
    """stock_data from nifty50_constituents.csv; lot sizes written here by the NSE rule of thumb
    (a lot worth about 7.5 lakh rupees at the last close, in steps of 25 shares)."""
    cons = pd.read_csv(shared / "in" / "nifty50_constituents.csv")
    lots = []
    for sym in cons["symbol"]:
        files = list((shared / "in" / "daily").glob(f"{sym}_*.csv")) + list(
            (shared / "in" / "daily").glob(f"{sym}.csv")
        )
        last = float(pd.read_csv(files[0])["close"].iloc[-1]) if files else 1000.0
        lots.append(max(25, round(750_000 / last / 25) * 25))
    stock = pd.DataFrame(
        {
            "symbol": cons["symbol"],
            "industry": cons["industry"],
            "sector": cons["industry"],
            "fno_stock": True,
            "lot_size": lots,
            "market_cap_category": "Large",
        }
    )
    alloc = pd.DataFrame(
        IN_ALLOCATION, columns=["industry", "position_type", "weight_percentage", "rating"]
    ).assign(sector=lambda f: f["industry"])
    return {"stock_data": stock, "industry_allocations_current": alloc}


def _walk_finite(value: Any, where: str = "doc") -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _walk_finite(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _walk_finite(v, f"{where}[{i}]")
    elif isinstance(value, float):
        assert math.isfinite(value), where


def check_document(doc: dict[str, Any]) -> None:
    """The JSON contract of DESIGN.md section 3, and every limit the document states."""
    assert tuple(doc) == TOP_LEVEL_KEYS
    json.dumps(doc, allow_nan=False)
    _walk_finite(doc)
    assert set(MARKET_KEYS) <= set(doc["market"])
    assert doc["market"]["state"] in STATES
    assert set(LIMIT_KEYS) <= set(doc["limits"])
    assert set(PORTFOLIO_KEYS) <= set(doc["portfolio"])
    lim, port, budget, capital = doc["limits"], doc["portfolio"], doc["budget"], doc["capital"]
    assert budget > 0 and capital > 0
    for a in doc["allocations"]:
        assert set(ALLOCATION_KEYS) <= set(a)
        assert isinstance(a["lots"], int) and a["lots"] >= 1
        assert isinstance(a["lot_size"], int) and a["lot_size"] >= 1
        assert a["position_type"] in ("LONG", "SHORT", "NEUTRAL")
        for leg in a["legs"]:
            assert set(LEG_KEYS) <= set(leg)
            assert leg["kind"] in ("call", "put", "stock") and leg["side"] in ("buy", "sell")
            assert leg["quantity"] == pytest.approx(round(leg["quantity"]))  # whole lots
        assert a["max_loss"] <= lim["max_risk_per_trade"] * capital * (1 + TOL)
        assert 0 <= a["probability_of_profit"] <= 1
        assert a["probability_of_profit"] >= lim["min_probability_of_profit"] - TOL
        assert a["allocated_capital"] > 0
    total = sum(a["allocated_capital"] for a in doc["allocations"])
    assert port["allocated_capital"] == pytest.approx(total)
    assert total <= budget * (1 + TOL)
    for by, key in (
        ("by_symbol", "max_symbol"),
        ("by_strategy", "max_strategy"),
        ("by_industry", "max_industry"),
    ):
        for label, row in port[by].items():
            assert row["weight"] <= lim[key] + TOL, (by, label, row)
            assert row["weight"] == pytest.approx(row["capital"] / budget)
            if by == "by_industry" and "target_weight" in row:  # shares of deployed capital
                assert "industry_target_tolerance" in lim  # present whenever targets are
                assert row["deviation"] == pytest.approx(
                    row["deployed_weight"] - row["target_weight"]
                )
            if by == "by_industry":
                total = port["allocated_capital"]
                assert row["deployed_weight"] == pytest.approx(row["capital"] / total)
    # the cap counts positions by their own theta (a calendar earning decay included)
    theta_pos = sum(a["allocated_capital"] for a in doc["allocations"] if a["theta"] > 0)
    assert all(a["theta_positive"] == (a["theta"] > 0) for a in doc["allocations"])
    assert theta_pos <= lim["max_theta_positive"] * budget * (1 + TOL)
    assert abs(port["vega"]) <= lim["max_abs_vega"] * (1 + TOL) + 1e-6
    assert port["vega"] == pytest.approx(sum(a["vega"] for a in doc["allocations"]))
    names = set()
    for c in doc["constraints"]:
        assert set(CONSTRAINT_KEYS) <= set(c)
        assert c["name"] not in names
        names.add(c["name"])
        if c["name"].startswith(("max_", "budget")):
            assert c["value"] <= c["limit"] * (1 + TOL) + 1e-9, c
    assert {"budget", "max_abs_vega", "max_theta_positive"} <= names
    check_risk(doc)


def check_risk(doc: dict[str, Any]) -> None:
    """``portfolio.risk`` agrees with the positions it is computed from (the legs repriced by the
    risk module against the Greeks the candidates were built with)."""
    port, allocs = doc["portfolio"], doc["allocations"]
    risk = port["risk"]
    assert set(RISK_KEYS) <= set(risk)
    assert risk["cvar_95"] >= risk["var_95"] - 1e-9 and risk["cvar_99"] >= risk["var_99"] - 1e-9
    assert risk["var_99"] >= risk["var_95"] - 1e-9 and risk["cvar_99"] >= risk["cvar_95"] - 1e-9
    for key in ("vega", "theta", "gamma"):
        assert risk[key] == pytest.approx(port[key], rel=1e-9, abs=1e-6), key
    for sym, row in risk["by_symbol"].items():
        delta = sum(a["delta"] for a in allocs if a["symbol"] == sym)
        assert row["dollar_delta"] == pytest.approx(delta * row["spot"], rel=1e-9, abs=1e-6)
    assert {(r["index_move"], r["vol_move"]) for r in risk["stress"]} >= {
        (m, v) for m in (-0.2, -0.1, -0.05, 0.05, 0.1, 0.2) for v in (-5.0, 5.0, 10.0)
    }
    for a in allocs:
        assert isinstance(a["unbounded_loss"], bool) and a["margin"] >= 0
        if not a["unbounded_loss"]:
            assert a["margin"] == pytest.approx(a["allocated_capital"])
    assert risk["margin"]["total"] == pytest.approx(sum(a["margin"] for a in allocs))


@pytest.fixture(scope="module")
def us_result(shared_data: Path):  # type: ignore[no-untyped-def]
    return solve(
        risk="moderate",
        market="us",
        data=f"csv:{shared_data / 'us'}",
        tables=us_tables(shared_data),
        n_scenarios=2000,
    )


@pytest.mark.slow
def test_us_real_data_end_to_end(us_result) -> None:  # type: ignore[no-untyped-def]
    doc = us_result.to_document()
    check_document(doc)
    assert doc["currency"] == "USD" and doc["market"]["synthetic"] is False
    assert doc["capital"] == 1_000_000 and doc["budget"] == pytest.approx(250_000)
    assert doc["as_of"] == "2017-12-06"  # the last date all 51 stocks trade
    assert doc["solver"]["scenarios"] == 2000
    assert len(doc["allocations"]) >= 3
    # the industry view steers the book: the strongest LONG sector holds bullish positions
    it = [a for a in doc["allocations"] if a["industry"] == "Information Technology"]
    assert it and all(a["position_type"] == "LONG" for a in it)
    assert doc["portfolio"]["expected_log_growth"] > 0
    check_state_rules(us_result)


@pytest.mark.slow
def test_us_industry_table_is_met_in_shares_of_deployed_capital(us_result) -> None:  # type: ignore[no-untyped-def]
    """A table the limits allow: every industry's share of the deployed options capital lies
    within the model's tolerance (+-2 points) of its target, whole lots included."""
    doc = us_result.to_document()
    tol = doc["limits"]["industry_target_tolerance"]
    assert tol == pytest.approx(0.02)
    rows = {k: v for k, v in doc["portfolio"]["by_industry"].items() if "target_weight" in v}
    # industries whose every candidate expects a loss lose their target (named in the notes)
    dropped = [n for n in us_result.notes if "expects a loss over the scenarios" in n]
    assert len(rows) >= 5 or (len(rows) >= 3 and dropped)
    assert sum(r["target_weight"] for r in rows.values()) == pytest.approx(1.0)
    for name, row in rows.items():
        # the continuous optimum meets each band; whole lots keep it within a quarter point
        # (one lot of these books is 0.3-3% of the deployed capital)
        assert abs(row["deviation"]) <= tol + 0.0025, (name, row)


@pytest.mark.slow
def test_nifty50_real_data_end_to_end(shared_data: Path) -> None:
    tables = in_tables(shared_data)
    result = solve(
        risk="aggressive",
        market="in",
        data=f"csv:{shared_data / 'in'}",
        tables=tables,
        n_scenarios=1000,
        as_of="2025-09-30",  # the day files extend the data to 2026-02-13
    )
    doc = result.to_document()
    check_document(doc)
    assert doc["currency"] == "INR" and doc["capital"] == 10_000_000
    assert doc["as_of"] == "2025-09-30"
    lot_of = dict(
        zip(tables["stock_data"]["symbol"], tables["stock_data"]["lot_size"], strict=True)
    )
    for a in doc["allocations"]:
        assert a["lot_size"] == lot_of[a["symbol"]]  # lot sizes come from the table
    assert len(doc["allocations"]) >= 3
    check_state_rules(result)
    # the Indian table that +-10-point budget bands could not meet solves; each priority
    # industry kept states its deviation from its share of the deployed capital, and those
    # dropped are named: no candidate, or every candidate expecting a loss (on 2025-09-30 only
    # the bearish metals spreads earn, so the banks' 34% would tie each of them to losers)
    rows = {k: v for k, v in doc["portfolio"]["by_industry"].items() if "target_weight" in v}
    assert rows and all("deviation" in v for v in rows.values())
    assert sum(v["target_weight"] for v in rows.values()) == pytest.approx(1.0)
    assert any("no candidate for industries" in n for n in result.notes)
    assert any("expects a loss over the scenarios; their targets" in n for n in result.notes)
    assert all(a["forced_by"] == "" or a["expected_return"] < 0 for a in doc["allocations"])


def test_demo_offline_is_labelled_and_reproducible() -> None:
    a = solve(risk="conservative", data="demo", n_scenarios=400, seed=3)
    b = solve(risk="conservative", data="demo", n_scenarios=400, seed=3)
    check_document(a.to_document())
    assert a.synthetic and a.market["synthetic"] is True
    assert a.run_id != b.run_id
    pd.testing.assert_frame_equal(a.allocations, b.allocations)  # seeded: same book


def test_symbol_mode_keeps_one_symbol(shared_data: Path) -> None:
    result = solve(
        risk="aggressive",
        market="us",
        data=f"csv:{shared_data / 'us'}",
        tables=us_tables(shared_data),
        symbol="AAPL",
        n_scenarios=300,
    )
    doc = result.to_document()
    check_document(doc)
    assert {a["symbol"] for a in doc["allocations"]} <= {"AAPL"}
    assert doc["portfolio"]["allocated_capital"] <= 0.10 * doc["budget"] * (1 + TOL)


def test_targets_above_the_industry_cap_solve_with_the_deviations_reported(
    shared_data: Path,
) -> None:
    """IT at 60 of 95 points (63% of the deployed capital) against a 30%-of-budget cap: a
    table the limits cannot meet as asked is met as closely as they allow, never an error."""
    tables = us_tables(shared_data)
    tables["industry_allocations_current"] = TARGET_ABOVE_CAP.copy()
    result = solve(
        risk="moderate",
        market="us",
        data=f"csv:{shared_data / 'us'}",
        tables=tables,
        n_scenarios=200,
        max_industries=3,
    )
    doc = result.to_document()
    check_document(doc)
    rows = doc["portfolio"]["by_industry"]
    assert rows["Information Technology"]["target_weight"] == pytest.approx(60 / 95)
    assert all("deviation" in rows[i] for i in ("Information Technology", "Health Care"))


def test_unknown_symbol_is_a_data_error(shared_data: Path) -> None:
    with pytest.raises(DataError, match="ZZZZ"):
        solve(
            market="us",
            data=f"csv:{shared_data / 'us'}",
            tables=us_tables(shared_data),
            symbol="ZZZZ",
        )


def test_csv_source_without_tables_says_what_to_pass(shared_data: Path) -> None:
    with pytest.raises(DataError, match=r"`tables\['stock_data'\]`"):
        solve(market="us", data=f"csv:{shared_data / 'us'}")


def test_stress_capped_max_loss_is_finite_in_the_document() -> None:
    r = solve(risk="aggressive", data="demo", n_scenarios=300)
    doc = r.to_document()
    check_document(doc)
    assert all(np.isfinite(a["max_loss"]) for a in doc["allocations"])


def _leg(kind: str, side: str, strike: float) -> dict[str, object]:
    return {"kind": kind, "side": side, "strike": strike, "quantity": 1}


def test_advanced_model_takes_scored_strategies(shared_data: Path) -> None:
    tables = us_tables(shared_data)
    legs = json.dumps([_leg("put", "sell", 150), _leg("put", "buy", 140)])
    rows = [  # stock_name, industry, strategy, total_score, PoP, risk/reward
        ("AAPL", "Information Technology", "Bull Put Spread", 0.8, 0.7, 0.4),
        ("AAPL", "Information Technology", "Bear Call Spread", 0.5, 0.6, 0.5),  # AAPL is long
        ("MSFT", "Information Technology", "bull_call_spread", 0.7, 0.5, 1.2),
        ("JPM", "Financials", "iron_condor", 0.6, 0.6, 0.6),
        ("XOM", "Energy", "bear_put_spread", 0.3, 0.5, 1.0),  # total score below 0.4
        ("JNJ", "Health Care", "bull_put_spread", 0.9, 0.2, 0.3),  # probability below 0.35
        ("JPM", "Financials", "long_straddle", 0.95, 0.6, 1.0),  # Bullish_Low_VIX avoids it
    ]
    tables["strategies"] = pd.DataFrame(
        [(*r, legs) for r in rows],
        columns=[
            "stock_name",
            "industry",
            "strategy_name",
            "total_score",
            "probability_of_profit",
            "risk_reward_ratio",
            "legs",
        ],
    )
    result = solve(
        risk="aggressive",
        market="us",
        model="advanced",
        data=f"csv:{shared_data / 'us'}",
        tables=tables,
        n_scenarios=300,
    )
    doc = result.to_document()
    check_document(doc)
    held = {(a["symbol"], a["strategy_name"]) for a in doc["allocations"]}
    allowed = {("AAPL", "bull_put_spread"), ("MSFT", "bull_call_spread"), ("JPM", "iron_condor")}
    assert held and held <= allowed
    assert doc["market"]["state"] == "Bullish_Low_VIX"
    # the state's avoid list drops AAPL's bear call spread and JPM's long straddle, and says so
    avoided = "avoids bear_call_spread, long_straddle: 2 scored rows dropped"
    assert any(avoided in n for n in result.notes), result.notes
    check_state_rules(result)
    cap = doc["portfolio"]["by_market_cap"]["large"]
    # every stock here is a large cap: the bucket's soft band is traded against growth by its
    # stated penalty, the deviation is reported as weight - target, and whole lots keep the
    # continuous optimum's share within a quarter point
    assert cap["deviation"] == pytest.approx(cap["weight"] - cap["target_weight"])
    band = result.constraints.set_index("name").loc["cap_bucket[large]"]
    assert band["value"] == pytest.approx(cap["weight"])
    assert abs(band["value"] - band["before_lots"]) <= 0.0025


def test_library_entry_point_is_quantalloc_solve() -> None:
    import quantalloc

    assert quantalloc.solve is solve
    assert "solve" in quantalloc.__all__


def test_vix_override_and_as_of_are_honoured(shared_data: Path) -> None:
    # 30 June 2016: a week after the Brexit vote; the override puts the VIX at 45 (a spike level)
    result = solve(
        risk="aggressive",
        market="us",
        data=f"csv:{shared_data / 'us'}",
        tables=us_tables(shared_data),
        as_of="2016-06-30",
        vix=45.0,
        n_scenarios=200,
    )
    doc = result.to_document()
    check_document(doc)
    assert doc["as_of"] == "2016-06-30"
    assert doc["market"]["vix"] == pytest.approx(45.0)
    assert doc["market"]["state"].endswith("High_VIX")
    for a in doc["allocations"]:  # expiries lie after the decision date
        assert a["expiry"] > "2016-06-30"


def test_objective_choices_of_the_model() -> None:
    import dataclasses

    from quantalloc.errors import ConfigError
    from quantalloc.pipeline.model import load_model

    base = load_model()
    rck = dataclasses.replace(base, objective=dataclasses.replace(base.objective, kind="rck"))
    doc = solve(model=rck, data="demo", n_scenarios=300).to_document()
    check_document(doc)
    assert doc["solver"]["objective"].startswith("rck")
    drawdown = [c for c in doc["constraints"] if c["name"] == "drawdown"]
    assert drawdown and drawdown[0]["value"] <= drawdown[0]["limit"] + 1e-6
    frac = dataclasses.replace(
        base, objective=dataclasses.replace(base.objective, kind="fractional_kelly")
    )
    # industry targets are shares of the deployed capital: scaling every weight keeps them,
    # so fractional Kelly runs with them; market-cap bands (shares of the budget) do not
    half = solve(model=frac, data="demo", n_scenarios=300).to_document()
    with pytest.raises(ConfigError, match="market-cap"):
        solve(
            model=dataclasses.replace(
                frac, kind="advanced", advanced=load_model("advanced").advanced
            ),
            data="demo",
            n_scenarios=300,
        )
    check_document(half)
    assert half["solver"]["objective"].startswith("fractional_kelly")


def test_max_candidates_caps_the_problem_size() -> None:
    import dataclasses

    from quantalloc.pipeline.model import load_model

    base = load_model()
    spec = dataclasses.replace(
        base, candidates=dataclasses.replace(base.candidates, max_candidates=60)
    )
    result = solve(model=spec, data="demo", n_scenarios=300)
    check_document(result.to_document())
    assert result.solver["candidates"] == 60 < result.solver["candidates_built"]


def test_index_chain_feeds_the_options_flow(shared_data: Path) -> None:
    # the SPY end-of-day chain of 5 Jan 2015, read on that date: PCR and flow score appear
    result = solve(
        market="us",
        data=f"csv:{shared_data / 'us'}",
        tables=us_tables(shared_data),
        as_of="2015-01-05",
        chain=str(shared_data / "us" / "options" / "SPY_2015-01-05.csv"),
        n_scenarios=200,
        risk="aggressive",
    )
    doc = result.to_document()
    check_document(doc)
    assert doc["market"]["pcr"] is not None and doc["market"]["pcr"] > 0
    assert doc["market"]["options_flow_score"] is not None


def _gbm_csv(path: Path, dates: pd.DatetimeIndex, start: float, vol: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    close = start * np.exp(np.cumsum(rng.normal(0.0003, vol / np.sqrt(252), len(dates))))
    frame = pd.DataFrame(
        {
            "Date": dates.strftime("%Y-%m-%d"),
            "Open": close,
            "High": close * 1.01,
            "Low": close * 0.99,
            "Close": close,
            "Adj Close": close,
            "Volume": 1e6,
        }
    )
    frame.to_csv(path, index=False)


def test_a_symbol_with_too_little_history_is_left_out(tmp_path: Path) -> None:
    dates = pd.bdate_range("2019-01-01", periods=800)
    _gbm_csv(tmp_path / "SPY.csv", dates, 300.0, 0.15, 1)
    vix = pd.DataFrame(
        {"Date": dates.strftime("%Y-%m-%d"), "Close": 15.0 + np.sin(np.arange(800) / 40)}
    )
    vix.assign(Open=vix.Close, High=vix.Close, Low=vix.Close, Volume=0).to_csv(
        tmp_path / "_VIX.csv", index=False
    )
    for i, sym in enumerate(["AAA", "BBB", "CCC"]):
        _gbm_csv(tmp_path / f"{sym}.csv", dates, 100.0 + 20 * i, 0.3, 10 + i)
    _gbm_csv(tmp_path / "NEW.csv", dates[-60:], 50.0, 0.3, 99)  # listed 60 days ago
    stock = pd.DataFrame(
        {
            "symbol": ["AAA", "BBB", "CCC", "NEW"],
            "industry": ["X", "X", "Y", "Y"],
            "sector": ["X", "X", "Y", "Y"],
            "fno_stock": True,
            "lot_size": 100,
            "market_cap_category": "Large",
        }
    )
    alloc = pd.DataFrame(
        {
            "industry": ["X", "Y"],
            "sector": ["X", "Y"],
            "position_type": ["LONG", "NEUTRAL"],
            "weight_percentage": [30.0, 20.0],
            "rating": ["Strong Overweight", "Neutral"],
        }
    )
    import dataclasses

    from quantalloc.pipeline.model import load_model

    base = load_model()  # three symbols cannot meet 60% / 40% targets under 10% symbol caps
    spec = dataclasses.replace(
        base, industries=dataclasses.replace(base.industries, enforce_targets=False)
    )
    result = solve(
        model=spec,
        market="us",
        data=f"csv:{tmp_path}",
        risk="aggressive",
        n_scenarios=200,
        tables={"stock_data": stock, "industry_allocations_current": alloc},
    )
    check_document(result.to_document())
    assert any("NEW" in note and "left out" in note for note in result.notes)
    assert "NEW" not in {a["symbol"] for a in result.to_document()["allocations"]}


def test_option_chain_table_prices_its_symbol(shared_data: Path) -> None:
    # a chain for AAPL the test writes (flat 60% implied vol, far above the ~20% proxy), as of
    # the data's last date: AAPL legs are then priced at 60% and on the listed strikes
    from quantalloc.options import implied_vol

    strikes = np.arange(130.0, 211.0, 5.0)
    rows = [
        {
            "symbol": "AAPL",
            "expiry": exp,
            "strike": k,
            "kind": kind,
            "implied_vol": 0.6,
            "bid": 1.0,
            "ask": 1.1,
            "spot": 169.0,
            "as_of": "2017-12-06",
        }
        for exp in ("2017-12-15", "2018-01-19", "2018-02-16")
        for k in strikes
        for kind in ("call", "put")
    ]
    tables = us_tables(shared_data)
    tables["option_chain_data"] = pd.DataFrame(rows)
    result = solve(
        market="us",
        data=f"csv:{shared_data / 'us'}",
        tables=tables,
        symbol="AAPL",
        risk="aggressive",
        n_scenarios=300,
    )
    doc = result.to_document()
    check_document(doc)
    closes = pd.read_csv(shared_data / "us" / "daily" / "AAPL.csv", index_col="Date")
    spot = float(closes.loc["2017-12-06", "Close"])
    legs = [leg for a in doc["allocations"] for leg in a["legs"] if leg["kind"] != "stock"]
    assert legs, "the view (+10% drift) should buy something"
    for leg in legs:
        assert leg["strike"] in set(strikes)
        t = (pd.Timestamp(leg["expiry"]) - pd.Timestamp("2017-12-06")).days / 365
        iv = implied_vol(leg["kind"], leg["price"], spot, leg["strike"], t, 0.04)
        assert float(np.asarray(iv)) == pytest.approx(0.6, abs=1e-3)  # price rounded to 1e-4


def test_advanced_model_on_the_demo_market_keeps_the_cap_distribution() -> None:
    result = solve(risk="moderate", data="demo", model="advanced", n_scenarios=300)
    doc = result.to_document()
    check_document(doc)
    # the bands are soft: with the theta-positive cap counting by theta these demo buckets
    # cannot all be met, so the run holds them as closely as it can and states each deviation
    buckets = doc["portfolio"]["by_market_cap"]
    assert len(buckets) >= 2
    for row in buckets.values():
        assert row["deviation"] == pytest.approx(row["weight"] - row["target_weight"])
    rows = {c["name"]: c for c in doc["constraints"]}
    assert {f"cap_bucket[{b}]" for b in buckets} <= set(rows)
