"""The legs of a book, flat: what every risk figure is computed from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quantalloc.errors import DataError


@dataclass(frozen=True)
class Positions:
    """Every leg of every position, one array entry per leg.

    ``position`` is the leg's position (row of the allocation table), ``symbol`` its underlying,
    ``kind`` +1 call, -1 put, 0 stock; ``units`` signed units in total (+ bought, - sold: lots x
    quantity per lot x lot size); ``strike`` (ignored for stock); ``t`` years to the leg's expiry
    (ignored for stock); ``vol`` the implied vol the leg is marked at.
    """

    position: np.ndarray
    symbol: np.ndarray
    kind: np.ndarray
    units: np.ndarray
    strike: np.ndarray
    t: np.ndarray
    vol: np.ndarray
    n_positions: int

    def __post_init__(self) -> None:
        n = len(self.position)
        for name in ("symbol", "kind", "units", "strike", "t", "vol"):
            if len(getattr(self, name)) != n:
                raise DataError(f"Positions.{name} has {len(getattr(self, name))} legs, not {n}")
        opt = self.kind != 0
        if opt.any() and (self.t[opt] <= 0).any():
            bad = int(np.flatnonzero(opt & (self.t <= 0))[0])
            raise DataError(
                f"option leg of {self.symbol[bad]} (position {int(self.position[bad])}) has "
                f"expired (t={self.t[bad]:.4g} years): drop expired options from the book"
            )

    @classmethod
    def empty(cls) -> Positions:
        """A book without legs."""
        z = np.zeros(0)
        return cls(z.astype(int), z.astype(str), z.astype(int), z, z, z, z, 0)

    @classmethod
    def concat(cls, books: list[Positions]) -> Positions:
        """The legs of ``books`` in order, positions renumbered after one another."""
        books = [b for b in books if len(b.position)] or [cls.empty()]
        offsets = np.cumsum([0] + [b.n_positions for b in books[:-1]])
        return cls(
            position=np.concatenate([b.position + o for b, o in zip(books, offsets, strict=True)]),
            symbol=np.concatenate([b.symbol.astype(str) for b in books]),
            kind=np.concatenate([b.kind for b in books]).astype(int),
            units=np.concatenate([b.units for b in books]).astype(float),
            strike=np.concatenate([b.strike for b in books]).astype(float),
            t=np.concatenate([b.t for b in books]).astype(float),
            vol=np.concatenate([b.vol for b in books]).astype(float),
            n_positions=int(sum(b.n_positions for b in books)),
        )

    @property
    def symbols(self) -> list[str]:
        """The underlyings, sorted."""
        return sorted({str(s) for s in self.symbol})


__all__ = ["Positions"]
