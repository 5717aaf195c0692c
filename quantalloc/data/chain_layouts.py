"""Option-chain file layouts: recognise a file by its header and turn it into canonical columns.

Every parser returns a frame with the columns of :data:`quantalloc.data.chains.CHAIN_COLUMNS`
(missing ones are filled later by :func:`quantalloc.data.chains.validate_chain`). Layouts:

``nse_fo``
    NSE's F&O end-of-day bhavcopy in the UDiFF layout (``TradDt, TckrSymb, XpryDt, StrkPric,
    OptnTp, ClsPric, SttlmPric, UndrlygPric, OpnIntrst, TtlTradgVol, NewBrdLotQty, ...``).
    Option rows only; ``last`` is the session's close ``ClsPric``, ``settlement`` is
    ``SttlmPric``, ``spot`` the underlying's close, ``lot_size`` ``NewBrdLotQty``. Volume is
    in contracts and open interest in shares in the file; both become contracts here. No
    bid/ask. On an untraded row ``ClsPric`` only repeats an old close, so pricing must read
    ``settlement`` there (see ``quantalloc.options.fills``).
``vendor``
    An end-of-day vendor export (``underlying, underlying_last, exchange, optionroot, type,
    expiration (MM/DD/YYYY), quotedate, strike, last, bid, ask, volume, openinterest,
    impliedvol, ...``), e.g. the SPX/SPXW chains; ``root`` keeps SPX (AM-settled monthlies)
    apart from SPXW (PM-settled weeklies).
``cboe``
    Cboe DataShop's option end-of-day summary (``underlying_symbol, quote_date, root,
    expiration, strike, option_type, close, trade_volume, bid_eod, ask_eod, ...,
    implied_volatility_1545, open_interest``); the end-of-day quotes are used.
``yfinance``
    yfinance ``option_chain`` rows (``ticker, expiry, option_type, strike, lastPrice, bid, ask,
    volume, openInterest, impliedVolatility, ...``, optionally ``S, spot_date,
    downloaded_at_utc``).
``eod``
    An end-of-day vendor layout with spaces after the commas of its header (``date, symbol,
    under, expiration, strike, put/call, bid, ask, price, volume, open interest, implied vol``);
    ``under`` is a ticker, so ``spot`` is NaN; adjusted contracts (root ``SPY7``) are dropped.
``upstox``
    The Upstox option-chain JSON (``{"data": [{"expiry", "strike_price", "underlying_spot_price",
    "call_options": {"market_data", "option_greeks"}, "put_options": ...}]}``); ``iv`` in percent.
    It carries no quote date.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.errors import DataError

KNOWN_LAYOUTS: tuple[str, ...] = ("nse_fo", "vendor", "cboe", "yfinance", "eod", "upstox")

_NSE_REQUIRED = {"traddt", "tckrsymb", "xprydt", "strkpric", "optntp", "sttlmpric"}
_VENDOR_REQUIRED = {"underlying", "optionroot", "type", "expiration", "quotedate", "strike"}
_CBOE_REQUIRED = {"underlying_symbol", "quote_date", "root", "expiration", "strike", "option_type"}
_YF_REQUIRED = {"expiry", "option_type", "strike", "bid", "ask", "impliedvolatility"}
_EOD_REQUIRED = {"expiration", "strike", "put/call", "bid", "ask", "implied vol"}

_NSE_COLUMNS = (
    "TradDt",
    "TckrSymb",
    "FinInstrmTp",
    "XpryDt",
    "StrkPric",
    "OptnTp",
    "ClsPric",
    "SttlmPric",
    "UndrlygPric",
    "OpnIntrst",
    "TtlTradgVol",
    "NewBrdLotQty",
)


def layout_help() -> str:
    """One line naming the layouts a chain file may have."""
    return (
        "known layouts: NSE F&O bhavcopy (UDiFF: TradDt, TckrSymb, XpryDt, StrkPric, OptnTp, ...), "
        "vendor end-of-day (underlying, optionroot, type, expiration, quotedate, strike, ...), "
        "Cboe DataShop (underlying_symbol, quote_date, root, expiration, ...), yfinance "
        "(ticker, expiry, option_type, strike, ..., impliedVolatility), end-of-day "
        "(date, symbol, under, expiration, strike, put/call, ...), Upstox option-chain JSON"
    )


def is_chain_file(path: Path) -> bool:
    """True when ``path`` looks like a chain file by name (``.csv``, ``.json``, maybe gzipped)."""
    name = path.name.lower()
    return name.endswith((".csv", ".csv.gz", ".json", ".json.gz"))


def read_header(path: Path) -> list[str]:
    """The lower-cased, stripped column names of a CSV chain file (gzipped or not)."""
    opener: Callable[..., Any] = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
            first = handle.readline()
    except OSError as exc:
        raise DataError(f"cannot read option chain {path}: {exc}") from exc
    return [c.strip().strip('"').lower() for c in first.strip().split(",")]


def detect_layout(columns: list[str] | set[str]) -> str | None:
    """The CSV layout whose required columns ``columns`` (lower case) hold, else None."""
    cols = set(columns)
    for name, need in (
        ("nse_fo", _NSE_REQUIRED),
        ("vendor", _VENDOR_REQUIRED),
        ("cboe", _CBOE_REQUIRED),
        ("yfinance", _YF_REQUIRED),
        ("eod", _EOD_REQUIRED),
    ):
        if need <= cols:
            return name
    return None


def read_chain_file(path: Path) -> tuple[pd.DataFrame, str]:
    """Parse one chain file into canonical columns; with the layout's name."""
    name = path.name.lower()
    if name.endswith((".json", ".json.gz")):
        return _read_upstox(path), "upstox"
    layout = detect_layout(read_header(path))
    if layout is None:
        raise DataError(
            f"option chain {path} has an unknown layout (columns {read_header(path)[:12]}); "
            + layout_help()
        )
    try:
        if layout == "nse_fo":
            raw = pd.read_csv(path, usecols=list(_NSE_COLUMNS), engine="pyarrow")
        else:
            raw = pd.read_csv(path, skipinitialspace=True)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read option chain {path}: {exc}") from exc
    raw.columns = [str(c).strip() for c in raw.columns]
    lower = {c.lower(): c for c in raw.columns}
    return _PARSERS[layout](raw, lower), layout


