"""Upstox (API v2/v3, through the official ``upstox-python-sdk``): NSE bars and option chains.

- **Symbols.** Upstox names instruments by instrument key: indices are fixed
  (``^NSEI``/``NIFTY`` -> ``NSE_INDEX|Nifty 50``, ``^NSEBANK`` -> ``NSE_INDEX|Nifty Bank``,
  ``^INDIAVIX`` -> ``NSE_INDEX|India VIX``), a key with ``|`` passes as given, and an NSE
  equity is found by ``InstrumentsApi.search_instrument`` (its ``trading_symbol``).
- **Bars.** ``HistoryV3Api.get_historical_candle_data1(key, unit, interval, to_date,
  from_date)``: ``data.candles`` rows ``[timestamp (+05:30), open, high, low, close, volume,
  oi]``, newest first. At most a decade of daily bars a request, a month of 1-15 minute bars,
  a quarter above 15 minutes (the v3 docs' limits).
- **Chains.** ``OptionsApi.get_option_contracts`` (expiries, lot sizes) then
  ``get_put_call_option_chain`` per expiry: per strike ``call_options``/``put_options`` with
  ``market_data`` (``bid_price``, ``ask_price``, ``ltp``, ``volume``, ``oi``) and
  ``option_greeks.iv`` (percent), and ``underlying_spot_price``.
- **Limits** (Upstox's standard API limits): 50 requests a second, 500 a minute, 2,000 in
  30 minutes; paced at 500 a minute.
- **Errors.** The SDK raises ``ApiException`` with the HTTP status and a body ``{"status":
  "error", "errors": [{"errorCode", "message"}]}``: 401 (UDAPI100050, a token that is invalid
  or expired: tokens expire at 3:30 a.m. IST every day) is a credential error, 429
  (UDAPI10005) is retried with backoff.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

import pandas as pd

from quantalloc.data.chain_layouts import upstox_strike_records
from quantalloc.data.vendors.bars import VendorBars, bars_frame
from quantalloc.data.vendors.chains import VendorChains
from quantalloc.data.vendors.common import RateLimit, VendorAccess, client_library, one_line, scrub
from quantalloc.data.vendors.errors import (
    CredentialsError,
    RateLimited,
    UnknownSymbolError,
    VendorError,
    VendorUnavailableError,
)

VENDOR = "upstox"

INDEX_KEYS = {
    "^NSEI": "NSE_INDEX|Nifty 50",
    "NIFTY": "NSE_INDEX|Nifty 50",
    "NIFTY50": "NSE_INDEX|Nifty 50",
    "^NSEBANK": "NSE_INDEX|Nifty Bank",
    "BANKNIFTY": "NSE_INDEX|Nifty Bank",
    "^INDIAVIX": "NSE_INDEX|India VIX",
    "INDIAVIX": "NSE_INDEX|India VIX",
    "FINNIFTY": "NSE_INDEX|Nifty Fin Service",
}


@dataclass
class UpstoxClient:
    """The three SDK API objects the data source uses."""

    history: Any
    options: Any
    instruments: Any


def connect(credentials: dict[str, str]) -> UpstoxClient:
    """SDK API objects authorised by the access token."""
    upstox_client = client_library(VENDOR, "upstox_client")
    configuration = upstox_client.Configuration()
    configuration.access_token = credentials["UPSTOX_ACCESS_TOKEN"]
    api = upstox_client.ApiClient(configuration)
    return UpstoxClient(
        history=upstox_client.HistoryV3Api(api),
        options=upstox_client.OptionsApi(api),
        instruments=upstox_client.InstrumentsApi(api),
    )


def _errors(exc: Any) -> tuple[str, str]:
    body = getattr(exc, "body", None)
    try:
        doc = json.loads(body) if isinstance(body, str | bytes) else {}
        first = (doc.get("errors") or [{}])[0]
        code = str(first.get("errorCode") or first.get("error_code") or "")
        return code, str(first.get("message") or "")
    except (ValueError, AttributeError, TypeError, IndexError):
        return "", str(body or getattr(exc, "reason", "") or "")


def call(fn: Any, what: str, secrets: dict[str, str]) -> Any:
    """``fn()`` with Upstox's errors turned into quantalloc's (see the module notes)."""
    try:
        return fn()
    except Exception as exc:
        status = getattr(exc, "status", None)
        if status is None:
            if type(exc).__module__.startswith(("urllib3", "socket")) or isinstance(exc, OSError):
                raise VendorUnavailableError(
                    f"upstox could not be reached for {what} "
                    f"({one_line(scrub(str(exc), secrets), 120)}); check the network and retry",
                    vendor=VENDOR,
                ) from None
            raise
        code, message = _errors(exc)
        said = one_line(scrub(f"HTTP {status} {code} {message}".replace("  ", " "), secrets), 140)
        if status == 401 or code in ("UDAPI100050", "UDAPI100016"):
            raise CredentialsError(
                f"upstox rejected the access token ({said}); it is invalid or has expired "
                f"({_Upstox.credentials_hint}): set a fresh UPSTOX_ACCESS_TOKEN",
                vendor=VENDOR,
            ) from None
        if status == 429 or code == "UDAPI10005":
            raise RateLimited(said) from None
        raise VendorError(f"upstox refused {what} ({said})", vendor=VENDOR) from None


def _plain(obj: Any) -> Any:
    """An SDK model (or a dict) as plain dicts and lists."""
    return obj.to_dict() if hasattr(obj, "to_dict") else obj


def resolve(client: UpstoxClient, symbol: str, secrets: dict[str, str]) -> str:
    """The instrument key of ``symbol`` (see the module notes)."""
    name = symbol.strip().upper().removesuffix(".NS")
    if "|" in symbol:
        return symbol.strip()
    if name in INDEX_KEYS:
        return INDEX_KEYS[name]
    got = call(
        lambda: client.instruments.search_instrument(name, exchanges="NSE", segments="EQ"),
        f"the instrument search for {name}",
        secrets,
    )
    rows = _plain(got).get("data") or []
    for row in rows:
        if str(row.get("trading_symbol", "")).upper() == name and row.get("instrument_key"):
            return str(row["instrument_key"])
    raise UnknownSymbolError(
        f"{symbol}: upstox lists no NSE equity with trading symbol {name}; use the NSE symbol "
        "(e.g. RELIANCE), an index (^NSEI, ^NSEBANK, ^INDIAVIX) or an instrument key "
        "(NSE_EQ|ISIN)",
        vendor=VENDOR,
    )


class _Upstox(VendorAccess):
    """Upstox's identity, limit and client, shared by its bars and chains."""

    vendor = VENDOR
    env_vars = ("UPSTOX_ACCESS_TOKEN",)
    credentials_hint = (
        "log in through your app in the Upstox developer console; tokens expire daily at 3:30 IST"
    )
    markets: ClassVar[tuple[str, ...]] = ("in",)
    rate_limit = RateLimit(
        500, 60.0, "50 requests a second, 500 a minute, 2,000 in 30 minutes (Upstox)"
    )

    def _connect(self, credentials: dict[str, str]) -> Any:
        return connect(credentials)


