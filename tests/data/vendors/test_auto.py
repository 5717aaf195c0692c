"""``auto``: the stated order per market, the fallback, and the source that served.

Dhan's client is replaced by the fake of test_dhan (Dhan is not reachable from here) and
Yahoo is served from its cache, written beforehand, so no test touches the network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from quantalloc.data import CsvProvider, get_chain_source, get_provider, yahoo
from quantalloc.data.demo import DemoProvider
from quantalloc.data.vendors import AUTO_ORDER, dhan
from quantalloc.data.vendors.auto import AutoChains, AutoPrices
from quantalloc.data.yahoo import YahooProvider
from quantalloc.errors import ConfigError, DataError
from tests.data.vendors.test_dhan import AUTH_FAILURE, FakeDhan

DHAN_ENV = {"DHAN_CLIENT_ID": "1100223344", "DHAN_ACCESS_TOKEN": "eyJ-not-a-real-token"}


@pytest.fixture
def nifty(shared_data: Path) -> pd.DataFrame:
    return CsvProvider(shared_data / "in" / "index").history("^NSEI", "2024-01-01", "2024-06-28")


@pytest.fixture
def yahoo_cache(tmp_path: Path, nifty: pd.DataFrame) -> Path:
    """Yahoo's cache holding ^NSEI, so Yahoo serves without the network."""
    yahoo._write_cache(
        tmp_path / "_NSEI.parquet", nifty, symbol="^NSEI", yahoo_symbol="^NSEI", market="in"
    )
    return tmp_path


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yahoo, "yahoo_reachable", lambda *a, **k: False)


def _fake_dhan(monkeypatch: pytest.MonkeyPatch, fake: FakeDhan) -> list[dict[str, str]]:
    seen: list[dict[str, str]] = []

    def connect(credentials: dict[str, str]) -> Any:
        seen.append(credentials)
        return fake

    monkeypatch.setattr(dhan, "connect", connect)
    return seen


def test_the_stated_order_per_market() -> None:
    assert AUTO_ORDER["in"] == ("dhan", "upstox", "yahoo")  # the seeds: Dhan first, yfinance last
    assert AUTO_ORDER["us"] == ("polygon", "ibkr", "yahoo")


def test_auto_keeps_the_configured_vendors_in_order(tmp_path: Path) -> None:
    both = {**DHAN_ENV, "UPSTOX_ACCESS_TOKEN": "t0ken"}
    provider = get_provider("auto", "in", cache_dir=tmp_path, env=both)
    assert isinstance(provider, AutoPrices) and provider.order == ["dhan", "upstox", "yahoo"]
    only_dhan = get_provider("auto", "in", cache_dir=tmp_path, env=DHAN_ENV)
    assert isinstance(only_dhan, AutoPrices) and only_dhan.order == ["dhan", "yahoo"]
    assert only_dhan.skipped == {"upstox": "credentials not set"}
    us = get_provider(
        "auto", "us", cache_dir=tmp_path, env={"POLYGON_API_KEY": "k", "IB_PORT": "7497"}
    )
    assert isinstance(us, AutoPrices) and us.order == ["polygon", "ibkr", "yahoo"]


def test_auto_without_vendor_credentials_is_unchanged(tmp_path: Path, offline: None) -> None:
    assert isinstance(get_provider("auto", "in", cache_dir=tmp_path, env={}), DemoProvider)


def test_auto_falls_back_from_dhan_to_yahoo_and_says_so(
    monkeypatch: pytest.MonkeyPatch, yahoo_cache: Path, nifty: pd.DataFrame, offline: None
) -> None:
    fake = FakeDhan(bars=nifty)
    fake.queued = [AUTH_FAILURE]  # Dhan answers: the token has expired
    _fake_dhan(monkeypatch, fake)
    provider = get_provider("auto", "in", cache_dir=yahoo_cache, env=DHAN_ENV)
    got = provider.history("^NSEI", "2024-02-01", "2024-02-29")
    pd.testing.assert_frame_equal(got, nifty.loc["2024-02-01":"2024-02-29"])
    assert isinstance(provider, AutoPrices)
    assert provider.source_of("^NSEI") == "yahoo"
    assert provider.failures["^NSEI"][0].startswith("dhan: dhan rejected the credentials")


def test_auto_takes_dhan_first_when_it_serves(
    monkeypatch: pytest.MonkeyPatch, yahoo_cache: Path, nifty: pd.DataFrame
) -> None:
    _fake_dhan(monkeypatch, FakeDhan(bars=nifty))
    provider = get_provider("auto", "in", cache_dir=yahoo_cache, env=DHAN_ENV)
    provider.history("^NSEI", "2024-03-01", "2024-03-28")
    assert isinstance(provider, AutoPrices) and provider.source_of("^NSEI") == "dhan"
    assert provider.failures["^NSEI"] == []


def test_an_explicit_list_states_its_own_order(
    monkeypatch: pytest.MonkeyPatch, yahoo_cache: Path, nifty: pd.DataFrame
) -> None:
    _fake_dhan(monkeypatch, FakeDhan(bars=nifty))
    provider = get_provider("yahoo,dhan", "in", cache_dir=yahoo_cache, env=DHAN_ENV)
    provider.history("^NSEI", "2024-03-01", "2024-03-28")
    assert isinstance(provider, AutoPrices) and provider.source_of("^NSEI") == "yahoo"
    with pytest.raises(ConfigError, match="unknown source 'bloomberg' in the list"):
        get_provider("dhan,bloomberg", "in")


def test_every_source_failing_names_each_reason(
    tmp_path: Path, offline: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = get_provider("dhan,yahoo", "in", cache_dir=tmp_path, env={})
    with pytest.raises(DataError) as err:
        provider.history("^NSEI", "2024-02-01", "2024-02-29")
    text = str(err.value)
    assert "tried dhan then yahoo" in text and "DHAN_ACCESS_TOKEN" in text
    assert "Yahoo Finance is unreachable" in text


def test_a_bad_date_stops_auto_at_once(yahoo_cache: Path) -> None:
    provider = get_provider("dhan,yahoo", "in", cache_dir=yahoo_cache, env={})
    with pytest.raises(ConfigError, match="is after end date"):
        provider.history("^NSEI", "2024-03-01", "2024-02-01")


def test_auto_chains_fall_back_to_yahoo_snapshots(tmp_path: Path, shared_data: Path) -> None:
    # A Yahoo chain snapshot already on disk (the yfinance layout Yahoo's source writes).
    src = shared_data / "us" / "options" / "SPY_2026-05-01.csv"
    (tmp_path / "SPY_2026-05-01.csv").write_bytes(src.read_bytes())
    source = get_chain_source("polygon,yahoo", market="us", cache_dir=tmp_path)
    assert isinstance(source, AutoChains)
    snap = source.chain("SPY", "2026-05-01")
    assert source.source_of("SPY") == "yahoo" and len(snap.frame) > 7000
    # Polygon serves today's chain only, and holds no snapshot of that past session.
    assert "polygon serves only the current option chain" in source.failures["SPY"][0]
    assert isinstance(get_chain_source("auto", market="us", cache_dir=tmp_path), AutoChains)


def test_yahoo_alone_is_still_plain_yahoo(tmp_path: Path) -> None:
    assert isinstance(get_provider("yahoo", "in", cache_dir=tmp_path), YahooProvider)
