"""A folder of option-chain snapshots, one file per symbol and session.

Sources that can only fetch today's chain (Yahoo, the vendors) keep every fetch as
``<cache_dir>/<SYMBOL>_<YYYY-MM-DD>.<suffix>`` and answer later requests from those files.
:class:`SnapshotFolder` is what they share: listing the snapshots, the sessions and symbols
they hold, and the newest snapshot usable for an as-of day (at most ``max_age_days`` older).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pandas as pd

from quantalloc.data.base import DateLike
from quantalloc.data.chain_source import pick_session


class SnapshotFolder:
    """Snapshots ``<SYMBOL>_<SESSION>.<suffix>`` in ``cache_dir`` (see the module notes).

    A subclass sets ``cache_dir`` and ``max_age_days`` and names its file ``suffix``.
    """

    suffix: ClassVar[str] = "parquet"
    cache_dir: Path
    max_age_days: int

    def _snapshots(self, name: str | None = None) -> dict[pd.Timestamp, list[Path]]:
        """Snapshot files by session, of symbol ``name`` (already canonical) or of all."""
        found: dict[pd.Timestamp, list[Path]] = {}
        if not self.cache_dir.is_dir():
            return found
        pattern = f"{name}_*.{self.suffix}" if name else f"*_*.{self.suffix}"
        for path in sorted(self.cache_dir.glob(pattern)):
            try:
                day = pd.Timestamp(path.stem.rsplit("_", 1)[1]).normalize()
            except (ValueError, IndexError):
                continue
            found.setdefault(day, []).append(path)
        return found

    def sessions(self) -> list[pd.Timestamp]:
        return sorted(self._snapshots())

    def symbols(self, as_of: DateLike) -> list[str]:
        snaps = self._snapshots()
        session = pick_session(sorted(snaps), as_of, self.max_age_days, str(self.cache_dir))
        return sorted(p.stem.rsplit("_", 1)[0] for p in snaps[session])

    def _usable(self, name: str, day: pd.Timestamp) -> tuple[Path | None, str]:
        """The newest snapshot of ``name`` on or up to ``max_age_days`` before ``day`` (None
        when there is none), and the sessions held, for a message (``none`` when empty)."""
        snaps = self._snapshots(name)
        usable = [s for s in snaps if s <= day and (day - s).days <= self.max_age_days]
        have = ", ".join(str(s.date()) for s in sorted(snaps)) or "none"
        return (snaps[max(usable)][0] if usable else None), have


__all__ = ["SnapshotFolder"]
