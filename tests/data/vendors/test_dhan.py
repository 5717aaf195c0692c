"""Dhan at its boundary: the ``dhanhq`` client replaced by a fake (Dhan is not reachable from
here) answering in the DhanHQ v2 documented shapes, wrapped as the client wraps them
(``{"status", "remarks", "data"}``), built from the real files in ../shared/data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from quantalloc.data import CsvProvider
from quantalloc.data.chains import load_chain
from quantalloc.data.vendors import (
    CredentialsError,
    MarketClosedError,
    RateLimitError,
    UnknownSymbolError,
    VendorUnavailableError,
)
from quantalloc.data.vendors.dhan import DhanBars, DhanChains
from tests.data.vendors.fakes import (
    Sleeps,
    clock_at,
    dhan_chain_body,
    local_epochs,
    upstox_chain_doc,
)

IST = "Asia/Kolkata"
SCRIP_MASTER = """\
SEM_EXM_EXCH_ID,SEM_SEGMENT,SEM_SMST_SECURITY_ID,SEM_INSTRUMENT_NAME,SEM_EXPIRY_CODE,\
SEM_TRADING_SYMBOL,SEM_LOT_UNITS,SEM_CUSTOM_SYMBOL,SEM_EXPIRY_DATE,SEM_STRIKE_PRICE,\
SEM_OPTION_TYPE,SEM_TICK_SIZE,SEM_EXPIRY_FLAG,SEM_EXCH_INSTRUMENT_TYPE,SEM_SERIES,SM_SYMBOL_NAME
NSE,I,13,INDEX,,NIFTY,1,Nifty 50,,,,,,INDEX,,NIFTY
NSE,I,21,INDEX,,INDIA VIX,1,India VIX,,,,,,INDEX,,INDIA VIX
NSE,E,2885,EQUITY,,RELIANCE,1,Reliance Industries,,,,10,,ES,EQ,RELIANCE
NSE,D,43962,OPTIDX,,NIFTY-Jun2024-20150-CE,25,NIFTY 20 JUN 20150 CALL,2024-06-20 14:30:00,\
20150,CE,5,W,OP,,NIFTY
NSE,D,44010,OPTIDX,,NIFTY-Jun2024-23000-PE,25,NIFTY 27 JUN 23000 PUT,2024-06-27 14:30:00,\
23000,PE,5,M,OP,,NIFTY
"""
"""Rows of Dhan's compact scrip master (its documented columns)."""
AUTH_FAILURE = {
    "status": "failure",
    "remarks": {
        "error_code": "DH-901",
        "error_type": "Invalid_Authentication",
        "error_message": "Client ID or user generated access token is invalid or expired.",
    },
    "data": "",
}
RATE_FAILURE = {
    "status": "failure",
    "remarks": {
        "error_code": "DH-904",
        "error_type": "Rate_Limit",
        "error_message": "Too many requests on server from single user breaching rate limits.",
    },
    "data": "",
}


