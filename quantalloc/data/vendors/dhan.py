"""Dhan (DhanHQ API v2, through the official ``dhanhq`` client): NSE bars and option chains.

- **Symbols.** Dhan names instruments by security id. Ids come from Dhan's scrip master
  (``api-scrip-master.csv``, fetched by the client's ``fetch_security_list`` and kept a day in
  ``CACHE_ROOT/dhan``): NSE equities by trading symbol (``RELIANCE``, ``RELIANCE.NS``), indices
  by name (``^NSEI``/``NIFTY``, ``^NSEBANK``/``BANKNIFTY``, ``^INDIAVIX``/``INDIA VIX``).
- **Bars.** ``historical_daily_data`` (daily, back to listing) and ``intraday_minute_data``
  (1, 5, 15, 25 or 60 minutes, at most 90 days a request). Dhan answers arrays ``open, high,
  low, close, volume, timestamp`` (epoch seconds) with ``toDate`` excluded.
- **Chains.** ``expiry_list`` then ``option_chain`` per expiry: ``data.last_price`` and
  ``data.oc["<strike>"]["ce"|"pe"]`` with ``top_bid_price``, ``top_ask_price``, ``last_price``,
  ``volume``, ``oi`` and ``implied_volatility`` (percent); lot sizes from the scrip master.
- **Limits** (DhanHQ v2 docs): data APIs 5 requests a second (100,000 a day); the option-chain
  APIs one request every 3 seconds.
- **Errors.** The client returns ``{"status": "failure", "remarks": {"error_code", ...}}``:
  DH-901 / 807-810 (invalid or expired token) and DH-902 / 806 (no Data API subscription) are
  credential errors, DH-904 / 805 are retried with backoff, DH-907 (no data) is an empty answer;
  a text remark (a connection failure) makes Dhan unavailable.
"""

from __future__ import annotations

from functools import lru_cache, partial
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from quantalloc.data.chain_source import chain_symbol
from quantalloc.data.vendors.bars import DAY, VendorBars, bars_frame
from quantalloc.data.vendors.chains import VendorChains
from quantalloc.data.vendors.common import RateLimit, VendorAccess, client_library, one_line, scrub
from quantalloc.data.vendors.errors import (
    CredentialsError,
    RateLimited,
    UnknownSymbolError,
    VendorError,
    VendorUnavailableError,
)

VENDOR = "dhan"
INTRADAY_MINUTES = (1, 5, 15, 25, 60)

INDEX_NAMES = {
    "^NSEI": "NIFTY",
    "NIFTY": "NIFTY",
    "NIFTY50": "NIFTY",
    "^NSEBANK": "BANKNIFTY",
    "BANKNIFTY": "BANKNIFTY",
    "^INDIAVIX": "INDIA VIX",
    "INDIAVIX": "INDIA VIX",
    "INDIA VIX": "INDIA VIX",
    "FINNIFTY": "FINNIFTY",
}
_AUTH_CODES = ("DH-901", "807", "808", "809", "810")
_ACCESS_CODES = ("DH-902", "806")
_RATE_CODES = ("DH-904", "805")
_NO_DATA_CODES = ("DH-907",)


def connect(credentials: dict[str, str]) -> Any:
    """The ``dhanhq`` client for ``credentials``."""
    library = client_library(VENDOR, "dhanhq")
    context = library.DhanContext(credentials["DHAN_CLIENT_ID"], credentials["DHAN_ACCESS_TOKEN"])
    return library.dhanhq(context)


def unwrap(response: Any, what: str, secrets: dict[str, str]) -> Any:
    """The ``data`` of a ``dhanhq`` response, or the error it carries (see the module notes);
    None for DH-907 (no data for the request)."""
    if not isinstance(response, dict):
        raise VendorError(f"dhan answered {what} with {type(response).__name__}", vendor=VENDOR)
    if response.get("status") == "success":
        return response.get("data")
    remarks = response.get("remarks")
    if not isinstance(remarks, dict):
        raise VendorUnavailableError(
            f"dhan could not be reached for {what} ({one_line(scrub(str(remarks), secrets))}); "
            "check the network and retry",
            vendor=VENDOR,
        )
    code = str(remarks.get("error_code") or "").strip()
    message = one_line(scrub(str(remarks.get("error_message") or ""), secrets), 120)
    said = f"{code}: {message}" if code else message
    if code in _AUTH_CODES:
        raise CredentialsError(
            f"dhan rejected the credentials ({said}); the access token is invalid or has "
            f"expired: make a new one ({_Dhan.credentials_hint}) and set DHAN_ACCESS_TOKEN",
            vendor=VENDOR,
        )
    if code in _ACCESS_CODES:
        raise CredentialsError(
            f"dhan refused {what} ({said}); the account has no Data API subscription: "
            "subscribe to Data APIs on web.dhan.co",
            vendor=VENDOR,
        )
    if code in _RATE_CODES:
        raise RateLimited(said)
    if code in _NO_DATA_CODES:
        return None
    raise VendorError(f"dhan refused {what} ({said})", vendor=VENDOR)


