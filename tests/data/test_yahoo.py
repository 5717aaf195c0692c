"""YahooProvider and its on-disk cache.

Yahoo's servers are unreachable from this machine (no internet), so every test replaces
``yfinance.Ticker`` - the one boundary where the provider touches the network - with a fake
that returns a frame shaped as yfinance returns it, or raises as yfinance does offline.
"""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
import yfinance

from quantalloc.data import yahoo
from quantalloc.data.yahoo import YahooProvider, yahoo_reachable
from quantalloc.errors import DataError


def yf_frame(n: int = 10, tz: str = "America/New_York") -> pd.DataFrame:
    """A frame in yfinance's history() layout (auto_adjust=False, actions=False)."""
    close = 100.0 + np.arange(n, dtype=float)
    index = pd.DatetimeIndex(pd.bdate_range("2024-01-02", periods=n), name="Date").tz_localize(tz)
    return pd.DataFrame(
        {
            "Open": close - 0.5,
            "High": close + 1,
            "Low": close - 1,
            "Close": close,
            "Adj Close": close * 0.98,
            "Volume": np.full(n, 1_000_000),
        },
        index=index,
    )


class FakeTicker:
    """Stands in for yfinance.Ticker; records every symbol requested."""

    calls: ClassVar[list[str]] = []
    result: ClassVar[pd.DataFrame | Exception] = yf_frame()

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol

    def history(self, **kwargs: Any) -> pd.DataFrame:
        FakeTicker.calls.append(self.symbol)
        assert kwargs["auto_adjust"] is False and kwargs["period"] == "max"
        if isinstance(FakeTicker.result, Exception):
            raise FakeTicker.result
        return FakeTicker.result.copy()


class DNSError(OSError):
    """What curl_cffi raises (an OSError subclass) when a host name does not resolve."""


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> type[FakeTicker]:
    FakeTicker.calls = []
    FakeTicker.result = yf_frame()
    monkeypatch.setattr(yfinance, "Ticker", FakeTicker)
    return FakeTicker


def offline(fake: type[FakeTicker]) -> None:
    fake.result = DNSError("Failed to perform, curl: (6) Could not resolve host")


def test_first_call_fetches_second_run_uses_cache(tmp_path: Path, fake: type[FakeTicker]) -> None:
    first = YahooProvider("us", cache_dir=tmp_path).history("SPY")
    assert fake.calls == ["SPY"]
    assert first.index[0] == pd.Timestamp("2024-01-02")  # tz dropped, wall date kept
    assert first.index.tz is None
    assert list(first.columns) == ["open", "high", "low", "close", "volume", "adj_close"]
    assert (tmp_path / "SPY.parquet").is_file()
    assert not list(tmp_path.glob(".*tmp"))  # the atomic write left no temp file
    offline(fake)  # a second run, now without network
    second = YahooProvider("us", cache_dir=tmp_path).history("SPY", "2024-01-05")
    assert fake.calls == ["SPY"]  # the network was not touched again
    pd.testing.assert_frame_equal(second, first.loc["2024-01-05":])


def test_stale_cache_is_refreshed_when_online(tmp_path: Path, fake: type[FakeTicker]) -> None:
    YahooProvider("us", cache_dir=tmp_path).history("SPY")
    fake.result = yf_frame(12)
    refreshed = YahooProvider("us", cache_dir=tmp_path, max_age_hours=0).history("SPY")
    assert fake.calls == ["SPY", "SPY"]
    assert len(refreshed) == 12


def test_stale_cache_serves_when_offline(
    tmp_path: Path, fake: type[FakeTicker], caplog: pytest.LogCaptureFixture
) -> None:
    YahooProvider("us", cache_dir=tmp_path).history("SPY")
    offline(fake)
    with caplog.at_level(logging.WARNING):
        frame = YahooProvider("us", cache_dir=tmp_path, max_age_hours=0).history("SPY")
    assert len(frame) == 10
    assert "Yahoo unreachable, serving the cached prices" in caplog.text


def test_stale_cache_serves_a_covered_past_range_without_network(
    tmp_path: Path, fake: type[FakeTicker]
) -> None:
    YahooProvider("us", cache_dir=tmp_path).history("SPY")
    frame = YahooProvider("us", cache_dir=tmp_path, max_age_hours=0).history(
        "SPY", "2024-01-03", "2024-01-10"
    )
    assert fake.calls == ["SPY"]
    assert frame.index[-1] == pd.Timestamp("2024-01-10")


def test_offline_without_cache_says_so_in_one_line(tmp_path: Path, fake: type[FakeTicker]) -> None:
    offline(fake)
    with pytest.raises(DataError) as info:
        YahooProvider("us", cache_dir=tmp_path).history("SPY")
    message = str(info.value)
    assert "\n" not in message
    assert "Yahoo Finance is unreachable" in message
    assert "`data=demo`" in message and "`data=csv:DIR`" in message