class FakeDhan:
    """Stands in for ``dhanhq.dhanhq`` (the vendor is unreachable from here)."""

    def __init__(self, bars: pd.DataFrame | None = None, chains: dict[str, Any] | None = None):
        self.bars = bars
        self.chains = chains or {}
        self.queued: list[dict[str, Any]] = []
        self.calls: list[tuple[Any, ...]] = []

    def fetch_security_list(self, mode: str, filename: str) -> pd.DataFrame:
        Path(filename).write_text(SCRIP_MASTER)
        return pd.read_csv(filename)

    def _answer(self, start: str, stop: str) -> dict[str, Any]:
        if self.queued:
            return self.queued.pop(0)
        assert self.bars is not None
        lo, hi = pd.Timestamp(start), pd.Timestamp(stop)  # Dhan's toDate is excluded
        rows = self.bars.loc[(self.bars.index >= lo) & (self.bars.index < hi)]
        if rows.empty:
            return {
                "status": "failure",
                "remarks": {"error_code": "DH-907", "error_type": "Data_Error",
                            "error_message": "No data present"},
                "data": "",
            }  # fmt: skip
        body = {c: rows[c].tolist() for c in ("open", "high", "low", "close", "volume")}
        body["timestamp"] = local_epochs(pd.DatetimeIndex(rows.index), IST)
        return {"status": "success", "remarks": "", "data": body}

    def historical_daily_data(self, security_id: str, segment: str, instrument: str,
                              from_date: str, to_date: str, expiry_code: int = 0,
                              oi: bool = False) -> dict[str, Any]:  # fmt: skip
        self.calls.append(("daily", security_id, segment, instrument, from_date, to_date))
        return self._answer(from_date, to_date)

    def intraday_minute_data(self, security_id: str, segment: str, instrument: str,
                             from_date: str, to_date: str, interval: int = 1,
                             oi: bool = False) -> dict[str, Any]:  # fmt: skip
        self.calls.append(("intraday", security_id, interval, from_date, to_date))
        return self._answer(from_date, to_date)

    def expiry_list(self, under_security_id: int, under_exchange_segment: str) -> dict[str, Any]:
        self.calls.append(("expiry_list", under_security_id, under_exchange_segment))
        if self.queued:
            return self.queued.pop(0)
        body = {"data": sorted(self.chains), "status": "success"}
        return {"status": "success", "remarks": "", "data": body}

    def option_chain(self, under_security_id: int, segment: str, expiry: str) -> dict[str, Any]:
        self.calls.append(("option_chain", under_security_id, segment, expiry))
        return {"status": "success", "remarks": "", "data": self.chains[expiry]}


@pytest.fixture
def reliance(shared_data: Path) -> pd.DataFrame:
    return CsvProvider(shared_data / "in" / "daily").history("RELIANCE")


def _bars(tmp_path: Path, client: Any, **kw: Any) -> DhanBars:
    kw.setdefault("clock", clock_at("2025-10-01 12:00"))
    return DhanBars("in", cache_root=tmp_path, client=client, sleep=Sleeps(), **kw)


def test_daily_bars_equal_the_csv_provider_and_round_trip_the_cache(
    tmp_path: Path, reliance: pd.DataFrame
) -> None:
    fake = FakeDhan(bars=reliance)
    got = _bars(tmp_path, fake).history("RELIANCE", "2021-01-01", "2024-12-31")
    want = reliance.loc["2021-01-01":"2024-12-31"]
    pd.testing.assert_frame_equal(got, want)
    assert fake.calls[0][:4] == ("daily", "2885", "NSE_EQ", "EQUITY")
    assert fake.calls[0][5] == "2025-01-01"  # toDate is exclusive at Dhan
    # A second provider with no client and no credentials reads the cache: no network.
    again = DhanBars("in", cache_root=tmp_path, env={}, clock=clock_at("2025-10-01 12:00"))
    pd.testing.assert_frame_equal(again.history("RELIANCE", "2022-03-01", "2022-06-30"),
                                  reliance.loc["2022-03-01":"2022-06-30"])  # fmt: skip
    assert again.symbols() == ["RELIANCE"]


def test_a_wider_request_fetches_only_the_missing_days(
    tmp_path: Path, reliance: pd.DataFrame
) -> None:
    fake = FakeDhan(bars=reliance)
    provider = _bars(tmp_path, fake)
    provider.history("RELIANCE", "2023-01-01", "2023-06-30")
    provider.history("RELIANCE", "2022-07-01", "2023-12-31")
    spans = [(c[4], c[5]) for c in fake.calls]
    assert spans == [("2023-01-01", "2023-07-01"), ("2022-07-01", "2023-01-01"),
                     ("2023-07-01", "2024-01-01")]  # fmt: skip
    pd.testing.assert_frame_equal(
        provider.history("RELIANCE", "2022-07-01", "2023-12-31"),
        reliance.loc["2022-07-01":"2023-12-31"],
    )
    assert len(fake.calls) == 3


