"""Fault injection for crash tests: stop the server at a named point inside a transaction.

``QUANTALLOC_FAILPOINTS=rebalance.sleeve=/tmp/reached`` (read by ``quantalloc serve``) makes the
book, on reaching ``rebalance.sleeve``, write the file ``/tmp/reached`` and then wait there,
so a test can ``kill -9`` the server at exactly that point. Unset, nothing waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

HOLD_SECONDS = 600.0


def parse(spec: str) -> dict[str, Path]:
    """``point=FILE[,point=FILE]`` -> {point: file}."""
    out: dict[str, Path] = {}
    for item in spec.split(","):
        point, sep, file = item.strip().partition("=")
        if sep and point and file:
            out[point] = Path(file)
    return out


def pause_at(points: dict[str, Path]) -> Callable[[str], None] | None:
    """The book's ``pause`` hook for ``points`` (None when there are none)."""
    if not points:
        return None

    def pause(point: str) -> None:
        marker = points.get(point)
        if marker is None:
            return
        marker.write_text(point)
        time.sleep(HOLD_SECONDS)

    return pause
