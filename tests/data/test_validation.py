"""Every rule of validate_ohlcv, on small frames the tests build."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantalloc.data.validation import validate_ohlcv
from quantalloc.errors import DataError


def bars(n: int = 6, start: str = "2024-01-01") -> pd.DataFrame:
    """A clean daily frame: close rises by 1 a day, high/low one unit around it."""
    close = 100.0 + np.arange(n)
    return pd.DataFrame(
        {
            "open": close - 0.5,
            "high": close + 1.0,
            "low": close - 1.0,
            "close": close,
            "volume": np.full(n, 1000.0),
        },
        index=pd.bdate_range(start, periods=n),
    )


def test_clean_frame_passes_unchanged_and_canonical() -> None:
    raw = bars()
    raw["volume"] = raw["volume"].astype(int)
    out = validate_ohlcv(raw, "X", "test")
    assert list(out.columns) == ["open", "high", "low", "close", "volume"]
    assert all(out.dtypes == "float64")
    assert out.index.name == "date"
    np.testing.assert_array_equal(out.to_numpy(), raw.to_numpy(dtype=float))


def test_adj_close_is_kept() -> None:
    raw = bars().assign(adj_close=lambda f: f["close"] * 0.9)
    assert "adj_close" in validate_ohlcv(raw, "X", "test").columns


def test_tz_aware_index_keeps_local_wall_time() -> None:
    raw = bars()
    raw.index = raw.index.tz_localize("Asia/Kolkata")
    out = validate_ohlcv(raw, "X", "test")
    assert out.index.tz is None
    assert out.index[0] == pd.Timestamp("2024-01-01")


def test_missing_columns_are_named() -> None:
    with pytest.raises(DataError, match=r"X: columns \['high', 'volume'\] missing in test"):
        validate_ohlcv(bars().drop(columns=["high", "volume"]), "X", "test")


def test_empty_frame() -> None:
    with pytest.raises(DataError, match="X: no rows in test"):
        validate_ohlcv(bars().iloc[:0], "X", "test")


def test_index_must_be_dates() -> None:
    with pytest.raises(DataError, match="not made of dates"):
        validate_ohlcv(bars().reset_index(drop=True), "X", "test")


def test_unreadable_dates_name_the_rows() -> None:
    raw = bars()
    raw.index = pd.DatetimeIndex([*raw.index[:2], pd.NaT, *raw.index[3:]])
    with pytest.raises(DataError, match=r"1 rows without a readable date .*data rows 3\)"):
        validate_ohlcv(raw, "X", "test")


def test_duplicate_dates() -> None:
    raw = pd.concat([bars(3), bars(3).iloc[[1]]]).sort_index()
    with pytest.raises(DataError, match=r"duplicate dates in test: 2024-01-02; remove"):
        validate_ohlcv(raw, "X", "test")


def test_unsorted_dates() -> None:
    raw = bars(5).iloc[[0, 1, 3, 2, 4]]
    with pytest.raises(DataError, match=r"dates out of order in test at 2024-01-03; sort"):
        validate_ohlcv(raw, "X", "test")


def test_blank_field_is_rejected_without_repair() -> None:
    raw = bars()
    raw.iloc[2, raw.columns.get_loc("close")] = np.nan
    with pytest.raises(DataError, match=r"blank fields in test on 2024-01-03; .*`max_ffill=N`"):
        validate_ohlcv(raw, "X", "test")


def test_non_numeric_text_is_rejected_even_with_repair() -> None:
    raw = bars().astype(object)
    raw.iloc[1, raw.columns.get_loc("high")] = "n/a?"
    with pytest.raises(DataError, match=r"non-numeric fields in test on 2024-01-02"):
        validate_ohlcv(raw, "X", "test", max_ffill=3)


def test_blank_strings_count_as_blank() -> None:
    raw = bars().astype(object)
    raw.iloc[1, raw.columns.get_loc("high")] = "  "
    with pytest.raises(DataError, match="blank fields"):
        validate_ohlcv(raw, "X", "test")


def test_forward_fill_repairs_up_to_n_rows_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    raw = bars(8)
    raw.iloc[3:5] = np.nan  # two whole rows missing
    with caplog.at_level(logging.WARNING):
        out = validate_ohlcv(raw, "X", "test", max_ffill=2)
    assert "forward-filled blank fields of 2 rows" in caplog.text
    # Prices repeat the last complete row (index 2), volume becomes 0.
    for col in ("open", "high", "low", "close"):
        assert out[col].iloc[3] == out[col].iloc[4] == raw[col].iloc[2]
    assert out["volume"].iloc[3] == out["volume"].iloc[4] == 0.0
    assert not out.isna().any().any()


def test_forward_fill_refuses_longer_runs() -> None:
    raw = bars(8)
    raw.iloc[3:6, raw.columns.get_loc("close")] = np.nan
    with pytest.raises(DataError, match="more than 2 rows in a row"):
        validate_ohlcv(raw, "X", "test", max_ffill=2)


def test_forward_fill_cannot_repair_the_first_row() -> None:
    raw = bars()
    raw.iloc[0, raw.columns.get_loc("open")] = np.nan
    with pytest.raises(DataError, match="the first rows"):
        validate_ohlcv(raw, "X", "test", max_ffill=5)


@pytest.mark.parametrize("value", [0.0, -1.0, np.inf])
def test_non_positive_or_infinite_prices(value: float) -> None:
    raw = bars()
    raw.iloc[4, raw.columns.get_loc("low")] = value
    with pytest.raises(DataError, match=r"non-positive or infinite prices in test on 2024-01-05"):
        validate_ohlcv(raw, "X", "test")


def test_high_below_low() -> None:
    raw = bars()
    raw.iloc[2, raw.columns.get_loc("high")] = raw["low"].iloc[2] - 0.5
    with pytest.raises(DataError, match=r"high below low in test on 2024-01-03"):
        validate_ohlcv(raw, "X", "test")


def test_close_outside_range() -> None:
    raw = bars()
    raw.iloc[1, raw.columns.get_loc("close")] = raw["high"].iloc[1] + 5
    with pytest.raises(DataError, match=r"close outside the high-low range in test on 2024-01-02"):
        validate_ohlcv(raw, "X", "test")


def test_open_outside_range_is_clipped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    raw = bars()
    raw.iloc[1, raw.columns.get_loc("open")] = raw["high"].iloc[1] + 5
    raw.iloc[2, raw.columns.get_loc("open")] = raw["low"].iloc[2] - 5
    with caplog.at_level(logging.WARNING):
        out = validate_ohlcv(raw, "X", "test")
    assert "open outside the high-low range in test on 2024-01-02, 2024-01-03" in caplog.text
    assert out["open"].iloc[1] == raw["high"].iloc[1]
    assert out["open"].iloc[2] == raw["low"].iloc[2]


def test_tiny_rounding_outside_range_is_tolerated() -> None:
    raw = bars()
    raw.iloc[1, raw.columns.get_loc("close")] = raw["high"].iloc[1] * (1 + 1e-9)
    validate_ohlcv(raw, "X", "test")  # within the 1e-6 relative tolerance


def test_negative_volume() -> None:
    raw = bars()
    raw.iloc[3, raw.columns.get_loc("volume")] = -5
    with pytest.raises(DataError, match=r"negative volume in test on 2024-01-04"):
        validate_ohlcv(raw, "X", "test")


def test_many_bad_rows_are_summarised() -> None:
    raw = bars(10)
    raw["close"] = -1.0
    with pytest.raises(DataError, match=r"\(\+5 more\)"):
        validate_ohlcv(raw, "X", "test")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0.01, 1e5),  # low
            st.floats(0.0, 1.0),  # where open sits in [low, high]
            st.floats(0.0, 1.0),  # where close sits
            st.floats(0.0, 0.5),  # range as a fraction of low
            st.floats(0.0, 1e9),  # volume
        ),
        min_size=1,
        max_size=30,
    )
)
def test_any_consistent_bar_set_passes_unchanged(rows: list[tuple[float, ...]]) -> None:
    """Property: bars with low <= open, close <= high and positive prices always validate."""
    low = np.array([r[0] for r in rows])
    high = low * (1 + np.array([r[3] for r in rows]))
    frame = pd.DataFrame(
        {
            "open": low + (high - low) * np.array([r[1] for r in rows]),
            "high": high,
            "low": low,
            "close": low + (high - low) * np.array([r[2] for r in rows]),
            "volume": [r[4] for r in rows],
        },
        index=pd.bdate_range("2020-01-01", periods=len(rows)),
    )
    out = validate_ohlcv(frame, "P", "prop")
    np.testing.assert_array_equal(out.to_numpy(), frame.to_numpy())
