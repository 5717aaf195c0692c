"""One symbol's horizon distribution as its option quotes imply it, exact at the quoted strikes.

The quotes' Black-76 vols (against the forward, one per strike: the out-of-the-money side where
both are quoted) are joined by a shape-preserving cubic (PCHIP) in log-moneyness, continued
beyond the quoted range by a tanh that levels off with the end slope (so the smile stays C1 and
no mass piles up where the quotes end). Its undiscounted call curve ``C(K)`` gives, on a grid of
nodes that holds every quoted strike, the CDF ``F(K) = 1 + dC/dK`` (Breeden and Litzenberger
1978; the derivative is analytic: ``-N(d2) + F phi(d1) sqrt(T) dsigma/dK``) and the partial
expectation ``M(K) = E[S 1{S > K}] = C(K) - K dC/dK``. Each interval between nodes becomes one
atom, its mass the CDF's increase and its value the conditional mean ``(M_a - M_b) / mass``;
the tails below the first and above the last node one atom each. A call or put struck at a node
has a payoff linear on every interval, so the atoms price it exactly as the smile does, which
is at its quote; and the atoms' mean is ``C(k0) - P(k0) + k0 = F`` by put-call parity.

Quotes with a butterfly arbitrage give an interval a negative mass (or a mean outside it); such
a node is dropped (its two intervals merge), the least change that leaves a distribution, and
the contract struck there is then priced by the chord of its neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy.interpolate import PchipInterpolator, UnivariateSpline
from scipy.special import ndtr, ndtri

from quantalloc.options.implied_vol import implied_vol

MAX_REPAIRS = 200
SMOOTHING = (0.0, 0.02, 0.1, 0.3, 1.0)
SQRT_2PI = float(np.sqrt(2.0 * np.pi))


@dataclass(frozen=True)
class QuoteSmile:
    """Black-76 vol as a function of log-moneyness ``x = ln(K / F)``, C1 everywhere.

    ``x``, ``vol`` and ``weight`` are the quotes (one per strike, weight one over the vol a
    half-spread is worth); ``smoothing`` 0 interpolates them (PCHIP), above 0 it is the
    weighted sum of squared residuals a cubic smoothing spline may leave, per quote.
    """

    x: np.ndarray
    vol: np.ndarray
    weight: np.ndarray
    atm: float
    smoothing: float = 0.0

    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The vol and its derivative in ``x`` at ``x``."""
        x = np.asarray(x, dtype=float)
        if self.x.size < 2:
            flat = float(self.vol[0]) if self.vol.size else self.atm
            return np.full(x.shape, flat), np.zeros(x.shape)
        if self.smoothing > 0 and self.x.size > 3:
            curve: Any = UnivariateSpline(
                self.x, self.vol, w=self.weight, k=3, s=self.smoothing * self.x.size
            )
        else:
            curve = PchipInterpolator(self.x, self.vol)
        slope = curve.derivative()
        lo, hi = float(self.x[0]), float(self.x[-1])
        inside = np.clip(x, lo, hi)
        v, dv = np.asarray(curve(inside), dtype=float), np.asarray(slope(inside), dtype=float)
        length = max(self.atm, 0.02)
        for end, side in ((lo, x < lo), (hi, x > hi)):
            if side.any():
                v0, s0 = float(curve(end)), float(slope(end))
                u = np.tanh((x[side] - end) / length)
                v[side] = v0 + s0 * length * u
                dv[side] = s0 * (1.0 - u * u)
        floor = 0.2 * self.atm
        low = v < floor
        return np.where(low, floor, v), np.where(low, 0.0, dv)


def quote_smile(
    kind: np.ndarray,
    strike: np.ndarray,
    mid: np.ndarray,
    half_spread: np.ndarray,
    *,
    forward: float,
    atm_vol: float,
    rate: float,
    horizon: float,
) -> QuoteSmile:
    """The quotes' Black-76 vols, one per strike (see the module notes), as a smile."""
    iv = np.full(kind.shape[0], np.nan)
    if kind.size:
        iv = implied_vol(
            np.where(kind > 0, "call", "put"),
            mid,
            forward * np.exp(-rate * horizon),
            strike,
            horizon,
            rate,
        )
    ok = np.isfinite(iv) & (iv > 0)
    otm = np.where(kind > 0, strike >= forward, strike <= forward)
    # per strike: the out-of-the-money quote first, then any other
    order = np.lexsort((~otm[ok], strike[ok]))
    k, v, hs = strike[ok][order], iv[ok][order], half_spread[ok][order]
    first = np.concatenate([[True], k[1:] != k[:-1]]) if k.size else np.zeros(0, bool)
    k, v, hs = k[first], v[first], hs[first]
    x = np.log(k / forward)
    sd = v * np.sqrt(horizon)
    vega = (
        forward
        * np.exp(-rate * horizon)
        * np.sqrt(horizon)
        * np.exp(-0.5 * ((-x + 0.5 * sd * sd) / sd) ** 2)
        / SQRT_2PI
    )
    weight = vega / np.maximum(hs, 1e-6 * np.maximum(vega, 1e-12))
    return QuoteSmile(x, v, weight, float(atm_vol))


