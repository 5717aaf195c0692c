"""Calendar and session helpers, and the engine run on intraday bars (flat at the close)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from quantalloc.backtest import bars
from quantalloc.backtest.engine import EXIT_REASONS, simulate


def test_month_end_flags_follow_the_trading_calendar() -> None:
    # 2021-05-31 is Memorial Day: the month's last trading day is Friday 28 May
    idx = pd.DatetimeIndex(["2021-05-27", "2021-05-28", "2021-06-01", "2021-06-30"])
    assert bars.month_end_flags(idx).tolist() == [False, True, False, True]


def test_regular_session_and_daily_bars() -> None:
    idx = pd.DatetimeIndex(
        [
            "2024-01-02 08:00",
            "2024-01-02 09:30",
            "2024-01-02 15:55",
            "2024-01-02 16:00",
            "2024-01-03 09:30",
        ]
    )
    f = pd.DataFrame(
        {
            "open": [1, 2, 3, 4, 5],
            "high": [9, 3, 4, 9, 6],
            "low": [0, 1, 2, 0, 4],
            "close": [1, 3, 3.5, 4, 5.5],
            "volume": [7, 1, 2, 7, 3],
        },
        index=idx,
    )
    d = bars.daily_from_intraday(f)
    assert d.loc["2024-01-02"].tolist() == [2, 4, 1, 3.5, 3]  # pre/post-market bars dropped
    assert bars.session_end_flags(idx[1:3]).tolist() == [False, True]


def test_engine_on_intraday_bars_is_flat_at_every_close() -> None:
    day1 = pd.date_range("2024-01-02 09:30", periods=78, freq="5min")
    day2 = pd.date_range("2024-01-03 09:30", periods=78, freq="5min")
    idx = day1.append(day2)
    close = np.linspace(100, 110, len(idx))
    entries = np.zeros(len(idx), dtype=bool)
    entries[[0, 78]] = True  # a signal at each session's first bar
    out = simulate(
        close,
        close,
        close,
        close,
        entries,
        np.zeros(len(idx), bool),
        capital=1e4,
        force_exit=bars.session_end_flags(idx),
        record_trades=True,
    )
    rec = out.records
    assert [EXIT_REASONS[int(r)] for r in rec[:, 8]] == ["session_close", "session_close"]
    assert rec[:, 1].tolist() == [1, 79] and rec[:, 2].tolist() == [77, 155]
    assert not out.held_at_close[[77, 155], 0].any()
