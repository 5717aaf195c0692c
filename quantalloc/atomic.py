"""Atomic file writes: write a temporary file beside the target, then ``os.replace`` it.

A reader (or a crash) never sees half a file: the target is either the old file or the new one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path, *, make_parents: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it replaces ``path`` on success, else is removed.

    For writers that want a file name (parquet, images); text and bytes go through
    :func:`write_atomic`.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if make_parents:
        folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would outlive the rename
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(
    path: str | Path, data: str | bytes, *, make_parents: bool = True, fsync: bool = True
) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically and return the path."""
    with atomic_path(path, make_parents=make_parents) as tmp:
        if isinstance(data, bytes):
            with open(tmp, "wb") as fh:
                fh.write(data)
                _sync(fh.fileno(), fsync)
        else:
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                fh.write(data)
                fh.flush()
                _sync(fh.fileno(), fsync)
    return Path(path)


def _umask() -> int:
    """The process's file-creation mask (read from /proc where it can, else set and restored)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _sync(fileno: int, enabled: bool) -> None:
    if enabled:
        os.fsync(fileno)


__all__ = ["atomic_path", "write_atomic"]
