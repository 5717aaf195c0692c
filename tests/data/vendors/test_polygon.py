"""Polygon (Massive) at its boundary: ``RESTClient`` replaced by a fake (Polygon is not
reachable from here) whose answers are the documented JSON (``results`` of aggregates and
option-contract snapshots) turned into the client's own model classes by their
``from_dict``, and whose failures are the client's ``BadResponse`` carrying the documented
error bodies. The numbers come from the real files in ../shared/data/us*."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

massive = pytest.importorskip("massive")

from massive.exceptions import BadResponse  # noqa: E402
from massive.rest.models import Agg, OptionContractSnapshot  # noqa: E402

from quantalloc.data import CsvProvider  # noqa: E402
from quantalloc.data.chains import load_chain  # noqa: E402
from quantalloc.data.vendors import (  # noqa: E402
    CredentialsError,
    RateLimitError,
    UnknownSymbolError,
    VendorError,
)
from quantalloc.data.vendors.polygon import PolygonBars, PolygonChains  # noqa: E402
from tests.data.vendors.fakes import Sleeps, clock_at  # noqa: E402

ET = "America/New_York"
UNKNOWN_KEY = {"status": "ERROR", "request_id": "a1", "error": "Unknown API Key"}
TOO_MANY = {
    "status": "ERROR",
    "request_id": "a2",
    "error": "You've exceeded the maximum requests per minute, please wait or upgrade your "
    "subscription to continue. https://polygon.io/pricing",
}
NOT_ENTITLED = {
    "status": "NOT_AUTHORIZED",
    "request_id": "a3",
    "message": "You are not entitled to this data. Please upgrade your plan at "
    "https://polygon.io/pricing",
}
NOT_FOUND = {"status": "NOT_FOUND", "request_id": "a4", "message": "Ticker not found."}


class FakeREST:
    """Stands in for ``massive.RESTClient``."""

    def __init__(self, bars: pd.DataFrame | None = None, chain: list[dict[str, Any]] | None = None):
        self.bars = bars
        self.chain = chain or []
        self.queued: list[dict[str, Any]] = []
        self.calls: list[tuple[Any, ...]] = []

    def _fail(self) -> None:
        if self.queued:
            raise BadResponse(json.dumps(self.queued.pop(0)))

    def list_aggs(self, ticker: str, multiplier: int, timespan: str, from_: str, to: str,
                  **kwargs: Any) -> Iterator[Agg]:  # fmt: skip
        self.calls.append(("aggs", ticker, multiplier, timespan, from_, to))
        self._fail()
        if self.bars is None or ticker not in ("SPY", "I:VIX"):
            return iter([])
        day_end = pd.Timestamp(to) + pd.Timedelta(days=1)
        rows = self.bars.loc[(self.bars.index >= from_) & (self.bars.index < day_end)]
        stamps = rows.index.tz_localize(ET).tz_convert("UTC")
        results = [
            {"o": r.open, "h": r.high, "l": r.low, "c": r.close, "v": r.volume,
             "t": int(t.value // 1_000_000), "n": 1, "vw": r.close}
            for r, t in zip(rows.itertuples(), stamps, strict=True)
        ]  # fmt: skip
        return iter([Agg.from_dict(d) for d in results])

    def get_ticker_details(self, ticker: str) -> Any:
        self.calls.append(("details", ticker))
        raise BadResponse(json.dumps(NOT_FOUND))

    def list_snapshot_options_chain(self, underlying: str, params: Any = None) -> Iterator[Any]:
        self.calls.append(("chain", underlying))
        self._fail()
        return iter([OptionContractSnapshot.from_dict(d) for d in self.chain])


def _bars(tmp_path: Path, client: Any, **kw: Any) -> PolygonBars:
    return PolygonBars("us", cache_root=tmp_path, client=client, sleep=Sleeps(), env={},
                       clock=clock_at("2026-03-13 21:00"), **kw)  # fmt: skip


def test_daily_aggs_equal_the_csv_provider_and_round_trip_the_cache(
    tmp_path: Path, shared_data: Path
) -> None:
    spy = CsvProvider(shared_data / "us" / "etf").history("SPY", "2015-01-02", "2017-12-29")
    fake = FakeREST(bars=spy)
    got = _bars(tmp_path, fake).history("SPY", "2015-01-02", "2017-12-29")
    # Polygon has no adjusted-close column; the OHLCV columns are the same numbers.
    pd.testing.assert_frame_equal(got, spy[["open", "high", "low", "close", "volume"]])
    assert fake.calls == [("aggs", "SPY", 1, "day", "2015-01-02", "2017-12-29")]
    again = PolygonBars("us", cache_root=tmp_path, env={}, clock=clock_at("2026-03-13 21:00"))
    pd.testing.assert_frame_equal(again.history("SPY", "2016-01-04", "2016-12-30"),
                                  got.loc["2016-01-04":"2016-12-30"])  # fmt: skip


def test_minute_aggs_equal_the_csv_provider(tmp_path: Path, shared_data: Path) -> None:
    five = CsvProvider(shared_data / "us_intraday" / "5min")
    spy = five.history("SPY", "2025-06-02", "2025-07-31")
    fake = FakeREST(bars=spy)
    got = _bars(tmp_path, fake, interval="5m").history("SPY", "2025-06-02", "2025-07-31")
    pd.testing.assert_frame_equal(got, spy)
    # 60 days of minute bars in 30-day requests.
    spans = [c[4:] for c in fake.calls]
    assert spans == [("2025-06-02", "2025-07-01"), ("2025-07-02", "2025-07-31")]


def test_pacing_at_the_free_plan_and_backoff(tmp_path: Path, shared_data: Path) -> None:
    spy = CsvProvider(shared_data / "us" / "etf").history("SPY", "2017-01-03", "2017-12-29")
    fake = FakeREST(bars=spy)
    fake.queued = [TOO_MANY]
    sleeps = Sleeps()
    provider = PolygonBars("us", cache_root=tmp_path, client=fake, sleep=sleeps, env={},
                           clock=clock_at("2026-03-13 21:00"))  # fmt: skip
    provider.pacer.clock = sleeps.clock
    provider.history("SPY", "2017-01-03", "2017-03-31")
    provider.history("SPY", "2017-04-03", "2017-06-30")
    # 5 requests a minute: 12 s apart; the refused one is retried after 24 s.
    assert sleeps.waits == [24.0, 12.0]
    paid = {"POLYGON_CALLS_PER_MINUTE": "600"}
    fast = PolygonBars("us", cache_root=tmp_path, client=fake, env=paid)
    assert fast.pacer.limit.spacing == pytest.approx(0.1)
    fake.queued = [TOO_MANY] * 5
    with pytest.raises(RateLimitError, match=r"5 requests a minute \(free plan"):
        provider.history("SPY", "2017-07-03", "2017-09-29")


def test_errors_that_teach(tmp_path: Path, shared_data: Path) -> None:
    spy = CsvProvider(shared_data / "us" / "etf").history("SPY", "2017-01-03", "2017-12-29")
    fake = FakeREST(bars=spy)
    fake.queued = [UNKNOWN_KEY]
    with pytest.raises(CredentialsError, match=r"Unknown API Key.*POLYGON_API_KEY"):
        _bars(tmp_path, fake).history("SPY", "2017-01-03", "2017-03-31")
    fake.queued = [NOT_ENTITLED]
    with pytest.raises(VendorError, match=r"plan does not include.*paid"):
        _bars(tmp_path, fake, interval="1m").history("SPY", "2017-01-03", "2017-01-31")
    with pytest.raises(UnknownSymbolError, match="polygon knows no ticker NOSUCH"):
        _bars(tmp_path, fake).history("NOSUCH", "2017-01-03", "2017-03-31")
    with pytest.raises(CredentialsError, match="polygon needs POLYGON_API_KEY"):
        PolygonBars("us", cache_root=tmp_path, env={}).history("SPY", "2017-01-03", "2017-03-31")


def _snapshots(path: Path) -> list[dict[str, Any]]:
    """The yfinance chain file's quotes as Polygon's documented snapshot results."""
    raw = pd.read_csv(path)
    close = pd.Timestamp(f"{raw['spot_date'].iloc[0]} 16:00", tz=ET)

    def num(value: Any) -> Any:
        return None if pd.isna(value) else float(value)

    return [
        {
            "details": {"contract_type": r.option_type, "exercise_style": "american",
                        "expiration_date": r.expiry, "shares_per_contract": 100,
                        "strike_price": r.strike, "ticker": f"O:{r.contractSymbol}"},
            "last_quote": {"bid": num(r.bid), "ask": num(r.ask), "last_updated": close.value,
                           "timeframe": "REAL-TIME"},
            "last_trade": {"price": num(r.lastPrice)},
            "day": {"volume": num(r.volume)},
            "open_interest": num(r.openInterest),
            "implied_volatility": num(r.impliedVolatility),
            "underlying_asset": {"price": float(r.S), "ticker": "SPY"},
        }
        for r in raw.itertuples()
    ]  # fmt: skip


def test_chain_snapshot_equals_the_chain_loader(tmp_path: Path, shared_data: Path) -> None:
    path = shared_data / "us" / "options" / "SPY_2026-05-01.csv"
    fake = FakeREST(chain=_snapshots(path))
    source = PolygonChains("us", cache_root=tmp_path, client=fake, sleep=Sleeps(), env={},
                           clock=clock_at("2026-05-03 15:00"), max_expiries=100)  # fmt: skip
    snap = source.chain("SPY")  # a Sunday: the quote time says Friday's session
    assert snap.session == pd.Timestamp("2026-05-01")
    assert snap.quoted_at == pd.Timestamp("2026-05-01 20:00", tz="UTC")
    want = load_chain(path)
    cols = ["expiry", "strike", "kind", "bid", "ask", "last", "volume", "open_interest",
            "implied_vol", "spot", "as_of"]  # fmt: skip
    pd.testing.assert_frame_equal(snap.frame[cols], want[cols], check_dtype=False)
    assert np.all(snap.frame["lot_size"] == 100)
    back = PolygonChains("us", cache_root=tmp_path, env={}).chain("SPY", "2026-05-04")
    pd.testing.assert_frame_equal(back.frame, snap.frame)
    assert back.notes[-1] == "SPY: chain of 2026-05-01 used for as-of 2026-05-04"
