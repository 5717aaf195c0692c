"""DataFrame <-> row dicts, coerced by column kind, identical for every backend.

Writing: every required column must be present and non-empty, unknown columns are refused
(except the ``id``/``created_at`` bookkeeping columns a Supabase export carries), values are
converted to plain Python (str, float, int, bool, date, datetime, JSON values); NaN becomes NULL.
Reading: the same kinds come back as float64, nullable Int64/boolean, datetime64[us] and Python
JSON values, so a frame written and read back compares equal.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.errors import DataError
from quantalloc.storage.schema import ColumnSpec

IGNORED_COLUMNS = frozenset({"id", "created_at", "updated_at"})
_PANDAS_MAJOR = int(pd.__version__.split(".")[0])
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value)) if np.ndim(value) == 0 else False
    except (TypeError, ValueError):
        return False


def _coerce(value: Any, kind: str) -> Any:
    """One cell as the plain Python value stored for ``kind``; ValueError when impossible."""
    if kind == "json":
        if isinstance(value, str):
            return json.loads(value) if value.strip() else None
        return json_safe(value)
    if _is_missing(value):
        return None
    if kind == "text":
        return str(value)
    if kind == "float":
        out = float(value)
        if math.isinf(out):
            raise ValueError("infinite")
        return out
    if kind == "int":
        number = float(value)
        if not number.is_integer():
            raise ValueError("not a whole number")
        return int(number)
    if kind == "bool":
        if isinstance(value, bool | np.bool_):
            return bool(value)
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError("not true/false")
    if kind == "date":
        return pd.Timestamp(value).date()
    if kind == "datetime":
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        return stamp.to_pydatetime()
    raise AssertionError(f"unknown column kind {kind}")


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data: numpy scalars unwrapped, dates as ISO text, NaN as None."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if _is_missing(value):
        return None
    raise TypeError(f"{type(value).__name__} is not JSON data")


def input_rows(name: str, frame: pd.DataFrame, source: str) -> list[dict[str, Any]]:
    """Rows of input table ``name`` from ``frame``, validated as the table and by column."""
    from quantalloc.data.tables import validate_table
    from quantalloc.storage.schema import check_input_table, columns_of

    check_input_table(name)
    checked = validate_table(name, frame, source=source)
    return frame_to_rows(name, checked, columns_of(name), source=source)


def frame_to_rows(
    name: str, frame: pd.DataFrame, specs: Sequence[ColumnSpec], *, source: str
) -> list[dict[str, Any]]:
    """Rows of ``frame`` for table ``name``, checked against ``specs``; DataError when wrong."""
    present = [str(c) for c in frame.columns]
    wanted = [s.name for s in specs]
    missing = [s.name for s in specs if s.required and s.name not in present]
    if missing:
        raise DataError(
            f"{source} is missing column(s) {', '.join(missing)} for table {name}; "
            f"the table's columns are {', '.join(wanted)} (required: "
            f"{', '.join(s.name for s in specs if s.required)})"
        )
    unknown = [c for c in present if c not in wanted and c not in IGNORED_COLUMNS]
    if unknown:
        raise DataError(
            f"{source} has column(s) {', '.join(unknown)} that table {name} does not have; "
            f"its columns are {', '.join(wanted)}; rename or drop them"
        )
    if len(set(present)) != len(present):
        raise DataError(f"{source} repeats a column name; each column must appear once")
    rows: list[dict[str, Any]] = [{} for _ in range(len(frame))]
    for spec in specs:
        values: Iterable[Any] = (
            frame[spec.name].tolist() if spec.name in present else [None] * len(frame)
        )
        for i, value in enumerate(values):
            try:
                cell = _coerce(value, spec.kind)
            except (TypeError, ValueError, OverflowError) as exc:
                raise DataError(
                    f"{source}: column {spec.name} of table {name} must hold {spec.kind} "
                    f"values; row {i + 1} has {value!r} ({exc}); fix that cell"
                ) from None
            if cell is None and spec.required:
                raise DataError(
                    f"{source}: column {spec.name} of table {name} is required but row {i + 1} "
                    "is empty; fill it in or drop the row"
                )
            rows[i][spec.name] = cell
    return rows


def rows_to_frame(rows: Sequence[Mapping[str, Any]], specs: Sequence[ColumnSpec]) -> pd.DataFrame:
    """A typed DataFrame (one column per spec, in order) from database rows."""
    data: dict[str, Any] = {}
    for spec in specs:
        values = [row.get(spec.name) for row in rows]
        data[spec.name] = _typed(values, spec.kind)
    return pd.DataFrame(data, index=pd.RangeIndex(len(rows)))


def _typed(values: list[Any], kind: str) -> pd.Series | pd.Index | list[Any]:
    if kind == "float":
        return pd.Series([np.nan if v is None else float(v) for v in values], dtype="float64")
    if kind == "int":
        return pd.Series(values, dtype="Int64")
    if kind == "bool":
        return pd.Series(values, dtype="boolean")
    if kind in ("date", "datetime"):
        return pd.Series(
            [pd.NaT if v is None else _naive_utc(pd.Timestamp(v)) for v in values],
            dtype="datetime64[us]",  # the databases keep microseconds
        )
    if kind == "json":
        return pd.Series([json.loads(v) if isinstance(v, str) else v for v in values], dtype=object)
    text = pd.Series([None if v is None else str(v) for v in values], dtype=object)
    return text.astype("str") if _PANDAS_MAJOR >= 3 else text


def _naive_utc(stamp: pd.Timestamp) -> pd.Timestamp:
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp
