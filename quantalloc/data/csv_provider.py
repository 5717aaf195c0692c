"""Price provider over a folder of CSV files: ``DIR/**/<SYMBOL>.csv`` in any supported layout,
plus exchange day files (NSE cash-market and F&O bhavcopy) that hold many symbols per session.

A symbol's history is its own file's rows, then the day files' rows on later or missing
sessions (:mod:`quantalloc.data.day_files`). Where both cover a session their closes must
agree within 1% (else one of them is adjusted for a corporate action and the other is not: a
DataError names the dates). Runs of missing sessions in such a stitched history are never
filled: they are logged and listed in ``frame.attrs["gaps"]`` as (first day, last day,
weekdays missing). Day files are not adjusted for corporate actions: a one-day move of more
than ``JUMP_LOG_RETURN`` in log terms (a 39% fall, a 65% rise) is logged and listed in
``frame.attrs["jumps"]`` as (day, close before, close) so a user of the returns can leave it out.
"""

from __future__ import annotations

import io
import logging
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from quantalloc.data import memo
from quantalloc.data.base import DateLike, clip_dates
from quantalloc.data.day_files import DayFiles, find_gaps
from quantalloc.data.validation import validate_ohlcv
from quantalloc.errors import DataError

log = logging.getLogger(__name__)

OVERLAP_TOLERANCE = 0.01
"""Largest relative difference of two sources' closes on a shared session."""
JUMP_LOG_RETURN = 0.5
"""A one-day log return beyond this in a stitched history is reported as a corporate action."""

_DATE_NAMES = ("date", "timestamp", "datetime", "time")
_CLOSE_ONLY_NAMES = ("close", "spot_price", "vix_value", "price", "value")
_RENAMES = {"adj close": "adj_close", "adjclose": "adj_close", "adj_close": "adj_close"}


def symbol_to_filename(symbol: str) -> str:
    """File stem of ``symbol``: a ``^`` maps to ``_`` (``^VIX`` -> ``_VIX``)."""
    return symbol.replace("^", "_")


def read_price_csv(
    path: Path, symbol: str | None = None, *, content: bytes | None = None
) -> pd.DataFrame:
    """Read one CSV in any supported layout into an OHLCV frame (before validation).

    Layouts: Yahoo (``Date,Open,High,Low,Close,Adj Close,Volume``), Upstox
    (``timestamp,open,high,low,close,volume,oi`` with ``+05:30`` offsets, kept as local wall time),
    CBOE (``DATE,OPEN,HIGH,LOW,CLOSE``), intraday (``datetime,open,...``), index files with an
    unnamed first column, and close-only files (``date,spot_price`` / ``date,vix_value``), whose
    open, high and low are set to the close and volume to 0. ``content``: the file's bytes,
    when already read.
    """
    name = symbol or path.stem
    try:
        raw = pd.read_csv(path if content is None else io.BytesIO(content))
    except (OSError, ValueError) as exc:
        raise DataError(f"{name}: cannot read {path}: {exc}") from exc
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    raw = raw.rename(columns=_RENAMES)
    raw = raw.loc[:, [c for c in raw.columns if c and not c.startswith("unnamed")]]
    date_col = next((c for c in _DATE_NAMES if c in raw.columns), None)
    if date_col is None:
        raise DataError(
            f"{name}: no date column in {path} (columns {list(raw.columns)}); "
            f"expected one of {list(_DATE_NAMES)}"
        )
    stamps = _parse_stamps(raw[date_col])
    frame = raw.drop(columns=[date_col])
    frame.index = pd.DatetimeIndex(stamps, name="date")
    if "open" not in frame.columns:
        close_col = _close_only_column(list(frame.columns))
        if close_col is None:
            raise DataError(
                f"{name}: {path} is not a price file (columns {list(frame.columns)}); expected "
                "open/high/low/close or a single close column such as close, spot_price or "
                "vix_value"
            )
        close = frame[close_col]
        frame = pd.DataFrame(
            {"open": close, "high": close, "low": close, "close": close, "volume": 0.0},
            index=frame.index,
        )
    elif "volume" not in frame.columns:
        frame["volume"] = 0.0
    return frame


def _close_only_column(columns: list[str]) -> str | None:
    """The one value column of a close-only file (``date,spot_price``), else None."""
    if len(columns) == 1 and columns[0] in _CLOSE_ONLY_NAMES:
        return columns[0]
    return None


def is_price_header(columns: list[str]) -> bool:
    """True when a CSV header (as read) names a price layout :func:`read_price_csv` accepts."""
    cols = [c.strip().lower() for c in columns]
    cols = [_RENAMES.get(c, c) for c in cols if c and not c.startswith("unnamed")]
    date_col = next((c for c in _DATE_NAMES if c in cols), None)
    if date_col is None:
        return False
    rest = [c for c in cols if c != date_col]
    return {"open", "high", "low", "close"} <= set(rest) or _close_only_column(rest) is not None


