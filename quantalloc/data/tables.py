"""Input tables named as in the seeds' Supabase schema, read from CSV files and validated.

Each table has required columns (present, with a value in every row), optional columns (may be
absent or blank: the columns the SQL store keeps nullable), a kind per column (text, number,
percentage, whole number, yes/no, date, one of a fixed set, JSON legs) and a key that must be
unique. Column names are matched without regard to case or surrounding spaces; extra columns
(ids, timestamps) are kept for the caller to judge. Validation returns a typed copy (nullable
``Int64``/``boolean`` where blanks remain, legs as lists of dicts, dates as ``datetime64``) or
raises a DataError naming the table, the rows and the fix.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from quantalloc.errors import ConfigError, DataError

log = logging.getLogger(__name__)

INSTRUMENTS: tuple[str, ...] = ("stock", "call", "put")
POSITION_TYPES: tuple[str, ...] = ("LONG", "SHORT", "NEUTRAL")
MARKET_CAP_CATEGORIES: tuple[str, ...] = ("Large", "Mid", "Small", "Micro")
OPTION_KINDS: tuple[str, ...] = ("call", "put")

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
_KIND_CODES = {"c": "call", "ce": "call", "call": "call", "p": "put", "pe": "put", "put": "put"}
_MAX_SHOWN = 5


@dataclass(frozen=True)
class TableSpec:
    """Columns of one input table: name -> kind, for required and optional columns.

    Kinds: ``text`` (non-blank), ``float``, ``pct`` (percent in [0, 100]), ``prob`` (in [0, 1]),
    ``nonneg`` (float >= 0), ``positive`` (float > 0), ``int+`` (whole number > 0), ``bool``,
    ``date``, ``position`` (LONG/SHORT/NEUTRAL), ``cap`` (Large/Mid/Small/Micro), ``kind``
    (call/put), ``instrument`` (stock/call/put), ``legs`` (a JSON list of legs, kept as text).
    """

    required: dict[str, str]
    optional: dict[str, str] = field(default_factory=dict)
    key: tuple[str, ...] = ()
    weight: str | None = None
    filled: dict[str, str] = field(default_factory=dict)
    """Optional columns that, when present, need a value in every row: name -> what a row
    without the column gets instead (said in the message)."""


TABLE_SPECS: dict[str, TableSpec] = {
    "industry_allocations_current": TableSpec(
        required={"industry": "text", "position_type": "position", "weight_percentage": "pct"},
        optional={"sector": "text", "rating": "text"},
        key=("industry",),
        weight="weight_percentage",
    ),
    "sector_allocations_current": TableSpec(
        required={"sector": "text", "weight_percentage": "pct"},
        optional={"position_type": "position", "rating": "text"},
        key=("sector",),
        weight="weight_percentage",
    ),
    "stock_data": TableSpec(
        required={"symbol": "text", "industry": "text"},
        optional={
            "sector": "text",
            "fno_stock": "bool",
            "lot_size": "int+",
            "market_cap_category": "cap",
        },
        key=("symbol",),
        filled={"lot_size": "the market's contract size (US 100 shares)"},
    ),
    "stock_rankings": TableSpec(
        required={"symbol": "text", "score": "float"},
        optional={"market_cap_category": "cap"},
        key=("symbol",),
    ),
    "strategies": TableSpec(
        required={"stock_name": "text", "strategy_name": "text", "total_score": "float"},
        optional={
            "industry": "text",
            "probability_of_profit": "prob",
            "risk_reward_ratio": "nonneg",
            "legs": "legs",
        },
    ),
    "option_chain_data": TableSpec(
        required={
            "symbol": "text",
            "as_of": "date",
            "expiry": "date",
            "strike": "positive",
            "kind": "kind",
        },
        optional={
            "root": "text",
            "bid": "nonneg",
            "ask": "nonneg",
            "last": "nonneg",
            "settlement": "nonneg",
            "volume": "nonneg",
            "open_interest": "nonneg",
            "implied_vol": "nonneg",
            "spot": "positive",
            "lot_size": "positive",
        },
        key=("symbol", "as_of", "root", "expiry", "strike", "kind"),
    ),
    "holdings": TableSpec(
        required={"symbol": "text", "instrument": "instrument", "quantity": "float"},
        optional={"strike": "positive", "expiry": "date", "cost": "nonneg"},
    ),
}
"""Columns per table. Required columns must be present with a value in every row; optional
columns (the same set the SQL store keeps as nullable) may be absent or blank, and are checked
where they hold a value."""

INPUT_TABLES: tuple[str, ...] = tuple(TABLE_SPECS)
"""The input tables, in the order of the original Supabase schema."""


def validate_table(
    name: str, frame: pd.DataFrame, *, source: str = "table", normalize: bool = False
) -> pd.DataFrame:
    """Return ``frame`` checked and typed as table ``name``; a DataError says what is wrong.

    Parameters
    ----------
    name
        One of :data:`INPUT_TABLES`.
    frame
        The raw table (e.g. as read from CSV).
    source
        Where it came from, for messages (a file path).
    normalize
        For tables with weights: when the weights sum to more than 100%, rescale them to sum
        to exactly 100% (logged) instead of raising.
    """
    if name not in TABLE_SPECS:
        raise ConfigError(f"unknown table {name!r}; known tables: {', '.join(INPUT_TABLES)}")
    spec = TABLE_SPECS[name]
    where = f"{name} ({source})" if source != "table" else name
    out = frame.copy()
    out.columns = [str(c).strip().lower() for c in out.columns]
    if name == "option_chain_data" and "kind" not in out.columns and "option_type" in out.columns:
        out = out.rename(columns={"option_type": "kind"})
    missing = [c for c in spec.required if c not in out.columns]
    if missing:
        raise DataError(
            f"{where} is missing column(s) {', '.join(missing)} (found "
            f"{', '.join(map(str, out.columns))}); required: {', '.join(spec.required)}"
        )
    if out.empty:
        raise DataError(f"{where} has no rows; give at least one row or leave the table out")
    out = out.reset_index(drop=True)
    labels = _row_labels(out, spec)
    for column, default in spec.filled.items():
        blank = _blank(out[column]) if column in out.columns else np.zeros(0, dtype=bool)
        if blank.any():
            raise DataError(
                f"{where}: {column} is blank in {_bad(blank, labels)}; give every row a "
                f"{column}, or leave the column out so every symbol gets {default}"
            )
    for column, kind in {**spec.required, **spec.optional}.items():
        if column in out.columns:
            out[column] = _convert(
                out[column], kind, column, where, labels, optional=column in spec.optional
            )
    _check_unique(out, spec, where, labels)
    if spec.weight is not None:
        out = _check_weights(out, spec.weight, where, name, normalize)
    return out


def read_table_csv(name: str, path: str | Path, *, normalize: bool = False) -> pd.DataFrame:
    """Read and validate table ``name`` from the CSV file ``path``."""
    if name not in TABLE_SPECS:
        raise ConfigError(f"unknown table {name!r}; known tables: {', '.join(INPUT_TABLES)}")
    file = Path(path).expanduser()
    if not file.is_file():
        raise DataError(f"{name}: file {file} not found; give --table {name}=FILE.csv")
    try:
        raw = pd.read_csv(file, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (OSError, ValueError) as exc:
        raise DataError(f"{name}: cannot read {file} as CSV: {exc}") from exc
    return validate_table(name, raw, source=str(file), normalize=normalize)


def parse_table_args(
    items: list[str] | None, *, normalize: bool = False
) -> dict[str, pd.DataFrame]:
    """Turn ``--table NAME=FILE.csv`` arguments into validated frames keyed by table name.

    When both ``stock_data`` and ``stock_rankings`` are given, every ranked symbol must be in
    ``stock_data`` (otherwise it has no industry).
    """
    tables: dict[str, pd.DataFrame] = {}
    for item in items or []:
        name, sep, file = item.partition("=")
        name, file = name.strip(), file.strip()
        if not sep or not name or not file:
            raise ConfigError(f"--table takes NAME=FILE.csv, got {item!r}")
        if name in tables:
            raise ConfigError(f"--table {name} given twice; give each table once")
        tables[name] = read_table_csv(name, file, normalize=normalize)
    check_consistency(tables)
    return tables


def check_consistency(tables: dict[str, pd.DataFrame]) -> None:
    """Cross-table rules: ranked symbols must appear in ``stock_data`` (which gives industries)."""
    if "stock_data" in tables and "stock_rankings" in tables:
        known = set(tables["stock_data"]["symbol"])
        orphans = sorted(set(tables["stock_rankings"]["symbol"]) - known)
        if orphans:
            raise DataError(
                f"stock_rankings has symbols without an industry (not in stock_data): "
                f"{_list(orphans)}; add them to stock_data or drop them from stock_rankings"
            )


def _row_labels(frame: pd.DataFrame, spec: TableSpec) -> list[str]:
    """``row N`` (1-based, header excluded), with the key value where the table has one."""
    key = spec.key[0] if spec.key and spec.key[0] in frame.columns else None
    values = [
        "" if key is None or _is_blank(v) else str(v).strip()
        for v in (frame[key].tolist() if key else [None] * len(frame))
    ]
    return [f"row {pos + 1}" + (f" ({v})" if v else "") for pos, v in enumerate(values)]


def _list(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_SHOWN])
    more = len(items) - _MAX_SHOWN
    return shown + (f" (+{more} more)" if more > 0 else "")


def _bad(mask: np.ndarray, labels: list[str]) -> str:
    return _list([labels[i] for i in np.flatnonzero(mask)])


def _blank(series: pd.Series) -> np.ndarray:
    if series.dtype == object:
        return np.array([_is_blank(v) for v in series.tolist()], dtype=bool)
    text = series.astype("string").str.strip()
    return np.asarray((text.isna() | (text == "") | (text.str.lower() == "nan")).to_numpy(bool))


def _is_blank(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float):
        return value != value  # NaN
    if isinstance(value, str):
        return value.strip() == "" or value.strip().lower() == "nan"
    return False


def _convert(
    series: pd.Series, kind: str, column: str, where: str, labels: list[str], *, optional: bool
) -> pd.Series:
    blank = _blank(series)
    if blank.any() and not optional:
        rows = [f"{i + 1}" for i in np.flatnonzero(blank)]
        which = f"row {rows[0]} is" if len(rows) == 1 else f"rows {_list(rows)} are"
        hint = ""
        if column == "industry" and where.startswith("stock_data"):
            hint = f" (symbols without an industry: {_bad(blank, labels)})"
        raise DataError(
            f"{where}: {column} is required but {which} empty{hint}; fill it in or drop the row"
        )
    if kind == "legs":
        return _legs(series, blank, where, labels)
    text = series.astype("string").str.strip()
    if kind == "text":
        return text.where(~pd.Series(blank, index=series.index)).astype(str)
    if kind in ("float", "pct", "prob", "nonneg", "positive", "int+"):
        return _numeric(series, kind, column, where, labels, blank)
    if kind == "bool":
        low = text.str.lower()
        bad = ~(low.isin(_TRUE) | low.isin(_FALSE)).to_numpy(bool) & ~blank
        if bad.any():
            raise DataError(
                f"{where}: {column} must be true or false; {_bad(bad, labels)} "
                f"say {_list(sorted(set(text[bad].astype(str))))}"
            )
        flags = pd.Series(low.isin(_TRUE).to_numpy(bool), index=series.index, dtype="boolean")
        if not blank.any():
            return flags.astype(bool)
        flags[blank] = pd.NA
        return flags
    if kind == "date":
        if pd.api.types.is_datetime64_any_dtype(series):
            return series  # already dates (kept as given, time of day included)
        stamps = pd.to_datetime(text, errors="coerce", format="mixed")
        bad = (stamps.isna().to_numpy(bool)) & ~blank
        if bad.any():
            raise DataError(
                f"{where}: {column} is not a date in {_bad(bad, labels)}; use YYYY-MM-DD"
            )
        return stamps
    if kind == "position":
        up = text.str.upper()
        bad = ~up.isin(POSITION_TYPES).to_numpy(bool) & ~blank
        if bad.any():
            raise DataError(
                f"{where}: unknown position_type {_list(sorted(set(text[bad].astype(str))))} in "
                f"{_bad(bad, labels)}; use one of {', '.join(POSITION_TYPES)}"
            )
        return up.where(~pd.Series(blank, index=series.index)).astype(str)
    if kind == "cap":
        lookup = {c.lower(): c for c in MARKET_CAP_CATEGORIES}
        keys = text.str.lower().str.replace(r"[\s_-]*cap$", "", regex=True)
        bad = ~keys.isin(list(lookup)).to_numpy(bool) & ~blank
        if bad.any():
            raise DataError(
                f"{where}: unknown market_cap_category {_list(sorted(set(text[bad].astype(str))))} "
                f"in {_bad(bad, labels)}; use one of {', '.join(MARKET_CAP_CATEGORIES)}"
            )
        return keys.map(lookup).where(~pd.Series(blank, index=series.index)).astype(str)
    if kind == "instrument":
        keys = text.str.lower().replace({"ce": "call", "pe": "put", "c": "call", "p": "put"})
        bad = ~keys.isin(list(INSTRUMENTS)).to_numpy(bool) & ~blank
        if bad.any():
            raise DataError(
                f"{where}: unknown instrument {_list(sorted(set(text[bad].astype(str))))} in "
                f"{_bad(bad, labels)}; use one of {', '.join(INSTRUMENTS)}"
            )
        return keys.astype(str)
    if kind == "kind":
        keys = text.str.lower()
        bad = ~keys.isin(list(_KIND_CODES)).to_numpy(bool) & ~blank
        if bad.any():
            raise DataError(
                f"{where}: unknown option kind {_list(sorted(set(text[bad].astype(str))))} in "
                f"{_bad(bad, labels)}; use call or put (CE/PE and C/P are read too)"
            )
        return keys.map(_KIND_CODES).astype(str)
    raise AssertionError(f"unknown column kind {kind}")


def _legs(series: pd.Series, blank: np.ndarray, where: str, labels: list[str]) -> pd.Series:
    """Legs as Python lists of dicts (JSON text is parsed); None where blank."""
    out: list[object] = []
    bad = np.zeros(len(series), dtype=bool)
    for i, value in enumerate(series.tolist()):
        if blank[i]:
            out.append(None)
            continue
        legs = value
        if isinstance(value, str):
            try:
                legs = json.loads(value)
            except ValueError:
                legs = None
        ok = isinstance(legs, list) and len(legs) > 0 and all(isinstance(x, dict) for x in legs)
        bad[i] = not ok
        out.append(legs)
    if bad.any():
        raise DataError(
            f"{where}: legs must be a JSON list of leg objects, e.g. "
            f'[{{"kind": "call", "side": "buy", "strike": 100}}]; {_bad(bad, labels)} are not'
        )
    return pd.Series(out, index=series.index, dtype=object)


def _numeric(
    series: pd.Series, kind: str, column: str, where: str, labels: list[str], blank: np.ndarray
) -> pd.Series:
    text = series.astype("string").str.strip().str.rstrip("%")
    values = pd.to_numeric(text.where(~pd.Series(blank, index=series.index)), errors="coerce")
    values = values.astype("float64")
    arr = values.to_numpy()
    bad = np.isnan(arr) & ~blank | np.isinf(arr)
    if bad.any():
        raw = series.tolist()
        cells = [f"row {i + 1} has {raw[i]!r}" for i in np.flatnonzero(bad)]
        raise DataError(f"{where}: {column} must be a number; {_list(cells)}; fix those cells")
    ok = ~np.isnan(arr)
    rules = {
        "pct": ((arr < 0) | (arr > 100), "must be a percentage in [0, 100]"),
        "prob": ((arr < 0) | (arr > 1), "must be a probability in [0, 1]"),
        "nonneg": (arr < 0, "must be >= 0"),
        "positive": (arr <= 0, "must be > 0"),
        "int+": ((arr <= 0) | (arr != np.round(arr)), "must be a positive whole number"),
    }
    if kind in rules:
        mask, rule = rules[kind]
        mask = mask & ok
        if mask.any():
            hint = ""
            if kind == "prob" and ((arr[mask] > 1) & (arr[mask] <= 100)).all():
                hint = " (these look like percentages: divide by 100)"
            raise DataError(
                f"{where}: {column} {rule}; {_bad(mask, labels)} have "
                f"{_list([f'{v:g}' for v in arr[mask]])}{hint}"
            )
    if kind == "int+":
        return values.astype("Int64") if blank.any() else values.astype("int64")
    return values


def _check_unique(frame: pd.DataFrame, spec: TableSpec, where: str, labels: list[str]) -> None:
    keys = [k for k in spec.key if k in frame.columns]  # an optional key column may be absent
    if not keys:
        return
    normalised = frame[keys].astype(str).apply(lambda col: col.str.strip().str.lower())
    dup = normalised.duplicated(keep=False).to_numpy(bool)
    if dup.any():
        what = keys[0] if len(keys) == 1 else "(" + ", ".join(keys) + ")"
        values = sorted(set(frame.loc[dup, keys[0]].astype(str)))
        raise DataError(
            f"{where}: duplicate {what} {_list(values)} in {_bad(dup, labels)}; keep one row each"
        )


def _check_weights(
    frame: pd.DataFrame, column: str, where: str, name: str, normalize: bool
) -> pd.DataFrame:
    total = float(frame[column].sum())
    if total <= 100.0 + 1e-6:
        return frame
    noun = name.split("_")[0]
    if not normalize:
        raise DataError(
            f"{noun} weights sum to {total:.1f}% (> 100%) in {where}; "
            "fix the table or pass `normalize_weights=True`",
            params="normalize_weights",
        )
    log.warning("%s: %s weights sum to %.1f%%; rescaled to 100%%", where, noun, total)
    out = frame.copy()
    out[column] = out[column] * (100.0 / total)
    return out
