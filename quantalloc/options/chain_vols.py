"""Reading a chain's own numbers: reference prices per strike, the forward from put-call parity,
and the at-the-money implied volatility (per expiry and at a constant maturity).

All functions take a canonical chain frame (:mod:`quantalloc.data.chains`). A contract's
reference price is its quote mid where bid and ask are quoted, else its close when it traded
that session, else the exchange's settlement price (:func:`reference_prices`), the same order as
the fill rule of :mod:`quantalloc.options.fills` without the spread.

Time is counted in calendar days over 365 (``ACT/365``) from the quote date's close to the
expiry's settlement; contracts settled at the open (SPX AM monthlies, root ``SPX``) lose the
6.5 hours of the expiry day's session.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from quantalloc.errors import DataError

YEAR_DAYS = 365.0
AM_SETTLED_ROOTS = frozenset({"SPX"})
_SESSION_HOURS = 6.5


def reference_prices(chain: pd.DataFrame) -> pd.DataFrame:
    """``chain`` with ``ref`` (the reference price, NaN where none) and ``quoted`` (a market
    exists: a positive bid, or with no bids in the chain a trade or open interest)."""
    out = chain.copy()
    bid, ask = out["bid"].to_numpy(float), out["ask"].to_numpy(float)
    last, settle = out["last"].to_numpy(float), out["settlement"].to_numpy(float)
    volume, oi = out["volume"].to_numpy(float), out["open_interest"].to_numpy(float)
    has_quotes = bool(np.isfinite(bid).any())
    two_sided = (bid > 0) & (ask >= bid)
    traded = (volume > 0) & (last > 0)
    ref = np.where(
        two_sided,
        (bid + ask) / 2.0,
        np.where(traded, last, np.where(settle > 0, settle, np.nan)),
    )
    if has_quotes:
        ref = np.where(two_sided | ~np.isfinite(bid), ref, np.where(ask > 0, ask / 2.0, np.nan))
        quoted = bid > 0
    else:
        quoted = (traded | (oi > 0)) & (ref > 0)
    out["ref"] = ref
    out["quoted"] = quoted
    return out


def years_to_expiry(expiry: pd.Series, as_of: pd.Timestamp, root: pd.Series) -> np.ndarray:
    """ACT/365 years from the close of ``as_of`` to each expiry's settlement."""
    days = (pd.to_datetime(expiry) - as_of.normalize()).dt.days.to_numpy(float)
    am = root.isin(AM_SETTLED_ROOTS).to_numpy()
    return (days - np.where(am, _SESSION_HOURS / 24.0, 0.0)) / YEAR_DAYS


def strike_table(rows: pd.DataFrame) -> pd.DataFrame:
    """One expiry's calls and puts side by side: index strike, columns ``call``/``put`` (reference
    prices) and ``call_quoted``/``put_quoted``."""
    priced = reference_prices(rows)
    strikes = np.unique(priced["strike"].to_numpy(float))
    out = pd.DataFrame(index=pd.Index(strikes, name="strike"))
    for kind in ("call", "put"):
        side = priced.loc[priced["kind"] == kind].drop_duplicates("strike")
        pos = np.searchsorted(strikes, side["strike"].to_numpy(float))
        ref = np.full(strikes.size, np.nan)
        quoted = np.zeros(strikes.size, dtype=bool)
        ref[pos] = side["ref"].to_numpy(float)
        quoted[pos] = side["quoted"].to_numpy(bool)
        out[kind] = ref
        out[f"{kind}_quoted"] = quoted
    return out


def parity_forward(table: pd.DataFrame, t: float, rate: float) -> tuple[float, float]:
    """Forward ``F = K + e^{rT} (C - P)`` at the strike where call and put prices are closest
    (both quoted), and that strike."""
    both = table.loc[table["call_quoted"] & table["put_quoted"]].dropna(subset=["call", "put"])
    if both.empty:
        raise DataError("no strike has both a quoted call and a quoted put; no parity forward")
    diff = (both["call"] - both["put"]).abs().to_numpy(float)
    i = int(np.argmin(diff))
    strike = float(both.index.to_numpy(float)[i])
    c, p = float(both["call"].to_numpy(float)[i]), float(both["put"].to_numpy(float)[i])
    return strike + float(np.exp(rate * t)) * (c - p), strike


@dataclass(frozen=True)
class ExpiryVol:
    """The at-the-money implied vol of one expiry."""

    expiry: pd.Timestamp
    t: float
    forward: float
    atm_vol: float


def atm_vols(
    chain: pd.DataFrame, as_of: pd.Timestamp, rate: float, *, min_days: int = 1
) -> list[ExpiryVol]:
    """ATM implied vol of each expiry at least ``min_days`` out: the mean of the call's and the
    put's Black-76 implied vols at the listed strike nearest the parity forward."""
    from quantalloc.options.implied_vol import implied_vol

    out: list[ExpiryVol] = []
    for (expiry, root), rows in chain.groupby(["expiry", "root"], sort=True):
        stamp = pd.Timestamp(str(expiry))
        if (stamp - as_of.normalize()).days < min_days:
            continue
        t = float(years_to_expiry(pd.Series([stamp]), as_of, pd.Series([root]))[0])
        table = strike_table(rows)
        try:
            fwd, _ = parity_forward(table, t, rate)
        except DataError:
            continue
        listed = table.index.to_numpy(float)
        k = float(listed[int(np.argmin(np.abs(listed - fwd)))])
        prices = table.loc[k, ["call", "put"]].to_numpy(float)
        if not np.isfinite(prices).all():
            continue
        spot = fwd * np.exp(-rate * t)  # Black-76 on the parity forward
        vols = implied_vol(["call", "put"], prices, spot, k, t, rate)
        if np.isfinite(vols).any():
            out.append(ExpiryVol(stamp, t, fwd, float(np.nanmean(vols))))
    return out


def constant_maturity_vol(vols: list[ExpiryVol], days: float = 30.0) -> float:
    """ATM vol at ``days``: linear in total variance between the expiries around it, the
    nearest expiry's vol outside them."""
    if not vols:
        raise DataError("the chain gives no at-the-money implied vol on any expiry")
    target = days / YEAR_DAYS
    pts = sorted((v.t, v.atm_vol) for v in vols)
    ts = np.array([p[0] for p in pts])
    ws = np.array([p[1] ** 2 * p[0] for p in pts])
    if target <= ts[0]:
        return float(pts[0][1])
    if target >= ts[-1]:
        return float(pts[-1][1])
    return float(np.sqrt(np.interp(target, ts, ws) / target))


__all__ = [
    "AM_SETTLED_ROOTS",
    "YEAR_DAYS",
    "ExpiryVol",
    "atm_vols",
    "constant_maturity_vol",
    "parity_forward",
    "reference_prices",
    "strike_table",
    "years_to_expiry",
]