def _col(raw: pd.DataFrame, lower: dict[str, str], name: str, default: Any = np.nan) -> Any:
    key = lower.get(name)
    return default if key is None else raw[key].to_numpy()


def _from_nse_fo(raw: pd.DataFrame, lower: dict[str, str]) -> pd.DataFrame:
    # the option rows picked from numpy arrays: a boolean take of the whole arrow-backed frame
    # took half the parse of a 10,000-row bhavcopy (pyarrow's take, column by column)
    keep = raw["OptnTp"].isin(["CE", "PE"]).to_numpy(dtype=bool)

    def column(name: str) -> np.ndarray:
        out: np.ndarray = raw[name].to_numpy()[keep]
        return out

    lot = pd.to_numeric(pd.Series(column("NewBrdLotQty")), errors="coerce").to_numpy(float)
    oi_shares = pd.to_numeric(pd.Series(column("OpnIntrst")), errors="coerce").to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        oi = np.where(lot > 0, oi_shares / lot, np.nan)
    symbol = np.array([str(s).strip() for s in column("TckrSymb")], dtype=object)
    return pd.DataFrame(
        {
            "symbol": symbol,
            "root": symbol,
            "expiry": column("XpryDt"),
            "strike": column("StrkPric"),
            "kind": np.where(column("OptnTp") == "CE", "call", "put"),
            "bid": np.nan,
            "ask": np.nan,
            "last": column("ClsPric"),
            "settlement": column("SttlmPric"),
            "volume": column("TtlTradgVol"),
            "open_interest": oi,
            "implied_vol": np.nan,
            "spot": column("UndrlygPric"),
            "lot_size": lot,
            "as_of": column("TradDt"),
        }
    )


def _from_vendor(raw: pd.DataFrame, lower: dict[str, str]) -> pd.DataFrame:
    root = raw[lower["optionroot"]].astype(str).str.strip().str.extract(r"^([A-Za-z]+)")[0]
    return pd.DataFrame(
        {
            "symbol": raw[lower["underlying"]].astype(str).str.strip().to_numpy(),
            "root": root.to_numpy(),
            "expiry": pd.to_datetime(raw[lower["expiration"]], format="%m/%d/%Y").to_numpy(),
            "strike": raw[lower["strike"]].to_numpy(),
            "kind": raw[lower["type"]].to_numpy(),
            "bid": _col(raw, lower, "bid"),
            "ask": _col(raw, lower, "ask"),
            "last": _col(raw, lower, "last"),
            "volume": _col(raw, lower, "volume"),
            "open_interest": _col(raw, lower, "openinterest"),
            "implied_vol": _col(raw, lower, "impliedvol"),
            "spot": _col(raw, lower, "underlying_last"),
            "as_of": pd.to_datetime(raw[lower["quotedate"]], format="%m/%d/%Y").to_numpy(),
        }
    )


