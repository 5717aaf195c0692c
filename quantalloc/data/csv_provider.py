"""Price provider over a folder of CSV files: ``DIR/**/<SYMBOL>.csv`` in any supported layout."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from quantalloc.data.base import DateLike, clip_dates
from quantalloc.data.validation import validate_ohlcv
from quantalloc.errors import DataError

_DATE_NAMES = ("date", "timestamp", "datetime", "time")
_CLOSE_ONLY_NAMES = ("close", "spot_price", "vix_value", "price", "value")
_RENAMES = {"adj close": "adj_close", "adjclose": "adj_close", "adj_close": "adj_close"}


def symbol_to_filename(symbol: str) -> str:
    """File stem of ``symbol``: a ``^`` maps to ``_`` (``^VIX`` -> ``_VIX``)."""
    return symbol.replace("^", "_")


def read_price_csv(path: Path, symbol: str | None = None) -> pd.DataFrame:
    """Read one CSV in any supported layout into an OHLCV frame (before validation).

    Layouts: Yahoo (``Date,Open,High,Low,Close,Adj Close,Volume``), Upstox
    (``timestamp,open,high,low,close,volume,oi`` with ``+05:30`` offsets, kept as local wall time),
    CBOE (``DATE,OPEN,HIGH,LOW,CLOSE``), intraday (``datetime,open,...``), index files with an
    unnamed first column, and close-only files (``date,spot_price`` / ``date,vix_value``), whose
    open, high and low are set to the close and volume to 0.
    """
    name = symbol or path.stem
    try:
        raw = pd.read_csv(path)
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
    text = column.astype("string").str.strip()
    offset_free = text.str.replace(r"([+-]\d{2}:?\d{2}|Z)$", "", regex=True)
    return pd.DatetimeIndex(pd.to_datetime(offset_free, errors="coerce", format="mixed"))


class CsvProvider:
    """Serve ``DIR/**/<SYMBOL>.csv``; ``^`` in a symbol is ``_`` in the file name."""

    synthetic = False

    def __init__(self, root: str | Path, *, max_ffill: int = 0) -> None:
        self.root = Path(root).expanduser()
        self.name = f"csv:{self.root}"
        self.max_ffill = max_ffill
        if not self.root.is_dir():
            raise DataError(
                f"data folder {self.root} does not exist; pass `data=csv:DIR` with a folder of "
                "<SYMBOL>.csv files",
                params="data",
            )

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
        path = self.path_of(symbol)
        frame = _read_validated(path, symbol, self.max_ffill)
        return clip_dates(frame, symbol, start, end, str(path))

    def symbols(self) -> list[str]:
        """Symbols of the price files under the folder (other CSV files, such as a constituents
        list or an option chain, are left out)."""
        out = []
        for paths in self._index().values():
            for p in paths:
                if _is_price_file(p):
                    out.append(p.stem.replace("_", "^", 1) if p.stem.startswith("_") else p.stem)
        return sorted(set(out))


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


@lru_cache(maxsize=256)
def _read_cached(path: Path, mtime: float, symbol: str, max_ffill: int) -> pd.DataFrame:
    return validate_ohlcv(read_price_csv(path, symbol), symbol, str(path), max_ffill=max_ffill)


def _read_validated(path: Path, symbol: str, max_ffill: int) -> pd.DataFrame:
    return _read_cached(path, path.stat().st_mtime, symbol, max_ffill).copy()
