"""A 30-day volatility index from an index option chain, by Cboe's variance-swap method.

For each of two expiries (Cboe, *VIX Index methodology*; NSE computes India VIX the same way
on NIFTY options):

1. the forward ``F = K* + e^{RT} (C - P)`` at the strike ``K*`` where the call and put prices
   are closest;
2. ``K0``, the listed strike at or below ``F``;
3. out-of-the-money puts below ``K0`` walking down and calls above it walking up, skipping a
   strike with a zero bid and stopping after two zero bids in a row; at ``K0`` the average of
   the put and the call;
4. ``sigma^2 = 2/T sum(dK_i / K_i^2 e^{RT} Q(K_i)) - 1/T (F / K0 - 1)^2`` with ``dK_i`` half
   the distance between the included neighbours (one-sided at the ends);

then the two variances are interpolated to 30 days,
``VIX = 100 sqrt((T1 s1^2 w + T2 s2^2 (1 - w)) / T30)``, ``w = (T2 - T30) / (T2 - T1)``.

``Q(K)`` is the quote mid; for a chain without bids (NSE bhavcopy) it is the contract's close
when it traded, else its settlement price, and "zero bid" reads "neither traded nor held" (no
volume and no open interest). The expiries are the two nearest monthlies at least ``min_days``
away (the roll); time is ACT/365 to each expiry's settlement (:mod:`quantalloc.options.chain_vols`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from quantalloc.errors import DataError
from quantalloc.options.chain_vols import parity_forward, strike_table, years_to_expiry

YEAR_DAYS = 365.0


@dataclass(frozen=True)
class TermVariance:
    """One expiry's model-free variance and its audit trail (``strip``: strike, kind, q, dk,
    contribution = dK/K^2 e^{RT} Q)."""

    expiry: pd.Timestamp | None
    t: float
    forward: float
    k0: float
    variance: float
    strip: pd.DataFrame


def _wing(strikes: np.ndarray, quoted: np.ndarray) -> list[int]:
    """Positions of the strikes kept walking away from K0: zero bids skipped, two in a row stop."""
    kept: list[int] = []
    zeros = 0
    for i in range(len(strikes)):
        if quoted[i]:
            kept.append(i)
            zeros = 0
        else:
            zeros += 1
            if zeros == 2:
                break
    return kept


def term_variance(
    table: pd.DataFrame, t: float, rate: float, expiry: pd.Timestamp | None = None
) -> TermVariance:
    """Cboe's variance of one expiry from its strike table (:func:`strike_table`: index strike,
    columns call, put, call_quoted, put_quoted)."""
    if not t > 0:
        raise DataError(f"time to expiry must be positive, got {t}")
    forward, _ = parity_forward(table, t, rate)
    strikes = table.index.to_numpy(float)
    below = strikes[strikes <= forward]
    if below.size == 0:
        raise DataError(f"no listed strike at or below the forward {forward:,.2f}")
    k0 = float(below.max())
    at = table.loc[k0]
    if not (np.isfinite(at["call"]) and np.isfinite(at["put"])):
        raise DataError(f"the K0 strike {k0:g} lacks a call or a put price")
    puts = table.loc[table.index < k0].iloc[::-1]
    calls = table.loc[table.index > k0]
    put_rows = puts.iloc[_wing(puts.index.to_numpy(), puts["put_quoted"].to_numpy())]
    call_rows = calls.iloc[_wing(calls.index.to_numpy(), calls["call_quoted"].to_numpy())]
    strip = pd.concat(
        [
            pd.DataFrame({"strike": put_rows.index, "kind": "put", "q": put_rows["put"]}),
            pd.DataFrame(
                {"strike": [k0], "kind": ["put/call"], "q": [(at["call"] + at["put"]) / 2.0]}
            ),
            pd.DataFrame({"strike": call_rows.index, "kind": "call", "q": call_rows["call"]}),
        ],
        ignore_index=True,
    )
    strip = strip.sort_values("strike").reset_index(drop=True)
    k = strip["strike"].to_numpy(float)
    dk = np.empty_like(k)
    if k.size == 1:
        dk[:] = np.nan
        raise DataError("only the K0 strike is quoted; no variance without out-of-the-money wings")
    dk[1:-1] = (k[2:] - k[:-2]) / 2.0
    dk[0], dk[-1] = k[1] - k[0], k[-1] - k[-2]
    growth = float(np.exp(rate * t))
    strip["dk"] = dk
    strip["contribution"] = dk / k**2 * growth * strip["q"].to_numpy(float)
    variance = 2.0 / t * float(strip["contribution"].sum()) - (forward / k0 - 1.0) ** 2 / t
    return TermVariance(expiry, t, forward, k0, variance, strip)


def thirty_day_index(near: TermVariance, nxt: TermVariance, days: float = 30.0) -> float:
    """Interpolate two terms' variances to ``days`` and return the index level (vol x 100)."""
    if not near.t < nxt.t:
        raise DataError("the near term must expire before the next term")
    target = days / YEAR_DAYS
    w = (nxt.t - target) / (nxt.t - near.t)
    total = near.t * near.variance * w + nxt.t * nxt.variance * (1.0 - w)
    if not total > 0:
        raise DataError(f"the interpolated {days:g}-day variance is {total}; the chain is unusable")
    return 100.0 * float(np.sqrt(total / target))


@dataclass(frozen=True)
class ChainVolIndex:
    """A volatility index computed from a chain, with both terms for the record."""

    level: float
    near: TermVariance
    next: TermVariance

    def describe(self) -> str:
        """How the level was made: the method and the expiries."""
        return (
            f"Cboe variance-swap method, expiries {_day(self.near.expiry)} and "
            f"{_day(self.next.expiry)} interpolated to 30 days"
        )


def _day(stamp: pd.Timestamp | None) -> str:
    return "?" if stamp is None else str(stamp.date())


def vol_index_from_chain(
    chain: pd.DataFrame,
    as_of: pd.Timestamp,
    rate: float,
    market: str,
    *,
    min_days: int = 7,
) -> ChainVolIndex:
    """The 30-day index of an index chain on ``as_of`` (see the module notes)."""
    from quantalloc.data.expiries import is_monthly

    day = pd.Timestamp(as_of).normalize()
    expiries = sorted(pd.Timestamp(e) for e in chain["expiry"].unique())
    monthly = [e for e in expiries if (e - day).days >= min_days and is_monthly(e.date(), market)]
    if len(monthly) < 2:
        listed = ", ".join(str(e.date()) for e in expiries[:6])
        raise DataError(
            f"the index chain of {day.date()} has {len(monthly)} monthly expiries at least "
            f"{min_days} days out (listed: {listed}); the vol index needs two"
        )
    terms = []
    for expiry in monthly[:2]:
        rows = chain.loc[chain["expiry"] == expiry]
        roots = sorted(set(rows["root"]))
        root = next((r for r in roots if r in ("SPX",)), roots[0])  # Cboe: standard SPX monthly
        rows = rows.loc[rows["root"] == root]
        t = float(years_to_expiry(pd.Series([expiry]), day, pd.Series([root]))[0])
        terms.append(term_variance(strike_table(rows), t, rate, expiry))
    return ChainVolIndex(thirty_day_index(terms[0], terms[1]), terms[0], terms[1])


__all__ = [
    "ChainVolIndex",
    "TermVariance",
    "term_variance",
    "thirty_day_index",
    "vol_index_from_chain",
]