def test_intraday_bars_from_epochs_equal_a_csv_of_the_same_bars(
    tmp_path: Path, shared_data: Path
) -> None:
    # NSE 5-minute bars are not in shared/data; the US file's bars, shifted to IST hours, are
    # the same numbers, written as a CSV for the CSV provider and sent as Dhan's epochs.
    five = CsvProvider(shared_data / "us_intraday" / "5min")
    us = five.history("SPY", "2025-06-02", "2025-06-06")
    bars = us.copy()
    bars.index = pd.DatetimeIndex(bars.index - pd.Timedelta(minutes=15), name="date")
    folder = tmp_path / "csv"
    folder.mkdir()
    bars.to_csv(folder / "NIFTY.csv", index_label="datetime")
    want = CsvProvider(folder).history("NIFTY")
    provider = _bars(tmp_path, FakeDhan(bars=bars), interval="5m")
    got = provider.history("^NSEI", "2025-06-02", "2025-06-06")
    pd.testing.assert_frame_equal(got, want)


def test_missing_credentials_name_the_variables_and_no_value(tmp_path: Path) -> None:
    provider = DhanBars("in", cache_root=tmp_path, env={"DHAN_CLIENT_ID": "1100223344"})
    with pytest.raises(CredentialsError) as err:
        provider.history("RELIANCE", "2024-01-01", "2024-01-31")
    assert "DHAN_ACCESS_TOKEN" in str(err.value) and "1100223344" not in str(err.value)
    assert "\n" not in str(err.value)


def test_expired_token_teaches_how_to_renew(tmp_path: Path, reliance: pd.DataFrame) -> None:
    fake = FakeDhan(bars=reliance)
    fake.queued = [AUTH_FAILURE]
    with pytest.raises(CredentialsError, match=r"DH-901.*expired.*DHAN_ACCESS_TOKEN"):
        _bars(tmp_path, fake).history("RELIANCE", "2024-01-01", "2024-01-31")


def test_rate_limit_is_retried_with_backoff_inside_the_stated_limit(
    tmp_path: Path, reliance: pd.DataFrame
) -> None:
    fake = FakeDhan(bars=reliance)
    fake.queued = [RATE_FAILURE, RATE_FAILURE]
    sleeps = Sleeps()
    provider = DhanBars("in", cache_root=tmp_path, client=fake, sleep=sleeps,
                        clock=clock_at("2025-10-01 12:00"))  # fmt: skip
    provider.pacer.clock = sleeps.clock
    got = provider.history("RELIANCE", "2024-01-01", "2024-01-31")
    assert len(got) == len(reliance.loc["2024-01-01":"2024-01-31"])
    # Dhan states 5 data requests a second: spacing 0.2 s, so backoff 0.4 s then 0.8 s.
    assert sleeps.waits == [0.4, 0.8]
    provider.history("RELIANCE", "2024-03-01", "2024-03-31")  # the next call keeps the spacing
    assert sleeps.waits == [0.4, 0.8, 0.2]


def test_rate_limit_gives_up_after_every_retry(tmp_path: Path, reliance: pd.DataFrame) -> None:
    fake = FakeDhan(bars=reliance)
    fake.queued = [RATE_FAILURE] * 5
    with pytest.raises(RateLimitError, match=r"5 times over 6\.0 s.*5 data requests per second"):
        _bars(tmp_path, fake).history("RELIANCE", "2024-01-01", "2024-01-31")


def test_unknown_symbol(tmp_path: Path, reliance: pd.DataFrame) -> None:
    with pytest.raises(UnknownSymbolError, match="lists no NSE equity NOSUCHCO"):
        _bars(tmp_path, FakeDhan(bars=reliance)).history("NOSUCHCO", "2024-01-01", "2024-01-31")


def test_market_closed_on_a_weekend(tmp_path: Path, reliance: pd.DataFrame) -> None:
    with pytest.raises(MarketClosedError, match=r"no session on 2024-01-06 \.\. 2024-01-07"):
        _bars(tmp_path, FakeDhan(bars=reliance)).history("RELIANCE", "2024-01-06", "2024-01-07")