@lru_cache(maxsize=2)
def _read_master(path: Path, mtime: float) -> pd.DataFrame:
    table = pd.read_csv(path, low_memory=False, dtype=str)
    table.columns = [str(c).strip() for c in table.columns]
    return table


class ScripMaster:
    """Dhan's scrip master: security ids and lot sizes, fetched once a day."""

    def __init__(self, cache_dir: Path) -> None:
        self.path = cache_dir / "api-scrip-master.csv"
        self._table: pd.DataFrame | None = None

    def table(self, client: Any) -> pd.DataFrame:
        if self._table is None:
            fresh = self.path.is_file() and (
                pd.Timestamp.now().timestamp() - self.path.stat().st_mtime < 86400
            )
            if not fresh:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                got = client.fetch_security_list("compact", filename=str(self.path))
                if got is None and not self.path.is_file():
                    raise VendorUnavailableError(
                        "dhan's scrip master (api-scrip-master.csv) could not be downloaded; "
                        "check the network and retry",
                        vendor=VENDOR,
                    )
            self._table = _read_master(self.path, self.path.stat().st_mtime)
        return self._table

    def resolve(self, client: Any, symbol: str) -> tuple[str, str, str]:
        """``(security_id, exchange_segment, instrument)`` of ``symbol``."""
        table = self.table(client)
        name = symbol.strip().upper().removesuffix(".NS")
        nse = table["SEM_EXM_EXCH_ID"].str.upper() == "NSE"
        index = INDEX_NAMES.get(name)
        if index is not None:
            rows = table.loc[
                nse
                & (table["SEM_INSTRUMENT_NAME"].str.upper() == "INDEX")
                & (table["SEM_TRADING_SYMBOL"].str.upper() == index)
            ]
            segment, instrument = "IDX_I", "INDEX"
        else:
            series = table.get("SEM_SERIES", pd.Series("EQ", index=table.index)).fillna("EQ")
            rows = table.loc[
                nse
                & (table["SEM_INSTRUMENT_NAME"].str.upper() == "EQUITY")
                & (table["SEM_TRADING_SYMBOL"].str.upper() == name)
                & (series.str.upper() == "EQ")
            ]
            segment, instrument = "NSE_EQ", "EQUITY"
        if rows.empty:
            raise UnknownSymbolError(
                f"{symbol}: dhan's scrip master lists no NSE {instrument.lower()} "
                f"{index or name}; use the NSE trading symbol (e.g. RELIANCE) or an index "
                "(^NSEI, ^NSEBANK, ^INDIAVIX)",
                vendor=VENDOR,
            )
        return str(rows["SEM_SMST_SECURITY_ID"].iloc[0]).strip(), segment, instrument

    def lot_sizes(self, client: Any, name: str) -> dict[pd.Timestamp, float]:
        """Lot size of ``name``'s options by expiry (midnight stamps)."""
        table = self.table(client)
        opts = table.loc[
            (table["SEM_EXM_EXCH_ID"].str.upper() == "NSE")
            & table["SEM_INSTRUMENT_NAME"].str.upper().isin(["OPTIDX", "OPTSTK"])
            & table["SEM_TRADING_SYMBOL"].str.upper().str.startswith(f"{name}-")
        ]
        if opts.empty:
            return {}
        expiry = pd.to_datetime(opts["SEM_EXPIRY_DATE"], errors="coerce").dt.normalize()
        lots = pd.to_numeric(opts["SEM_LOT_UNITS"], errors="coerce")
        pairs = pd.DataFrame({"expiry": expiry, "lot": lots}).dropna()
        by_expiry = pairs.groupby("expiry")["lot"].max()
        return {pd.Timestamp(str(k)): float(v) for k, v in by_expiry.items()}


class _Dhan(VendorAccess):
    """Dhan's identity and client, shared by its bars and chains."""

    vendor = VENDOR
    env_vars = ("DHAN_CLIENT_ID", "DHAN_ACCESS_TOKEN")
    credentials_hint = "web.dhan.co > My Profile > DhanHQ Trading APIs makes a 30-day access token"
    markets: ClassVar[tuple[str, ...]] = ("in",)

    def _connect(self, credentials: dict[str, str]) -> Any:
        return connect(credentials)


