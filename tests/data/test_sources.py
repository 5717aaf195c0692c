"""get_provider: every source form, and how auto chooses."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from quantalloc.data import CsvProvider, get_provider, yahoo
from quantalloc.data.demo import DemoProvider
from quantalloc.data.yahoo import YahooProvider
from quantalloc.errors import ConfigError, DataError


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yahoo, "yahoo_reachable", lambda *a, **k: False)


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yahoo, "yahoo_reachable", lambda *a, **k: True)


def test_csv_source(tmp_path: Path) -> None:
    (tmp_path / "A.csv").write_text("Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,1,1.5,3\n")
    provider = get_provider(f"csv:{tmp_path}", "us", max_ffill=2)
    assert isinstance(provider, CsvProvider)
    assert provider.max_ffill == 2 and not provider.synthetic
    assert provider.symbols() == ["A"]


def test_named_sources(tmp_path: Path) -> None:
    demo = get_provider("demo", "us")
    assert isinstance(demo, DemoProvider) and demo.synthetic and demo.market.name == "us"
    yf = get_provider("YAHOO", "in", cache_dir=tmp_path)
    assert isinstance(yf, YahooProvider) and yf.cache_dir == tmp_path


def test_auto_offline_without_cache_is_demo(tmp_path: Path, offline: None) -> None:
    provider = get_provider(None, "in", cache_dir=tmp_path)
    assert isinstance(provider, DemoProvider) and provider.synthetic
    assert isinstance(get_provider("auto", "us", cache_dir=tmp_path), DemoProvider)


def test_auto_online_is_yahoo(tmp_path: Path, online: None) -> None:
    assert isinstance(get_provider("auto", "us", cache_dir=tmp_path), YahooProvider)


def test_auto_with_warm_cache_is_yahoo_even_offline(tmp_path: Path, offline: None) -> None:
    frame = pd.DataFrame(
        {"open": [1.0], "high": [2.0], "low": [1.0], "close": [1.5], "volume": [0.0]},
        index=pd.DatetimeIndex([pd.Timestamp("2024-01-02")], name="date"),
    )
    yahoo._write_cache(
        tmp_path / "SPY.parquet", frame, symbol="SPY", yahoo_symbol="SPY", market="us"
    )
    provider = get_provider("auto", "us", cache_dir=tmp_path)
    assert isinstance(provider, YahooProvider)
    assert provider.history("SPY")["close"].iloc[0] == 1.5


def test_auto_prefers_the_configured_source(tmp_path: Path, online: None) -> None:
    provider = get_provider("auto", "us", configured="demo", cache_dir=tmp_path)
    assert isinstance(provider, DemoProvider)
    # An explicit source beats the configured one.
    assert isinstance(get_provider("yahoo", "us", configured="demo"), YahooProvider)
    # A configured "auto" falls through to the probe.
    assert isinstance(
        get_provider("auto", "us", configured="auto", cache_dir=tmp_path), YahooProvider
    )


def test_auto_with_a_bad_configured_source_names_it() -> None:
    with pytest.raises(ConfigError, match="unknown data source 'bloomberg'"):
        get_provider("auto", "us", configured="bloomberg")


@pytest.mark.parametrize("source", ["bogus", "csv", "file:/tmp", "demo:us"])
def test_unknown_source_lists_valid_forms(source: str) -> None:
    with pytest.raises(ConfigError, match=r"use one of auto, yahoo, demo, csv:DIR"):
        get_provider(source, "us")


def test_csv_without_folder_and_missing_folder() -> None:
    with pytest.raises(ConfigError, match="needs a folder"):
        get_provider("csv:", "us")
    with pytest.raises(DataError, match="does not exist"):
        get_provider("csv:/nonexistent/dir", "us")


def test_bad_market_and_negative_ffill() -> None:
    with pytest.raises(ConfigError, match="unknown market 'uk'"):
        get_provider("demo", "uk")
    with pytest.raises(ConfigError, match="max_ffill"):
        get_provider("demo", "us", max_ffill=-1)


def test_real_shared_folders(shared_data: Path) -> None:
    provider = get_provider(f"csv:{shared_data / 'in'}", "in")
    assert "^NSEI" in provider.symbols() and "^INDIAVIX" in provider.symbols()
