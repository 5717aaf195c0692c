"""Option chains by date: one Protocol, and the sources behind it (a folder, a table, Yahoo).

A :class:`ChainSource` answers "the chain of SYMBOL as it was quoted on the session of AS-OF":

>>> source = get_chain_source("../shared/data/in/fo_bhavcopy")       # doctest: +SKIP
>>> snap = source.chain("RELIANCE", "2026-02-02")                    # doctest: +SKIP
>>> snap.session, len(snap.frame), snap.frame.columns[:5].tolist()   # doctest: +SKIP

The session picked is the latest one on or before ``as_of``, at most ``max_age_days``
calendar days older (a weekend or a holiday); an older or a later chain is a DataError,
never a silent look-ahead or a stale book. ``snap.frame`` is the canonical chain frame of
:mod:`quantalloc.data.chains` (validated: crossed, negative and expired rows dropped and
counted in ``snap.notes``).

Writing a new source (a vendor API, a broker) means implementing the three members of
:class:`ChainSource`; :func:`get_chain_source` maps a ``--chains`` string to one. Symbols are
matched after :func:`chain_symbol` (``^NSEI`` -> ``NIFTY``, ``RELIANCE.NS`` -> ``RELIANCE``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import pandas as pd

from quantalloc.data.base import DateLike, to_timestamp
from quantalloc.data.chain_layouts import detect_layout, is_chain_file, read_chain_file, read_header
from quantalloc.data.chain_memo import chain_key, load_chain, store_chain
from quantalloc.data.chains import validate_chain
from quantalloc.errors import ConfigError, DataError

log = logging.getLogger(__name__)

DEFAULT_MAX_AGE_DAYS = 5
"""A chain may be this many calendar days older than the as-of date (a weekend, a holiday)."""

CHAIN_SOURCE_FORMS = (
    "DIR (a folder of chain files), yahoo, store, dhan, upstox, polygon, ibkr, auto, or a list "
    "such as dhan,yahoo"
)

_ALIASES = {
    "^NSEI": "NIFTY",
    "NIFTY50": "NIFTY",
    "NIFTY 50": "NIFTY",
    "^NSEBANK": "BANKNIFTY",
    "NIFTYBANK": "BANKNIFTY",
    "^GSPC": "SPX",
    "^SPX": "SPX",
    "SPXW": "SPX",
}


def chain_symbol(symbol: str) -> str:
    """The name chains list ``symbol`` under: upper case, exchange suffix and index aliases
    resolved (``^NSEI`` -> ``NIFTY``, ``RELIANCE.NS`` -> ``RELIANCE``, ``^GSPC`` -> ``SPX``)."""
    name = str(symbol).strip().upper()
    name = re.sub(r"\.(NS|BO|NSE|BSE)$", "", name)
    return _ALIASES.get(name, name)


@dataclass(frozen=True)
class ChainSnapshot:
    """One underlying's chain as quoted on one session.

    ``frame`` has the canonical columns (:data:`quantalloc.data.chains.CHAIN_COLUMNS`);
    ``quoted_at`` is the quote time where the source records one (Yahoo), else None;
    ``notes`` say what was dropped or assumed, one line each.
    """

    symbol: str
    session: pd.Timestamp
    frame: pd.DataFrame = field(repr=False)
    source: str
    quoted_at: pd.Timestamp | None = None
    notes: tuple[str, ...] = ()


@runtime_checkable
class ChainSource(Protocol):
    """A source of option chains by date."""

    name: str

    def sessions(self) -> list[pd.Timestamp]:
        """Quote dates this source holds chains for, ascending (may be empty when it cannot
        list them, e.g. a live API)."""
        ...

    def symbols(self, as_of: DateLike) -> list[str]:
        """Underlyings with a chain on the session of ``as_of`` (as :func:`chain_symbol`)."""
        ...

    def chain(self, symbol: str, as_of: DateLike) -> ChainSnapshot:
        """The chain of ``symbol`` on the latest session on or before ``as_of``.

        Raises DataError when no session lies within the source's ``max_age_days`` before
        ``as_of``, or the session has no chain of ``symbol``.
        """
        ...


def pick_session(
    sessions: list[pd.Timestamp], as_of: DateLike, max_age_days: int, where: str
) -> pd.Timestamp:
    """The latest of ``sessions`` on or before ``as_of`` and at most ``max_age_days`` older."""
    day = to_timestamp(as_of, "as-of date").normalize()
    if not sessions:
        raise DataError(f"{where} holds no dated option chains; check `chains`", params="chains")
    before = [s for s in sessions if s <= day]
    span = f"sessions {sessions[0].date()} .. {sessions[-1].date()}"
    if not before:
        raise DataError(
            f"no option chain on or before {day.date()} in {where} ({span}); "
            "choose an `as_of` date inside that range",
            params="as_of",
        )
    session = before[-1]
    age = (day - session).days
    if age > max_age_days:
        raise DataError(
            f"the latest option chain before {day.date()} in {where} is from {session.date()}, "
            f"{age} days older (at most {max_age_days} allowed); choose an `as_of` date with a "
            f"chain ({span}) or give fresher `chains`",
            params=("as_of", "chains"),
        )
    return session


# ---- a folder of chain files ------------------------------------------------------------------

_NAME_DATE = re.compile(r"(?<!\d)(20\d{2})-?(\d{2})-?(\d{2})(?!\d)")
_QUOTE_DATE_COLUMN = {
    "nse_fo": "traddt",
    "vendor": "quotedate",
    "cboe": "quote_date",
    "yfinance": "spot_date",
    "eod": "date",
}


def _name_date(path: Path) -> pd.Timestamp | None:
    match = _NAME_DATE.search(path.name)
    if match is None:
        return None
    try:
        return pd.Timestamp(f"{match.group(1)}-{match.group(2)}-{match.group(3)}")
    except ValueError:
        return None


def _name_symbol(path: Path) -> str:
    """The underlying a file name starts with (``SPY_2015-01-05.csv`` -> ``SPY``), else ''."""
    match = re.match(r"([A-Za-z^][A-Za-z0-9&\-^]*?)_", path.name)
    return chain_symbol(match.group(1)) if match else ""


def _file_session(path: Path) -> tuple[pd.Timestamp | None, str]:
    """The quote date of a chain file (its first data row), else a date in its name."""
    if not path.name.lower().endswith((".json", ".json.gz")):
        cols = read_header(path)
        layout = detect_layout(cols)
        if layout is None:
            return None, "unknown layout"
        column = _QUOTE_DATE_COLUMN.get(layout)
        if column is not None and column in cols:
            first = pd.read_csv(path, nrows=1, skipinitialspace=True)
            first.columns = [str(c).strip().lower() for c in first.columns]
            value = str(first[column].iloc[0]) if len(first) else ""
            fmt = "%m/%d/%Y" if layout == "vendor" else None
            stamp = pd.to_datetime(value, format=fmt, errors="coerce")
            if not pd.isna(stamp):
                return pd.Timestamp(stamp).normalize(), ""
    named = _name_date(path)
    if named is None:
        return None, "no quote date in the file or its name"
    return named, "its session is read from its file name (the file carries no quote date)"


@lru_cache(maxsize=64)
def _load_file(path: Path, mtime: float) -> tuple[pd.DataFrame, tuple[str, ...]]:
    try:
        digest = chain_key(path, path.read_bytes())
    except OSError:
        digest = None
    kept = None if digest is None else load_chain(digest)
    if kept is not None:
        return kept, tuple(kept.attrs.get("notes", ()))
    chain, notes = _validated_file(path)
    if digest is not None:
        store_chain(digest, chain)
    return chain, notes


def _validated_file(path: Path) -> tuple[pd.DataFrame, tuple[str, ...]]:
    frame, _ = read_chain_file(path)
    if "symbol" not in frame.columns or frame["symbol"].isna().all():
        frame["symbol"] = _name_symbol(path)
    names = {s: chain_symbol(s) for s in frame["symbol"].dropna().unique() if isinstance(s, str)}
    spelled = frame["symbol"].map(names)  # each distinct name spelled once, not per row
    frame["symbol"] = spelled.where(spelled.notna(), frame["symbol"])
    chain = validate_chain(frame, source=str(path))
    return chain, tuple(chain.attrs.get("notes", ()))


class FolderChainSource:
    """Chain files under a folder (any depth), one session per file (or per symbol and session).

    Files are recognised by their header (:mod:`quantalloc.data.chain_layouts`); each file's
    session is its first row's quote date, or a date in its name when the layout carries none.
    Files are read on first use and kept in memory. ``root`` may also be a single chain file.
    """

    def __init__(self, root: str | Path, *, max_age_days: int = DEFAULT_MAX_AGE_DAYS) -> None:
        self.root = Path(root).expanduser()
        self._files: list[Path] | None = [self.root] if self.root.is_file() else None
        if self._files is None and not self.root.is_dir():
            raise DataError(
                f"chain folder {self.root} does not exist; give `chains` a folder of chain "
                f"files, or one of {CHAIN_SOURCE_FORMS}",
                params="chains",
            )
        if max_age_days < 0:
            raise ConfigError(f"max_age_days is {max_age_days}; it must be 0 or more days")
        self.name = f"chains:{self.root}"
        self.max_age_days = max_age_days
        self._index: dict[pd.Timestamp, list[Path]] | None = None
        self._undated: dict[Path, str] = {}
        self._named: set[Path] = set()
        self._sessions: dict[
            pd.Timestamp, tuple[pd.DataFrame, dict[str, pd.Index], tuple[str, ...]]
        ] = {}

    def _scan(self) -> dict[pd.Timestamp, list[Path]]:
        if self._index is None:
            index: dict[pd.Timestamp, list[Path]] = {}
            files = self._files or sorted(p for p in self.root.rglob("*") if p.is_file())
            for path in files:
                if not is_chain_file(path):
                    continue
                session, why = _file_session(path)
                if session is None:
                    self._undated[path] = why
                    continue
                if why:
                    self._named.add(path)
                index.setdefault(session, []).append(path)
            if not index:
                raise DataError(
                    f"no option-chain files with a quote date under {self.root}; "
                    "point `chains` at a folder of chain files",
                    params="chains",
                )
            self._index = index
        return self._index

    def sessions(self) -> list[pd.Timestamp]:
        return sorted(self._scan())

    def _session(
        self, as_of: DateLike
    ) -> tuple[pd.Timestamp, pd.DataFrame, dict[str, pd.Index], tuple[str, ...]]:
        index = self._scan()
        session = pick_session(sorted(index), as_of, self.max_age_days, str(self.root))
        if session not in self._sessions:
            frames: list[pd.DataFrame] = []
            notes: list[str] = []
            for path in index[session]:
                chain, file_notes = _load_file(path, path.stat().st_mtime)
                chain = chain.loc[chain["as_of"].isna() | (chain["as_of"] == session)]
                frames.append(chain)
                notes += file_notes
                if path in self._named:
                    notes.append(f"{path.name}: session {session.date()} read from its file name")
            frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
            groups = {str(k): v for k, v in frame.groupby("symbol", sort=True).groups.items()}
            self._sessions = {session: (frame, groups, tuple(notes))}  # keep one session
        frame, groups, kept = self._sessions[session]
        return session, frame, groups, kept

    def symbols(self, as_of: DateLike) -> list[str]:
        _, _, groups, _ = self._session(as_of)
        return sorted(groups)

    def chain(self, symbol: str, as_of: DateLike) -> ChainSnapshot:
        session, frame, groups, notes = self._session(as_of)
        name = chain_symbol(symbol)
        rows = groups.get(name)
        if rows is None:
            listed = sorted(groups)
            raise DataError(
                f"{symbol}: no option chain of {name} on {session.date()} in {self.root} "
                f"({len(listed)} underlyings there, e.g. {', '.join(listed[:5])})"
            )
        chain = frame.loc[rows].reset_index(drop=True)
        out_notes = notes
        day = to_timestamp(as_of, "as-of date").normalize()
        if session != day:
            out_notes += (f"{name}: chain of {session.date()} used for as-of {day.date()}",)
        return ChainSnapshot(
            symbol=name, session=session, frame=chain, source=str(self.root), notes=out_notes
        )


# ---- a table of chain rows (the store's option_chain_data) -------------------------------------


class TableChainSource:
    """Chains from a table of canonical rows with ``symbol`` and the quote date ``as_of``
    (the store's ``option_chain_data``); ``read`` fetches the table when first needed."""

    def __init__(
        self,
        read: Callable[[], pd.DataFrame | None],
        *,
        name: str = "store",
        max_age_days: int = DEFAULT_MAX_AGE_DAYS,
    ) -> None:
        self._read = read
        self.name = name
        self.max_age_days = max_age_days
        self._frame: pd.DataFrame | None = None

    def _table(self) -> pd.DataFrame:
        if self._frame is None:
            raw = self._read()
            if raw is None or not len(raw):
                raise DataError(
                    f"the option_chain_data table of {self.name} is empty; import chains with "
                    "`quantalloc db import option_chain_data FILE.csv` or give `chains` a folder",
                    params="chains",
                )
            if "as_of" not in raw.columns or raw["as_of"].isna().any():
                blank = raw["as_of"].isna().sum() if "as_of" in raw.columns else len(raw)
                raise DataError(
                    f"option_chain_data in {self.name} has {blank} rows without a quote date "
                    "(as_of); every row needs the session it was quoted on"
                )
            frame = raw.copy()
            frame["symbol"] = frame["symbol"].astype(str).map(chain_symbol)
            frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.normalize()
            self._frame = frame
        return self._frame

    def sessions(self) -> list[pd.Timestamp]:
        return sorted(pd.Timestamp(s) for s in self._table()["as_of"].unique())

    def _rows(self, as_of: DateLike) -> tuple[pd.Timestamp, pd.DataFrame]:
        session = pick_session(self.sessions(), as_of, self.max_age_days, self.name)
        table = self._table()
        return session, table.loc[table["as_of"] == session]

    def symbols(self, as_of: DateLike) -> list[str]:
        return sorted(set(self._rows(as_of)[1]["symbol"]))

    def chain(self, symbol: str, as_of: DateLike) -> ChainSnapshot:
        session, rows = self._rows(as_of)
        name = chain_symbol(symbol)
        mine = rows.loc[rows["symbol"] == name]
        if mine.empty:
            raise DataError(
                f"{symbol}: no option_chain_data rows of {name} on {session.date()} in "
                f"{self.name}; import that chain or give `chains` a folder",
                params="chains",
            )
        frame = validate_chain(mine, source=f"option_chain_data[{name}, {session.date()}]")
        return ChainSnapshot(
            symbol=name,
            session=session,
            frame=frame,
            source=self.name,
            notes=tuple(frame.attrs.get("notes", ())),
        )


__all__ = [
    "CHAIN_SOURCE_FORMS",
    "DEFAULT_MAX_AGE_DAYS",
    "ChainSnapshot",
    "ChainSource",
    "FolderChainSource",
    "TableChainSource",
    "chain_symbol",
    "pick_session",
]
