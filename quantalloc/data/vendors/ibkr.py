"""Interactive Brokers market data (through ``ib_async``, on a TWS or IB Gateway session).

This is the data side only; orders go through the service's broker adapter
(:mod:`quantalloc.service.trading.ib`), which connects with its own client id.

- **Connection.** ``IB_HOST`` (default 127.0.0.1), ``IB_PORT`` (7497/7496 TWS paper/live,
  4002/4001 Gateway) and ``IB_CLIENT_ID`` (default 31, apart from the traders' ids). The login
  lives in TWS or the Gateway; when it has lapsed, nothing answers on the port.
- **Symbols.** US: ``Stock(SYM, "SMART", "USD")``, ``^VIX``/``^GSPC`` as CBOE indices; India:
  ``Stock(SYM, "NSE", "INR")``, ``^NSEI`` -> index ``NIFTY50``, ``^INDIAVIX`` -> ``INDIAVIX``.
  An empty ``qualifyContracts`` (IB error 200) is an unknown symbol.
- **Bars.** ``reqHistoricalData`` (``TRADES``; daily bars in the regular session, minute bars
  with the extended one, ``formatDate=2`` for UTC stamps), at most a year of daily bars and a
  week (under 5 minutes) or a month of minute bars per request.
- **Chains.** ``reqSecDefOptParams`` (expiries, strikes, multiplier), then snapshot tickers of
  the strikes within ``strike_window`` of the price for the nearest expiries: bid, ask, last,
  volume and the model's implied vol.
- **Limits** (IB's historical-data pacing rules): at most 60 requests in any 10 minutes and
  no identical request within 15 seconds, so requests are spaced 10 seconds; an error 162
  "pacing violation" is retried with backoff.
- **Errors** arrive on ``errorEvent``: 162 pacing (retried) or "no data" (empty), 200 (unknown
  contract), 354/10089/10090/10168 (no market-data subscription), 502/504/1100 (no
  connection).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time
from functools import partial
from typing import Any, ClassVar

import pandas as pd

from quantalloc.data.vendors.bars import DAY, VendorBars, bars_frame
from quantalloc.data.vendors.chains import VendorChains
from quantalloc.data.vendors.common import RateLimit, VendorAccess, client_library, one_line
from quantalloc.data.vendors.errors import (
    RateLimited,
    UnknownSymbolError,
    VendorError,
    VendorUnavailableError,
)
from quantalloc.errors import ConfigError

VENDOR = "ibkr"
_NO_SUBSCRIPTION = (354, 10089, 10090, 10168)
_NO_CONNECTION = (502, 504, 1100, 2110)
_INDICES = {
    "us": {"^VIX": ("VIX", "CBOE"), "^GSPC": ("SPX", "CBOE"), "^SPX": ("SPX", "CBOE")},
    "in": {
        "^NSEI": ("NIFTY50", "NSE"),
        "NIFTY": ("NIFTY50", "NSE"),
        "^NSEBANK": ("BANKNIFTY", "NSE"),
        "BANKNIFTY": ("BANKNIFTY", "NSE"),
        "^INDIAVIX": ("INDIAVIX", "NSE"),
    },
}
_CURRENCY = {"us": "USD", "in": "INR"}


def connect(credentials: dict[str, str], env: Any = None) -> Any:
    """An ``ib_async.IB`` connected to the TWS/Gateway on ``IB_HOST``:``IB_PORT``."""
    from quantalloc.data.vendors.common import default_env

    IB = client_library(VENDOR, "ib_async").IB
    values = default_env() if env is None else env
    host = str(values.get("IB_HOST") or "127.0.0.1").strip()
    try:
        port = int(credentials["IB_PORT"])
        client_id = int(values.get("IB_CLIENT_ID") or 31)
    except ValueError:
        raise ConfigError(
            "IB_PORT and IB_CLIENT_ID must be whole numbers (e.g. IB_PORT=7497)"
        ) from None
    ib = IB()
    try:
        ib.connect(host, port, clientId=client_id, readonly=True, timeout=10)
    except (OSError, TimeoutError) as exc:
        raise VendorUnavailableError(
            f"ibkr: nothing answers at {host}:{port} ({one_line(exc, 80)}); "
            f"{_Ibkr.credentials_hint} (IB_HOST, IB_PORT); a lapsed login closes the port too",
            vendor=VENDOR,
        ) from None
    return ib


@contextmanager
def collected_errors(ib: Any) -> Iterator[list[tuple[int, str]]]:
    """The (code, message) errors IB reports while the block runs."""
    seen: list[tuple[int, str]] = []

    def on_error(req_id: int, code: int, message: str, contract: Any = None) -> None:
        seen.append((int(code), str(message)))

    ib.errorEvent += on_error
    try:
        yield seen
    finally:
        ib.errorEvent -= on_error


def raise_for(errors: list[tuple[int, str]], what: str) -> None:
    """Turn the errors IB reported for ``what`` into quantalloc's (see the module notes)."""
    for code, message in errors:
        said = f"IB error {code}: {one_line(message, 120)}"
        if code == 162 and "pacing" in message.lower():
            raise RateLimited(said)
        if code == 200:
            raise UnknownSymbolError(f"ibkr knows no {what} ({said})", vendor=VENDOR)
        if code in _NO_SUBSCRIPTION:
            raise VendorError(
                f"ibkr has no market-data subscription for {what} ({said}); subscribe to the "
                "exchange's data in Client Portal (Settings > Market Data Subscriptions)",
                vendor=VENDOR,
            )
        if code in _NO_CONNECTION:
            raise VendorUnavailableError(
                f"ibkr lost its connection while asking for {what} ({said}); check TWS or the "
                "Gateway and its login",
                vendor=VENDOR,
            )


