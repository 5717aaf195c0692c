"""One rule for every file a command writes, checked before any work is done.

The folder must already exist and be writable, the path must not be a folder, and the name
must end as the flag expects. Nothing creates missing parent folders on the user's behalf:
``--output /nonexistent/dir/run.json`` stops with one line, as ``db export`` always did.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from quantalloc.errors import ConfigError


def output_file(
    path: str | Path, flag: str, suffixes: tuple[str, ...] = (), *, force: bool = True
) -> Path:
    """``path`` checked as a file to write for ``flag``; a ConfigError says what is wrong.

    Parameters
    ----------
    path
        The file the user named.
    flag
        The option that named it, for the message (``--output``).
    suffixes
        Accepted endings (``.json``); empty accepts any name.
    force
        False refuses an existing file (the caller's flag to allow it is ``--force``).
    """
    target = Path(path).expanduser()
    if not str(path).strip():
        raise ConfigError(f"{flag} needs a file name, got an empty one")
    if suffixes and not target.name.lower().endswith(suffixes):
        raise ConfigError(f"{flag} {path}: the file must end in {' or '.join(suffixes)}")
    folder = folder_of(target, f"{flag} {path}")
    try:  # a real probe: permission bits say nothing to root or about a read-only mount
        fd, probe = tempfile.mkstemp(prefix=".quantalloc-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(
            f"{flag} {path}: folder {folder} is not writable ({exc.strerror}); pick another path"
        ) from exc
    if target.exists():
        if not force:
            raise ConfigError(f"{flag} {path} exists; pass --force to replace it")
        if not os.access(target, os.W_OK):
            raise ConfigError(f"{flag} {path} is read-only; pick another path")
    return target


def folder_of(target: Path, said: str) -> Path:
    """The folder that file ``target`` goes in; a ConfigError when ``target`` is a folder or
    its folder does not exist. ``said`` names the file in messages (``--output out.json``)."""
    if target.is_dir():
        raise ConfigError(f"{said} is a folder; give a file name inside it")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(
            f"{said}: folder {folder} does not exist; create it first or pick another path"
        )
    return folder


__all__ = ["folder_of", "output_file"]
