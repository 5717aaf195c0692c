"""Interactive Brokers at its boundary: ``ib_async.IB`` replaced by a fake (no TWS or Gateway
is reachable from here) that answers with ib_async's own objects (``BarData``,
``OptionChain``, ``Ticker``) as TWS documents them, and reports failures on ``errorEvent``
with IB's error codes. The numbers come from the real files in ../shared/data/us*."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

ib_async = pytest.importorskip("ib_async")

from eventkit import Event  # noqa: E402
from ib_async import Ticker  # noqa: E402
from ib_async.objects import BarData, OptionChain, OptionComputation  # noqa: E402

from quantalloc.data import CsvProvider  # noqa: E402
from quantalloc.data.chains import load_chain  # noqa: E402
from quantalloc.data.vendors import (  # noqa: E402
    CredentialsError,
    RateLimitError,
    UnknownSymbolError,
    VendorError,
    VendorUnavailableError,
)
from quantalloc.data.vendors.ibkr import IbkrBars, IbkrChains  # noqa: E402
from tests.data.vendors.fakes import Sleeps, clock_at  # noqa: E402

ET = "America/New_York"
PACING = (162, "Historical Market Data Service error message:Historical data request pacing "
               "violation")  # fmt: skip


class FakeIB:
    """Stands in for ``ib_async.IB`` connected to a TWS session."""

    def __init__(self, bars: pd.DataFrame | None = None, chain: pd.DataFrame | None = None):
        self.errorEvent = Event("errorEvent")
        self.bars = bars
        self.chain = chain
        self.queued: list[tuple[int, str]] = []
        self.requests: list[dict[str, Any]] = []
        self.rows = {} if chain is None else {
            (r.expiry, float(r.strike), r.option_type[0]): r for r in chain.itertuples()
        }  # fmt: skip

    def _row(self, c: Any) -> Any:
        return self.rows.get((c.lastTradeDateOrContractMonth, float(c.strike), c.right.lower()))

    def qualifyContracts(self, *contracts: Any) -> list[Any]:
        out = []
        for c in contracts:
            known = c.symbol in ("SPY", "VIX") and c.secType in ("STK", "IND")
            if c.secType == "OPT":
                known = self._row(c) is not None
            if known:
                c.conId = 1000 + len(out)
                out.append(c)
            else:
                self.errorEvent.emit(7, 200, "No security definition has been found for the "
                                     "request", c)  # fmt: skip
        return out

    def reqHistoricalData(self, contract: Any, endDateTime: Any, durationStr: str,
                          barSizeSetting: str, whatToShow: str, useRTH: bool,
                          formatDate: int = 1) -> list[BarData]:  # fmt: skip
        self.requests.append({"end": endDateTime, "duration": durationStr,
                              "size": barSizeSetting, "rth": useRTH})  # fmt: skip
        if self.queued:
            self.errorEvent.emit(9, *self.queued.pop(0), contract)
            return []
        assert self.bars is not None
        end = pd.Timestamp(endDateTime).tz_convert(ET).tz_localize(None)
        start = end - pd.Timedelta(days=int(durationStr.split()[0]))
        rows = self.bars.loc[(self.bars.index >= start) & (self.bars.index < end)]
        daily = barSizeSetting == "1 day"
        stamps = [t.date() if daily else t.tz_localize(ET).tz_convert("UTC").to_pydatetime()
                  for t in rows.index]  # fmt: skip
        return [BarData(date=s, open=r.open, high=r.high, low=r.low, close=r.close,
                        volume=r.volume, average=r.close, barCount=1)
                for s, r in zip(stamps, rows.itertuples(), strict=True)]  # fmt: skip

    def reqSecDefOptParams(self, symbol: str, fut_exchange: str, sec_type: str,
                           con_id: int) -> list[OptionChain]:  # fmt: skip
        assert self.chain is not None
        return [OptionChain("SMART", con_id, "SPY", "100", sorted(set(self.chain["expiry"])),
                            sorted(set(self.chain["strike"])))]  # fmt: skip

    def reqTickers(self, *contracts: Any) -> list[Any]:
        out = []
        for c in contracts:
            t = Ticker(contract=c)
            if c.secType != "OPT":
                assert self.chain is not None
                t.last = float(self.chain["S"].iloc[0])
            else:
                r = self._row(c)
                t.bid = -1.0 if math.isnan(r.bid) else r.bid  # IB sends -1 for "no bid"
                t.ask, t.last, t.volume = r.ask, r.lastPrice, r.volume
                t.modelGreeks = OptionComputation(0, impliedVol=r.impliedVolatility)
                t.time = dt.datetime(2026, 5, 1, 20, 0, tzinfo=dt.UTC)
            out.append(t)
        return out


def _bars(tmp_path: Path, fake: Any, **kw: Any) -> IbkrBars:
    return IbkrBars("us", cache_root=tmp_path, client=fake, sleep=Sleeps(),
                    clock=clock_at("2026-03-13 21:00"), **kw)  # fmt: skip


def test_daily_bars_equal_the_csv_provider_and_round_trip_the_cache(
    tmp_path: Path, shared_data: Path
) -> None:
    spy = CsvProvider(shared_data / "us" / "etf").history("SPY", "2016-01-04", "2017-12-29")
    fake = FakeIB(bars=spy)
    got = _bars(tmp_path, fake).history("SPY", "2016-01-04", "2017-12-29")
    pd.testing.assert_frame_equal(got, spy[["open", "high", "low", "close", "volume"]])
    assert [r["duration"] for r in fake.requests] == ["365 D", "361 D"]  # 726 days
    assert all(r["size"] == "1 day" and r["rth"] for r in fake.requests)
    again = IbkrBars("us", cache_root=tmp_path, env={}, clock=clock_at("2026-03-13 21:00"))
    pd.testing.assert_frame_equal(again.history("SPY", "2017-01-03", "2017-06-30"),
                                  got.loc["2017-01-03":"2017-06-30"])  # fmt: skip


def test_minute_bars_from_utc_stamps_equal_the_csv_provider(
    tmp_path: Path, shared_data: Path
) -> None:
    five = CsvProvider(shared_data / "us_intraday" / "5min")
    spy = five.history("SPY", "2025-06-02", "2025-06-27")
    provider = _bars(tmp_path, FakeIB(bars=spy), interval="5m")
    got = provider.history("SPY", "2025-06-02", "2025-06-27")
    pd.testing.assert_frame_equal(got, spy)


def test_pacing_violation_is_retried_then_reported(tmp_path: Path, shared_data: Path) -> None:
    spy = CsvProvider(shared_data / "us" / "etf").history("SPY", "2017-01-03", "2017-12-29")
    fake = FakeIB(bars=spy)
    fake.queued = [PACING]
    sleeps = Sleeps()
    provider = IbkrBars("us", cache_root=tmp_path, client=fake, sleep=sleeps,
                        clock=clock_at("2026-03-13 21:00"))  # fmt: skip
    provider.pacer.clock = sleeps.clock
    provider.history("SPY", "2017-01-03", "2017-03-31")
    assert sleeps.waits == [20.0]  # 60 requests per 10 minutes: 10 s apart, doubled
    fake.queued = [PACING] * 5
    with pytest.raises(RateLimitError, match="60 historical-data requests in any 10 minutes"):
        provider.history("SPY", "2017-04-03", "2017-06-30")


def test_errors_that_teach(tmp_path: Path, shared_data: Path) -> None:
    spy = CsvProvider(shared_data / "us" / "etf").history("SPY", "2017-01-03", "2017-12-29")
    fake = FakeIB(bars=spy)
    with pytest.raises(UnknownSymbolError, match=r"NOSUCH: ibkr has no contract.*200"):
        _bars(tmp_path, fake).history("NOSUCH", "2017-01-03", "2017-03-31")
    fake.queued = [(354, "Requested market data is not subscribed.")]
    with pytest.raises(VendorError, match="no market-data subscription"):
        _bars(tmp_path, fake).history("SPY", "2017-01-03", "2017-03-31")
    with pytest.raises(CredentialsError, match="ibkr needs IB_PORT"):
        IbkrBars("us", cache_root=tmp_path, env={}).history("SPY", "2017-01-03", "2017-03-31")
    # Nothing listens on port 9 of this machine: the connection is refused at once.
    closed = IbkrBars("us", cache_root=tmp_path, env={"IB_PORT": "9", "IB_HOST": "127.0.0.1"})
    with pytest.raises(VendorUnavailableError, match=r"nothing answers at 127\.0\.0\.1:9"):
        closed.history("SPY", "2017-01-03", "2017-03-31")


def test_chain_quotes_equal_the_chain_loader(tmp_path: Path, shared_data: Path) -> None:
    path = shared_data / "us" / "options" / "SPY_2026-05-01.csv"
    raw = pd.read_csv(path)
    raw["expiry"] = raw["expiry"].str.replace("-", "")
    source = IbkrChains("us", cache_root=tmp_path, client=FakeIB(chain=raw), sleep=Sleeps(),
                        clock=clock_at("2026-05-01 20:30"), max_expiries=3)  # fmt: skip
    snap = source.chain("SPY", "2026-05-01")
    assert snap.session == pd.Timestamp("2026-05-01")
    spot = float(raw["S"].iloc[0])
    want = load_chain(path)
    expiries = sorted(want["expiry"].unique())[:3]
    want = want.loc[want["expiry"].isin(expiries) & want["strike"].between(spot * 0.8, spot * 1.2)]
    cols = ["expiry", "strike", "kind", "bid", "ask", "last", "volume", "implied_vol", "spot"]
    pd.testing.assert_frame_equal(snap.frame[cols], want[cols].reset_index(drop=True),
                                  check_dtype=False)  # fmt: skip
    assert (snap.frame["lot_size"] == 100).all()
    back = IbkrChains("us", cache_root=tmp_path, env={}).chain("SPY", "2026-05-01")
    pd.testing.assert_frame_equal(back.frame, snap.frame)