def _from_cboe(raw: pd.DataFrame, lower: dict[str, str]) -> pd.DataFrame:
    bid = "bid_eod" if "bid_eod" in lower else "bid_1545"
    ask = "ask_eod" if "ask_eod" in lower else "ask_1545"
    spot: Any = np.nan
    if "underlying_bid_eod" in lower and "underlying_ask_eod" in lower:
        spot = (
            raw[lower["underlying_bid_eod"]].to_numpy(float)
            + raw[lower["underlying_ask_eod"]].to_numpy(float)
        ) / 2.0
    elif "active_underlying_price_1545" in lower:
        spot = raw[lower["active_underlying_price_1545"]].to_numpy()
    return pd.DataFrame(
        {
            "symbol": raw[lower["underlying_symbol"]].astype(str).str.lstrip("^").to_numpy(),
            "root": raw[lower["root"]].astype(str).str.strip().to_numpy(),
            "expiry": raw[lower["expiration"]].to_numpy(),
            "strike": raw[lower["strike"]].to_numpy(),
            "kind": raw[lower["option_type"]].to_numpy(),
            "bid": _col(raw, lower, bid),
            "ask": _col(raw, lower, ask),
            "last": _col(raw, lower, "close"),
            "volume": _col(raw, lower, "trade_volume"),
            "open_interest": _col(raw, lower, "open_interest"),
            "implied_vol": _col(raw, lower, "implied_volatility_1545"),
            "spot": spot,
            "as_of": raw[lower["quote_date"]].to_numpy(),
        }
    )


def _from_yfinance(raw: pd.DataFrame, lower: dict[str, str]) -> pd.DataFrame:
    ticker = _col(raw, lower, "ticker", None)
    return pd.DataFrame(
        {
            "symbol": np.nan if ticker is None else ticker,
            "expiry": _col(raw, lower, "expiry"),
            "strike": _col(raw, lower, "strike"),
            "kind": _col(raw, lower, "option_type"),
            "bid": _col(raw, lower, "bid"),
            "ask": _col(raw, lower, "ask"),
            "last": _col(raw, lower, "lastprice"),
            "volume": _col(raw, lower, "volume"),
            "open_interest": _col(raw, lower, "openinterest"),
            "implied_vol": _col(raw, lower, "impliedvolatility"),
            "spot": _col(raw, lower, "s"),
            "as_of": _col(raw, lower, "spot_date", pd.NaT),
        }
    )


def _from_eod(raw: pd.DataFrame, lower: dict[str, str]) -> pd.DataFrame:
    under: Any = np.nan
    if "symbol" in lower and "under" in lower:
        root = raw[lower["symbol"]].astype(str).str.split().str[0]
        raw = raw.loc[root.to_numpy() == raw[lower["under"]].astype(str).str.strip().to_numpy()]
        under = raw[lower["under"]].astype(str).str.strip().to_numpy()
    return pd.DataFrame(
        {
            "symbol": under,
            "root": under,
            "expiry": _col(raw, lower, "expiration"),
            "strike": _col(raw, lower, "strike"),
            "kind": _col(raw, lower, "put/call"),
            "bid": _col(raw, lower, "bid"),
            "ask": _col(raw, lower, "ask"),
            "last": _col(raw, lower, "price"),
            "volume": _col(raw, lower, "volume"),
            "open_interest": _col(raw, lower, "open interest"),
            "implied_vol": _col(raw, lower, "implied vol"),
            "spot": np.nan,
            "as_of": _col(raw, lower, "date", pd.NaT),
        }
    )


def upstox_strike_records(row: dict[str, Any], expiry: Any) -> list[dict[str, Any]]:
    """Canonical chain records (call, then put, where present) of one strike of Upstox's
    put-call option chain (an entry of its ``data`` list), dated ``expiry``."""
    records = []
    for kind, key in (("call", "call_options"), ("put", "put_options")):
        side = row.get(key)
        if not isinstance(side, dict):
            continue
        md = side.get("market_data") or {}
        iv = (side.get("option_greeks") or {}).get("iv")
        records.append(
            {
                "expiry": expiry,
                "strike": row["strike_price"],
                "kind": kind,
                "bid": md.get("bid_price"),
                "ask": md.get("ask_price"),
                "last": md.get("ltp"),
                "volume": md.get("volume"),
                "open_interest": md.get("oi"),
                "implied_vol": None if iv is None else float(iv) / 100.0,
                "spot": row.get("underlying_spot_price"),
            }
        )
    return records


def _read_upstox(path: Path) -> pd.DataFrame:
    opener: Callable[..., Any] = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            doc = json.load(handle)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read option chain {path}: {exc}") from exc
    rows = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
        raise DataError(f"option chain {path} has an unknown layout; " + layout_help())
    records: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "strike_price" not in row or "expiry" not in row:
            raise DataError(
                f"option chain {path}: entry {i} has no strike_price/expiry; " + layout_help()
            )
        records.extend(upstox_strike_records(row, row["expiry"]))
    if not records:
        raise DataError(f"option chain {path} lists strikes but no call_options/put_options")
    return pd.DataFrame.from_records(records)


_PARSERS: dict[str, Callable[[pd.DataFrame, dict[str, str]], pd.DataFrame]] = {
    "nse_fo": _from_nse_fo,
    "vendor": _from_vendor,
    "cboe": _from_cboe,
    "yfinance": _from_yfinance,
    "eod": _from_eod,
}

__all__ = [
    "KNOWN_LAYOUTS",
    "detect_layout",
    "is_chain_file",
    "layout_help",
    "read_chain_file",
    "read_header",
    "upstox_strike_records",
]
