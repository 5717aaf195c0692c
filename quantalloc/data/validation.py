"""Checks that turn a raw price table into a canonical OHLCV frame or a DataError that says why."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from quantalloc.data.base import OHLCV_COLUMNS
from quantalloc.errors import DataError

log = logging.getLogger(__name__)

_MAX_ROWS_SHOWN = 5


def _label(value: object) -> str:
    if isinstance(value, pd.Timestamp):
        return str(value.date()) if value == value.normalize() else str(value)
    return str(value)


def _rows(labels: pd.Index | list[object]) -> str:
    items = [_label(x) for x in list(labels)[:_MAX_ROWS_SHOWN]]
    more = len(labels) - len(items)
    return ", ".join(items) + (f" (+{more} more)" if more > 0 else "")


def validate_ohlcv(
    frame: pd.DataFrame, symbol: str, source: str, *, max_ffill: int = 0
) -> pd.DataFrame:
    """Return ``frame`` as a canonical OHLCV frame, or raise DataError naming symbol, rows, remedy.

    Rules: the five OHLCV columns are present; no NaN or blank field (unless ``max_ffill`` > 0, in
    which case runs of at most that many missing rows are forward-filled and the repair is logged);
    dates unique and increasing; prices positive; high >= low, and open/close inside [low, high]
    within a relative tolerance of 1e-6; volume non-negative.
    """
    missing = [c for c in OHLCV_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"{symbol}: columns {missing} missing in {source} (found {list(frame.columns)}); "
            "provide Date/Open/High/Low/Close/Volume columns"
        )
    if frame.empty:
        raise DataError(f"{symbol}: no rows in {source}; check the file or the symbol")
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise DataError(f"{symbol}: index of {source} is not made of dates")

    cols = [c for c in (*OHLCV_COLUMNS, "adj_close") if c in frame.columns]
    out = frame[cols].apply(pd.to_numeric, errors="coerce").astype("float64")
    out.index = pd.DatetimeIndex(frame.index, name="date")

    if out.index.hasnans:
        raise DataError(f"{symbol}: {int(out.index.isna().sum())} rows without a date in {source}")
    dup = out.index[out.index.duplicated(keep=False)]
    if len(dup):
        raise DataError(
            f"{symbol}: duplicate dates in {source}: {_rows(dup.unique())}; "
            "remove the repeated rows from the source"
        )
    if not out.index.is_monotonic_increasing:
        bad = out.index[1:][np.diff(out.index.asi8) < 0]
        raise DataError(
            f"{symbol}: dates out of order in {source} at {_rows(bad)}; sort the file by date"
        )

    nan_rows = out.index[out.isna().any(axis=1)]
    if len(nan_rows):
        if max_ffill <= 0:
            raise DataError(
                f"{symbol}: blank or non-numeric fields in {source} on {_rows(nan_rows)}; "
                "repair the rows or allow forward-fill (max_ffill)"
            )
        filled = out.ffill(limit=max_ffill)
        still = filled.index[filled.isna().any(axis=1)]
        if len(still):
            raise DataError(
                f"{symbol}: more than {max_ffill} consecutive missing rows (or missing first rows) "
                f"in {source} on {_rows(still)}; repair the source"
            )
        log.warning(
            "%s: forward-filled %d rows in %s: %s", symbol, len(nan_rows), source, _rows(nan_rows)
        )
        out = filled

    prices = out[["open", "high", "low", "close"]]
    bad_price = out.index[(prices <= 0).any(axis=1)]
    if len(bad_price):
        raise DataError(
            f"{symbol}: non-positive prices in {source} on {_rows(bad_price)}; "
            "prices must be > 0, repair the rows"
        )
    tol = 1e-6 * out["high"].abs()
    bad_range = out.index[out["high"] < out["low"] - tol]
    if len(bad_range):
        raise DataError(
            f"{symbol}: high below low in {source} on {_rows(bad_range)}; repair the rows"
        )
    outside = out.index[
        (out["open"] > out["high"] + tol)
        | (out["open"] < out["low"] - tol)
        | (out["close"] > out["high"] + tol)
        | (out["close"] < out["low"] - tol)
    ]
    if len(outside):
        raise DataError(
            f"{symbol}: open or close outside the high-low range in {source} on {_rows(outside)}; "
            "repair the rows"
        )
    if (out["volume"] < 0).any():
        raise DataError(
            f"{symbol}: negative volume in {source} on {_rows(out.index[out['volume'] < 0])}"
        )
    return out