def test_connection_error_by_name_counts_as_offline(tmp_path: Path, fake: type[FakeTicker]) -> None:
    class ConnectionTimeoutError(Exception):  # not an OSError, recognised by its name
        pass

    fake.result = ConnectionTimeoutError("timed out")
    with pytest.raises(DataError, match="unreachable"):
        YahooProvider("us", cache_dir=tmp_path).history("SPY")


def test_empty_answer_unknown_symbol_vs_offline(
    tmp_path: Path, fake: type[FakeTicker], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.result = yf_frame().iloc[:0]
    monkeypatch.setattr(yahoo, "yahoo_reachable", lambda *a, **k: True)
    with pytest.raises(DataError, match=r"no daily prices for NOPE.NS; check the symbol"):
        YahooProvider("in", cache_dir=tmp_path).history("NOPE")
    monkeypatch.setattr(yahoo, "yahoo_reachable", lambda *a, **k: False)
    with pytest.raises(DataError, match="unreachable"):
        YahooProvider("in", cache_dir=tmp_path).history("NOPE")


def test_other_yfinance_errors_become_data_errors(tmp_path: Path, fake: type[FakeTicker]) -> None:
    fake.result = yfinance.exceptions.YFRateLimitError()
    with pytest.raises(DataError, match="rate-limiting"):
        YahooProvider("us", cache_dir=tmp_path).history("SPY")
    fake.result = ValueError("strange answer")
    with pytest.raises(DataError, match="returned an error: strange answer"):
        YahooProvider("us", cache_dir=tmp_path).history("SPY")


def test_india_symbols_get_the_nse_suffix(tmp_path: Path, fake: type[FakeTicker]) -> None:
    fake.result = yf_frame(tz="Asia/Kolkata")
    provider = YahooProvider("in", cache_dir=tmp_path)
    provider.history("reliance")
    provider.history("^NSEI")
    provider.history("TCS.BO")
    assert fake.calls == ["RELIANCE.NS", "^NSEI", "TCS.BO"]
    assert (tmp_path / "_NSEI.parquet").is_file()
    assert provider.symbols() == ["RELIANCE", "TCS.BO", "^NSEI"]
    assert YahooProvider("us", cache_dir=tmp_path).symbols() == []  # other market's entries


def test_bad_yahoo_rows_are_validated(tmp_path: Path, fake: type[FakeTicker]) -> None:
    frame = yf_frame()
    frame.iloc[3, frame.columns.get_loc("High")] = 50.0  # high below low
    fake.result = frame
    with pytest.raises(DataError, match=r"high below low in yahoo \(SPY\) on 2024-01-05"):
        YahooProvider("us", cache_dir=tmp_path).history("SPY")
    assert not (tmp_path / "SPY.parquet").exists()  # bad data is not cached


def test_zero_opens_take_the_close(tmp_path: Path, fake: type[FakeTicker]) -> None:
    frame = yf_frame()
    frame.iloc[0, frame.columns.get_loc("Open")] = 0.0
    fake.result = frame
    out = YahooProvider("us", cache_dir=tmp_path).history("^VIX")
    assert out["open"].iloc[0] == out["close"].iloc[0]


def test_unreadable_cache_entry_is_refetched(tmp_path: Path, fake: type[FakeTicker]) -> None:
    (tmp_path / "SPY.parquet").write_bytes(b"not parquet")
    frame = YahooProvider("us", cache_dir=tmp_path).history("SPY")
    assert fake.calls == ["SPY"] and len(frame) == 10


def test_unwritable_cache_still_serves(tmp_path: Path, fake: type[FakeTicker]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    frame = YahooProvider("us", cache_dir=blocker / "sub").history("SPY")
    assert len(frame) == 10


def test_has_cache(tmp_path: Path, fake: type[FakeTicker]) -> None:
    provider = YahooProvider("us", cache_dir=tmp_path / "c")
    assert not provider.has_cache()
    provider.history("SPY")
    assert provider.has_cache()


def test_default_cache_dir_is_the_user_cache() -> None:
    import platformdirs

    expected = Path(platformdirs.user_cache_dir("quantalloc")) / "prices"
    assert YahooProvider("us").cache_dir == expected


def test_reachability_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    class Conn:
        def __enter__(self) -> Conn:
            return self

        def __exit__(self, *args: object) -> None:
            return None

    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: Conn())
    assert yahoo_reachable(0.5)

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("no route")

    monkeypatch.setattr(socket, "create_connection", refuse)
    assert not yahoo_reachable(0.5)

    def hang(*args: object, **kwargs: object) -> None:
        time.sleep(3)

    monkeypatch.setattr(socket, "create_connection", hang)
    began = time.monotonic()
    assert not yahoo_reachable(0.3)
    assert time.monotonic() - began < 1.0  # a hanging resolver cannot hold the caller
