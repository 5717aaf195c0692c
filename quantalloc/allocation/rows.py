"""Row algebra in one place: limits after overrides, values, violations, stacked sides.

A :class:`~quantalloc.allocation.constraints.Row` is one labelled linear condition
``lower <= a . w / scale <= upper`` (``|a . w| / scale <= upper`` when absolute). Everything that
reads rows (the compiled problem, the working set, the report, diagnosis, lot rounding) uses
these functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from quantalloc.allocation.constraints import Row
from quantalloc.allocation.context import Settings

Limit = float | tuple[float | None, float | None]


def effective_bounds(row: Row, limits: Mapping[str, Limit]) -> tuple[float | None, float | None]:
    """A row's (lower, upper) after overrides keyed by row name or by constraint name."""
    override = limits.get(row.name, limits.get(row.source))
    lower, upper = row.lower, row.upper
    if override is None:
        return lower, upper
    if isinstance(override, tuple):
        new_lo, new_hi = override
        return (lower if new_lo is None else float(new_lo)), (
            upper if new_hi is None else float(new_hi)
        )
    if upper is not None:
        return lower, float(override)
    return float(override), upper


@dataclass
class Atoms:
    """All rows stacked as one-sided atoms ``G w <= h``; ``side`` 0 upper, 1 abs-lower, 2 lower."""

    G: sp.csr_matrix
    row: np.ndarray
    side: np.ndarray

    @classmethod
    def from_rows(cls, rows: Sequence[Row], n: int) -> Atoms:
        coeffs, row_idx, side = [], [], []
        for k, r in enumerate(rows):
            if r.upper is not None or r.absolute:
                coeffs.append(r.coeffs)
                row_idx.append(k)
                side.append(0)
            if r.absolute:
                coeffs.append(-r.coeffs)
                row_idx.append(k)
                side.append(1)
            if r.lower is not None and not r.absolute:
                coeffs.append(-r.coeffs)
                row_idx.append(k)
                side.append(2)
        G = sp.csr_matrix(np.vstack(coeffs)) if coeffs else sp.csr_matrix((0, n))
        return cls(G, np.asarray(row_idx, dtype=int), np.asarray(side, dtype=int))

    def rhs(
        self, rows: Sequence[Row], limits: Mapping[str, Limit], settings: Settings
    ) -> np.ndarray:
        h = np.empty(len(self.row))
        for j, (k, side) in enumerate(zip(self.row, self.side, strict=True)):
            r = rows[k]
            lower, upper = effective_bounds(r, limits)
            scale = r.scale(settings.capital, settings.budget)
            h[j] = (upper if side < 2 else -(lower or 0.0)) * scale
        return h


def stacked(rows: Sequence[Row], n: int) -> sp.csr_matrix:
    """Every row's coefficients, one line per row (rows x candidates), sparse."""
    if not rows:
        return sp.csr_matrix((0, n))
    return sp.csr_matrix(np.vstack([r.coeffs for r in rows]))


def row_values(
    rows: Sequence[Row], matrix: sp.csr_matrix, w: np.ndarray, settings: Settings
) -> np.ndarray:
    """:func:`row_value` of every row at once, ``matrix`` being :func:`stacked` of ``rows``."""
    scale = np.array([r.scale(settings.capital, settings.budget) for r in rows], dtype=float)
    raw = np.asarray(matrix @ w, dtype=float) / scale if rows else np.zeros(0)
    absolute = np.array([r.absolute for r in rows], dtype=bool)
    return np.where(absolute, np.abs(raw), raw)


def row_value(row: Row, w: np.ndarray, settings: Settings) -> float:
    """A row's realised value in its own unit (absolute value for ``|a.w|`` rows)."""
    raw = float(row.coeffs @ w) / row.scale(settings.capital, settings.budget)
    return abs(raw) if row.absolute else raw


def row_violation(row: Row, bounds: tuple[float | None, float | None], value: float) -> float:
    """How far ``value`` lies outside the row's bounds (0 when it holds)."""
    lower, upper = bounds
    excess = 0.0
    if upper is not None:
        excess = max(excess, value - upper)
    if lower is not None and not row.absolute:
        excess = max(excess, lower - value)
    return excess


def sides(
    rows: list[Row], limits: Mapping[str, Limit], settings: Settings
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Rows as ``A w <= b`` in weight space, with the row name of each line."""
    coeffs, rhs, names = [], [], []
    for r in rows:
        lower, upper = effective_bounds(r, limits)
        scale = r.scale(settings.capital, settings.budget)
        if upper is not None:
            coeffs.append(r.coeffs)
            rhs.append(upper * scale)
            names.append(r.name)
            if r.absolute:
                coeffs.append(-r.coeffs)
                rhs.append(upper * scale)
                names.append(r.name)
        if lower is not None and not r.absolute:
            coeffs.append(-r.coeffs)
            rhs.append(-lower * scale)
            names.append(r.name)
    n = rows[0].coeffs.shape[0] if rows else 0
    a = np.vstack(coeffs) if coeffs else np.zeros((0, n))
    return a, np.asarray(rhs, dtype=float), names


__all__ = [
    "Atoms",
    "Limit",
    "effective_bounds",
    "row_value",
    "row_values",
    "row_violation",
    "sides",
    "stacked",
]
