"""`quantalloc data fetch`: fills the cache, says which source served, one-line errors.

Dhan's client is replaced by the fake of tests/data/vendors/test_dhan (Dhan is not reachable
from here); Yahoo serves from a cache written beforehand."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from quantalloc.cli.app import app
from quantalloc.data import CsvProvider, yahoo
from quantalloc.data.vendors import dhan
from tests.data.vendors.test_dhan import AUTH_FAILURE, RATE_FAILURE, FakeDhan

runner = CliRunner()


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty cache, no .env, no vendor credentials, Yahoo unreachable, no real sleeping."""
    monkeypatch.chdir(tmp_path)
    for name in ("QUANTALLOC_DATA", "DHAN_CLIENT_ID", "DHAN_ACCESS_TOKEN", "UPSTOX_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QUANTALLOC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(yahoo, "yahoo_reachable", lambda *a, **k: False)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    return tmp_path / "cache"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, shared_data: Path) -> FakeDhan:
    bars = CsvProvider(shared_data / "in" / "daily").history("RELIANCE")
    client = FakeDhan(bars=bars)

    def connect(credentials: dict[str, str]) -> Any:
        return client

    monkeypatch.setattr(dhan, "connect", connect)
    monkeypatch.setenv("DHAN_CLIENT_ID", "1100223344")
    monkeypatch.setenv("DHAN_ACCESS_TOKEN", "eyJ-not-a-real-token")
    return client


def one_line_error(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_fetch_fills_the_cache_and_a_second_run_needs_no_credentials(
    cache: Path, fake: FakeDhan, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["data", "fetch", "dhan", "RELIANCE", "--start", "2024-01-01", "--end", "2024-03-28"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = len(fake.bars.loc["2024-01-01":"2024-03-28"])
    assert f"RELIANCE: {rows} bars 2024-01-01 00:00:00 .. 2024-03-28" in result.stdout
    assert result.stdout.rstrip().endswith("from dhan")
    assert (cache / "dhan" / "bars" / "RELIANCE_1d.parquet").is_file()
    calls = len(fake.calls)
    monkeypatch.delenv("DHAN_ACCESS_TOKEN")
    again = runner.invoke(app, ["data", "show", "RELIANCE", "--data", "dhan",
                                "--start", "2024-02-01", "--end", "2024-02-29"])  # fmt: skip
    assert again.exit_code == 0, again.output
    rows = len(fake.bars.loc["2024-02-01":"2024-02-29"])
    assert f"RELIANCE from dhan: {rows} rows" in again.stdout
    assert len(fake.calls) == calls


def test_auto_says_which_source_served(cache: Path, fake: FakeDhan, shared_data: Path) -> None:
    nifty = CsvProvider(shared_data / "in" / "index").history("^NSEI", "2024-01-01", "2024-06-28")
    cache.mkdir(parents=True)
    yahoo._write_cache(cache / "_NSEI.parquet", nifty, symbol="^NSEI", yahoo_symbol="^NSEI",
                       market="in")  # fmt: skip
    fake.queued = [AUTH_FAILURE]
    result = runner.invoke(app, ["data", "fetch", "auto", "^NSEI,RELIANCE",
                                 "--start", "2024-02-01", "--end", "2024-02-29"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "auto skips upstox (credentials not set)" in result.stdout
    lines = result.stdout.splitlines()
    feb = len(nifty.loc["2024-02-01":"2024-02-29"])
    assert lines[1].startswith(f"^NSEI: {feb} bars 2024-02-01") and lines[1].endswith("from yahoo")
    assert lines[2].startswith("RELIANCE: ") and lines[2].endswith("from dhan")


def test_missing_credentials(cache: Path) -> None:
    line = one_line_error(["data", "fetch", "dhan", "RELIANCE", "--start", "2024-01-01"])
    assert "dhan needs DHAN_CLIENT_ID and DHAN_ACCESS_TOKEN" in line


def test_expired_credentials(cache: Path, fake: FakeDhan) -> None:
    fake.queued = [AUTH_FAILURE]
    line = one_line_error(["data", "fetch", "dhan", "RELIANCE", "--start", "2024-01-01"])
    assert "DH-901" in line and "eyJ-not-a-real-token" not in line


def test_rate_limit_after_every_retry(cache: Path, fake: FakeDhan) -> None:
    fake.queued = [RATE_FAILURE] * 5
    line = one_line_error(["data", "fetch", "dhan", "RELIANCE", "--start", "2024-01-01"])
    assert "dhan rate limit" in line and "5 data requests per second" in line


def test_unknown_symbol_and_closed_market(cache: Path, fake: FakeDhan) -> None:
    line = one_line_error(["data", "fetch", "dhan", "NOSUCHCO", "--start", "2024-01-01"])
    assert "lists no NSE equity NOSUCHCO" in line
    line = one_line_error(["data", "fetch", "dhan", "RELIANCE", "--start", "2024-01-06",
                           "--end", "2024-01-07"])  # fmt: skip
    assert "holds no session on 2024-01-06 .. 2024-01-07 (a weekend)" in line


def test_local_sources_have_nothing_to_fetch(cache: Path) -> None:
    assert "has no cache to fill" in one_line_error(["data", "fetch", "demo", "SPY"])
    line = one_line_error(["data", "fetch", "bloomberg,yahoo", "SPY"])
    assert "unknown source 'bloomberg' in the list" in line


def test_unknown_interval(cache: Path) -> None:
    line = one_line_error(["data", "fetch", "dhan:7m", "RELIANCE"])
    assert "dhan serves intraday bars of 1m, 5m, 15m, 25m, 60m only, not 7m" in line
