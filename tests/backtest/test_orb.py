"""Opening-range breakout on hand-made 5-minute sessions with obvious trades."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantalloc.backtest import BacktestWindow, run_strategy
from quantalloc.backtest.strategies import orb
from quantalloc.errors import DataError
from tests.backtest.helpers import FrameProvider

DAYS = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]
Bar = tuple[float, float, float, float]


def _session(day: str, first: list[Bar], flat: float, volume: float, premarket: bool = False):  # type: ignore[no-untyped-def]
    """78 bars from 09:30: ``first`` as given, then flat bars at ``flat``; opening volume given."""
    rows = [*first, *[(flat, flat, flat, flat)] * (78 - len(first))]
    idx = pd.date_range(f"{day} 09:30", periods=78, freq="5min")
    frame = pd.DataFrame(rows, index=idx, columns=["open", "high", "low", "close"])
    frame["volume"] = 100.0
    frame.iloc[0, 4] = volume
    if premarket:  # a pre-market spike that must not count anywhere
        spike = pd.DataFrame(
            {"open": 150.0, "high": 200.0, "low": 150.0, "close": 150.0, "volume": 1e9},
            index=[pd.Timestamp(f"{day} 08:00")],
        )
        frame = pd.concat([spike, frame])
    return frame


def _market() -> FrameProvider:
    a = pd.concat(
        [
            # day 1: range 95..105 around 100 -> ATR 10 for day 2
            _session(DAYS[0], [(100, 105, 95, 100)], 100.0, 1_000),
            # day 2: opening range 99.5..101; bar 2 breaks up (long at 101, TP 104, stop 96),
            # bar 3 reaches 104.5 -> take profit at 104; the day's true range is 5 -> ATR 5
            _session(
                DAYS[1],
                [
                    (100, 101, 99.5, 100.5),
                    (100.5, 100.8, 100, 100.7),
                    (100.7, 101.5, 100.6, 101),
                    (101, 104.5, 101, 102),
                ],
                102.0,
                1_000,
                premarket=True,
            ),
            # day 3: range 101.5..102.5; bar 1 gaps to 100 below it -> short at the open 100,
            # stop 102.5, TP 98.5; bar 2 reaches 103 -> stopped at 102.5; true range 3.1
            _session(
                DAYS[2],
                [(102, 102.5, 101.5, 102), (100, 100.2, 99.9, 100.1), (100.5, 103, 100.4, 101)],
                101.0,
                1_000,
            ),
            # day 4: range 100.8..101.4; bar 1 breaks up at 101.4 (TP 102.33, stop 99.85) and
            # the rest of the day sits at 101.8: flat at the close, 101.8
            _session(
                DAYS[3], [(101, 101.4, 100.8, 101.2), (101.2, 101.6, 101.1, 101.5)], 101.8, 1_000
            ),
        ]
    )
    # B has the largest opening volume but an ATR of 2% (below the threshold)
    b = pd.concat([_session(d, [(100, 101, 99, 100)], 100.0, 50_000) for d in DAYS[:2]])
    # C qualifies (ATR 8%) but trades less in the opening range than A
    c = pd.concat(
        [
            _session(DAYS[0], [(100, 104, 96, 100)], 100.0, 500),
            _session(DAYS[1], [(100, 104, 96, 100), (100, 105, 100, 104.5)], 104.5, 500),
        ]
    )
    for f in (a, b, c):
        f.index.name = "date"
    return FrameProvider({"A": a, "B": b, "C": c})


PARAMS = {"atr_days": 1, "min_atr_pct": 0.03, "slippage": 0.0}


def test_picks_the_liquid_qualifying_symbol_and_trades_each_rule() -> None:
    res = run_strategy("orb", _market(), DAYS[0], DAYS[-1], 100_000, PARAMS)
    t = res.trades
    assert t["symbol"].tolist() == ["A", "A", "A"]
    assert t["side"].tolist() == ["long", "short", "long"]
    assert t["exit_reason"].tolist() == ["take_profit", "stop", "session_close"]
    np.testing.assert_allclose(t["entry_price"], [101.0, 100.0, 101.4])
    np.testing.assert_allclose(t["exit_price"], [104.0, 102.5, 101.8])
    assert t["entry_time"].iloc[0] == pd.Timestamp("2024-01-03 09:40")
    assert t["exit_time"].iloc[2] == pd.Timestamp("2024-01-05 15:55")
    eq = 100_000 * 104 / 101
    eq *= 1 - 2.5 / 100
    eq *= 1 + 0.4 / 101.4
    assert res.equity.iloc[-1] == pytest.approx(eq)
    assert res.in_position.tolist() == [False, True, True, True]


def test_direction_long_ignores_the_downside_break() -> None:
    res = run_strategy("orb", _market(), DAYS[0], DAYS[-1], 100_000,
                       {**PARAMS, "direction": "long"})  # fmt: skip
    assert res.trades["side"].tolist() == ["long", "long", "long"]
    # day 3 long: buy stop at 102.5 touched by bar 2 (high 103), stop 102.5 - 1.55 never hit
    assert res.trades["entry_price"].iloc[1] == pytest.approx(102.5)


def test_threshold_above_every_symbol_means_no_trades() -> None:
    res = run_strategy("orb", _market(), DAYS[0], DAYS[-1], 100_000,
                       {**PARAMS, "min_atr_pct": 0.5})  # fmt: skip
    assert res.trades.empty and res.equity.iloc[-1] == 100_000 and res.notes


def test_symbols_narrow_the_scan() -> None:
    res = run_strategy("orb", _market(), DAYS[0], DAYS[1], 100_000, {**PARAMS, "symbols": "C"})
    assert res.trades["symbol"].tolist() == ["C"]


def test_no_look_ahead_later_sessions_do_not_change_earlier_days() -> None:
    full = run_strategy("orb", _market(), DAYS[0], DAYS[-1], 100_000, PARAMS)
    part = run_strategy("orb", _market(), DAYS[0], DAYS[2], 100_000, PARAMS)
    pd.testing.assert_series_equal(part.equity, full.equity.iloc[:3])
    pd.testing.assert_frame_equal(part.trades, full.trades.iloc[:2], check_dtype=False)


def test_batch_matches_single_runs() -> None:
    sets = [orb.PARAMS(**PARAMS, take_profit_atr=tp, stop_atr=sl)  # type: ignore[arg-type]
            for tp in (0.2, 0.3, 1.0) for sl in (0.1, 0.5)]  # fmt: skip
    batch = orb.run_batch(BacktestWindow(_market(), DAYS[0], DAYS[-1], 100_000), sets)
    for k, p in enumerate(sets):
        one = orb.run(BacktestWindow(_market(), DAYS[0], DAYS[-1], 100_000), p)
        np.testing.assert_allclose(batch.equity[k].to_numpy(), one.equity.to_numpy())
        assert batch.metrics.loc[k, "trades"] == one.metrics["trades"]


def test_daily_bars_are_refused_with_a_hint() -> None:
    idx = pd.bdate_range("2024-01-01", periods=5, name="date")
    daily = pd.DataFrame({"open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0},
                         index=idx)  # fmt: skip
    with pytest.raises(DataError, match="5-minute"):
        run_strategy("orb", FrameProvider({"X": daily}), None, None, 1e5)


def test_real_five_minute_data_runs(shared_data) -> None:  # type: ignore[no-untyped-def]
    from quantalloc.data.csv_provider import CsvProvider

    prov = CsvProvider(shared_data / "us_intraday" / "5min")
    res = run_strategy("orb", prov, "2025-06-01", "2025-12-31", 100_000, {"min_atr_pct": 0.04})
    assert res.metrics["trades"] > 20
    times = pd.DatetimeIndex(res.trades["exit_time"]).time
    assert all(pd.Timestamp("09:35").time() <= t <= pd.Timestamp("15:55").time() for t in times)


def test_range_minutes_widen_the_range_and_must_fit_the_bars() -> None:
    from quantalloc.errors import ConfigError

    # day 4 with a 10-minute range (bars 0-1: 100.8 .. 101.6): the break comes from no later
    # bar (the rest sits at 101.8 > 101.6, reached by bar 2's open) -> entry at bar 2's open
    res = run_strategy("orb", _market(), DAYS[3], DAYS[3], 100_000, {**PARAMS, "range_minutes": 10})
    assert res.trades["entry_price"].tolist() == [pytest.approx(101.8)]
    with pytest.raises(ConfigError, match="multiple of 5"):
        run_strategy("orb", _market(), None, None, 100_000, {"range_minutes": 7})
