"""The canonical option-chain frame: load a chain file in any known layout, validate a frame.

The canonical chain frame has one row per contract and exactly the columns of
:data:`CHAIN_COLUMNS`:

========================  ======================================================================
``symbol``                underlying as the source names it (``NIFTY``, ``RELIANCE``, ``SPX``);
                          empty where the file does not say
``root``                  the contract class (``SPX`` AM-settled monthlies vs ``SPXW``); the
                          symbol where the source has one class
``expiry``                expiry date (``datetime64``, normalized to midnight)
``strike``                strike price (float)
``kind``                  ``"call"`` or ``"put"``
``bid, ask``              quotes in the underlying's currency (float; NaN where missing)
``last``                  the session's last or closing trade price (NaN where missing, and on
                          contracts known not to have traded that session: a stale close is
                          never passed on)
``settlement``            the exchange's settlement price (NSE ``SttlmPric``; NaN elsewhere)
``volume``                contracts traded that session (float; NaN where missing)
``open_interest``         open contracts (float; NaN where missing)
``implied_vol``           implied volatility as a fraction (0.2 = 20%); NaN where the source has
                          none or gives zero
``spot``                  underlying price the chain was quoted against (NaN if unknown)
``lot_size``              units per contract where the source lists it (NSE ``NewBrdLotQty``)
``as_of``                 quote date (``datetime64``; NaT if unknown)
========================  ======================================================================

Rows are sorted by ``symbol, root, expiry, strike, kind`` with a fresh ``RangeIndex``. File
layouts live in :mod:`quantalloc.data.chain_layouts`.

Validation (:func:`validate_chain`) stops at a structural fault (missing or non-positive
strikes, rows without an expiry, unknown kinds, repeated contracts) with one line naming the
source, and drops the rows a pricer must not read (negative quotes, crossed quotes with the bid
above the ask, contracts that expired before the quote date), saying how many in one line kept
in ``frame.attrs["notes"]``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from quantalloc.data.chain_layouts import KNOWN_LAYOUTS, read_chain_file
from quantalloc.errors import DataError

log = logging.getLogger(__name__)

CHAIN_COLUMNS: tuple[str, ...] = (
    "symbol",
    "root",
    "expiry",
    "strike",
    "kind",
    "bid",
    "ask",
    "last",
    "settlement",
    "volume",
    "open_interest",
    "implied_vol",
    "spot",
    "lot_size",
    "as_of",
)
CONTRACT_KEY: tuple[str, ...] = ("symbol", "root", "expiry", "strike", "kind")
"""Columns that name one listed contract."""

_FLOAT_COLUMNS = CHAIN_COLUMNS[CHAIN_COLUMNS.index("bid") : CHAIN_COLUMNS.index("lot_size") + 1]
_KIND_CODES = {"c": "call", "call": "call", "ce": "call", "p": "put", "put": "put", "pe": "put"}


def load_chain(path: str | Path) -> pd.DataFrame:
    """Read an option-chain file in any known layout into the canonical chain frame.

    Parameters
    ----------
    path
        A ``.csv`` / ``.csv.gz`` file (NSE bhavcopy, vendor, Cboe, yfinance or end-of-day
        layout) or a ``.json`` file (Upstox).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CHAIN_COLUMNS`, sorted by symbol, root, expiry, strike, kind.

    Raises
    ------
    DataError
        The file is missing or unreadable, its layout is none of :data:`KNOWN_LAYOUTS`, or
        it has a structural fault (see :func:`validate_chain`).
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"option chain file {p} does not exist; check the path")
    frame, _ = read_chain_file(p)
    return validate_chain(frame, source=str(p))


def validate_chain(frame: pd.DataFrame, source: str = "chain") -> pd.DataFrame:
    """Check and normalise a chain frame to the canonical columns, types and order.

    Missing optional columns are filled with NaN (``as_of`` with NaT, ``symbol`` with an
    empty string), so a hand-made chain needs only expiry, strike and kind. Zero implied vols
    become NaN; the rows listed in the module notes are dropped and counted.
    """
    missing = [c for c in ("expiry", "strike", "kind") if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: option chain lacks column(s) {missing} (columns {list(frame.columns)}); "
            "a chain needs at least expiry, strike and kind"
        )
    out = pd.DataFrame(index=range(len(frame)))
    out["symbol"] = _text(frame, "symbol", "")
    out["root"] = _text(frame, "root", "")
    out.loc[out["root"] == "", "root"] = out["symbol"]
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
    for col in _FLOAT_COLUMNS:
        if col in frame.columns:
            values = pd.to_numeric(frame[col].to_numpy(), errors="coerce").astype(float)
        else:
            values = np.full(len(frame), np.nan)
        out[col] = values
    out.loc[out["implied_vol"] <= 0, "implied_vol"] = np.nan
    as_of = frame["as_of"] if "as_of" in frame.columns else pd.Series(pd.NaT, index=frame.index)
    try:
        stamps = pd.to_datetime(pd.Series(as_of.to_numpy()))
        out["as_of"] = stamps.dt.normalize().to_numpy(dtype="M8[ns]")
    except (ValueError, TypeError) as exc:
        raise DataError(f"{source}: unparseable quote dates in option chain: {exc}") from exc
    bad_strikes = out["strike"].isna() | (out["strike"] <= 0)
    if bad_strikes.any():
        raise DataError(
            f"{source}: option chain has {int(bad_strikes.sum())} missing or non-positive strikes "
            f"(first: {frame['strike'].iloc[int(np.flatnonzero(bad_strikes)[0])]}); a strike is "
            "a positive price, fix the file"
        )
    if out["expiry"].isna().any():
        raise DataError(
            f"{source}: option chain has {int(out['expiry'].isna().sum())} rows without an "
            "expiry date; fix the file"
        )
    out, notes = _drop_faulty(out, source)
    out = out.sort_values(list(CONTRACT_KEY), kind="mergesort").reset_index(drop=True)
    repeated = out.duplicated(list(CONTRACT_KEY))
    if repeated.any():
        first = out.loc[repeated].iloc[0]
        raise DataError(
            f"{source}: contract {first['symbol'] or '?'} {first['expiry'].date()} "
            f"{first['strike']:g} {first['kind']} appears more than once; a chain lists each "
            "contract once (split the file by quote date or root)"
        )
    out = out.loc[:, list(CHAIN_COLUMNS)]
    out.attrs["notes"] = notes
    return out


def _text(frame: pd.DataFrame, column: str, default: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), default, dtype=object)
    values = pd.Series(frame[column].to_numpy(), dtype=object)
    return values.where(values.notna(), default).astype(str).str.strip().to_numpy(dtype=object)


def _drop_faulty(out: pd.DataFrame, source: str) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Drop rows with negative or crossed quotes and expired contracts; one note says how many."""
    quotes = out[["bid", "ask", "last", "settlement"]]
    negative = (quotes < 0).any(axis=1)
    crossed = ~negative & (out["bid"] > out["ask"])
    expired = out["as_of"].notna() & (out["expiry"] < out["as_of"])
    stale = (out["volume"] == 0) & out["last"].notna()
    out.loc[stale, "last"] = np.nan  # an untraded contract's close repeats an older one
    drop = negative | crossed | expired
    parts = [
        f"{int(n)} {what}"
        for n, what in (
            (negative.sum(), "with a negative price"),
            (crossed.sum(), "with the bid above the ask"),
            (expired.sum(), "expired before the quote date"),
        )
        if n
    ]
    if not parts:
        return out, ()
    note = f"{source}: dropped {int(drop.sum())} of {len(out)} contracts: {', '.join(parts)}"
    log.info(note)
    return out.loc[~drop], (note,)


__all__ = ["CHAIN_COLUMNS", "CONTRACT_KEY", "KNOWN_LAYOUTS", "load_chain", "validate_chain"]