def test_market_closed_before_the_open(tmp_path: Path, reliance: pd.DataFrame) -> None:
    # 03:00 UTC is 08:30 IST on a Wednesday: NSE opens at 09:15.
    provider = _bars(tmp_path, FakeDhan(bars=reliance), interval="5m",
                     clock=clock_at("2025-10-01 03:00"))  # fmt: skip
    with pytest.raises(MarketClosedError, match=r"opens at 09:15.*08:30"):
        provider.history("RELIANCE", "2025-10-01", "2025-10-01")


def test_unreachable_dhan(tmp_path: Path, reliance: pd.DataFrame) -> None:
    fake = FakeDhan(bars=reliance)
    # The client turns a connection failure into a text remark.
    fake.queued = [{"status": "failure", "remarks": "HTTPSConnectionPool(host='api.dhan.co', "
                    "port=443): Max retries exceeded", "data": ""}]  # fmt: skip
    with pytest.raises(VendorUnavailableError, match="could not be reached"):
        _bars(tmp_path, fake).history("RELIANCE", "2024-01-01", "2024-01-31")


def test_chain_equals_the_chain_loader_on_the_same_quotes(
    tmp_path: Path, shared_data: Path
) -> None:
    expiries = ("2024-06-20", "2024-06-27")
    bodies = {e: dhan_chain_body(upstox_chain_doc(shared_data, e)) for e in expiries}
    fake = FakeDhan(chains=bodies)
    # 10:00 UTC on Friday 2024-06-14 is 15:30 IST: that session's chain.
    source = DhanChains("in", cache_root=tmp_path, client=fake, sleep=Sleeps(),
                        clock=clock_at("2024-06-14 10:00"))  # fmt: skip
    snap = source.chain("^NSEI", "2024-06-14")
    assert snap.symbol == "NIFTY" and snap.session == pd.Timestamp("2024-06-14")
    want = pd.concat(
        [load_chain(shared_data / "in" / "options" / f"NIFTY_{e}_expiry_chain_a.json")
         for e in expiries], ignore_index=True)  # fmt: skip
    cols = ["expiry", "strike", "kind", "bid", "ask", "last", "volume", "open_interest",
            "implied_vol", "spot"]  # fmt: skip
    pd.testing.assert_frame_equal(snap.frame[cols], want[cols], check_dtype=False)
    assert (snap.frame["lot_size"] == 25).all()  # from the scrip master
    assert (snap.frame["as_of"] == pd.Timestamp("2024-06-14")).all()
    assert [c[0] for c in fake.calls] == ["expiry_list", "option_chain", "option_chain"]
    assert fake.calls[0][1:] == (13, "IDX_I")
    # Round trip: the snapshot is read back with no client and no credentials.
    again = DhanChains("in", cache_root=tmp_path, env={}, clock=clock_at("2024-06-17 10:00"))
    back = again.chain("NIFTY", "2024-06-15")
    pd.testing.assert_frame_equal(back.frame, snap.frame)
    assert again.sessions() == [pd.Timestamp("2024-06-14")]


def test_chain_requests_are_paced_three_seconds_apart(tmp_path: Path, shared_data: Path) -> None:
    bodies = {e: dhan_chain_body(upstox_chain_doc(shared_data, e)) for e in ("2024-06-20",)}
    sleeps = Sleeps()
    source = DhanChains("in", cache_root=tmp_path, client=FakeDhan(chains=bodies),
                        sleep=sleeps, clock=clock_at("2024-06-14 10:00"))  # fmt: skip
    source.pacer.clock = sleeps.clock
    source.fetch("NIFTY")
    # Two requests (expiry list, one chain): the second waits out Dhan's 3-second rule.
    assert sleeps.waits == [3.0]


def test_a_past_session_without_a_snapshot_is_refused(tmp_path: Path) -> None:
    source = DhanChains("in", cache_root=tmp_path, env={}, clock=clock_at("2024-06-14 10:00"))
    with pytest.raises(Exception, match="serves only the current option chain"):
        source.chain("NIFTY", "2024-05-02")
