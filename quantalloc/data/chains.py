"""Option-chain loaders: every supported file layout into one canonical frame.

The canonical chain frame has one row per contract and exactly the columns of
:data:`CHAIN_COLUMNS`:

========================  ======================================================================
``expiry``                expiry date (``datetime64``, normalized to midnight)
``strike``                strike price (float)
``kind``                  ``"call"`` or ``"put"``
``bid, ask, last``        quotes in the underlying's currency (float; NaN where missing)
``volume``                contracts traded that day (float; NaN where missing)
``open_interest``         open contracts (float; NaN where missing)
``implied_vol``           implied volatility as a fraction (0.2 = 20%); NaN where the source has
                          none or gives zero
``spot``                  underlying price the chain was quoted against (NaN if unknown)
``as_of``                 quote date (``datetime64``; NaT if unknown)
========================  ======================================================================

Rows are sorted by ``expiry, strike, kind`` with a fresh ``RangeIndex``.

Layouts (see ``../shared/data/README.md``):

- ``yfinance``: ``ticker,expiry,option_type,strike,lastPrice,bid,ask,volume,openInterest,
  impliedVolatility,...,S,spot_date,...`` (spot from ``S``, as-of from ``spot_date``).
- ``eod``: an end-of-day vendor layout with spaces after the commas of its header:
  ``date, symbol, under, expiration, strike, put/call, bid, ask, price, volume, open interest,
  implied vol, ...``. ``under`` is the underlying's *ticker*, not its price, so ``spot`` is NaN.
  Non-standard (adjusted-deliverable) contracts, whose OCC root differs from ``under`` (``SPY7``
  against ``SPY``), are dropped: they duplicate standard strikes with unrelated prices.
- ``upstox``: the Upstox option-chain JSON ``{"status", "data": [{"expiry", "strike_price",
  "underlying_spot_price", "call_options": {"market_data", "option_greeks"}, "put_options":
  ...}]}``; its ``iv`` is in percent and is divided by 100. It carries no quote date.

In every layout, contracts that expired before ``as_of`` (when known) are dropped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.errors import DataError

CHAIN_COLUMNS: tuple[str, ...] = (
    "expiry",
    "strike",
    "kind",
    "bid",
    "ask",
    "last",
    "volume",
    "open_interest",
    "implied_vol",
    "spot",
    "as_of",
)
KNOWN_LAYOUTS: tuple[str, ...] = ("yfinance", "eod", "upstox")

_FLOAT_COLUMNS = ("strike", "bid", "ask", "last", "volume", "open_interest", "implied_vol", "spot")
_YF_REQUIRED = {"expiry", "option_type", "strike", "bid", "ask", "impliedvolatility"}
_EOD_REQUIRED = {"expiration", "strike", "put/call", "bid", "ask", "implied vol"}
_KIND_CODES = {"c": "call", "call": "call", "p": "put", "put": "put"}


def _layout_help() -> str:
    return (
        "known layouts: yfinance CSV (ticker,expiry,option_type,strike,...,impliedVolatility), "
        "end-of-day CSV (date, symbol, under, expiration, strike, put/call, ...), "
        "Upstox option-chain JSON ({'data': [{'strike_price', 'call_options', 'put_options'}]})"
    )


def load_chain(path: str | Path) -> pd.DataFrame:
    """Read an option-chain file in any known layout into the canonical chain frame.

    Parameters
    ----------
    path
        A ``.csv`` (yfinance or end-of-day layout) or ``.json`` (Upstox) file.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CHAIN_COLUMNS`, sorted by expiry, strike, kind.

    Raises
    ------
    DataError
        The file is missing or unreadable, or its layout is none of :data:`KNOWN_LAYOUTS`.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"option chain file {p} does not exist; check the path")
    if p.suffix.lower() == ".json":
        frame = _read_upstox(p)
    else:
        frame = _read_csv_chain(p)
    return validate_chain(frame, source=str(p))


def validate_chain(frame: pd.DataFrame, source: str = "chain") -> pd.DataFrame:
    """Check and normalise a chain frame to the canonical columns, types and order.

    Missing optional columns (``bid, ask, last, volume, open_interest, implied_vol, spot``)
    are filled with NaN and ``as_of`` with NaT (a hand-made chain needs only expiry, strike, kind).
    Zero implied vols become NaN; expired contracts (``expiry < as_of``) are dropped.
    """
    missing = [c for c in ("expiry", "strike", "kind") if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: option chain lacks column(s) {missing} (columns {list(frame.columns)}); "
            "a chain needs at least expiry, strike and kind"
        )
    out = pd.DataFrame(index=range(len(frame)))
    try:
        out["expiry"] = pd.to_datetime(frame["expiry"].to_numpy()).normalize().astype("M8[ns]")
    except (ValueError, TypeError) as exc:
        raise DataError(f"{source}: unparseable expiry dates in option chain: {exc}") from exc
    out["strike"] = pd.to_numeric(frame["strike"].to_numpy(), errors="coerce").astype(float)
    kinds = pd.Series(frame["kind"].to_numpy()).astype(str).str.strip().str.lower()
    mapped = kinds.map(_KIND_CODES)
    if mapped.isna().any():
        bad = sorted(set(kinds[mapped.isna()]))[:5]
        raise DataError(f"{source}: unknown option kind(s) {bad}; expected call/put (or C/P)")
    out["kind"] = mapped.astype(object).to_numpy()
    for col in ("bid", "ask", "last", "volume", "open_interest", "implied_vol", "spot"):
        if col in frame.columns:
            values = pd.to_numeric(frame[col].to_numpy(), errors="coerce").astype(float)
        else:
            values = np.full(len(frame), np.nan)
        out[col] = values
    out.loc[out["implied_vol"] <= 0, "implied_vol"] = np.nan
    if "as_of" in frame.columns:
        as_of = pd.to_datetime(frame["as_of"].to_numpy()).normalize()
    else:
        as_of = pd.DatetimeIndex([pd.NaT] * len(frame))
    out["as_of"] = np.asarray(as_of, dtype="M8[ns]")
    if out["strike"].isna().any() or (out["strike"] <= 0).any():
        raise DataError(f"{source}: option chain has missing or non-positive strikes")
    if out["expiry"].isna().any():
        raise DataError(f"{source}: option chain has rows without an expiry date")
    expired = out["as_of"].notna() & (out["expiry"] < out["as_of"])
    out = out.loc[~expired]
    out = out.sort_values(["expiry", "strike", "kind"], kind="mergesort").reset_index(drop=True)
    return out.loc[:, list(CHAIN_COLUMNS)]


def _read_csv_chain(path: Path) -> pd.DataFrame:
    try:
        raw = pd.read_csv(path, skipinitialspace=True)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read option chain {path}: {exc}") from exc
    raw.columns = [str(c).strip() for c in raw.columns]
    lower = {c.lower(): c for c in raw.columns}
    if _YF_REQUIRED <= set(lower):
        return _from_yfinance(raw, lower)
    if _EOD_REQUIRED <= set(lower):
        return _from_eod(raw, lower)
    raise DataError(
        f"option chain {path} has an unknown layout (columns {list(raw.columns)[:12]}); "
        + _layout_help()
    )


def _col(raw: pd.DataFrame, lower: dict[str, str], name: str) -> Any:
    key = lower.get(name)
    if key is None:
        return np.nan
    return raw[key].to_numpy()


def _from_yfinance(raw: pd.DataFrame, lower: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
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
            "as_of": _col(raw, lower, "spot_date") if "spot_date" in lower else pd.NaT,
        }
    )


def _from_eod(raw: pd.DataFrame, lower: dict[str, str]) -> pd.DataFrame:
    if "symbol" in lower and "under" in lower:
        root = raw[lower["symbol"]].astype(str).str.split().str[0]
        raw = raw.loc[root.to_numpy() == raw[lower["under"]].astype(str).str.strip().to_numpy()]
    return pd.DataFrame(
        {
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
            "as_of": _col(raw, lower, "date") if "date" in lower else pd.NaT,
        }
    )


def _read_upstox(path: Path) -> pd.DataFrame:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read option chain {path}: {exc}") from exc
    rows = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
        raise DataError(f"option chain {path} has an unknown layout; " + _layout_help())
    records: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "strike_price" not in row or "expiry" not in row:
            raise DataError(
                f"option chain {path}: entry {i} has no strike_price/expiry; " + _layout_help()
            )
        for kind, key in (("call", "call_options"), ("put", "put_options")):
            side = row.get(key)
            if not isinstance(side, dict):
                continue
            md = side.get("market_data") or {}
            greeks = side.get("option_greeks") or {}
            iv = greeks.get("iv")
            records.append(
                {
                    "expiry": row["expiry"],
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
    if not records:
        raise DataError(f"option chain {path} lists strikes but no call_options/put_options")
    return pd.DataFrame.from_records(records)


__all__ = ["CHAIN_COLUMNS", "KNOWN_LAYOUTS", "load_chain", "validate_chain"]
