"""A solve run document (DESIGN.md section 3, "Solve output") as database rows.

The whole document is stored as JSON in ``allocation_runs.document``; a few top-level fields
are copied into columns for listing, and each ``allocations[]`` entry becomes one
``allocations`` row (position = its index) so positions can be queried with SQL.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from quantalloc.errors import DataError
from quantalloc.storage.frames import _coerce, json_safe
from quantalloc.storage.schema import ALLOCATION_COLUMNS, RUN_COLUMNS

REQUIRED_POSITION_KEYS = ("symbol", "lots")


def normalise_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """``document`` as plain JSON data (what is stored and what ``get_run`` returns)."""
    if not isinstance(document, Mapping):
        raise DataError(f"a run document must be a JSON object, got {type(document).__name__}")
    try:
        data = json_safe(document)
    except TypeError as exc:
        raise DataError(f"the run document holds a value that is not JSON data: {exc}") from None
    run_id = data.get("run_id")
    if not isinstance(run_id, str) or not run_id.strip():
        raise DataError(f"a run document needs a non-empty text run_id, got {run_id!r}")
    positions = data.get("allocations")
    if not isinstance(positions, list):
        raise DataError(
            f"run {run_id}: 'allocations' must be a list of positions, "
            f"got {type(positions).__name__}"
        )
    for i, position in enumerate(positions):
        if not isinstance(position, dict):
            raise DataError(f"run {run_id}: allocations[{i}] is not an object")
        missing = [k for k in REQUIRED_POSITION_KEYS if position.get(k) is None]
        if missing:
            raise DataError(f"run {run_id}: allocations[{i}] lacks {', '.join(missing)}")
    return data


def _cell(value: Any, kind: str, where: str) -> Any:
    try:
        return _coerce(value, kind)
    except (TypeError, ValueError, OverflowError) as exc:
        raise DataError(f"{where} must be {kind}, got {value!r} ({exc})") from None


def run_rows(
    document: Mapping[str, Any], *, created_at: dt.datetime | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ``allocation_runs`` row and the ``allocations`` rows of a normalised document."""
    data = normalise_document(document)
    run_id = data["run_id"]
    market = data.get("market")
    portfolio = data.get("portfolio")
    sources: dict[str, Any] = {
        "run_id": run_id,
        "created_at": created_at or dt.datetime.now(dt.UTC).replace(tzinfo=None),
        "as_of": data.get("as_of"),
        "model": data.get("model"),
        "risk": data.get("risk"),
        "market_state": market.get("state") if isinstance(market, dict) else None,
        "currency": data.get("currency"),
        "capital": data.get("capital"),
        "budget": data.get("budget"),
        "allocated_capital": (
            portfolio.get("allocated_capital") if isinstance(portfolio, dict) else None
        ),
        "n_allocations": len(data["allocations"]),
    }
    run = {
        spec.name: _cell(sources[spec.name], spec.kind, f"run {run_id}: {spec.name}")
        for spec in RUN_COLUMNS
        if spec.name != "document"
    }
    run["document"] = data
    positions: list[dict[str, Any]] = []
    for i, position in enumerate(data["allocations"]):
        row: dict[str, Any] = {"run_id": run_id, "position": i}
        for spec in ALLOCATION_COLUMNS[2:]:
            row[spec.name] = _cell(
                position.get(spec.name), spec.kind, f"run {run_id}: allocations[{i}].{spec.name}"
            )
        positions.append(row)
    return run, positions


def rows_as_json(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with dates as ISO text, ready for a JSON request body (the Supabase REST API)."""
    return [json.loads(json.dumps(json_safe(row))) for row in rows]
