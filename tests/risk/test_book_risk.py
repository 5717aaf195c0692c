"""Book risk: VaR/CVaR from the scenario P&L, the stress table against repricing each leg by
hand, beta-weighted delta against a finite difference, margin against the rules' text."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from quantalloc.allocation import Candidates
from quantalloc.allocation.measures import cvar as engine_cvar
from quantalloc.errors import DataError
from quantalloc.options.pricing import black_scholes
from quantalloc.risk import (
    INDEX_MOVES,
    VOL_MOVES,
    Positions,
    betas,
    book_risk,
    leg_values,
    margin_model,
    stress_table,
    var_cvar,
)

RATE = 0.03
SPOT = {"AAA": 100.0, "BBB": 250.0}
BETA = {"AAA": 1.4, "BBB": 0.7}
INDEX = 4000.0


def _book() -> Positions:
    """Position 0: a short strangle on AAA (naked); 1: a bull call spread on BBB; 2: 300 shares
    of AAA with a covered call."""
    legs = [
        # position, symbol, kind, units, strike, years, vol
        (0, "AAA", 1, -200, 110.0, 30 / 365, 0.32),
        (0, "AAA", -1, -200, 90.0, 30 / 365, 0.38),
        (1, "BBB", 1, 300, 250.0, 45 / 365, 0.25),
        (1, "BBB", 1, -300, 265.0, 45 / 365, 0.24),
        (2, "AAA", 0, 300, 0.0, 0.0, 0.0),
        (2, "AAA", 1, -300, 105.0, 60 / 365, 0.30),
    ]
    cols = list(zip(*legs, strict=True))
    return Positions(
        position=np.array(cols[0]),
        symbol=np.array(cols[1]),
        kind=np.array(cols[2]),
        units=np.array(cols[3], dtype=float),
        strike=np.array(cols[4], dtype=float),
        t=np.array(cols[5], dtype=float),
        vol=np.array(cols[6], dtype=float),
        n_positions=3,
    )


def _by_hand(book: Positions, spot: dict[str, float], vol_shift: float) -> float:
    """The book's value, one leg at a time with the scalar Black-Scholes formula."""
    total = 0.0
    for i in range(len(book.position)):
        s = spot[str(book.symbol[i])]
        if book.kind[i] == 0:
            total += book.units[i] * s
            continue
        kind = "call" if book.kind[i] == 1 else "put"
        vol = max(book.vol[i] + vol_shift / 100, 0.01)
        price = float(black_scholes(kind, s, book.strike[i], book.t[i], RATE, vol).price)
        total += book.units[i] * price
    return total


def _risk(book: Positions, pnl: np.ndarray | None = None):  # type: ignore[no-untyped-def]
    return book_risk(
        book,
        spot=SPOT,
        beta=BETA,
        index_level=INDEX,
        rate=RATE,
        scenario_pnl=np.linspace(-5000, 3000, 400) if pnl is None else pnl,
        horizon_days=21,
        capital=1_000_000,
        budget=250_000,
        margin_rule=margin_model("us"),
        naked=np.array([True, False, False]),
    )


def test_var_and_cvar_are_the_tail_of_the_scenario_pnl() -> None:
    rng = np.random.default_rng(7)
    pnl = rng.standard_t(3, size=2000) * 1000.0
    losses = sorted((-pnl).tolist(), reverse=True)
    for level, n_tail in ((0.95, 100), (0.99, 20)):
        var, cvar = var_cvar(pnl, level)
        assert var == losses[n_tail - 1]  # 100th worst of 2,000 at 95%
        assert cvar == pytest.approx(sum(losses[:n_tail]) / n_tail, rel=1e-12)
        # the allocation engine's Rockafellar-Uryasev CVaR of the same sample, side by side
        data = Candidates(returns=pd.DataFrame({"book": pnl / 1e6}))
        assert cvar == pytest.approx(engine_cvar(np.array([1e6]), data, level), rel=1e-9)
    # a tail that is not a whole number of scenarios weighs the boundary scenario by its share
    var, cvar = var_cvar(np.array([-10.0, -4.0, 1.0, 2.0, 3.0]), 0.7)  # tail of 1.5 scenarios
    assert var == 4.0 and cvar == pytest.approx((10.0 + 0.5 * 4.0) / 1.5)
    with pytest.raises(DataError, match="confidence"):
        var_cvar(pnl, 1.0)


def test_weighted_var_is_the_var_of_the_repeated_sample() -> None:
    """A scenario of probability k/N is the scenario written k times among N (by construction)."""
    rng = np.random.default_rng(11)
    pnl = rng.normal(0.0, 1000.0, size=300)
    counts = rng.integers(1, 5, size=300)
    for level in (0.95, 0.99, 0.7):
        weighted = var_cvar(pnl, level, counts / counts.sum())
        repeated = var_cvar(np.repeat(pnl, counts), level)
        assert weighted == pytest.approx(repeated, rel=1e-9)
    with pytest.raises(DataError, match="probabilities must be 300"):
        var_cvar(pnl, 0.95, np.full(300, 0.5))


def test_book_var_is_read_from_the_book_scenario_pnl() -> None:
    pnl = np.random.default_rng(3).normal(200.0, 4000.0, size=1000)
    risk = _risk(_book(), pnl).to_dict()
    losses = np.sort(-pnl)[::-1]
    assert risk["var_95"] == losses[49] and risk["var_99"] == losses[9]
    assert risk["cvar_95"] == pytest.approx(losses[:50].mean())
    assert risk["cvar_99"] == pytest.approx(losses[:10].mean())
    assert risk["cvar_99"] >= risk["var_99"] >= risk["var_95"]


