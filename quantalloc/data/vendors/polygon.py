"""Polygon.io, now Massive (through its official client ``massive``, formerly
``polygon-api-client``): US bars, minute bars and option-chain snapshots.

- **Symbols.** Stocks and ETFs by ticker (``SPY``); indices with Polygon's ``I:`` prefix
  (``^VIX`` -> ``I:VIX``, ``^GSPC``/``^SPX`` -> ``I:SPX``, ``^NDX`` -> ``I:NDX``).
- **Bars.** ``list_aggs(ticker, multiplier, "day"|"minute", from, to, adjusted=True)``: each
  aggregate ``o, h, l, c, v`` with ``t`` the window's start in milliseconds (UTC), shown here
  in New York time; split-adjusted as Yahoo's closes are. Minute bars include the extended
  session where Polygon has it.
- **Chains.** ``list_snapshot_options_chain(underlying)``: per contract ``details``
  (``contract_type``, ``expiration_date``, ``strike_price``, ``shares_per_contract``),
  ``last_quote`` (``bid``, ``ask``, ``last_updated`` in ns), ``last_trade.price``,
  ``day.volume``, ``open_interest``, ``implied_volatility`` (a fraction) and
  ``underlying_asset.price``.
- **Limits.** The free plan allows 5 requests a minute; paid plans are unlimited. Requests
  are paced at ``POLYGON_CALLS_PER_MINUTE`` (default 5) and the client's own retries are
  turned off so that backoff follows that pace.
- **Errors.** The client raises ``BadResponse`` with the JSON body: ``Unknown API Key`` (401)
  is a credential error; ``NOT_AUTHORIZED`` (403, "not entitled ... upgrade your plan") names
  the plan needed; "exceeded the maximum requests" (429) is retried; ``NOT_FOUND`` on the
  ticker's reference entry is an unknown symbol.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import pandas as pd

from quantalloc.data.vendors.bars import VendorBars, bars_frame
from quantalloc.data.vendors.chains import VendorChains
from quantalloc.data.vendors.common import (
    RateLimit,
    VendorAccess,
    client_library,
    default_env,
    one_line,
    scrub,
)
from quantalloc.data.vendors.errors import (
    CredentialsError,
    RateLimited,
    UnknownSymbolError,
    VendorError,
    VendorUnavailableError,
)
from quantalloc.errors import ConfigError

VENDOR = "polygon"
TIMEZONE = "America/New_York"
PAGE = {"limit": 250}
"""Contracts per page of the chain snapshot (Polygon's largest)."""
INDEX_TICKERS = {
    "^VIX": "I:VIX",
    "^GSPC": "I:SPX",
    "^SPX": "I:SPX",
    "^NDX": "I:NDX",
    "^RUT": "I:RUT",
}


def rate_limit(env: Mapping[str, str] | None) -> RateLimit:
    """5 requests a minute (the free plan) unless ``POLYGON_CALLS_PER_MINUTE`` says more."""
    raw = str((default_env() if env is None else env).get("POLYGON_CALLS_PER_MINUTE", "") or "5")
    try:
        calls = int(raw)
    except ValueError:
        raise ConfigError(
            f"POLYGON_CALLS_PER_MINUTE is {raw!r}; give a whole number of requests (5 on the "
            "free plan)"
        ) from None
    if calls < 1:
        raise ConfigError(f"POLYGON_CALLS_PER_MINUTE is {calls}; it must be at least 1")
    return RateLimit(calls, 60.0, f"{calls} requests a minute (free plan: 5; paid: unlimited)")


def connect(credentials: dict[str, str]) -> Any:
    """A ``RESTClient`` without its own retries (the pacer retries within the limit)."""
    library = client_library(VENDOR, "massive", "polygon")
    return library.RESTClient(
        credentials["POLYGON_API_KEY"], retries=0, connection_pool_kw={"retries": False}
    )


def ticker_of(symbol: str) -> str:
    """Polygon's ticker for ``symbol``."""
    name = symbol.strip().upper()
    return INDEX_TICKERS.get(name, name)


def call(fn: Any, what: str, secrets: dict[str, str]) -> Any:
    """``fn()`` with the client's errors turned into quantalloc's (see the module notes)."""
    try:
        return fn()
    except Exception as exc:
        kind = type(exc).__name__
        if kind not in ("BadResponse", "AuthError"):
            if type(exc).__module__.startswith("urllib3") or isinstance(exc, OSError):
                raise VendorUnavailableError(
                    f"polygon could not be reached for {what} "
                    f"({one_line(scrub(str(exc), secrets), 120)}); check the network and retry",
                    vendor=VENDOR,
                ) from None
            raise
        text = str(exc)
        try:
            doc = json.loads(text)
        except ValueError:
            doc = {}
        status = str(doc.get("status", "")) if isinstance(doc, dict) else ""
        said = one_line(scrub(doc.get("error") or doc.get("message") or text, secrets), 140)
        lowered = said.lower()
        if kind == "AuthError" or "api key" in lowered:
            raise CredentialsError(
                f"polygon rejected the API key ({said}); {_Polygon.credentials_hint}: "
                "set POLYGON_API_KEY",
                vendor=VENDOR,
            ) from None
        if "exceeded" in lowered or "too many" in lowered:
            raise RateLimited(said) from None
        if status == "NOT_AUTHORIZED" or "entitled" in lowered:
            raise VendorError(
                f"polygon: your plan does not include {what} ({said}); minute bars and "
                "option-chain snapshots need a paid Stocks or Options plan, indices an "
                "Indices plan",
                vendor=VENDOR,
            ) from None
        if status == "NOT_FOUND":
            raise UnknownSymbolError(f"polygon knows no {what} ({said})", vendor=VENDOR) from None
        raise VendorError(f"polygon refused {what} ({said})", vendor=VENDOR) from None


class _Polygon(VendorAccess):
    """Polygon's identity, limit (from the environment) and client, shared by its bars and
    chains."""

    vendor = VENDOR
    env_vars = ("POLYGON_API_KEY",)
    credentials_hint = "your API key is on the Massive (Polygon.io) dashboard under API Keys"
    markets: ClassVar[tuple[str, ...]] = ("us",)

    def _limit(self) -> RateLimit:
        return rate_limit(self._env)

    def _connect(self, credentials: dict[str, str]) -> Any:
        return connect(credentials)


class PolygonBars(_Polygon, VendorBars):
    """US daily and minute bars from Polygon (see the module notes)."""

    intraday_minutes = None
    chunk_days = (3650, 30)

    def __init__(self, market: str | None = "us", **kwargs: Any) -> None:
        super().__init__(market, **kwargs)

    def _resolve(self, symbol: str) -> Any:
        return ticker_of(symbol)

    def _fetch_chunk(self, ref: Any, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        client = self.client()
        multiplier, span = (1, "day") if self.interval.daily else (self.interval.minutes, "minute")
        aggs = call(
            lambda: list(
                client.list_aggs(
                    ref,
                    multiplier,
                    span,
                    str(start.date()),
                    str(end.date()),
                    adjusted=True,
                    sort="asc",
                    limit=50000,
                )
            ),
            f"the bars of {ref}",
            self._secrets,
        )
        if not aggs:
            self._check_known(ref)
        table = pd.DataFrame(
            {
                "open": [a.open for a in aggs],
                "high": [a.high for a in aggs],
                "low": [a.low for a in aggs],
                "close": [a.close for a in aggs],
                "volume": [a.volume or 0.0 for a in aggs],
            }
        )
        stamps = pd.to_datetime([a.timestamp for a in aggs], unit="ms", utc=True)
        return bars_frame(stamps, table, timezone=TIMEZONE, daily=self.interval.daily)

    def _check_known(self, ticker: str) -> None:
        """An UnknownSymbolError when Polygon's reference data has no ``ticker``."""
        client = self.client()
        self.pacer.call(
            lambda: call(
                lambda: client.get_ticker_details(ticker), f"ticker {ticker}", self._secrets
            ),
            f"the polygon reference entry of {ticker}",
        )


class PolygonChains(_Polygon, VendorChains):
    """The current US option chains from Polygon's snapshot, kept on disk."""

    def __init__(self, market: str | None = "us", **kwargs: Any) -> None:
        super().__init__(market, **kwargs)

    def _fetch_chain(self, name: str) -> tuple[pd.DataFrame, pd.Timestamp | None]:
        client = self.client()
        ticker = ticker_of(name if name != "SPX" else "^SPX")
        snaps = self.pacer.call(
            lambda: call(
                lambda: list(client.list_snapshot_options_chain(ticker, params=PAGE)),
                f"the option chain of {ticker}",
                self._secrets,
            ),
            f"the polygon option chain of {ticker}",
        )
        rows, quoted = chain_rows(snaps)
        if rows.empty:
            raise UnknownSymbolError(
                f"{name}: polygon's snapshot lists no options on {ticker}", vendor=VENDOR
            )
        expiries = sorted(rows["expiry"].unique())[: self.max_expiries]
        return rows.loc[rows["expiry"].isin(expiries)].reset_index(drop=True), quoted


def chain_rows(snaps: list[Any]) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    """Canonical rows of Polygon option-contract snapshots, and the latest quote time."""
    records = []
    stamps = []
    for snap in snaps:
        details = snap.details
        if details is None or details.strike_price is None or details.expiration_date is None:
            continue
        quote, trade, day, under = snap.last_quote, snap.last_trade, snap.day, snap.underlying_asset
        if quote is not None and quote.last_updated:
            stamps.append(int(quote.last_updated))
        records.append(
            {
                "expiry": pd.Timestamp(details.expiration_date),
                "strike": float(details.strike_price),
                "kind": details.contract_type,
                "bid": None if quote is None else quote.bid,
                "ask": None if quote is None else quote.ask,
                "last": None if trade is None else trade.price,
                "volume": None if day is None else day.volume,
                "open_interest": snap.open_interest,
                "implied_vol": snap.implied_volatility,
                "spot": None if under is None else under.price,
                "lot_size": details.shares_per_contract,
            }
        )
    quoted = pd.Timestamp(max(stamps), unit="ns", tz="UTC") if stamps else None
    return pd.DataFrame.from_records(records), quoted


__all__ = ["PolygonBars", "PolygonChains", "call", "chain_rows", "ticker_of"]
