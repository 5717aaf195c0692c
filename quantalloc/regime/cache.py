"""A small on-disk cache of regime results: JSON files keyed by a hash of the inputs.

Entries older than the time-to-live are ignored (and replaced on the next write). Writes are
atomic (temp file + ``os.replace``), so a reader never sees half a file; an unreadable entry
counts as a miss.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from quantalloc.atomic import write_atomic
from quantalloc.errors import StorageError


def default_cache_dir() -> Path:
    """``regime`` under the user cache folder every source shares."""
    from quantalloc.data.cache import default_cache_root

    return default_cache_root() / "regime"


def cache_key(**inputs: Any) -> str:
    """Stable hex key of ``inputs`` (JSON with sorted keys; non-JSON values via ``str``)."""
    text = json.dumps(inputs, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class ResultCache:
    """JSON results under ``directory``, valid for ``ttl_seconds`` after they were stored."""

    def __init__(self, *, directory: Path | str | None = None, ttl_seconds: float = 3600.0):
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.ttl_seconds = float(ttl_seconds)

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def get(self, key: str, *, now: float | None = None) -> tuple[dict[str, Any], float] | None:
        """``(value, stored_at)`` when a fresh entry exists, else None."""
        if self.ttl_seconds <= 0:
            return None
        try:
            with self._path(key).open("r", encoding="utf-8") as fh:
                entry = json.load(fh)
            stored_at = float(entry["stored_at"])
            value = entry["value"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not isinstance(value, dict):
            return None
        age = (time.time() if now is None else now) - stored_at
        if age < 0 or age > self.ttl_seconds:
            return None
        return value, stored_at

    def put(self, key: str, value: dict[str, Any], *, now: float | None = None) -> Path:
        """Store ``value`` (JSON-ready) under ``key``; StorageError when the folder is unusable."""
        entry = {"stored_at": time.time() if now is None else now, "value": value}
        path = self._path(key)
        try:
            write_atomic(path, json.dumps(entry), fsync=False)
        except OSError as exc:
            raise StorageError(
                f"cannot write the regime cache in {self.directory}: {exc}; "
                "pass --no-cache or point QUANTALLOC_CACHE_DIR at a writable folder"
            ) from exc
        return path


__all__ = ["ResultCache", "cache_key", "default_cache_dir"]