class UpstoxBars(_Upstox, VendorBars):
    """NSE daily and intraday bars from Upstox (see the module notes)."""

    intraday_minutes = None

    def span_days(self) -> int:
        if self.interval.daily:
            return 3650
        return 28 if self.interval.minutes <= 15 else 89

    def _resolve(self, symbol: str) -> Any:
        return resolve(self.client(), symbol, self._secrets)

    def _fetch_chunk(self, ref: Any, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        client = self.client()
        unit, size = ("days", 1) if self.interval.daily else ("minutes", self.interval.minutes)
        got = call(
            lambda: client.history.get_historical_candle_data1(
                ref, unit, size, str(end.date()), str(start.date())
            ),
            f"the candles of {ref}",
            self._secrets,
        )
        candles = (_plain(got).get("data") or {}).get("candles") or []
        table = pd.DataFrame(
            [row[:6] for row in candles],
            columns=["stamp", "open", "high", "low", "close", "volume"],
        )
        local = table["stamp"].astype(str).str.replace(r"([+-]\d{2}:?\d{2}|Z)$", "", regex=True)
        return bars_frame(
            pd.to_datetime(local, format="mixed"),
            table,
            timezone=self.market.timezone,
            daily=self.interval.daily,
        )


class UpstoxChains(_Upstox, VendorChains):
    """The current NSE option chains from Upstox, snapshot on disk (see the module notes)."""

    def _fetch_chain(self, name: str) -> tuple[pd.DataFrame, pd.Timestamp | None]:
        client: UpstoxClient = self.client()
        key = resolve(client, name, self._secrets)
        got = self.pacer.call(
            lambda: call(
                lambda: client.options.get_option_contracts(key),
                f"the option contracts of {name}",
                self._secrets,
            ),
            f"the upstox option contracts of {name}",
        )
        contracts = pd.DataFrame(_plain(got).get("data") or [])
        if contracts.empty or "expiry" not in contracts:
            raise UnknownSymbolError(
                f"{name}: upstox lists no option contracts on {key}; the symbol has no NSE options",
                vendor=VENDOR,
            )
        lots: dict[pd.Timestamp, float] = {}
        for expiry, lot in zip(contracts["expiry"], contracts["lot_size"], strict=True):
            day = _day(expiry)
            lots[day] = max(lots.get(day, 0.0), float(lot))
        today = self.current_session()
        expiries = sorted(e for e in lots if e >= today)[: self.max_expiries]

        def one(day: str) -> Any:
            return call(
                lambda: client.options.get_put_call_option_chain(key, day),
                f"the {day} option chain of {name}",
                self._secrets,
            )

        frames = []
        for expiry in expiries:
            label = str(expiry.date())
            body = self.pacer.call(
                partial(one, label), f"the upstox {label} option chain of {name}"
            )
            rows = chain_rows(_plain(body).get("data") or [])
            frames.append(rows.assign(lot_size=lots[expiry]))
        return pd.concat(frames, ignore_index=True), None


def _day(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize(None) if stamp.tzinfo is not None else stamp).normalize()


def chain_rows(strikes: list[dict[str, Any]]) -> pd.DataFrame:
    """Canonical chain rows of an Upstox put-call option chain (its ``data`` list)."""
    records = [r for row in strikes for r in upstox_strike_records(row, _day(row["expiry"]))]
    return pd.DataFrame.from_records(records)


__all__ = ["UpstoxBars", "UpstoxChains", "UpstoxClient", "call", "chain_rows", "resolve"]