def contract_of(symbol: str, market: str) -> Any:
    """The unqualified ``ib_async`` contract of ``symbol`` in ``market``."""
    from ib_async import Index, Stock

    name = symbol.strip().upper()
    currency = _CURRENCY[market]
    if name in _INDICES[market]:
        ib_symbol, exchange = _INDICES[market][name]
        return Index(ib_symbol, exchange, currency)
    exchange = "SMART" if market == "us" else "NSE"
    return Stock(name.removesuffix(".NS"), exchange, currency)


def qualify(ib: Any, symbol: str, market: str) -> Any:
    """The qualified contract of ``symbol``; UnknownSymbolError when IB has none."""
    with collected_errors(ib) as errors:
        found = ib.qualifyContracts(contract_of(symbol, market))
    if not found:
        codes = ", ".join(str(c) for c, _ in errors) or "none"
        raise UnknownSymbolError(
            f"{symbol}: ibkr has no contract for it in the {market} market (IB errors: {codes}); "
            "use the exchange's ticker (e.g. SPY, RELIANCE) or an index (^VIX, ^NSEI)",
            vendor=VENDOR,
        )
    return found[0]


def bar_size(minutes: int) -> str:
    """IB's ``barSizeSetting`` for a bar of ``minutes`` (0: one day)."""
    sizes = {0: "1 day", 1: "1 min", 60: "1 hour", 120: "2 hours", 240: "4 hours"}
    if minutes in sizes:
        return sizes[minutes]
    if minutes in (2, 3, 5, 10, 15, 20, 30):
        return f"{minutes} mins"
    raise ConfigError(
        f"ibkr has no {minutes}-minute bars; use 1, 2, 3, 5, 10, 15, 20, 30, 60, 120 or 240"
    )


class _Ibkr(VendorAccess):
    """Interactive Brokers' identity and client, shared by its bars and chains."""

    vendor = VENDOR
    env_vars = ("IB_PORT",)
    credentials_hint = "start TWS or IB Gateway, log in, enable API connections, and give its port"
    markets: ClassVar[tuple[str, ...]] = ("us", "in")

    def _connect(self, credentials: dict[str, str]) -> Any:
        return connect(credentials, self._env)