def _parse_stamps(column: pd.Series) -> pd.DatetimeIndex:
    """Dates of ``column`` as tz-naive local wall time (``+05:30`` offsets dropped, not shifted)."""
    try:  # plain dates (most daily files) parse in C; 40% of reading a 1,300-row file otherwise
        return pd.DatetimeIndex(pd.to_datetime(column, format="%Y-%m-%d"))
    except (ValueError, TypeError):
        pass
    text = column.astype("string").str.strip()
    offset_free = text.str.replace(r"([+-]\d{2}:?\d{2}|Z)$", "", regex=True)
    return pd.DatetimeIndex(pd.to_datetime(offset_free, errors="coerce", format="mixed"))


class CsvProvider:
    """Serve ``DIR/**/<SYMBOL>.csv`` and the day files under ``DIR``; ``^`` in a symbol is ``_``
    in the file name.

    ``cache_dir`` keeps the closes read from gzipped F&O day files (None: no disk cache).
    """

    synthetic = False

    def __init__(
        self, root: str | Path, *, max_ffill: int = 0, cache_dir: str | Path | None = None
    ) -> None:
        self.root = Path(root).expanduser()
        self.name = f"csv:{self.root}"
        self.max_ffill = max_ffill
        if not self.root.is_dir():
            raise DataError(
                f"data folder {self.root} does not exist; pass `data=csv:DIR` with a folder of "
                "<SYMBOL>.csv files",
                params="data",
            )
        cache = Path(cache_dir).expanduser() / "dayfiles" if cache_dir is not None else None
        self.day_files = DayFiles(self.root, cache_dir=cache)
        self._stitched_cache: dict[str, tuple[pd.DataFrame, str]] = {}

    def _index(self) -> dict[str, list[Path]]:
        return _scan(self.root)

    def path_of(self, symbol: str) -> Path:
        """The one file holding ``symbol``; DataError when none or several do."""
        stem = symbol_to_filename(symbol.strip())
        found = self._index().get(stem.upper(), [])
        if not found:  # the folder may have changed since it was scanned
            _scan.cache_clear()
            found = self._index().get(stem.upper(), [])
        if not found:
            raise DataError(
                f"{symbol}: no file {stem}.csv under {self.root}; add it or choose another `data`",
                params="data",
            )
        if len(found) > 1:
            listed = ", ".join(str(p.relative_to(self.root)) for p in found)
            raise DataError(
                f"{symbol}: several files match under {self.root} ({listed}); "
                "point `data=csv:` at the sub-folder you mean",
                params="data",
            )
        return found[0]

    def history(
        self, symbol: str, start: DateLike | None = None, end: DateLike | None = None
    ) -> pd.DataFrame:
        frame, where = self._stitched(symbol)
        out = clip_dates(frame, symbol, start, end, where)
        gaps = [g for g in frame.attrs.get("gaps", ()) if out.index[0] <= pd.Timestamp(g[0])]
        gaps = [g for g in gaps if pd.Timestamp(g[1]) <= out.index[-1]]
        out.attrs["gaps"] = gaps
        jumps = frame.attrs.get("jumps", [])
        out.attrs["jumps"] = [
            j for j in jumps if out.index[0] < pd.Timestamp(j[0]) <= out.index[-1]
        ]
        return out

    def _stitched(self, symbol: str) -> tuple[pd.DataFrame, str]:
        """The symbol's own file, extended by the day files; with where it came from (kept for
        the provider's life: day files are immutable records of past sessions)."""
        key = symbol.strip().upper()
        if key not in self._stitched_cache:
            self._stitched_cache[key] = self._stitch(symbol)
        frame, where = self._stitched_cache[key]
        out = frame.copy()
        out.attrs = dict(frame.attrs)
        return out, where

    def _stitch(self, symbol: str) -> tuple[pd.DataFrame, str]:
        try:
            path: Path | None = self.path_of(symbol)
        except DataError as exc:
            if "several files" in str(exc):
                raise
            path, missing = None, exc
        own = None if path is None else _read_validated(path, symbol, self.max_ffill)
        days = self.day_files.history(symbol)
        if days is None:
            if own is None:
                raise missing
            return own, str(path)
        where = f"day files under {self.root}"
        days = validate_ohlcv(days, symbol, where, max_ffill=self.max_ffill)
        if own is None:
            frame = days
        else:
            _check_overlap(own, days, symbol, str(path), where)
            extra = days.loc[~days.index.isin(own.index)]
            frame = pd.concat([own.drop(columns=["adj_close"], errors="ignore"), extra])
            frame = frame.sort_index()
            where = f"{path} and {where}"
        gaps = find_gaps(pd.DatetimeIndex(frame.index))
        if gaps:
            listed = "; ".join(f"{a} .. {b} ({n} weekdays)" for a, b, n in gaps[:3])
            log.warning("%s: no price rows on %s in %s (not filled)", symbol, listed, where)
        close = frame["close"].to_numpy(float)
        moves = np.abs(np.diff(np.log(close))) > JUMP_LOG_RETURN
        stamps = pd.DatetimeIndex(frame.index)
        jumps = [
            (str(stamps[int(i) + 1].date()), float(close[i]), float(close[i + 1]))
            for i in np.flatnonzero(moves)
        ]
        for day, before, after in jumps:
            log.warning(
                "%s: close moves from %g to %g on %s in %s: an unadjusted split or demerger?",
                symbol,
                before,
                after,
                day,
                where,
            )
        frame.attrs["gaps"] = gaps
        frame.attrs["jumps"] = jumps
        return frame, where

    def symbols(self) -> list[str]:
        """Symbols of the price files and day files under the folder (other CSV files, such as a
        constituents list or an option chain, are left out)."""
        out = []
        for paths in self._index().values():
            for p in paths:
                if _is_price_file(p):
                    out.append(p.stem.replace("_", "^", 1) if p.stem.startswith("_") else p.stem)
        return sorted({*out, *self.day_files.symbols()})


