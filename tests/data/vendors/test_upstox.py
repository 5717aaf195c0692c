"""Upstox at its boundary: the SDK's API objects replaced by fakes (Upstox is not reachable
from here) whose answers are the documented JSON turned into the SDK's own models by the
SDK's deserializer. The daily bars in ../shared/data/in/daily came from Upstox, and the NIFTY
option chains there are Upstox's put-call option chain answers, unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

upstox_client = pytest.importorskip("upstox_client")

from quantalloc.data import CsvProvider  # noqa: E402
from quantalloc.data.chains import load_chain  # noqa: E402
from quantalloc.data.vendors import (  # noqa: E402
    CredentialsError,
    RateLimitError,
    UnknownSymbolError,
)
from quantalloc.data.vendors.upstox import UpstoxBars, UpstoxChains, UpstoxClient  # noqa: E402
from tests.data.vendors.fakes import Sleeps, clock_at, upstox_chain_doc  # noqa: E402

RELIANCE_KEY = "NSE_EQ|INE002A01018"


def model(doc: dict[str, Any], kind: str) -> Any:
    """``doc`` as the SDK returns it: deserialized into its model class ``kind``."""

    class Response:
        data = json.dumps(doc)

    return upstox_client.ApiClient().deserialize(Response(), kind)


def api_error(status: int, code: str, message: str) -> Exception:
    """The SDK's ApiException with Upstox's documented error body."""
    exc = upstox_client.rest.ApiException(status=status, reason=message)
    exc.body = json.dumps({"status": "error", "errors": [
        {"errorCode": code, "message": message, "propertyPath": None, "invalidValue": None,
         "error_code": code, "property_path": None, "invalid_value": None}]})  # fmt: skip
    return exc


class FakeHistory:
    """Stands in for ``HistoryV3Api``: candles newest first, as Upstox sends them."""

    def __init__(self, csv: Path) -> None:
        self.raw = pd.read_csv(csv)
        self.raw["day"] = pd.to_datetime(self.raw["timestamp"].str[:10])
        self.queued: list[Exception] = []
        self.calls: list[tuple[Any, ...]] = []

    def get_historical_candle_data1(self, key: str, unit: str, interval: int, to_date: str,
                                    from_date: str) -> Any:  # fmt: skip
        self.calls.append((key, unit, interval, to_date, from_date))
        if self.queued:
            raise self.queued.pop(0)
        rows = self.raw.loc[(self.raw["day"] >= from_date) & (self.raw["day"] <= to_date)]
        candles = [
            [r.timestamp.replace(" ", "T"), r.open, r.high, r.low, r.close, r.volume, r.oi]
            for r in rows.itertuples()
        ][::-1]
        return model({"status": "success", "data": {"candles": candles}},
                     "GetHistoricalCandleResponse")  # fmt: skip


class FakeInstruments:
    """Stands in for ``InstrumentsApi.search_instrument`` (the BOD JSON instrument shape)."""

    def search_instrument(self, query: str, **kwargs: Any) -> Any:
        rows = []
        if query == "RELIANCE":
            rows = [{"segment": "NSE_EQ", "name": "RELIANCE INDUSTRIES LTD", "exchange": "NSE",
                     "isin": "INE002A01018", "instrument_type": "EQ",
                     "instrument_key": RELIANCE_KEY, "lot_size": 1, "exchange_token": "2885",
                     "tick_size": 10.0, "trading_symbol": "RELIANCE"}]  # fmt: skip
        return model({"status": "success", "data": rows}, "SearchInstrumentResponse")


class FakeOptions:
    """Stands in for ``OptionsApi``: contracts with lot sizes, and the real chain answers."""

    def __init__(self, shared: Path) -> None:
        self.shared = shared
        self.calls: list[tuple[Any, ...]] = []

    def get_option_contracts(self, key: str) -> Any:
        self.calls.append(("contracts", key))
        data = [{"name": "NIFTY", "segment": "NSE_FO", "exchange": "NSE", "expiry": e,
                 "instrument_key": f"NSE_FO|{i}", "lot_size": 25, "instrument_type": "CE",
                 "strike_price": 23000.0, "underlying_key": key, "trading_symbol": "NIFTY"}
                for i, e in enumerate(["2024-06-20", "2024-06-27"])]  # fmt: skip
        return model({"status": "success", "data": data}, "GetOptionContractResponse")

    def get_put_call_option_chain(self, key: str, expiry: str) -> Any:
        self.calls.append(("chain", key, expiry))
        return model(upstox_chain_doc(self.shared, expiry), "GetOptionChainResponse")


@pytest.fixture
def fake(shared_data: Path) -> UpstoxClient:
    return UpstoxClient(
        history=FakeHistory(shared_data / "in" / "daily" / "RELIANCE.csv"),
        options=FakeOptions(shared_data),
        instruments=FakeInstruments(),
    )


def _bars(tmp_path: Path, client: Any, **kw: Any) -> UpstoxBars:
    return UpstoxBars("in", cache_root=tmp_path, client=client, sleep=Sleeps(),
                      clock=clock_at("2025-10-01 12:00"), **kw)  # fmt: skip


def test_daily_candles_equal_the_csv_provider_and_round_trip_the_cache(
    tmp_path: Path, shared_data: Path, fake: UpstoxClient
) -> None:
    want = CsvProvider(shared_data / "in" / "daily").history("RELIANCE", "2020-10-01", "2025-09-30")
    got = _bars(tmp_path, fake).history("RELIANCE", "2020-10-01", "2025-09-30")
    pd.testing.assert_frame_equal(got, want)
    assert fake.history.calls == [(RELIANCE_KEY, "days", 1, "2025-09-30", "2020-10-01")]
    again = UpstoxBars("in", cache_root=tmp_path, env={}, clock=clock_at("2025-10-01 12:00"))
    pd.testing.assert_frame_equal(again.history("RELIANCE", "2021-01-01", "2021-12-31"),
                                  want.loc["2021-01-01":"2021-12-31"])  # fmt: skip


def test_expired_token(tmp_path: Path, fake: UpstoxClient) -> None:
    fake.history.queued = [api_error(401, "UDAPI100050", "Invalid token used to access API")]
    with pytest.raises(CredentialsError, match=r"UDAPI100050.*expired.*UPSTOX_ACCESS_TOKEN"):
        _bars(tmp_path, fake).history("RELIANCE", "2024-01-01", "2024-01-31")


def test_missing_token(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="upstox needs UPSTOX_ACCESS_TOKEN"):
        bars = UpstoxBars("in", cache_root=tmp_path, env={})
        bars.history("RELIANCE", "2024-01-01", "2024-01-31")


def test_rate_limit_backoff_then_give_up(tmp_path: Path, fake: UpstoxClient) -> None:
    too_many = api_error(429, "UDAPI10005", "Too Many Request Sent")
    fake.history.queued = [too_many]
    sleeps = Sleeps()
    provider = UpstoxBars("in", cache_root=tmp_path, client=fake, sleep=sleeps,
                          clock=clock_at("2025-10-01 12:00"))  # fmt: skip
    provider.pacer.clock = sleeps.clock
    provider.history("RELIANCE", "2024-01-01", "2024-01-31")
    assert sleeps.waits == [0.24]  # spacing 60 s / 500 = 0.12 s, doubled
    fake.history.queued = [too_many] * 5
    with pytest.raises(RateLimitError, match="500 a minute"):
        provider.history("RELIANCE", "2023-01-01", "2023-01-31")


def test_unknown_symbol(tmp_path: Path, fake: UpstoxClient) -> None:
    with pytest.raises(UnknownSymbolError, match="no NSE equity with trading symbol NOSUCHCO"):
        _bars(tmp_path, fake).history("NOSUCHCO", "2024-01-01", "2024-01-31")


def test_chain_equals_the_chain_loader_on_the_same_file(
    tmp_path: Path, shared_data: Path, fake: UpstoxClient
) -> None:
    source = UpstoxChains("in", cache_root=tmp_path, client=fake, sleep=Sleeps(),
                          clock=clock_at("2024-06-14 10:00"))  # fmt: skip
    snap = source.chain("NIFTY", "2024-06-14")
    files = [shared_data / "in" / "options" / f"NIFTY_{e}_expiry_chain_a.json"
             for e in ("2024-06-20", "2024-06-27")]  # fmt: skip
    want = pd.concat([load_chain(f) for f in files], ignore_index=True)
    cols = ["expiry", "strike", "kind", "bid", "ask", "last", "volume", "open_interest",
            "implied_vol", "spot"]  # fmt: skip
    pd.testing.assert_frame_equal(snap.frame[cols], want[cols], check_dtype=False)
    assert (snap.frame["lot_size"] == 25).all() and snap.session == pd.Timestamp("2024-06-14")
    assert fake.options.calls[0] == ("contracts", "NSE_INDEX|Nifty 50")
    back = UpstoxChains("in", cache_root=tmp_path, env={}).chain("NIFTY", "2024-06-14")
    pd.testing.assert_frame_equal(back.frame, snap.frame)