class IbkrBars(_Ibkr, VendorBars):
    """Daily and minute bars from Interactive Brokers (see the module notes)."""

    intraday_minutes = (1, 2, 3, 5, 10, 15, 20, 30, 60, 120, 240)
    rate_limit = RateLimit(
        60, 600.0, "60 historical-data requests in any 10 minutes (IB pacing rules)"
    )

    def span_days(self) -> int:
        if self.interval.daily:
            return 365
        return 7 if self.interval.minutes < 5 else 30

    def _resolve(self, symbol: str) -> Any:
        return qualify(self.client(), symbol, self.market.name)

    def _fetch_chunk(self, ref: Any, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        ib = self.client()
        tz = self.market.timezone
        close = pd.Timestamp(datetime.combine((end + DAY).date(), time())).tz_localize(tz)
        days = (end - start).days + 1
        with collected_errors(ib) as errors:
            bars = ib.reqHistoricalData(
                ref,
                endDateTime=close.to_pydatetime(),
                durationStr=f"{days} D",
                barSizeSetting=bar_size(self.interval.minutes),
                whatToShow="TRADES",
                useRTH=self.interval.daily,
                formatDate=2,
            )
        raise_for(errors, f"the bars of {getattr(ref, 'symbol', ref)}")
        stamps = [pd.Timestamp(b.date) for b in bars]
        if stamps and stamps[0].tzinfo is None and not self.interval.daily:
            stamps = [s.tz_localize("UTC") for s in stamps]
        table = {
            "open": [b.open for b in bars],
            "high": [b.high for b in bars],
            "low": [b.low for b in bars],
            "close": [b.close for b in bars],
            "volume": [max(float(b.volume), 0.0) for b in bars],
        }
        frame = bars_frame(stamps, table, timezone=tz, daily=self.interval.daily)
        return frame.loc[(frame.index >= start) & (frame.index < end + DAY)]


def _price(value: Any) -> float:
    """IB's price field as a float; NaN where IB has none (NaN, or -1 for "no quote")."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) and number >= 0 else math.nan


class IbkrChains(_Ibkr, VendorChains):
    """The current option chains from Interactive Brokers, snapshot on disk."""

    rate_limit = RateLimit(1, 1.0, "1 snapshot batch a second (IB market-data lines)")
    strike_window = 0.2
    batch = 50

    def _fetch_chain(self, name: str) -> tuple[pd.DataFrame, pd.Timestamp | None]:
        from ib_async import Option

        ib = self.client()
        symbol = {"NIFTY": "^NSEI", "BANKNIFTY": "^NSEBANK", "SPX": "^SPX"}.get(name, name)
        under = qualify(ib, symbol, self.market.name)
        [ticker] = self.pacer.call(lambda: ib.reqTickers(under), f"the price of {name}")
        spot = _price(ticker.marketPrice())
        with collected_errors(ib) as errors:
            chains = ib.reqSecDefOptParams(under.symbol, "", under.secType, under.conId)
        raise_for(errors, f"the option chain of {name}")
        wanted = "SMART" if self.market.name == "us" else "NSE"
        chains = [c for c in chains if c.exchange == wanted and c.tradingClass == under.symbol] or [
            c for c in chains if c.exchange == wanted
        ]
        if not chains or math.isnan(spot):
            raise UnknownSymbolError(
                f"{name}: ibkr lists no {wanted} options on it (or no price to centre the "
                "strikes on)",
                vendor=VENDOR,
            )
        chain = chains[0]
        today = self.current_session().strftime("%Y%m%d")
        expiries = sorted(e for e in chain.expirations if e >= today)[: self.max_expiries]
        lo, hi = spot * (1 - self.strike_window), spot * (1 + self.strike_window)
        strikes = sorted(k for k in chain.strikes if lo <= k <= hi)
        contracts = [
            Option(
                under.symbol,
                e,
                k,
                right,
                wanted,
                tradingClass=chain.tradingClass,
                multiplier=chain.multiplier,
                currency=_CURRENCY[self.market.name],
            )
            for e in expiries
            for k in strikes
            for right in ("C", "P")
        ]
        qualified = ib.qualifyContracts(*contracts)
        tickers: list[Any] = []
        for i in range(0, len(qualified), self.batch):
            part = qualified[i : i + self.batch]
            tickers += self.pacer.call(partial(ib.reqTickers, *part), "option quotes")
        return chain_rows(tickers, spot, float(chain.multiplier or 0) or math.nan)


def chain_rows(tickers: list[Any], spot: float, multiplier: float) -> tuple[pd.DataFrame, Any]:
    """Canonical rows of IB option tickers, and the latest quote time."""
    records = []
    times = []
    for t in tickers:
        c = t.contract
        greeks = t.modelGreeks
        if t.time is not None:
            times.append(pd.Timestamp(t.time))
        records.append(
            {
                "expiry": pd.Timestamp(c.lastTradeDateOrContractMonth[:8]),
                "strike": float(c.strike),
                "kind": "call" if c.right.upper().startswith("C") else "put",
                "bid": _price(t.bid),
                "ask": _price(t.ask),
                "last": _price(t.last),
                "volume": _price(t.volume),
                "implied_vol": None if greeks is None else greeks.impliedVol,
                "spot": spot,
                "lot_size": multiplier,
            }
        )
    return pd.DataFrame.from_records(records), (max(times) if times else None)


__all__ = ["IbkrBars", "IbkrChains", "bar_size", "chain_rows", "contract_of", "raise_for"]
