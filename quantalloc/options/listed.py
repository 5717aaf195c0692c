"""Listed contracts: the expiries, strikes and lot sizes a chain offers, and legs snapped to them.

A strategy's legs are first placed by the model's target (a delta or a distance out of the
money, :class:`~quantalloc.options.strikes.StrikeRule`); :func:`snap_strikes` then moves each
to the nearest strike listed for that expiry and kind among the tradable contracts, keeping the
legs' order (a spread's two strikes stay apart and on the same sides). :func:`lot_size_of`
reads the contract's lot size from the chain; :func:`resolve_lot_sizes` reconciles the chain
with the universe table and refuses a symbol no source sizes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from quantalloc.errors import DataError


def listed_expiries(
    chain: pd.DataFrame, as_of: date, dte_min: int, dte_max: int, count: int, min_days: int = 7
) -> list[date]:
    """``count`` listed expiries: those with days to expiry inside [dte_min, dte_max] nearest the
    window's middle first, then the nearest outside it; never closer than ``min_days``."""
    stamps = sorted({pd.Timestamp(e).date() for e in chain["expiry"].unique()})
    usable = [e for e in stamps if (e - as_of).days >= min_days]
    mid = (dte_min + dte_max) / 2.0

    def rank(e: date) -> tuple[int, float]:
        d = (e - as_of).days
        return (0 if dte_min <= d <= dte_max else 1, abs(d - mid))

    return sorted(sorted(usable, key=rank)[:count])


def strikes_of(chain: pd.DataFrame, expiry: date, kind: str) -> np.ndarray:
    """Sorted strikes listed for ``expiry`` and ``kind`` (call/put) in ``chain``."""
    rows = chain.loc[(chain["expiry"] == pd.Timestamp(expiry)) & (chain["kind"] == kind)]
    return np.unique(rows["strike"].to_numpy(float))


def snap_strikes(targets: Sequence[float], listed: Sequence[np.ndarray]) -> list[float]:
    """Each target moved to the nearest of its listed strikes, preserving the targets' order:
    legs whose targets differ never share a strike, and a higher target never lands below a
    lower one. ``listed[i]`` holds the strikes available to leg ``i``.

    Raises DataError when a leg has no listed strike or the order cannot be kept (too few
    strikes).
    """
    if len(targets) != len(listed):
        raise DataError("snap_strikes needs one list of strikes per target")
    order = np.argsort(np.asarray(targets, dtype=float), kind="stable")
    out: list[float] = [0.0] * len(targets)
    previous: tuple[float, float] | None = None  # (target, snapped) of the last leg placed
    for i in order:
        strikes = np.asarray(listed[i], dtype=float)
        if strikes.size == 0:
            raise DataError(f"no listed strike for the leg at {targets[i]:g}")
        target = float(targets[i])
        pick = float(strikes[np.argmin(np.abs(strikes - target))])
        if previous is not None:
            last_target, last = previous
            if target > last_target and pick <= last:
                above = strikes[strikes > last]
                if above.size == 0:
                    raise DataError(
                        f"no listed strike above {last:g} for the leg at {target:g}; the chain "
                        "lists too few strikes for this strategy"
                    )
                pick = float(above[0])
            elif target == last_target and np.isclose(strikes, last).any():
                pick = last  # legs placed together (a straddle, a calendar) stay together
        out[int(i)] = pick
        previous = (target, pick)
    return out


def lot_size_of(chain: pd.DataFrame, expiry: date | None = None) -> int | None:
    """The chain's lot size (of ``expiry`` when given); None when the chain lists none. A
    DataError when one expiry lists several."""
    rows = chain if expiry is None else chain.loc[chain["expiry"] == pd.Timestamp(expiry)]
    sizes = pd.to_numeric(rows["lot_size"], errors="coerce").dropna().unique()
    if sizes.size == 0:
        return None
    if expiry is not None and sizes.size > 1:
        raise DataError(f"the chain lists lot sizes {sorted(sizes)} for expiry {expiry}")
    return int(sizes[0]) if sizes.size == 1 else int(sizes.max())


@dataclass(frozen=True)
class LotSizes:
    """Lot size per symbol and where it came from, with disagreements noted."""

    sizes: dict[str, int]
    source: dict[str, str]
    notes: tuple[str, ...] = ()


def resolve_lot_sizes(
    symbols: Sequence[str],
    from_chain: Mapping[str, int | None],
    from_table: Mapping[str, int],
    convention: int | None = None,
) -> LotSizes:
    """Lot sizes: the chain's where it lists one, else the universe table's, else the market's
    fixed contract size (``convention``, e.g. 100 in the US); a table that disagrees with the
    chain is noted. A DataError names every symbol no source sizes (never a default)."""
    sizes: dict[str, int] = {}
    source: dict[str, str] = {}
    notes: list[str] = []
    missing: list[str] = []
    for sym in symbols:
        chain_size, table_size = from_chain.get(sym), from_table.get(sym)
        if chain_size:
            sizes[sym], source[sym] = int(chain_size), "chain"
            if table_size and int(table_size) != int(chain_size):
                notes.append(
                    f"{sym}: stock_data.lot_size {table_size} disagrees with the chain's "
                    f"{chain_size}; the chain's is used"
                )
        elif table_size:
            sizes[sym], source[sym] = int(table_size), "stock_data"
        elif convention:
            sizes[sym], source[sym] = int(convention), "market"
        else:
            missing.append(sym)
    if missing:
        raise DataError(
            f"no lot size for {', '.join(missing)}: no chain lists it and "
            "`tables['stock_data']` has no lot_size; add the lot sizes or give `chains`",
            params=("tables", "chains"),
        )
    return LotSizes(sizes, source, tuple(notes))


__all__ = [
    "LotSizes",
    "listed_expiries",
    "lot_size_of",
    "resolve_lot_sizes",
    "snap_strikes",
    "strikes_of",
]
