"""Allocator replay: no look-ahead, a hand-checked expiry P&L, entry marks = solve premiums.

Small scenario counts and short windows keep every solve near a second.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from quantalloc.backtest import BacktestWindow
from quantalloc.backtest.params import coerce_params
from quantalloc.backtest.registry import run_strategy
from quantalloc.backtest.replay.book import positions_from
from quantalloc.backtest.replay.pricing import ModelPrices
from quantalloc.backtest.strategies import allocator
from quantalloc.data.demo import DemoProvider
from quantalloc.errors import ConfigError
from quantalloc.markets import get_market

START, CUT, LATER = "2023-06-01", "2023-07-14", "2023-08-31"
FAST = {"n_scenarios": 120, "rebalance_days": 15, "fee_per_contract": 0.0, "option_spread": 0.0}


class CutProvider:
    """A provider that knows nothing after ``cut`` (the tables are the source's, unchanged)."""

    synthetic = True

    def __init__(self, inner: DemoProvider, cut: str) -> None:
        self.inner = inner
        self.cut = pd.Timestamp(cut)
        self.name = inner.name
        self.market = inner.market

    def history(self, symbol: str, start: Any = None, end: Any = None) -> pd.DataFrame:
        stop = self.cut if end is None else min(pd.Timestamp(end), self.cut)
        return self.inner.history(symbol, start, stop)

    def symbols(self) -> list[str]:
        return self.inner.symbols()

    def universe(self) -> pd.DataFrame:
        return self.inner.universe()

    def industry_allocations(self) -> pd.DataFrame:
        return self.inner.industry_allocations()


class Recorder:
    """Calls the real solve and keeps each result (optionally keeping only one position)."""

    def __init__(self, keep_one: bool = False) -> None:
        from quantalloc.pipeline.core import solve

        self.solve = solve
        self.keep_one = keep_one
        self.results: list[Any] = []

    def __call__(self, **kwargs: Any) -> Any:
        result = self.solve(**kwargs)
        if self.keep_one:
            rows = result.allocations
            if any(len(r.allocations) for r in self.results):  # after the one position: nothing
                rows = rows.iloc[:0]
            else:  # a position whose legs all expire together (its payoff is a closed form)
                single = [
                    i
                    for i, legs in enumerate(rows["legs"])
                    if len({leg["expiry"] for leg in legs}) == 1
                    and any(leg["kind"] != "stock" for leg in legs)
                ]
                rows = rows.iloc[single[:1]]
            result = dataclasses.replace(result, allocations=rows.reset_index(drop=True))
        self.results.append(result)
        return result


@pytest.fixture(scope="module")
def demo() -> DemoProvider:
    return DemoProvider("us")


@pytest.fixture(scope="module")
def cut_run(demo: DemoProvider) -> tuple[Any, Recorder]:
    rec = Recorder()
    p = allocator.PARAMS(**FAST)  # type: ignore[arg-type]
    res = allocator.run(BacktestWindow(CutProvider(demo, CUT), START, CUT, 1e6), p, solver=rec)
    return res, rec


@pytest.fixture(scope="module")
def full_run(demo: DemoProvider) -> Any:
    return run_strategy("allocator", demo, START, LATER, 1_000_000.0, FAST)


def _entries(trades: pd.DataFrame, until: str) -> pd.DataFrame:
    cols = ["entry_time", "symbol", "strategy_name", "expiry", "units", "entry_price"]
    rows = trades.loc[trades["entry_time"] <= pd.Timestamp(until), cols]
    return rows.sort_values(cols).reset_index(drop=True)


def test_no_look_ahead_decisions_and_equity_ignore_later_data(cut_run: Any, full_run: Any) -> None:
    cut, rec = cut_run
    assert len(rec.results) >= 3  # three rebalances inside the cut window
    before = _entries(cut.trades, CUT)
    assert len(before) > 0
    pd.testing.assert_frame_equal(before, _entries(full_run.trades, CUT))
    # the account value at every close up to the cut is the same with or without later bars
    shared = cut.equity.index
    np.testing.assert_allclose(full_run.equity.loc[shared], cut.equity, rtol=1e-12)
    # and the full run went on trading after the cut
    assert (full_run.trades["entry_time"] > pd.Timestamp(CUT)).any()


def test_each_solve_saw_only_its_as_of(cut_run: Any) -> None:
    cut, rec = cut_run
    entry_days = sorted(set(cut.trades["entry_time"]))
    # every entry happens on the as-of day of a solve (a solve may enter nothing: positions
    # still open, or nothing worth a lot within the limits)
    assert entry_days
    assert {d.date().isoformat() for d in entry_days} <= {r.as_of for r in rec.results}
    assert rec.results[0].as_of == START


def test_entry_marks_equal_the_solves_premiums(demo: DemoProvider, cut_run: Any) -> None:
    cut, rec = cut_run
    market = get_market("us")
    index = demo.history(market.index_symbol, None, CUT)
    vix = demo.history(market.vol_index_symbol, None, CUT)["close"]
    skew = allocator._spec(allocator.PARAMS()).candidates.skew
    model = ModelPrices(demo, market, pd.Timestamp(CUT), index["close"], vix, skew)
    calendar = pd.DatetimeIndex(index.index)
    checked = 0
    for result in rec.results:
        day = pd.Timestamp(result.as_of)
        for pos in positions_from(result, day, calendar):
            # the document rounds leg prices to 4 decimals: 0.5e-4 per share at most
            for leg in pos.legs:
                assert model.value(pos, leg, day) == pytest.approx(leg.price, abs=0.5e-4 + 1e-12)
            checked += 1
    assert checked >= 5
    # fees and spread are 0 here, so the first close's equity is the capital (cash + marks)
    assert cut.equity.iloc[0] == pytest.approx(1_000_000.0, abs=1.0)


def _payoff(legs: list[dict[str, Any]], lot_size: int, spot: float) -> float:
    total = 0.0
    for leg in legs:
        sign = 1.0 if leg["side"] == "buy" else -1.0
        units = sign * float(leg["quantity"]) * lot_size
        if leg["kind"] == "stock":
            value = spot
        elif leg["kind"] == "call":
            value = max(spot - float(leg["strike"]), 0.0)
        else:
            value = max(float(leg["strike"]) - spot, 0.0)
        total += units * value
    return total


def test_single_position_pnl_is_payoff_minus_premium(demo: DemoProvider) -> None:
    rec = Recorder(keep_one=True)
    p = allocator.PARAMS(
        n_scenarios=120,
        rebalance="expiry",
        rebalance_days=252,
        fee_per_contract=0.65,
        option_spread=0.02,
    )
    res = allocator.run(BacktestWindow(demo, START, LATER, 1_000_000.0), p, solver=rec)
    # under the state's rules a rebalance may enter nothing: the first that entered a position
    row = next(r for r in rec.results if len(r.allocations)).allocations.iloc[0]
    expiry = pd.Timestamp(row["expiry"])
    assert expiry < pd.Timestamp(LATER)
    # settlement: the symbol's close on the last trading day on or before the expiry
    closes = demo.history(str(row["symbol"]), START, LATER)["close"]
    settle_day = closes.index[closes.index <= expiry][-1]
    spot = float(closes.loc[settle_day])
    legs = list(row["legs"])
    lot = int(row["lot_size"])
    premium = sum(
        (1.0 if leg["side"] == "buy" else -1.0) * float(leg["quantity"]) * lot * float(leg["price"])
        for leg in legs
    )
    options = [leg for leg in legs if leg["kind"] != "stock"]
    contracts = sum(float(leg["quantity"]) for leg in options)
    # each option fill 2% of its price worse; options settle at intrinsic, with no spread
    spread = sum(0.02 * float(leg["quantity"]) * lot * float(leg["price"]) for leg in options)
    expected = _payoff(legs, lot, spot) - premium - spread - 0.65 * contracts
    trades = res.trades
    assert len(trades) == 1
    trade = trades.iloc[0]
    assert trade["exit_reason"] == "expiry" and trade["exit_time"] == settle_day
    assert trade["strategy_name"] == row["strategy_name"]
    assert trade["pnl"] == pytest.approx(expected, abs=1e-6)
    # after settlement the account is all cash: capital + P&L
    assert res.equity.iloc[-1] == pytest.approx(1_000_000.0 + expected, abs=1e-6)
    # from the settlement close on, nothing is open: the equity stays flat
    assert res.equity.loc[settle_day:].nunique() == 1


def test_params_reach_the_solve() -> None:
    p = allocator.PARAMS(max_industry=0.3, min_pop=0.55, kelly_fraction=0.4, expiries=2)
    spec = allocator._spec(p)
    assert spec.limits.max_industry == 0.3
    assert spec.profile("moderate").min_probability_of_profit == 0.55
    assert spec.objective.fraction == 0.4
    assert spec.candidates.expiries == 2
    default = allocator._spec(allocator.PARAMS())
    from quantalloc.pipeline.model import load_model

    model = load_model("industry_first")
    assert default.limits == model.limits and default.objective == model.objective


def test_objective_param_switches_the_objective_so_drawdown_limits_act() -> None:
    # the model's default objective is exact Kelly, where alpha and beta play no part: the tuner
    # can only move them usefully once the objective is the risk-constrained one
    spec = allocator._spec(allocator.PARAMS(objective="rck", drawdown_alpha=0.8, drawdown_beta=0.2))
    assert (spec.objective.kind, spec.objective.drawdown_alpha) == ("rck", 0.8)
    assert spec.objective.drawdown_beta == 0.2
    with pytest.raises(ConfigError, match="objective"):
        coerce_params(allocator.PARAMS, {"objective": "sharpe"}, "allocator")


def test_bad_parameters_are_config_errors() -> None:
    from quantalloc.errors import ConfigError

    with pytest.raises(ConfigError, match="rebalance"):
        run_strategy("allocator", DemoProvider("us"), START, CUT, 1e6, {"rebalance": "weekly"})
    with pytest.raises(ConfigError, match="n_scenarios"):
        run_strategy("allocator", DemoProvider("us"), START, CUT, 1e6, {"n_scenarios": "1"})


def test_missing_table_file_is_a_data_error(tmp_path: Path) -> None:
    from quantalloc.errors import DataError

    with pytest.raises(DataError, match="not found"):
        run_strategy(
            "allocator", DemoProvider("us"), START, CUT, 1e6, {"stock_data": str(tmp_path / "x")}
        )


def test_solve_as_of_ignores_prices_and_vol_index_after_it(demo: DemoProvider) -> None:
    """The pipeline cuts symbols, the index and the vol index at as_of (checked directly)."""
    from quantalloc.pipeline.core import solve

    kwargs = {"risk": "moderate", "market": "us", "capital": 1e6, "n_scenarios": 120}
    full = solve(data=demo, as_of=CUT, **kwargs)  # type: ignore[arg-type]
    cut = solve(data=CutProvider(demo, CUT), as_of=CUT, **kwargs)  # type: ignore[arg-type]
    a, b = full.to_document(), cut.to_document()
    assert a["market"] == b["market"]  # regime state, vix level, scores
    assert a["allocations"] == b["allocations"] and a["allocations"]
    assert a["as_of"] == b["as_of"] == CUT
    # and the vix the solve used is the vol index's close on the as-of date, not a later one
    vix = demo.history("^VIX", None, None)["close"]
    assert a["market"]["vix"] == pytest.approx(float(vix.loc[CUT]))
    assert float(vix.loc[CUT]) != pytest.approx(float(vix.iloc[-1]))


def test_table_weights_over_100_name_the_param_that_rescales_them(tmp_path: Path) -> None:
    from quantalloc.errors import DataError

    path = tmp_path / "ind.csv"
    pd.DataFrame(
        {
            "industry": ["A", "B", "C"],
            "sector": ["A", "B", "C"],
            "position_type": "NEUTRAL",
            "weight_percentage": 33.37,  # 100.11% in all
            "rating": "Neutral",
        }
    ).to_csv(path, index=False)
    with pytest.raises(DataError, match="`normalize_weights=True`") as info:
        allocator._tables(allocator.PARAMS(industry_allocations=str(path)))
    assert info.value.params == ("normalize_weights",)  # `backtest` shows --param ...=true
    tables = allocator._tables(
        allocator.PARAMS(industry_allocations=str(path), normalize_weights=True)
    )
    weights = pd.to_numeric(tables["industry_allocations_current"]["weight_percentage"])
    assert weights.sum() == pytest.approx(100.0)


def test_a_solve_that_allocates_nothing_is_noted(demo: DemoProvider) -> None:
    # 5,000 of capital: every candidate's lot is too large, the account stays in cash
    res = run_strategy("allocator", demo, START, "2023-06-09", 5_000.0, FAST)
    assert res.trades.empty and (res.equity == 5_000.0).all()
    assert any("allocated nothing" in n and "dropped" in n for n in res.notes)


def test_dte_window_sets_the_horizon(demo: DemoProvider) -> None:
    from quantalloc.errors import ConfigError
    from quantalloc.pipeline.core import solve

    spec = allocator._spec(allocator.PARAMS(dte_min=50, dte_max=80))
    res = solve(model=spec, market="us", data=demo, as_of=START, capital=1e6, n_scenarios=120)
    dte = [(pd.Timestamp(e) - pd.Timestamp(START)).days for e in res.allocations["expiry"]]
    assert dte and all(50 <= d <= 80 for d in dte)
    # the default (the state's [30, 45] window) has no monthly inside on 2023-06-01 (16 Jun is
    # 15 days out, 21 Jul 50): the one nearest the window, 21 Jul, is used and the notes say so
    plain = solve(market="us", data=demo, as_of=START, capital=1e6, n_scenarios=120)
    assert set(plain.allocations["expiry"]) == {"2023-07-21"}
    assert any("no listed expiry inside" in n for n in plain.notes)
    with pytest.raises(ConfigError, match="dte_min"):
        allocator._spec(allocator.PARAMS(dte_max=40))


def test_progress_reports_every_session_with_the_rebalances_and_equity(
    demo: DemoProvider,
) -> None:
    class Empty:  # a solve that allocates nothing (the replay's bookkeeping alone)
        def __call__(self, **kwargs: Any) -> Any:
            from types import SimpleNamespace

            return SimpleNamespace(allocations=pd.DataFrame(), notes=(), as_of=kwargs["as_of"])

    seen: list[Any] = []
    p = allocator.PARAMS(rebalance_days=3)
    window = BacktestWindow(demo, START, "2023-06-14", 1_000_000.0)
    res = allocator.run(window, p, solver=Empty(), progress=seen.append)
    days = res.equity.index
    assert [s.session for s in seen] == list(range(1, len(days) + 1))
    assert all(s.sessions == len(days) for s in seen)
    assert [s.day for s in seen] == list(days)
    assert [s.rebalances for s in seen] == [i // 3 + 1 for i in range(len(days))]
    assert all(s.equity == 1_000_000.0 for s in seen)
    assert res.timings["rebalances"] == (len(days) + 2) // 3
