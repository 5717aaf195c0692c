"""Momentum rule on hand-made SPY / SPXL series where the right trades are obvious."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantalloc.backtest import BacktestWindow, run_strategy
from quantalloc.backtest.strategies import momentum
from quantalloc.errors import ConfigError
from tests.backtest.helpers import FrameProvider, frame_from_closes

DAYS = pd.bdate_range("2020-01-01", "2020-04-30", name="date")  # no holidays in a bdate range
NO_COSTS = {"sma_days": 5, "slippage": 0.0, "adjusted": False}


def _market() -> FrameProvider:
    n = len(DAYS)
    t = np.arange(n, dtype=float)
    in_march = np.asarray(DAYS.month == 3)
    # SPY rises through February, then falls steadily through March and April
    last_feb = int(np.flatnonzero(DAYS.month == 2)[-1])
    spy = np.where(t <= last_feb, 100 + t, 100 + last_feb - 2 * (t - last_feb))
    spxl = np.full(n, 10.0)
    spxl[in_march] = 11.0
    lows = spxl - 0.1
    lows[DAYS.get_loc(pd.Timestamp("2020-02-10"))] = 9.4  # touches the 5% stop at 9.5
    frame = frame_from_closes(spxl, DAYS, opens=spxl, highs=spxl + 0.1, lows=lows)
    return FrameProvider({"SPY": frame_from_closes(spy, DAYS), "SPXL": frame})


def test_enter_at_month_end_stop_out_reenter_next_month_end_exit_below_sma() -> None:
    res = run_strategy("momentum", _market(), "2020-01-01", "2020-04-30", 10_000, NO_COSTS)
    t = res.trades
    assert t["entry_time"].dt.strftime("%Y-%m-%d").tolist() == ["2020-02-03", "2020-03-02"]
    # first trade: 5% stop below the 10.0 entry, touched on 10 Feb, filled at 9.5
    assert t.loc[0, "exit_reason"] == "stop"
    assert t.loc[0, "exit_time"] == pd.Timestamp("2020-02-10")
    assert t.loc[0, "exit_price"] == pytest.approx(9.5)
    # re-entered at the next month end's signal (28 Feb, filled 2 Mar at 11.0); SPY closes
    # below its SMA on 31 Mar, so the exit fills at 1 Apr's open
    assert t.loc[1, "exit_reason"] == "signal"
    assert t.loc[1, "exit_time"] == pd.Timestamp("2020-04-01")
    assert res.metrics["trades"] == 2 and res.metrics["win_rate"] == 0.0
    # 10_000 -> 9_500 after the stop; 9_500 / 11 units bought at 11, sold at 1 Apr's open (10)
    assert res.equity.iloc[-1] == pytest.approx(9_500.0 / 11.0 * 10.0)
    assert not res.in_position.loc["2020-04-02":].any()


def test_same_bar_close_fill_enters_on_the_month_end_itself() -> None:
    res = run_strategy(
        "momentum", _market(), "2020-01-01", "2020-04-30", 10_000, {**NO_COSTS, "fill": "close"}
    )
    assert res.trades["entry_time"].iloc[0] == pd.Timestamp("2020-01-31")


def test_no_stop_holds_through_the_dip() -> None:
    res = run_strategy(
        "momentum", _market(), "2020-01-01", "2020-04-30", 10_000, {**NO_COSTS, "stop_loss": 0.0}
    )
    assert len(res.trades) == 1 and res.trades.loc[0, "exit_reason"] == "signal"


def _random_market(seed: int, n: int = 400) -> FrameProvider:
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2015-01-01", periods=n, name="date")
    spy = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.01, n)))
    lev = 10 * np.exp(np.cumsum(3 * np.diff(np.log(spy), prepend=np.log(spy[0]))))
    opens = lev * np.exp(rng.normal(0, 0.004, n))
    return FrameProvider(
        {
            "SPY": frame_from_closes(spy, idx),
            "SPXL": frame_from_closes(
                lev,
                idx,
                opens=opens,
                highs=np.maximum(opens, lev) * 1.01,
                lows=np.minimum(opens, lev) * 0.99,
            ),
        }
    )


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(120, 380))
def test_no_look_ahead_adding_future_bars_keeps_past_decisions(seed: int, cut: int) -> None:
    prov = _random_market(seed)
    idx = prov.frames["SPY"].index
    params = {"sma_days": 50, "stop_loss": 0.04}
    full = run_strategy("momentum", prov, idx[60], idx[-1], 1e5, params)
    part = run_strategy("momentum", prov, idx[60], idx[cut], 1e5, params)
    pd.testing.assert_series_equal(part.equity, full.equity.loc[: idx[cut]])
    done = part.trades.loc[part.trades["exit_reason"] != "end_of_data"]
    pd.testing.assert_frame_equal(done, full.trades.iloc[: len(done)], check_dtype=False)


def test_batch_equals_one_run_per_parameter_set() -> None:
    prov = _random_market(3)
    idx = prov.frames["SPY"].index
    sets = [momentum.PARAMS(sma_days=n, stop_loss=s) for n in (20, 50) for s in (0.0, 0.03)]
    batch = momentum.run_batch(BacktestWindow(prov, idx[100], idx[-1], 1e5), sets)
    for k, p in enumerate(sets):
        one = momentum.run(BacktestWindow(prov, idx[100], idx[-1], 1e5), p)
        np.testing.assert_allclose(batch.equity[k].to_numpy(), one.equity.to_numpy())
        assert batch.metrics.loc[k, "sharpe"] == pytest.approx(one.metrics["sharpe"], nan_ok=True)
        assert batch.metrics.loc[k, "trades"] == one.metrics["trades"]
    assert 0 <= batch.best() < len(sets)


def test_bad_parameters_are_one_line_config_errors() -> None:
    prov = _random_market(1)
    with pytest.raises(ConfigError, match="unknown momentum parameter 'smadays'"):
        run_strategy("momentum", prov, None, None, 1e5, {"smadays": 3})
    with pytest.raises(ConfigError, match="sma_days must be int"):
        run_strategy("momentum", prov, None, None, 1e5, {"sma_days": "abc"})
    with pytest.raises(ConfigError, match=r"stop_loss must be <= 0\.95"):
        run_strategy("momentum", prov, None, None, 1e5, {"stop_loss": "2"})
    with pytest.raises(ConfigError, match="unknown strategy"):
        run_strategy("nope", prov, None, None, 1e5)


def test_real_spy_spxl_entries_fill_on_a_month_s_first_trading_day(shared_data) -> None:  # type: ignore[no-untyped-def]
    from quantalloc.data.csv_provider import CsvProvider

    prov = CsvProvider(shared_data / "us")
    res = run_strategy("momentum", prov, "2009-01-01", "2017-12-29", 100_000)
    days = res.equity.index
    entries = pd.DatetimeIndex(res.trades["entry_time"])
    pos = days.get_indexer(entries)
    assert (pos > 0).all()
    assert (days[pos].month != days[pos - 1].month).all()
    stops = res.trades.loc[res.trades["exit_reason"] == "stop"]
    ratio = stops["exit_price"] / stops["entry_price"]
    # a stop fills at most 5% below the entry plus both fills' 5 bp slippage, or lower on a gap
    assert (ratio <= 0.95 / 1.0005 * (1 - 0.0005) + 1e-9).all()
    assert res.metrics["trades"] >= 5


def test_registry_run_batch_compiled_and_looped_paths_agree() -> None:
    from quantalloc.backtest import run_batch

    prov = _random_market(4)
    idx = prov.frames["SPY"].index
    sets = [{"sma_days": 30, "stop_loss": 0.03}, {"sma_days": 60, "stop_loss": 0.0}]
    fast = run_batch("momentum", prov, idx[100], idx[-1], 1e5, sets)  # one compiled call
    for k, s in enumerate(sets):
        one = run_strategy("momentum", prov, idx[100], idx[-1], 1e5, s)
        assert fast.metrics.loc[k, "total_return"] == pytest.approx(one.metrics["total_return"])
    # sets differing in fill cannot share a compiled call: each runs on its own
    mixed = run_batch(
        "momentum", prov, idx[100], idx[-1], 1e5, [sets[0], {**sets[1], "fill": "close"}]
    )
    one = run_strategy("momentum", prov, idx[100], idx[-1], 1e5, {**sets[1], "fill": "close"})
    np.testing.assert_allclose(mixed.equity[1].to_numpy(), one.equity.to_numpy())
    np.testing.assert_allclose(mixed.equity[0].to_numpy(), fast.equity[0].to_numpy())
