"""Results computed from local inputs, kept on disk under a hash of those inputs.

A second run over the same files repeats work whose answer cannot have changed: parsing the
same price CSVs, building the same exchange calendar, fitting the same GARCH models. Each such
result is stored under a key made of everything it depends on (the input's bytes, the
computation's name and version, the versions of the libraries that compute it), so a hit gives
the very result a fresh computation gives and any change of input is another key, hence a fresh
computation; nothing is ever invalidated by time.

Entries live under ``<user cache dir>/quantalloc/memo/<kind>/`` (platformdirs), one small file
each, written atomically; an unreadable entry is a miss, an unwritable folder is logged once and
the work goes on without the cache. :func:`configure` moves or disables it (the CLI maps
``$QUANTALLOC_CACHE_DIR`` and ``$QUANTALLOC_MEMO=off`` onto it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from quantalloc.atomic import atomic_path, write_atomic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """Where results are kept (None: the user cache dir) and whether the disk is used."""

    directory: Path | None = None
    enabled: bool = True


_settings = Settings()
_lock = threading.Lock()
_warned: set[str] = set()
_versions: dict[str, str] = {}


def configure(directory: str | Path | None = None, *, enabled: bool = True) -> Settings:
    """Set where results are kept (None: ``<user cache dir>/quantalloc/memo``) and whether the
    disk is used; returns the previous settings (to restore them)."""
    global _settings
    with _lock:
        previous = _settings
        _settings = Settings(Path(directory) if directory is not None else None, bool(enabled))
    return previous


@contextmanager
def configured(directory: str | Path | None = None, *, enabled: bool = True) -> Iterator[None]:
    """:func:`configure` for the duration of a ``with`` block."""
    previous = configure(directory, enabled=enabled)
    try:
        yield
    finally:
        configure(previous.directory, enabled=previous.enabled)


def settings() -> Settings:
    return _settings


def root() -> Path:
    """The folder results are kept in now (resolved at each use: the user cache dir can move)."""
    if _settings.directory is not None:
        return _settings.directory
    from quantalloc.data.cache import default_cache_root

    return default_cache_root() / "memo"


def versions(*names: str) -> str:
    """``name=version;...`` of installed distributions, read from their metadata (no import)."""
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for name in names:
        if name not in _versions:
            try:
                _versions[name] = version(name)
            except PackageNotFoundError:
                _versions[name] = "none"
        parts.append(f"{name}={_versions[name]}")
    return ";".join(parts)


def key(*parts: str | bytes | np.ndarray) -> str:
    """Hex sha256 of ``parts`` in order (text, bytes, or an array's float64/int64 bytes), each
    framed by its length so that two different splits never give the same key."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            data = np.ascontiguousarray(part).tobytes()
            head = f"array:{part.dtype.str}:{part.shape}"
        elif isinstance(part, str):
            data, head = part.encode(), "str"
        else:
            data, head = bytes(part), "bytes"
        h.update(f"{head}:{len(data)}|".encode())
        h.update(data)
    return h.hexdigest()


def _path(kind: str, digest: str, suffix: str) -> Path:
    return root() / kind / digest[:2] / f"{digest}{suffix}"


def load_json(kind: str, digest: str) -> dict[str, Any] | None:
    """The mapping kept under ``kind``/``digest``; None when off, absent or unreadable."""
    if not _settings.enabled:
        return None
    try:
        with _path(kind, digest, ".json").open("r", encoding="utf-8") as fh:
            entry = json.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.debug("memo entry %s/%s unreadable (%s): computing afresh", kind, digest, exc)
        return None
    return entry if isinstance(entry, dict) else None


def store_json(kind: str, digest: str, value: dict[str, Any]) -> None:
    """Keep ``value`` (JSON-ready; floats read back exactly) under ``kind``/``digest``."""
    if _settings.enabled:
        _write(
            kind, lambda: write_atomic(_path(kind, digest, ".json"), json.dumps(value), fsync=False)
        )


def load_arrays(kind: str, digest: str) -> dict[str, np.ndarray] | None:
    """The arrays kept under ``kind``/``digest`` (an ``.npz``, no pickles); None on a miss."""
    if not _settings.enabled:
        return None
    try:
        with np.load(_path(kind, digest, ".npz"), allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError) as exc:
        log.debug("memo entry %s/%s unreadable (%s): computing afresh", kind, digest, exc)
        return None


def store_arrays(kind: str, digest: str, arrays: dict[str, np.ndarray]) -> None:
    """Keep ``arrays`` (numbers, dates, fixed-width text; no objects) under ``kind``/``digest``."""
    if not _settings.enabled:
        return

    def write() -> None:
        with atomic_path(_path(kind, digest, ".npz")) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, allow_pickle=False, **arrays)

    _write(kind, write)


def _write(kind: str, writer: Any) -> None:
    try:
        writer()
    except OSError as exc:
        folder = str(root())
        if folder not in _warned:
            _warned.add(folder)
            log.warning(
                "cannot keep computed results in %s (%s); going on without that cache (set "
                "QUANTALLOC_CACHE_DIR to a writable folder, or QUANTALLOC_MEMO=off)",
                folder,
                exc,
            )


__all__ = [
    "Settings",
    "configure",
    "configured",
    "key",
    "load_arrays",
    "load_json",
    "root",
    "settings",
    "store_arrays",
    "store_json",
    "versions",
]
