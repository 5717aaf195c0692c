"""Checks that turn a raw price table into a canonical OHLCV frame or a DataError that says why."""

from __future__ import annotations

import logging
from collections.abc import Sequence

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


def require_columns(
    frame: pd.DataFrame, required: Sequence[str], who: str, fix: str, where: str = ""
) -> None:
    """A DataError naming the ``required`` columns ``frame`` lacks and those it has.

    The message reads ``{who}: columns [...] missing{where} (found [...]); {fix}``.
    """
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(
            f"{who}: columns {missing} missing{where} (found {list(frame.columns)}); {fix}"
        )


def validate_ohlcv(
    frame: pd.DataFrame, symbol: str, source: str, *, max_ffill: int = 0
) -> pd.DataFrame:
    """Return ``frame`` as a canonical OHLCV frame, or raise DataError naming symbol, rows, remedy.

    Rules: the five OHLCV columns are present; every date readable, unique and increasing; no
    non-numeric text; no blank field, unless ``max_ffill`` > 0, in which case runs of at most that
    many incomplete rows are forward-filled (prices from the last complete row, volume 0) and the
    repair is logged; prices positive; high >= low and close inside [low, high] within a relative
    tolerance of 1e-6; volume non-negative. An open outside [low, high] is clipped into it and
    logged (real vendor files carry such opens: CBOE's VIX before 2007, the last Yahoo row of a
    partial day).
    """
    require_columns(
        frame,
        OHLCV_COLUMNS,
        symbol,
        "provide Date/Open/High/Low/Close/Volume columns",
        f" in {source}",
    )
    if frame.empty:
        raise DataError(f"{symbol}: no rows in {source}; check the file or the symbol")
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise DataError(f"{symbol}: index of {source} is not made of dates")

    cols = [c for c in (*OHLCV_COLUMNS, "adj_close") if c in frame.columns]
    raw = frame[cols]
    if all(
        pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in raw.dtypes
    ):
        out = raw.astype("float64")
    else:
        out = raw.apply(pd.to_numeric, errors="coerce").astype("float64")
    index = pd.DatetimeIndex(frame.index)
    if index.tz is not None:  # keep exchange-local wall time, drop the offset
        index = index.tz_localize(None)
    out.index = pd.DatetimeIndex(index.to_numpy(), name="date")  # no freq attached

    if out.index.hasnans:
        positions = np.flatnonzero(out.index.isna())
        raise DataError(
            f"{symbol}: {len(positions)} rows without a readable date in {source} "
            f"(data rows {_rows([int(i) + 1 for i in positions])}); fix or remove those rows"
        )
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

    if np.isnan(out.to_numpy()).any():
        _reject_text(raw, out, symbol, source)
        nan_rows = out.index[out.isna().any(axis=1)]
        if max_ffill <= 0:
            raise DataError(
                f"{symbol}: blank fields in {source} on {_rows(nan_rows)}; "
                "repair the rows or allow a forward-fill of up to N rows (`max_ffill=N`)",
                params="max_ffill",
            )
        out = _forward_fill(out, nan_rows, symbol, source, max_ffill)

    # Row checks on plain arrays (this runs for every series loaded, so keep it lean).
    o, h, lo, c, v = (out[col].to_numpy() for col in OHLCV_COLUMNS)
    prices = np.column_stack([o, h, lo, c])
    mask = ((prices <= 0) | ~np.isfinite(prices)).any(axis=1)
    if mask.any():
        raise DataError(
            f"{symbol}: non-positive or infinite prices in {source} on {_rows(out.index[mask])}; "
            "prices must be finite and > 0, repair the rows"
        )
    tol = 1e-6 * np.abs(h)
    mask = h < lo - tol
    if mask.any():
        raise DataError(
            f"{symbol}: high below low in {source} on {_rows(out.index[mask])}; repair the rows"
        )
    mask = (c > h + tol) | (c < lo - tol)
    if mask.any():
        raise DataError(
            f"{symbol}: close outside the high-low range in {source} on "
            f"{_rows(out.index[mask])}; repair the rows"
        )
    mask = (o > h + tol) | (o < lo - tol)
    if mask.any():
        # A documented repair: some vendors publish an open that is not inside the bar's own
        # high-low range (a stale open carried from the day before, a misprint). High, low and
        # close agree with each other, so the open is clipped into [low, high] and logged.
        log.warning(
            "%s: open outside the high-low range in %s on %s; clipped into [low, high]",
            symbol,
            source,
            _rows(out.index[mask]),
        )
        out["open"] = np.clip(o, lo, h)
    mask = v < 0
    if mask.any():
        raise DataError(f"{symbol}: negative volume in {source} on {_rows(out.index[mask])}")
    return out


def _forward_fill(
    out: pd.DataFrame, nan_rows: pd.Index, symbol: str, source: str, max_ffill: int
) -> pd.DataFrame:
    """Fill runs of at most ``max_ffill`` blank rows from the last complete row, and log it.

    Prices carry the last known value forward; a blank volume becomes 0 (nothing is known to
    have traded). A longer run, or blanks in the first row, is an error.
    """
    incomplete = out.isna().any(axis=1).to_numpy()
    run = 0
    for pos, flag in enumerate(incomplete):
        run = run + 1 if flag else 0
        if flag and (run > max_ffill or pos + 1 == run):
            what = "the first rows" if pos + 1 == run else f"more than {max_ffill} rows in a row"
            raise DataError(
                f"{symbol}: blank fields in {what} of {source} ({_rows(nan_rows)}); "
                "forward-fill cannot repair them, fix the source"
            )
    filled = out.copy()
    filled["volume"] = filled["volume"].fillna(0.0)
    filled = filled.ffill()
    log.warning(
        "%s: forward-filled blank fields of %d rows in %s: %s",
        symbol,
        len(nan_rows),
        source,
        _rows(nan_rows),
    )
    return filled


def _reject_text(raw: pd.DataFrame, numeric: pd.DataFrame, symbol: str, source: str) -> None:
    """DataError when a field holds text that is not a number (blank fields pass)."""
    text = raw.astype("string").apply(lambda col: col.str.strip())
    garbage = numeric.isna().to_numpy() & text.notna().to_numpy() & (text != "").to_numpy()
    bad = numeric.index[garbage.any(axis=1)]
    if len(bad):
        raise DataError(
            f"{symbol}: non-numeric fields in {source} on {_rows(bad)}; "
            "repair the rows (only blank fields can be forward-filled)"
        )
