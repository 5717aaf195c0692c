"""The on-disk cache every remote source shares: a parquet file per entry, its facts in metadata.

An entry is a frame (prices or an option chain) written atomically with a JSON document in the
parquet schema's metadata: at least ``fetched_at`` (UTC, ISO 8601), plus what the source records
(the symbol, the vendor, the quote time, the dates covered). Yahoo's prices, the vendors' bars
and the vendors' chain snapshots all use it, so a second run, a replay or a test reads the file
and needs no network.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from quantalloc.atomic import atomic_path

log = logging.getLogger(__name__)

META_KEY = b"quantalloc"


def default_cache_root() -> Path:
    """``platformdirs.user_cache_dir("quantalloc")``: the parent of every source's cache."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("quantalloc"))


def read_meta(path: Path) -> dict[str, Any] | None:
    """The metadata document of a cache entry; None (logged) when it is unreadable."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
        loaded: dict[str, Any] = json.loads(meta[META_KEY])
        return loaded
    except (OSError, KeyError, ValueError, TypeError) as exc:
        log.warning("ignoring unreadable cache entry %s: %s", path, exc)
        return None


def read_entry(path: Path) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """The frame of ``path`` and its metadata; None when absent, empty or unreadable."""
    import pyarrow.parquet as pq

    if not path.is_file():
        return None
    meta = read_meta(path)
    if meta is None or "fetched_at" not in meta:
        return None
    try:
        frame = pq.read_table(path).to_pandas()
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable cache entry %s: %s", path, exc)
        return None
    if frame.empty:
        return None
    return frame, meta


def fetched_at(meta: dict[str, Any]) -> datetime:
    """When an entry was fetched (aware, UTC)."""
    stamp = datetime.fromisoformat(str(meta["fetched_at"]))
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def write_entry(
    path: Path, frame: pd.DataFrame, meta: dict[str, Any], *, keep_index: bool = True
) -> None:
    """Write ``frame`` to ``path`` atomically with ``meta`` and the fetch time.

    A cache that cannot be written costs a refetch, nothing more: the failure is logged.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=keep_index)
    info = {"fetched_at": datetime.now(UTC).isoformat(), **meta}
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), META_KEY: json.dumps(info, default=str).encode()}
    )
    try:
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)
    except OSError as exc:
        log.warning("could not write the cache entry %s: %s", path, exc)


__all__ = [
    "META_KEY",
    "default_cache_root",
    "fetched_at",
    "read_entry",
    "read_meta",
    "write_entry",
]
