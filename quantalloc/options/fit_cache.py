"""Model fits kept on disk, keyed by what they were fitted on, so a second run skips the fit.

A GARCH(1,1) fit of a symbol's returns costs about 50 ms in ``arch`` (plus ~1 s to import it
and scipy.stats), and a solve of 51 stocks fits 52 series; a replay refits them at every
rebalance. The fit is a deterministic function of the returns, the model's specification and
the versions of the libraries that compute it, so its result can be stored under a hash of
exactly those and read back: a hit gives the very numbers a fresh fit gives (floats are written
by ``repr``, which reads back exactly), and any change of input (one return, the window, the
model, ``arch``/scipy/numpy's version) is another key, hence a fresh fit.

The entries are small JSON files under ``<user cache dir>/quantalloc/fits`` (platformdirs),
written atomically; an unreadable entry is a miss, an unwritable folder is logged once and the
fit goes on without the cache. :func:`configure` moves or disables it (the CLI maps
``$QUANTALLOC_CACHE_DIR`` and ``$QUANTALLOC_FIT_CACHE=off`` onto it).
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

from quantalloc.atomic import write_atomic

log = logging.getLogger(__name__)

VERSIONED = ("arch", "scipy", "numpy")
"""Libraries whose version is part of every key (a new release may move an optimum)."""


@dataclass(frozen=True)
class Settings:
    """Where fits are kept (None: the user cache dir) and whether the disk is used at all."""

    directory: Path | None = None
    enabled: bool = True


_settings = Settings()
_lock = threading.Lock()
_warned: set[str] = set()
_versions: str | None = None


def configure(directory: str | Path | None = None, *, enabled: bool = True) -> Settings:
    """Set where fits are kept (None: ``<user cache dir>/quantalloc/fits``) and whether the
    disk cache is used; returns the previous settings (to restore them)."""
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


def directory() -> Path:
    """The folder fits are kept in now (resolved at each use: the user cache dir can move)."""
    if _settings.directory is not None:
        return _settings.directory
    from quantalloc.data.cache import default_cache_root

    return default_cache_root() / "fits"


def library_versions() -> str:
    """``arch=X;scipy=Y;numpy=Z`` of the installed libraries (read once per process from the
    package metadata, without importing them)."""
    global _versions
    if _versions is None:
        from importlib.metadata import PackageNotFoundError, version

        parts = []
        for name in VERSIONED:
            try:
                parts.append(f"{name}={version(name)}")
            except PackageNotFoundError:
                parts.append(f"{name}=none")
        _versions = ";".join(parts)
    return _versions


def fit_key(values: np.ndarray, spec: str) -> str:
    """Hex key of a fit of ``values`` (float64, in order) under ``spec`` and the library
    versions: equal keys mean the same numbers fitted the same way."""
    data = np.ascontiguousarray(values, dtype=np.float64)
    h = hashlib.sha256()
    h.update(f"{spec}|{library_versions()}|{data.size}|".encode())
    h.update(data.tobytes())
    return h.hexdigest()


def _path(key: str) -> Path:
    return directory() / key[:2] / f"{key}.json"


def load(key: str, spec: str) -> dict[str, Any] | None:
    """The stored fit of ``key`` (a mapping of the model's numbers, or ``{"error": why}``);
    None when the cache is off, the entry absent, unreadable or of another spec."""
    if not _settings.enabled:
        return None
    try:
        with _path(key).open("r", encoding="utf-8") as fh:
            entry = json.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.debug("fit cache entry %s unreadable (%s): fitting afresh", key, exc)
        return None
    if not isinstance(entry, dict) or entry.get("spec") != spec:
        return None
    value = entry.get("value")
    return value if isinstance(value, dict) else None


def store(key: str, spec: str, value: dict[str, Any]) -> None:
    """Keep ``value`` (JSON-ready: floats and strings) under ``key``; a folder that cannot be
    written is logged once and otherwise ignored (the cache only ever saves time)."""
    if not _settings.enabled:
        return
    entry = {"spec": spec, "versions": library_versions(), "value": value}
    try:
        write_atomic(_path(key), json.dumps(entry), fsync=False)
    except OSError as exc:
        folder = str(directory())
        if folder not in _warned:
            _warned.add(folder)
            log.warning(
                "cannot keep model fits in %s (%s); fitting without the cache (set "
                "QUANTALLOC_CACHE_DIR to a writable folder or QUANTALLOC_FIT_CACHE=off)",
                folder,
                exc,
            )


__all__ = [
    "Settings",
    "configure",
    "configured",
    "directory",
    "fit_key",
    "library_versions",
    "load",
    "settings",
]
