"""Each symbol's forward and smile at the horizon, as its chain prices them (Black-76).

A chain's implied vols are quoted against spot at the risk-free rate; where the market's carry
differs (an index's dividends, a stock's borrow), puts and calls at one strike then disagree and
no single distribution prices both. Here each listed expiry's **forward** is read from put-call
parity, ``F = K + (C - P) e^{rT}`` (the median over the strikes nearest the money with both
sides priced), and the out-of-the-money contracts' vols are inverted against that forward
(Black-76 = Black-Scholes at spot ``F e^{-rT}``). At a horizon between listed expiries the total
variance is interpolated linearly in time at fixed log-moneyness ``ln(K / F)`` and the forward
log-linearly; before the first expiry the first smile and its carry are used, after the last
the last. A symbol without a chain has the forward ``S e^{rh}`` and the proxy's smile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from quantalloc.errors import DataError
from quantalloc.options.implied_vol import implied_vol

PARITY_STRIKES = 5
MIN_POINTS = 3


@dataclass(frozen=True)
class ExpirySmile:
    """One expiry: years to it, its forward, its smile as log-moneyness -> vol (ascending)."""

    t: float
    forward: float
    x: np.ndarray
    vol: np.ndarray


@dataclass(frozen=True)
class MarketSmile:
    """A symbol's forwards and Black-76 smiles over its listed expiries."""

    spot: float
    expiries: tuple[ExpirySmile, ...]

    def forward(self, t: float) -> float:
        """The forward to ``t`` years: log-linear in time between listed expiries."""
        ts = np.array([e.t for e in self.expiries])
        carry = np.array([np.log(e.forward / self.spot) / e.t for e in self.expiries])
        return float(self.spot * np.exp(np.interp(t, ts, carry) * t))

    def vol(self, strikes: np.ndarray, t: float) -> np.ndarray:
        """Black-76 vol at ``strikes`` for ``t`` years (total variance linear in time at fixed
        log-moneyness; flat in log-moneyness beyond an expiry's quotes)."""
        k = np.asarray(strikes, dtype=float)
        ts = np.array([e.t for e in self.expiries])
        x = np.log(k / self.forward(t))

        def var(e: ExpirySmile) -> np.ndarray:
            out: np.ndarray = np.interp(x, e.x, e.vol) ** 2 * e.t
            return out

        if t <= ts[0]:
            return np.asarray(np.interp(x, self.expiries[0].x, self.expiries[0].vol))
        if t >= ts[-1]:
            return np.asarray(np.interp(x, self.expiries[-1].x, self.expiries[-1].vol))
        j = int(np.searchsorted(ts, t))
        lo, hi = self.expiries[j - 1], self.expiries[j]
        total = var(lo) + (var(hi) - var(lo)) * (t - lo.t) / (hi.t - lo.t)
        return np.sqrt(np.maximum(total, 1e-12) / t)


def parity_forward(rows: pd.DataFrame, spot: float, t: float, rate: float) -> float | None:
    """Forward of one expiry from put-call parity on its reference prices (None: no pair)."""
    calls = rows.loc[rows["kind"] == "call"].groupby("strike")["ref"].first()
    puts = rows.loc[rows["kind"] == "put"].groupby("strike")["ref"].first()
    both = calls.index.intersection(puts.index)
    if not len(both):
        return None
    k = both.to_numpy(float)
    near = np.argsort(np.abs(k - spot))[:PARITY_STRIKES]
    f = k[near] + (calls.loc[both].to_numpy(float) - puts.loc[both].to_numpy(float))[near] * np.exp(
        rate * t
    )
    fwd = float(np.median(f))
    return fwd if np.isfinite(fwd) and 0.5 * spot < fwd < 2.0 * spot else None


def market_smile(
    fills: pd.DataFrame, spot: float, session: pd.Timestamp, rate: float
) -> MarketSmile:
    """Forwards and Black-76 smiles of a chain's fills (columns expiry, strike, kind, ref)."""
    out: list[ExpirySmile] = []
    for expiry, rows in fills.groupby("expiry", sort=True):
        t = (pd.Timestamp(str(expiry)) - session).days / 365.0
        rows = rows.loc[rows["ref"] > 0]
        if t <= 0 or rows.empty:
            continue
        fwd = parity_forward(rows, spot, t, rate) or spot * np.exp(rate * t)
        k = rows["strike"].to_numpy(float)
        kind = rows["kind"].to_numpy()
        otm = np.where(kind == "call", k >= fwd, k < fwd)
        rows, k = rows.loc[otm], k[otm]
        if len(rows) < MIN_POINTS:
            continue
        vol = implied_vol(
            rows["kind"].to_numpy(),
            rows["ref"].to_numpy(float),
            fwd * np.exp(-rate * t),
            k,
            t,
            rate,
        )
        ok = np.isfinite(vol) & (vol > 0)
        if ok.sum() < MIN_POINTS:
            continue
        x = np.log(k[ok] / fwd)
        order = np.argsort(x)
        out.append(ExpirySmile(t, fwd, x[order], vol[ok][order]))
    if not out:
        raise DataError("the chain has no expiry with 3+ out-of-the-money prices; use the proxy")
    return MarketSmile(float(spot), tuple(out))


__all__ = ["ExpirySmile", "MarketSmile", "market_smile", "parity_forward"]
