"""Exchange day files: one file per session holding many symbols' prices.

Recognised by their header, anywhere under a ``csv:DIR`` folder:

``cm``
    NSE cash-market bhavcopy, the classic layout (``SYMBOL, SERIES, OPEN, HIGH, LOW, CLOSE,
    TOTTRDQTY, TIMESTAMP`` with ``DD-Mon-YYYY`` dates), the full layout (``SYMBOL, SERIES,
    DATE1, OPEN_PRICE, HIGH_PRICE, LOW_PRICE, CLOSE_PRICE, TTL_TRD_QNTY``) and the UDiFF layout
    (``TradDt, TckrSymb, SctySrs, OpnPric, HghPric, LwPric, ClsPric, TtlTradgVol``). Equity
    series ``EQ`` rows only.
``fo``
    NSE F&O bhavcopy (UDiFF, ``.csv`` or ``.csv.gz``): every row carries the underlying's close
    ``UndrlygPric``, which gives a close-only bar per underlying and session (``NIFTY`` serves
    ``^NSEI``, ``BANKNIFTY`` ``^NSEBANK``). Reading these files is slow (gzip), so the closes
    of each file are cached in ``cache_dir`` as parquet, keyed by the file's size and mtime.

:meth:`DayFiles.history` returns one symbol's rows, cash-market bars first and F&O closes only
on sessions the cash market does not cover.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.errors import DataError

log = logging.getLogger(__name__)

INDEX_NAMES = {"NIFTY": "^NSEI", "BANKNIFTY": "^NSEBANK"}
"""Underlying names on F&O rows that stand for an index the price providers call otherwise."""

_CM_LAYOUTS: dict[str, dict[str, str]] = {
    "classic": {
        "symbol": "symbol",
        "series": "series",
        "date": "timestamp",
        "open": "open",
        "high": "high",
        "low": "low",
        "close": "close",
        "volume": "tottrdqty",
    },
    "full": {
        "symbol": "symbol",
        "series": "series",
        "date": "date1",
        "open": "open_price",
        "high": "high_price",
        "low": "low_price",
        "close": "close_price",
        "volume": "ttl_trd_qnty",
    },
    "udiff": {
        "symbol": "tckrsymb",
        "series": "sctysrs",
        "date": "traddt",
        "open": "opnpric",
        "high": "hghpric",
        "low": "lwpric",
        "close": "clspric",
        "volume": "ttltradgvol",
    },
}
_FO_NEEDS = {"traddt", "tckrsymb", "undrlygpric", "xprydt"}


def _header(path: Path) -> list[str]:
    opener: Callable[..., Any] = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
            line = handle.readline()
    except OSError:
        return []
    return [c.strip().strip('"').lower() for c in line.strip().split(",")]


def day_file_kind(path: Path) -> tuple[str, str] | None:
    """``("cm", layout)`` or ``("fo", "udiff")`` when ``path`` is a day file, else None."""
    cols = set(_header(path))
    if _FO_NEEDS <= cols:
        return "fo", "udiff"
    for layout, names in _CM_LAYOUTS.items():
        if set(names.values()) <= cols:
            return "cm", layout
    return None


def _read_cm(paths: list[Path], layout: str) -> pd.DataFrame:
    """The EQ rows of cash-market files of one ``layout``: each file read raw, the text parsed
    once for all of them (per-file parsing cost more than the reading)."""
    names = _CM_LAYOUTS[layout]
    wanted = set(names.values())
    parts = []
    for k, path in enumerate(paths):
        raw = pd.read_csv(
            path,
            skipinitialspace=True,
            dtype=str,
            usecols=lambda c: str(c).strip().lower() in wanted,
        )
        raw.columns = [str(c).strip().lower() for c in raw.columns]
        parts.append(raw.assign(_file=k))
    raw = pd.concat(parts, ignore_index=True)
    raw = raw.loc[raw[names["series"]].str.strip() == "EQ"]
    dates = raw[names["date"]].str.strip()
    fmt = "%d-%b-%Y" if layout in ("classic", "full") else "%Y-%m-%d"
    stamps = pd.to_datetime(dates, format=fmt, errors="coerce")
    if stamps.isna().any():
        stamps = pd.to_datetime(dates, format="mixed", dayfirst=layout != "udiff", errors="coerce")
    if stamps.isna().any():
        first = stamps.isna().to_numpy().argmax()
        raise DataError(
            f"{paths[int(raw['_file'].iloc[first])]}: unreadable dates in the cash-market day "
            f"file (e.g. {dates.iloc[first]!r}); fix the file"
        )

    def number(column: str) -> np.ndarray:
        return pd.to_numeric(raw[names[column]].str.strip(), errors="coerce").to_numpy(float)

    return pd.DataFrame(
        {
            "symbol": raw[names["symbol"]].str.strip().str.upper().to_numpy(),
            "date": stamps.dt.normalize().to_numpy(),
            "open": number("open"),
            "high": number("high"),
            "low": number("low"),
            "close": number("close"),
            "volume": number("volume"),
        }
    )


def _read_fo(path: Path, cache_dir: Path | None) -> pd.DataFrame:
    stat = path.stat()
    cached: Path | None = None
    if cache_dir is not None:
        digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]
        cached = cache_dir / f"{digest}-{stat.st_size}-{stat.st_mtime_ns}.parquet"
        if cached.is_file():
            try:
                return pd.read_parquet(cached)
            except (OSError, ValueError):
                log.info("day-file cache %s unreadable; reading %s again", cached, path)
    raw = pd.read_csv(
        path, usecols=["TradDt", "TckrSymb", "UndrlygPric"], engine="pyarrow"
    ).drop_duplicates(["TradDt", "TckrSymb"])
    out = pd.DataFrame(
        {
            "symbol": raw["TckrSymb"].astype(str).str.strip().str.upper().to_numpy(),
            "date": pd.to_datetime(raw["TradDt"]).dt.normalize().to_numpy(),
            "close": pd.to_numeric(raw["UndrlygPric"], errors="coerce").to_numpy(float),
        }
    )
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(".tmp")
            out.to_parquet(tmp, index=False)
            tmp.replace(cached)
        except OSError as exc:  # a cache that cannot be written must not fail the read
            log.info("cannot cache day-file closes at %s: %s", cached, exc)
    return out


@lru_cache(maxsize=8)
def _load(
    files: tuple[tuple[Path, str, str, int, int], ...], cache_dir: Path | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    cm_files: dict[str, list[Path]] = {}
    fo_parts = []
    for path, kind, layout, _, _ in files:
        if kind == "cm":
            cm_files.setdefault(layout, []).append(path)
        else:
            fo_parts.append(_read_fo(path, cache_dir))
    cm_parts = [_read_cm(paths, layout) for layout, paths in cm_files.items()]
    cm_cols = ["symbol", "date", "open", "high", "low", "close", "volume"]
    cm = pd.concat(cm_parts, ignore_index=True) if cm_parts else pd.DataFrame(columns=cm_cols)
    fo = (
        pd.concat(fo_parts, ignore_index=True)
        if fo_parts
        else pd.DataFrame(columns=["symbol", "date", "close"])
    )
    return cm, fo


class DayFiles:
    """The day files under ``root`` (see the module notes), read together on first use."""

    def __init__(self, root: Path, *, cache_dir: Path | None = None) -> None:
        self.root = root
        self.cache_dir = cache_dir
        self._files: tuple[tuple[Path, str, str, int, int], ...] | None = None
        self._groups: tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]] | None = None

    def files(self) -> tuple[tuple[Path, str, str, int, int], ...]:
        """(path, kind, layout, size, mtime_ns) of every day file under the folder."""
        if self._files is None:
            found = []
            paths = sorted({*self.root.rglob("*.csv"), *self.root.rglob("*.csv.gz")})
            for path in paths:
                kind = day_file_kind(path)
                if kind is not None:
                    st = path.stat()
                    found.append((path, kind[0], kind[1], st.st_size, st.st_mtime_ns))
            self._files = tuple(found)
        return self._files

    def _by_symbol(self) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
        if self._groups is None:
            cm, fo = _load(self.files(), self.cache_dir)
            self._groups = (
                {str(k): g for k, g in cm.groupby("symbol", sort=False)},
                {str(k): g for k, g in fo.groupby("symbol", sort=False)},
            )
        return self._groups

    def symbols(self) -> list[str]:
        """Symbols with day-file rows, in the providers' spelling (``NIFTY`` -> ``^NSEI``)."""
        if not self.files():
            return []
        cm, fo = self._by_symbol()
        return sorted({INDEX_NAMES.get(s, s) for s in (*cm, *fo)})

    def history(self, symbol: str) -> pd.DataFrame | None:
        """OHLCV rows of ``symbol`` from the day files (None when they hold none): cash-market
        bars, then close-only bars from F&O rows on the sessions the cash market lacks."""
        if not self.files():
            return None
        name = symbol.strip().upper()
        name = {v: k for k, v in INDEX_NAMES.items()}.get(name, name)
        cm, fo = self._by_symbol()
        parts = []
        if name in cm:
            parts.append(cm[name].drop(columns="symbol").set_index("date"))
        if name in fo:
            rows = fo[name].drop(columns="symbol").set_index("date")
            if parts:
                rows = rows.loc[~rows.index.isin(parts[0].index)]
            close = rows["close"]
            parts.append(
                pd.DataFrame(
                    {"open": close, "high": close, "low": close, "close": close, "volume": 0.0}
                )
            )
        if not parts:
            return None
        frame = pd.concat(parts).sort_index()
        frame.index = pd.DatetimeIndex(frame.index, name="date")
        return frame.loc[:, ["open", "high", "low", "close", "volume"]]


def find_gaps(index: pd.DatetimeIndex, min_weekdays: int = 4) -> list[tuple[str, str, int]]:
    """Runs of at least ``min_weekdays`` weekdays without a row between the first and last row:
    (first missing day, last missing day, weekdays missing). Single holidays are not gaps."""
    days = pd.DatetimeIndex(index).normalize().unique().sort_values()
    if len(days) < 2:
        return []
    start = days[:-1].to_numpy().astype("M8[D]") + np.timedelta64(1, "D")
    stop = days[1:].to_numpy().astype("M8[D]")
    missing = np.busday_count(start, stop)
    out = []
    for i in np.flatnonzero(missing >= min_weekdays):
        first = np.busday_offset(start[i], 0, roll="forward")
        last = np.busday_offset(stop[i], -1, roll="backward")
        out.append((str(first), str(last), int(missing[i])))
    return out


__all__ = ["INDEX_NAMES", "DayFiles", "day_file_kind", "find_gaps"]