def test_stress_table_matches_repricing_each_leg_by_hand() -> None:
    book = _book()
    rows = stress_table(book, SPOT, BETA, RATE)
    assert len(rows) == len(INDEX_MOVES) * len(VOL_MOVES)
    base = _by_hand(book, SPOT, 0.0)
    for row in rows:
        shocked = {s: v * (1 + BETA[s] * row["index_move"]) for s, v in SPOT.items()}
        want = _by_hand(book, shocked, row["vol_move"]) - base
        assert row["pnl"] == pytest.approx(want, rel=1e-10, abs=1e-6), row
    pnl = {(r["index_move"], r["vol_move"]): r["pnl"] for r in rows}
    assert pnl[(-0.20, 0.0)] < 0  # long AAA stock and short puts lose in a crash


def test_beta_weighted_delta_is_the_index_finite_difference() -> None:
    book = _book()
    risk = _risk(book).to_dict()
    h = 0.5  # index points

    def value(points: float) -> float:
        moved = {s: v * (1 + BETA[s] * points / INDEX) for s, v in SPOT.items()}
        return float(leg_values(book, moved, RATE) @ book.units)

    fd = (value(h) - value(-h)) / (2 * h)
    bwd = risk["beta_weighted_delta"]
    assert bwd["index_points"] == pytest.approx(fd, rel=1e-6)
    assert bwd["currency"] == pytest.approx(fd * INDEX, rel=1e-6)
    # dollar delta per symbol: the finite difference of a 1% move of that stock alone, x 100
    for sym, row in risk["by_symbol"].items():
        up = {**SPOT, sym: SPOT[sym] * 1.0001}
        dn = {**SPOT, sym: SPOT[sym] * 0.9999}
        fd_sym = (leg_values(book, up, RATE) - leg_values(book, dn, RATE)) @ book.units / 0.0002
        assert row["dollar_delta"] == pytest.approx(fd_sym, rel=1e-6)
    total = sum(r["dollar_delta"] for r in risk["by_symbol"].values())
    assert risk["dollar_delta"] == pytest.approx(total)
    assert risk["gross_exposure"] == pytest.approx(
        sum(abs(r["dollar_delta"]) for r in risk["by_symbol"].values())
    )
    assert risk["net_exposure"] == pytest.approx(total)


def test_reg_t_margin_of_a_naked_strangle_follows_the_rule_text() -> None:
    """CBOE/FINRA uncovered equity option rule: value + max(20% S - OTM, 10% of S or K); a
    strangle needs the larger side plus the other side's value."""
    rule = margin_model("us")
    kind, units = np.array([1, -1]), np.array([-100.0, -100.0])
    strike, value = np.array([105.0, 95.0]), np.array([1.20, 1.50])
    call = 1.20 + max(0.20 * 100 - 5, 0.10 * 100)  # 16.20 a share
    put = 1.50 + max(0.20 * 100 - 5, 0.10 * 95)  # 16.50 a share
    want = 100 * (max(call, put) + 1.20)  # the put side, plus the call's value
    assert rule.naked(kind, units, strike, value, 100.0) == pytest.approx(want)
    # deep OTM: the 10% minimum binds
    far = rule.naked(np.array([-1]), np.array([-100.0]), np.array([60.0]), np.array([0.05]), 100.0)
    assert far == pytest.approx(100 * (0.05 + 0.10 * 60))
    # covered: long stock covers the short call; nothing is naked
    covered = rule.naked(np.array([0, 1]), np.array([100.0, -100.0]), np.array([0, 105.0]),
                         np.array([100.0, 1.2]), 100.0)  # fmt: skip
    assert covered == 0.0
    nse = margin_model("in")
    assert nse.naked(kind, units, strike, value, 100.0) == pytest.approx(0.185 * 100 * 100)
    assert "approximation" in nse.description


def test_book_risk_flags_and_margins_only_the_naked_position() -> None:
    risk = _risk(_book())
    assert risk.margin[0] > 0 and risk.margin[1] == 0 and risk.margin[2] == 0
    assert risk.to_dict()["margin"]["total"] == pytest.approx(risk.margin.sum())


def test_betas_are_the_ols_slope_of_daily_returns() -> None:
    rng = np.random.default_rng(11)
    dates = pd.bdate_range("2020-01-01", periods=300)
    x = rng.normal(0, 0.01, size=300)
    index = pd.Series(100 * np.exp(np.cumsum(x)), index=dates)
    y = 1.3 * x + rng.normal(0, 0.005, size=300)
    closes = pd.DataFrame({"AAA": 50 * np.exp(np.cumsum(y))}, index=dates)
    closes["NEW"] = np.nan
    closes.iloc[-20:, 1] = 10.0
    beta, notes = betas(closes, index)
    rx = np.diff(np.log(index.to_numpy()))[-252:]
    ry = np.diff(np.log(closes["AAA"].to_numpy()))[-252:]
    assert beta["AAA"] == pytest.approx(np.polyfit(rx, ry, 1)[0], rel=1e-10)
    assert beta["NEW"] == 1.0 and "NEW" in notes[0]


def test_expired_option_legs_are_refused() -> None:
    with pytest.raises(DataError, match="expired"):
        Positions(np.array([0]), np.array(["AAA"]), np.array([1]), np.array([-1.0]),
                  np.array([100.0]), np.array([0.0]), np.array([0.2]), 1)  # fmt: skip
    assert math.isfinite(_risk(_book()).to_dict()["vega"])
