"""Computed results kept on disk (:mod:`quantalloc.data.memo`) and its two users in the data
layer: parsed price files and exchange sessions. A hit is the fresh result exactly, a changed
input is a miss, a broken entry is a miss, and the cache can be turned off."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantalloc.data import csv_provider, expiries, memo
from quantalloc.data.csv_provider import CsvProvider, read_price_csv


@pytest.fixture
def cache(tmp_path: Path):  # type: ignore[no-untyped-def]
    with memo.configured(tmp_path / "memo"):
        yield tmp_path / "memo"


def test_keys_frame_their_parts_and_entries_round_trip(cache: Path) -> None:
    assert memo.key("ab", "c") != memo.key("a", "bc")  # each part framed by its length
    assert memo.key(np.array([1.0, 2.0])) != memo.key(np.array([1, 2]))  # the dtype counts
    assert memo.key("x", b"\x00") == memo.key("x", b"\x00")
    value = {"a": 0.1 + 0.2, "b": 1e-300, "c": -2.5e17, "s": "text"}
    memo.store_json("t", "k1", value)
    assert memo.load_json("t", "k1") == value  # floats exactly (JSON writes repr)
    arrays = {"d": np.array(["2020-01-02", "2020-01-03"], dtype="M8[ns]"), "v": np.arange(3.0)}
    memo.store_arrays("t", "k2", arrays)
    back = memo.load_arrays("t", "k2")
    assert back is not None and back["d"].dtype == arrays["d"].dtype
    assert all(np.array_equal(back[k], arrays[k]) for k in arrays)
    (cache / "t" / "k2"[:2] / "k2.npz").write_bytes(b"not a zip file")
    assert memo.load_arrays("t", "k2") is None  # broken: a miss
    assert memo.load_json("t", "absent") is None
    with memo.configured(cache, enabled=False):
        assert memo.load_json("t", "k1") is None
        memo.store_json("t", "k3", value)
    assert memo.load_json("t", "k3") is None


FILES = (
    "us/daily/AAPL.csv",  # Yahoo layout
    "us/etf/SPY.csv",  # Yahoo with Adj Close, float volume
    "us/vix_daily_cboe.csv",  # CBOE, no volume
    "in/index/_INDIAVIX.csv",  # close-only
    "in/index/NIFTY50_ohlcv_2012_2022.csv",  # unnamed first column
)


@pytest.mark.parametrize("name", FILES)
def test_a_parsed_price_file_read_back_is_the_fresh_parse(
    shared_data: Path, cache: Path, name: str
) -> None:
    path = shared_data / name
    fresh = read_price_csv(path, "X")
    first = csv_provider._parsed(path, "X")  # a miss: parsed and kept
    assert len(list((cache / "prices").rglob("*.npz"))) == 1
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(csv_provider, "read_price_csv", lambda *a, **k: pytest.fail("parsed a hit"))
        hit = csv_provider._parsed(path, "X")
    for got in (first, hit):
        pd.testing.assert_frame_equal(got, fresh, check_exact=True, check_freq=True)
        assert list(got.dtypes) == list(fresh.dtypes) and got.index.dtype == fresh.index.dtype


def test_an_edited_price_file_is_parsed_again(
    shared_data: Path, cache: Path, tmp_path: Path
) -> None:
    path = tmp_path / "AAPL.csv"
    shutil.copy(shared_data / "us/daily/AAPL.csv", path)
    before = csv_provider._parsed(path, "AAPL")
    lines = path.read_text().splitlines()
    head, last = lines[0].split(","), lines[-1].split(",")
    last[head.index("Close") if "Close" in head else 4] = "123.45"
    path.write_text("\n".join([*lines[:-1], ",".join(last)]) + "\n")
    after = csv_provider._parsed(path, "AAPL")
    assert after["close"].iloc[-1] == 123.45 != before["close"].iloc[-1]
    pd.testing.assert_frame_equal(after, read_price_csv(path, "AAPL"), check_exact=True)
    assert len(list((cache / "prices").rglob("*.npz"))) == 2


def test_validation_warnings_survive_a_hit(
    shared_data: Path, cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(2):  # a miss, then a hit in a fresh provider (its own caches cleared)
        csv_provider._read_cached.cache_clear()
        caplog.clear()
        with caplog.at_level("WARNING"):
            CsvProvider(shared_data / "us").history("COST")
        assert "COST: open outside the high-low range" in caplog.text


def test_sessions_read_back_are_the_calendars(cache: Path) -> None:
    expiries._sessions.cache_clear()
    fresh = expiries._sessions("us")  # built by exchange_calendars and kept
    cal = expiries._calendar("us")
    assert np.array_equal(fresh, cal.sessions.to_numpy().astype("M8[D]"))
    expiries._sessions.cache_clear()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(expiries, "_calendar", lambda m: pytest.fail("built a calendar on a hit"))
        kept = expiries._sessions("us")
    assert np.array_equal(kept, fresh)
    # is_session agrees with the calendar on every day of a year with holidays and half days
    day = date(2019, 1, 1)
    while day < date(2020, 1, 1):
        assert expiries.is_session(day, "us") == bool(cal.is_session(pd.Timestamp(day))), day
        day += timedelta(days=1)
    expiries._sessions.cache_clear()
