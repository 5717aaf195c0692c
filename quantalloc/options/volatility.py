"""Volatility inputs for pricing: a proxy from realized vol and the vol index, a skew, chain vols.

Without a chain, the at-the-money implied vol of a symbol is proxied by

    atm_vol = realized_vol(symbol) * (vol_index_level / 100) / realized_vol(index)

i.e. the symbol's realized vol scaled by the market's implied/realized ratio (VIX over the
S&P 500's realized vol, India VIX over NIFTY's), clipped to ``[min_vol, max_vol]``.

A simple put skew then gives the vol at each strike (:class:`SkewModel`): with normalized
log-moneyness ``x = ln(K / S) / sqrt(max(t, 1/52))``,

    vol(K) = atm_vol * clip(1 - put_slope * x, ...)   for x < 0 (puts' side, vol rises)
    vol(K) = atm_vol * clip(1 - call_slope * x, ...)  for x >= 0 (calls' side, vol dips)

clipped to ``[min_factor, max_factor]`` times ``atm_vol``. The defaults (1.0 and 0.3) put a
1-month 10%-OTM put about 35% above the ATM vol and a 1-year one about 10% above, roughly the
shape of equity-index smiles.

With a chain, :class:`ChainVolSurface` interpolates the chain's implied vols in strike per
expiry (out-of-the-money side, linear, flat beyond the quoted strikes) and in total variance
between expiries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from quantalloc.errors import ConfigError, DataError

VolFn = Callable[[np.ndarray, float], np.ndarray]
"""A vol surface: implied vol at strikes for a time to expiry in years."""

FloatArray = NDArray[np.float64]


def realized_vol(
    close: ArrayLike | pd.Series, window: int | None = 63, periods: int = 252
) -> float:
    """Annualized standard deviation of log returns over the last ``window`` closes.

    ``window=None`` uses the whole series; ``periods`` is the number of bars per year.
    """
    prices = np.asarray(close, dtype=float)
    prices = prices[np.isfinite(prices)]
    if window is not None:
        if window < 2:
            raise ConfigError(f"realized-vol window must be at least 2 bars, got {window}")
        prices = prices[-(window + 1) :]
    if prices.size < 3:
        raise DataError(
            f"realized vol needs at least 3 prices, got {prices.size}; give a longer history"
        )
    if (prices <= 0).any():
        raise DataError("realized vol needs positive prices; the series has zero or negative ones")
    returns = np.diff(np.log(prices))
    return float(np.std(returns, ddof=1) * np.sqrt(periods))


def vol_proxy(
    symbol_close: ArrayLike | pd.Series,
    index_close: ArrayLike | pd.Series,
    vol_index_level: float,
    *,
    window: int = 63,
    periods: int = 252,
    min_vol: float = 0.05,
    max_vol: float = 2.0,
) -> float:
    """ATM implied-vol proxy: symbol realized vol x (vol index / 100) / index realized vol."""
    if not np.isfinite(vol_index_level) or vol_index_level <= 0:
        raise DataError(
            f"volatility index level must be positive (in points, e.g. 18.5), got {vol_index_level}"
        )
    rv_symbol = realized_vol(symbol_close, window, periods)
    rv_index = realized_vol(index_close, window, periods)
    if rv_index <= 0:
        raise DataError("the index's realized vol is zero; cannot scale by the vol index")
    ratio = (vol_index_level / 100.0) / rv_index
    return float(np.clip(rv_symbol * ratio, min_vol, max_vol))


@dataclass(frozen=True, slots=True)
class SkewModel:
    """Piecewise-linear skew in time-normalized log-moneyness (see module notes)."""

    put_slope: float = 1.0
    call_slope: float = 0.3
    min_factor: float = 0.5
    max_factor: float = 3.0

    def __post_init__(self) -> None:
        if self.put_slope < 0 or self.call_slope < -1:
            raise ConfigError(
                f"skew slopes look wrong: put {self.put_slope}, call {self.call_slope}"
            )
        if not 0 < self.min_factor <= 1 <= self.max_factor:
            raise ConfigError("skew factors need 0 < min_factor <= 1 <= max_factor")

    def factor(self, spot: float, strike: ArrayLike, t: float) -> FloatArray:
        """Vol multiplier at each strike (1 at the money)."""
        x = np.log(np.asarray(strike, dtype=float) / spot) / np.sqrt(max(t, 1.0 / 52.0))
        slope = np.where(x < 0, self.put_slope, self.call_slope)
        return np.clip(1.0 - slope * x, self.min_factor, self.max_factor)

    def vol(self, atm_vol: float, spot: float, strike: ArrayLike, t: float) -> FloatArray:
        """Vol at each strike for an at-the-money vol ``atm_vol``."""
        return atm_vol * self.factor(spot, strike, t)


FLAT = SkewModel(put_slope=0.0, call_slope=0.0)


@dataclass(frozen=True)
class ChainVolSurface:
    """Implied vols of a chain, interpolated in strike per expiry and in total variance across.

    Build with :meth:`from_chain`. ``vol(strikes, t)`` takes ``t`` in years from ``as_of``.
    """

    as_of: pd.Timestamp
    spot: float
    expiries_t: FloatArray
    smiles: tuple[tuple[FloatArray, FloatArray], ...] = field(repr=False)

    @classmethod
    def from_chain(
        cls,
        chain: pd.DataFrame,
        *,
        spot: float | None = None,
        as_of: object = None,
        min_points: int = 3,
        year_days: float = 365.0,
    ) -> ChainVolSurface:
        """Collect each expiry's smile from a canonical chain (see ``quantalloc.data.load_chain``).

        Uses rows with a positive implied vol (and a positive bid where bids are quoted), the
        out-of-the-money side at each strike (puts below spot, calls above; both averaged when
        spot is unknown). Expiries with fewer than ``min_points`` strikes are skipped.
        """
        s = float(spot) if spot is not None else float(chain["spot"].median())
        if not np.isfinite(s) or s <= 0:
            raise DataError("the chain has no spot price; pass spot=... to build a vol surface")
        stamp = as_of if as_of is not None else chain["as_of"].dropna().min()
        if stamp is None or (isinstance(stamp, float) and np.isnan(stamp)) or stamp is pd.NaT:
            raise DataError("the chain has no quote date; pass as_of=... to build a vol surface")
        when = pd.Timestamp(str(stamp)).normalize()
        rows = chain.loc[chain["implied_vol"].notna() & (chain["implied_vol"] > 0)]
        if "bid" in rows.columns and rows["bid"].notna().any():
            rows = rows.loc[rows["bid"].fillna(0) > 0]
        otm = ((rows["kind"] == "put") & (rows["strike"] <= s)) | (
            (rows["kind"] == "call") & (rows["strike"] >= s)
        )
        rows = rows.loc[otm]
        ts: list[float] = []
        smiles: list[tuple[FloatArray, FloatArray]] = []
        for expiry, group in rows.groupby("expiry", sort=True):
            t = (pd.Timestamp(str(expiry)) - when).days / year_days
            smile = group.groupby("strike")["implied_vol"].mean()
            if t <= 0 or len(smile) < min_points:
                continue
            ts.append(t)
            smiles.append((smile.index.to_numpy(float), smile.to_numpy(float)))
        if not ts:
            raise DataError(
                f"the chain has no expiry with {min_points}+ quoted implied vols; "
                "use a vol proxy (quantalloc.options.vol_proxy) instead"
            )
        return cls(as_of=when, spot=s, expiries_t=np.asarray(ts), smiles=tuple(smiles))

    def smile(self, i: int, strikes: ArrayLike) -> FloatArray:
        """Vol of expiry ``i`` at ``strikes`` (linear in strike, flat beyond the quotes)."""
        k, v = self.smiles[i]
        return np.interp(np.asarray(strikes, dtype=float), k, v)

    def vol(self, strikes: ArrayLike, t: float) -> FloatArray:
        """Vol at ``strikes`` for ``t`` years: linear in total variance between listed expiries.

        Before the first expiry or after the last one, that expiry's smile is used.
        """
        ts = self.expiries_t
        if t <= ts[0]:
            return self.smile(0, strikes)
        if t >= ts[-1]:
            return self.smile(len(ts) - 1, strikes)
        j = int(np.searchsorted(ts, t))
        t0, t1 = ts[j - 1], ts[j]
        w0 = self.smile(j - 1, strikes) ** 2 * t0
        w1 = self.smile(j, strikes) ** 2 * t1
        total = w0 + (w1 - w0) * (t - t0) / (t1 - t0)
        return np.sqrt(np.maximum(total, 0.0) / t)

    def atm_vol(self, t: float) -> float:
        """Vol at the spot strike for ``t`` years."""
        return float(self.vol(np.array([self.spot]), t)[0])


def leg_vols(
    symbols: np.ndarray,
    atm: np.ndarray,
    spot: np.ndarray,
    strike: np.ndarray,
    t: np.ndarray,
    skew: float,
    surfaces: Mapping[str, VolFn],
) -> np.ndarray:
    """Implied vol of every leg: the symbol's chain surface when it has one, else the ATM vol
    with a put skew, ``vol(K) = atm * (1 + skew * max(0, ln(S / K)))``, strike by strike, so
    calls and puts at one strike and expiry share a vol and put-call parity holds.

    The skew is in plain log-moneyness on purpose: a time-normalised skew (as
    :class:`quantalloc.options.SkewModel`) is so steep at two-week expiries for volatile names
    that a put spread costs almost nothing, and Kelly then bets on the artefact.
    """
    out = np.empty(len(strike))
    groups: dict[tuple[str, float], list[int]] = {}
    for i, key in enumerate(zip(symbols.tolist(), t.tolist(), strict=True)):
        groups.setdefault((str(key[0]), float(key[1])), []).append(i)
    for (sym, tt), members in groups.items():
        idx = np.asarray(members)
        if sym in surfaces:
            out[idx] = surfaces[sym](strike[idx], tt)
        else:
            out[idx] = atm[idx] * (1.0 + skew * np.maximum(0.0, np.log(spot[idx] / strike[idx])))
    return out


__all__ = ["FLAT", "ChainVolSurface", "SkewModel", "leg_vols", "realized_vol", "vol_proxy"]
