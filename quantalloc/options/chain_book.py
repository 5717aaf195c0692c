"""One underlying's tradable book from its chain: fills, liquid contracts, implied vols, lots.

:func:`chain_quotes` turns a :class:`~quantalloc.data.chain_source.ChainSnapshot` into
:class:`ChainQuotes`: every contract with a fill price (:mod:`quantalloc.options.fills`), those
passing the liquidity rules (the dropped counts kept), an implied vol per contract (the
chain's where it quotes one, else inverted from the reference price with Black-Scholes at the
market's rate, time ACT/365) and the vol surface they make. Candidates are built on its
expiries and strikes, priced at its fills (``price_source = "chain"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import numpy as np
import pandas as pd

from quantalloc.data.chain_source import ChainSnapshot
from quantalloc.errors import DataError
from quantalloc.options.costs import LiquidityRules, SpreadTable
from quantalloc.options.fills import fill_prices
from quantalloc.options.implied_vol import implied_vol
from quantalloc.options.volatility import ChainVolSurface

YEAR_DAYS = 365.0


@dataclass(frozen=True)
class ChainQuotes:
    """The tradable contracts of one underlying on one session (see the module notes)."""

    symbol: str
    session: pd.Timestamp
    spot: float
    fills: pd.DataFrame = field(repr=False)
    dropped: dict[str, int]
    surface: ChainVolSurface | None = field(repr=False)
    notes: tuple[str, ...] = ()

    def expiries(self) -> list[date]:
        """Expiries with a tradable contract, ascending."""
        return sorted({pd.Timestamp(e).date() for e in self.fills["expiry"].unique()})

    def _rows(self, expiry: date, kind: str) -> pd.DataFrame:
        f = self.fills
        return f.loc[(f["expiry"] == pd.Timestamp(expiry)) & (f["kind"] == kind)]

    @cached_property
    def _strike_lists(self) -> dict[tuple[date, str], np.ndarray]:
        """(expiry, kind) -> tradable strikes, ascending; one pass over the fills."""
        f = self.fills
        rows: dict[tuple[date, str], list[float]] = {}
        for e, k, x in zip(
            (pd.Timestamp(e).date() for e in f["expiry"]),
            f["kind"].astype(str),
            f["strike"].to_numpy(float),
            strict=True,
        ):
            rows.setdefault((e, k), []).append(float(x))
        return {key: np.unique(np.asarray(v)) for key, v in rows.items()}

    def strikes(self, expiry: date, kind: str) -> np.ndarray:
        """Tradable strikes of ``expiry`` and ``kind``, ascending (empty when none)."""
        key = (pd.Timestamp(expiry).date(), kind)
        return self._strike_lists.get(key, np.zeros(0))

    def lot_size(self, expiry: date | None = None) -> int | None:
        """The contracts' lot size (of ``expiry``), None when the chain lists none."""
        rows = (
            self.fills
            if expiry is None
            else self.fills.loc[self.fills["expiry"] == pd.Timestamp(expiry)]
        )
        sizes = rows["lot_size"].dropna().unique()
        return int(sizes.max()) if sizes.size else None

    @cached_property
    def quotes(self) -> dict[tuple[date, float, str], tuple[float, float, float]]:
        """(expiry, strike, kind) -> (buy, sell, implied vol) of every tradable contract."""
        f = self.fills
        keys = zip(
            (pd.Timestamp(e).date() for e in f["expiry"]),
            f["strike"].to_numpy(float).round(6),
            f["kind"],
            strict=True,
        )
        values = zip(f["buy"], f["sell"], f["implied_vol"], strict=True)
        return {
            (e, float(k), str(kind)): (float(b), float(s), float(v))
            for (e, k, kind), (b, s, v) in zip(keys, values, strict=True)
        }

    def contract(self, expiry: date, strike: float, kind: str) -> pd.Series:
        """The fill row of one listed contract; DataError when it is not tradable."""
        rows = self._rows(expiry, kind)
        hit = rows.loc[np.isclose(rows["strike"].to_numpy(float), float(strike))]
        if hit.empty:
            raise DataError(
                f"{self.symbol}: no tradable {kind} {strike:g} expiring {expiry} on "
                f"{self.session.date()}"
            )
        return hit.iloc[0]


def chain_quotes(
    snap: ChainSnapshot,
    spreads: SpreadTable,
    liquidity: LiquidityRules,
    rate: float,
    *,
    spot: float | None = None,
) -> ChainQuotes:
    """The tradable book of ``snap`` (see the module notes)."""
    frame = snap.frame
    if spot is None:
        spots = frame["spot"].dropna()
        if spots.empty:
            raise DataError(f"{snap.symbol}: the chain gives no underlying price; pass spot=")
        spot = float(spots.median())
    fills = fill_prices(frame, spreads, spot=spot, as_of=snap.session)
    keep, dropped = liquidity.mask(fills)
    fills = fills.loc[keep].reset_index(drop=True)
    t = (fills["expiry"] - snap.session).dt.days.to_numpy(float) / YEAR_DAYS
    fills = fills.loc[t > 0].reset_index(drop=True)
    t = t[t > 0]
    iv = fills["implied_vol"].to_numpy(float).copy()
    missing = ~np.isfinite(iv)
    if missing.any():
        iv[missing] = implied_vol(
            fills["kind"].to_numpy()[missing],
            fills["ref"].to_numpy(float)[missing],
            spot,
            fills["strike"].to_numpy(float)[missing],
            t[missing],
            rate,
        )
    fills["implied_vol"] = iv
    notes = list(snap.notes)
    if sum(dropped.values()):
        notes.append(
            f"{snap.symbol}: {sum(dropped.values())} contracts below the liquidity rules left out "
            f"(open interest {dropped['open_interest']}, volume {dropped['volume']}, spread "
            f"{dropped['spread']})"
        )
    surface = None
    try:
        surface = ChainVolSurface.from_chain(
            fills.assign(bid=np.nan), spot=spot, as_of=snap.session
        )
    except DataError as exc:
        notes.append(f"{snap.symbol}: no implied-vol surface from the chain ({exc})")
    return ChainQuotes(
        symbol=snap.symbol,
        session=snap.session,
        spot=float(spot),
        fills=fills,
        dropped=dropped,
        surface=surface,
        notes=tuple(notes),
    )


__all__ = ["ChainQuotes", "chain_quotes"]