def call_curve(
    smile: QuoteSmile, forward: float, horizon: float, k: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Undiscounted ``C(K)`` and ``dC/dK`` of the smile at strikes ``k``."""
    x = np.log(k / forward)
    vol, dvol = smile(x)
    root_t = np.sqrt(horizon)
    sd = vol * root_t
    d1 = (-x + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    call = forward * ndtr(d1) - k * ndtr(d2)
    density = np.exp(-0.5 * d1 * d1) / SQRT_2PI
    slope = -ndtr(d2) + forward * density * root_t * dvol / k
    return call, slope


def implied_atoms(
    smile: QuoteSmile, forward: float, horizon: float, strikes: np.ndarray, nodes: int
) -> tuple[np.ndarray, np.ndarray]:
    """The distribution's atoms (values ascending) and masses, exact at ``strikes``.

    The ``nodes`` grid nodes sit at the quantiles of a lognormal at the smile's highest vol,
    so no interval holds much more than ``1 / nodes`` of the mass (the scenarios made from the
    atoms then take distinct values); the quoted strikes are nodes too.
    """
    sd = max(float(np.max(smile.vol, initial=smile.atm)), 0.02) * np.sqrt(horizon)
    x = sd * ndtri((np.arange(nodes) + 0.5) / nodes) - 0.5 * sd * sd
    quoted = np.log(np.asarray(strikes, dtype=float) / forward)
    quoted = quoted[np.isfinite(quoted)]
    x = np.unique(np.concatenate([x, quoted]))
    k = forward * np.exp(x)
    for level in SMOOTHING:  # the least smoothing whose call curve is a distribution
        call, slope = call_curve(replace(smile, smoothing=level), forward, horizon, k)
        cdf, part = 1.0 + slope, call - k * slope
        if not _intervals(k, cdf, part, forward)[2].any():
            break
    quoted_k = np.isin(x, quoted)
    for _ in range(MAX_REPAIRS):
        mass, value, bad = _intervals(k, cdf, part, forward)
        if not bad.any() or k.size <= 2:
            break
        # interval i spans nodes i-1 .. i: drop one of its nodes, a grid node before a quoted one
        i = np.flatnonzero(bad)
        left, right = np.clip(i - 1, 0, k.size - 1), np.clip(i, 0, k.size - 1)
        drop = np.where(quoted_k[right] & ~quoted_k[left], left, right)
        keep = np.ones(k.size, dtype=bool)
        keep[drop] = False
        k, cdf, part, quoted_k = k[keep], cdf[keep], part[keep], quoted_k[keep]
    mass, value, _ = _intervals(k, cdf, part, forward)
    mass = np.maximum(mass, 0.0)
    return value, mass / mass.sum()


def _intervals(
    k: np.ndarray, cdf: np.ndarray, part: np.ndarray, forward: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mass and conditional mean of the tails and of each interval between nodes ``k``, and
    which of them no distribution allows (negative mass, or a mean outside the interval)."""
    mass = np.concatenate([[cdf[0]], np.diff(cdf), [1.0 - cdf[-1]]])
    inner = np.concatenate([[forward - part[0]], -np.diff(part), [part[-1]]])
    lo, hi = np.concatenate([[0.0], k]), np.concatenate([k, [np.inf]])
    # a distribution needs mass >= 0 and lo * mass <= E[S; interval] <= hi * mass
    eps = 1e-11 * forward
    bad = (
        (mass < -1e-12)
        | (inner < lo * mass - eps)
        | (inner > np.where(np.isinf(hi), np.inf, np.where(np.isinf(hi), 0.0, hi) * mass) + eps)
    )
    some = mass > 1e-14
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(some, inner / np.where(some, mass, 1.0), np.concatenate([[k[0]], k]))
    return mass, np.clip(mean, lo, hi), bad


__all__ = ["QuoteSmile", "call_curve", "implied_atoms", "quote_smile"]