class DhanBars(_Dhan, VendorBars):
    """NSE daily and intraday bars from Dhan (see the module notes)."""

    intraday_minutes = INTRADAY_MINUTES
    chunk_days = (3650, 90)
    rate_limit = RateLimit(5, 1.0, "5 data requests per second (DhanHQ v2)")

    def _resolve(self, symbol: str) -> Any:
        master = ScripMaster(self.cache_dir.parent)
        return master.resolve(self.client(), symbol)

    def _fetch_chunk(self, ref: Any, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        security_id, segment, instrument = ref
        client = self.client()
        what = f"bars of security {security_id}"
        if self.interval.daily:
            response = client.historical_daily_data(
                security_id, segment, instrument, str(start.date()), str((end + DAY).date())
            )
        else:
            response = client.intraday_minute_data(
                security_id,
                segment,
                instrument,
                f"{start.date()} 00:00:00",
                f"{(end + DAY).date()} 00:00:00",
                interval=self.interval.minutes,
            )
        data = unwrap(response, what, self._secrets) or {}
        stamps = pd.to_datetime(list(data.get("timestamp", [])), unit="s", utc=True)
        return bars_frame(stamps, data, timezone=self.market.timezone, daily=self.interval.daily)


class DhanChains(_Dhan, VendorChains):
    """The current NSE option chains from Dhan, snapshot on disk (see the module notes)."""

    rate_limit = RateLimit(1, 3.0, "1 option-chain request every 3 seconds (DhanHQ v2)")

    def _fetch_chain(self, name: str) -> tuple[pd.DataFrame, pd.Timestamp | None]:
        client = self.client()
        master = ScripMaster(self.cache_dir.parent)
        security_id, segment, _ = master.resolve(client, name)
        under_segment = "IDX_I" if segment == "IDX_I" else "NSE_FNO"
        listed = self.pacer.call(
            lambda: unwrap(
                client.expiry_list(int(security_id), under_segment),
                f"the expiry list of {name}",
                self._secrets,
            ),
            f"the dhan expiry list of {name}",
        )
        expiries = sorted(str(e) for e in _inner(listed) or [])
        today = str(self.current_session().date())
        expiries = [e for e in expiries if e >= today][: self.max_expiries]
        if not expiries:
            raise UnknownSymbolError(
                f"{name}: dhan lists no option expiries for it; the symbol has no NSE options",
                vendor=VENDOR,
            )
        lots = master.lot_sizes(client, chain_symbol(name))

        def one(expiry: str) -> Any:
            answer = client.option_chain(int(security_id), under_segment, expiry)
            return unwrap(answer, f"the {expiry} option chain of {name}", self._secrets)

        frames = []
        for expiry in expiries:
            got = self.pacer.call(partial(one, expiry), f"the dhan {expiry} option chain of {name}")
            frames.append(chain_rows(_inner(got) or {}, expiry, lots))
        return pd.concat(frames, ignore_index=True), None


def _inner(data: Any) -> Any:
    """The body's ``data`` member (the client wraps the whole body as its ``data``)."""
    return data.get("data") if isinstance(data, dict) and "data" in data else data


def chain_rows(body: dict[str, Any], expiry: str, lots: dict[pd.Timestamp, float]) -> pd.DataFrame:
    """Canonical chain rows of one Dhan ``option_chain`` answer (``last_price`` and ``oc``)."""
    spot = body.get("last_price")
    lot = lots.get(pd.Timestamp(expiry).normalize(), float("nan"))
    records = []
    for strike, sides in (body.get("oc") or {}).items():
        for kind, key in (("call", "ce"), ("put", "pe")):
            side = (sides or {}).get(key)
            if not isinstance(side, dict):
                continue
            iv = side.get("implied_volatility")
            records.append(
                {
                    "expiry": expiry,
                    "strike": float(strike),
                    "kind": kind,
                    "bid": side.get("top_bid_price"),
                    "ask": side.get("top_ask_price"),
                    "last": side.get("last_price"),
                    "volume": side.get("volume"),
                    "open_interest": side.get("oi"),
                    "implied_vol": None if iv is None else float(iv) / 100.0,
                    "spot": spot,
                    "lot_size": lot,
                }
            )
    return pd.DataFrame.from_records(records)


__all__ = ["DhanBars", "DhanChains", "ScripMaster", "chain_rows", "unwrap"]