def _check_overlap(
    own: pd.DataFrame, days: pd.DataFrame, symbol: str, own_src: str, day_src: str
) -> None:
    common = own.index.intersection(days.index)
    if common.empty:
        return
    a, b = own.loc[common, "close"], days.loc[common, "close"]
    rel = (a / b - 1.0).abs()
    if (rel > OVERLAP_TOLERANCE).any():
        worst = rel.idxmax()
        raise DataError(
            f"{symbol}: closes in {own_src} and {day_src} differ by up to {rel.max():.1%} on "
            f"{int((rel > OVERLAP_TOLERANCE).sum())} shared sessions (e.g. {worst.date()}: "
            f"{a[worst]:g} vs {b[worst]:g}); one source is adjusted for a corporate action "
            "and the other is not: keep one of them"
        )
    if not np.isfinite(rel.to_numpy()).all():
        raise DataError(f"{symbol}: unreadable closes on shared sessions of {own_src}")


@lru_cache(maxsize=16)
def _scan(root: Path) -> dict[str, list[Path]]:
    index: dict[str, list[Path]] = {}
    for path in sorted(root.rglob("*.csv")):
        index.setdefault(path.stem.upper(), []).append(path)
    return index


def _is_price_file(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            header = handle.readline()
    except OSError:
        return False
    return is_price_header(header.strip().split(","))


PARSED_SPEC = "read_price_csv v1"
"""What a parsed price file is (part of its disk cache key): change it whenever
:func:`read_price_csv` changes what it returns."""


@lru_cache(maxsize=256)
def _read_cached(path: Path, mtime: float, symbol: str, max_ffill: int) -> pd.DataFrame:
    return validate_ohlcv(_parsed(path, symbol), symbol, str(path), max_ffill=max_ffill)


def _read_validated(path: Path, symbol: str, max_ffill: int) -> pd.DataFrame:
    return _read_cached(path, path.stat().st_mtime, symbol, max_ffill).copy()


def _parsed(path: Path, symbol: str) -> pd.DataFrame:
    """:func:`read_price_csv` of ``path``, kept on disk (:mod:`quantalloc.data.memo`) under a
    hash of the file's bytes, :data:`PARSED_SPEC` and pandas' and numpy's versions: a second
    run reads the columns back (about 1 ms) instead of parsing the text; an edited file is
    another key. Frames with text columns are not kept (they fail validation anyway)."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{symbol}: cannot read {path}: {exc}") from exc
    digest = memo.key(PARSED_SPEC, memo.versions("pandas", "numpy"), content)
    kept = _from_arrays(memo.load_arrays("prices", digest))
    if kept is not None:
        return kept
    frame = read_price_csv(path, symbol, content=content)
    arrays = _to_arrays(frame)
    if arrays is not None:
        memo.store_arrays("prices", digest, arrays)
    return frame


def _to_arrays(frame: pd.DataFrame) -> dict[str, np.ndarray] | None:
    """Index, column names and columns of a numeric, tz-naive frame; None for any other."""
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is not None or index.name != "date":
        return None
    out = {"index": index.to_numpy(), "columns": np.array([str(c) for c in frame.columns])}
    for i, (name, column) in enumerate(frame.items()):
        values = column.to_numpy()
        if not isinstance(name, str) or values.dtype.kind not in "fiub":
            return None
        out[f"c{i}"] = values
    return out


def _from_arrays(arrays: dict[str, np.ndarray] | None) -> pd.DataFrame | None:
    if arrays is None:
        return None
    try:
        names = [str(n) for n in arrays["columns"]]
        columns = {n: arrays[f"c{i}"] for i, n in enumerate(names)}
        index = pd.DatetimeIndex(arrays["index"], name="date")
    except (KeyError, TypeError, ValueError):
        return None
    return pd.DataFrame(columns, index=index)
