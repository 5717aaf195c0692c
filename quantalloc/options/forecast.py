"""Volatility forecasts and the proxy for an at-the-money implied vol where no chain exists.

The proxy of a symbol's ATM implied vol over a horizon is

    proxy = forecast(symbol) x ratio,   ratio = median over the last year of
                                                 vol_index_t / forecast(index)_t

the symbol's own forecast (EWMA, or GARCH(1,1) fitted with the ``arch`` package) scaled by the
index's *measured* ratio of implied to forecast volatility, so that one day's odd reading of
the vol index against a quiet index (the old proxy divided by the index's 63-day realized vol)
cannot double every symbol's vol. Returns spanning a gap in the data (more than
``max_gap_days`` calendar days between closes) are left out, never filled, and so are one-day
moves beyond ``max_abs_return`` in log terms (0.5: a 39% fall or a 65% rise), which in the
NIFTY 50 data are unadjusted corporate actions (KOTAKBANK's 1:5 split on 2026-01-14,
TATAMOTORS' demerger on 2025-10-14), not volatility; the dropped dates are listed in
``returns.attrs["dropped"]``.

Day count: volatilities are annualised over 252 trading days (the scenarios' count); option
times are ACT/365 in calendar days (:mod:`quantalloc.options.chain_vols`). A forecast over a
horizon of ``h`` trading days is the root mean of the forecast daily variances, times
``sqrt(252)``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from quantalloc.data import memo
from quantalloc.errors import ConfigError, DataError
from quantalloc.threads import one_blas_thread

log = logging.getLogger(__name__)

TRADING_DAYS = 252
METHODS = ("ewma", "garch")


def daily_returns(
    close: pd.Series, max_gap_days: int = 7, max_abs_return: float = 0.5
) -> pd.Series:
    """Log returns of consecutive closes, without those spanning more than ``max_gap_days``
    calendar days (a hole in the data, not one day's move) or larger than ``max_abs_return``
    (an unadjusted split or demerger; listed in ``attrs["dropped"]``)."""
    values, ends, dropped = _return_values(close, max_gap_days, max_abs_return)
    stamps = pd.DatetimeIndex(close.index)
    out = pd.Series(values, index=stamps[ends])
    out.attrs["dropped"] = [str(d.date()) for d in stamps[dropped]]
    return out


def _return_values(
    close: pd.Series, max_gap_days: int, max_abs_return: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`daily_returns` as arrays: the kept returns, the positions in ``close`` of the
    closes that end them, and those of the dropped jumps."""
    numeric = close if pd.api.types.is_float_dtype(close.dtype) else pd.to_numeric(close, "coerce")
    prices = numeric.to_numpy(float)
    where = np.flatnonzero(~np.isnan(prices) & (prices > 0))
    if where.size < 3:
        raise DataError(f"a vol forecast needs at least 3 closes, got {where.size}")
    values = np.diff(np.log(prices[where]))
    days = pd.DatetimeIndex(close.index).to_numpy()[where].astype("M8[D]")
    near = np.diff(days).astype(int) <= max_gap_days
    values, ends = values[near], where[1:][near]
    jumps = np.abs(values) > max_abs_return
    return values[~jumps], ends[~jumps], ends[jumps]


EWMA_DECAY = 0.94
"""RiskMetrics' daily decay of the EWMA variance."""
EWMA_SEED = 20
"""Returns whose mean square starts the EWMA variance."""


def ewma_variances(returns: pd.Series, lam: float = EWMA_DECAY, seed: int = EWMA_SEED) -> pd.Series:
    """RiskMetrics variance forecasts for the day after each return (``lam`` decay), started
    from the mean square of the first ``seed`` returns."""
    if not 0.0 < lam < 1.0:
        raise ConfigError(f"EWMA decay must lie in (0, 1), got {lam}")
    return pd.Series(_ewma_path(returns.to_numpy(float), lam, seed), index=returns.index)


def _ewma_path(r: np.ndarray, lam: float, seed: int) -> np.ndarray:
    if r.size < seed + 1:
        raise DataError(f"an EWMA forecast needs more than {seed} returns, got {r.size}")
    var = np.empty(r.size)
    v = float(np.mean(r[:seed] ** 2))
    for i, x in enumerate(r.tolist()):  # Python floats: 6x faster than numpy scalars
        v = lam * v + (1.0 - lam) * x * x
        var[i] = v
    return var


FIT_MEMO = 2048
"""GARCH fits remembered per process (by the exact returns fitted)."""
GARCH_SPEC = (
    "GARCH(1,1) normal errors, constant mean, returns x100, arch defaults, one BLAS thread, v2"
)
"""What a fit is (part of its cache key): change it whenever :meth:`Garch._fit` changes."""
_FITS: OrderedDict[str, Garch | str] = OrderedDict()  # a fit, or why it failed
_FITS_LOCK = threading.Lock()


def fit_key(returns: np.ndarray) -> str:
    """The disk cache's key of a GARCH fit of ``returns``: their float64 values in order, the
    model (:data:`GARCH_SPEC`) and the versions of the libraries that fit it."""
    values = np.ascontiguousarray(returns, dtype=np.float64)
    return memo.key(GARCH_SPEC, memo.versions("arch", "scipy", "numpy"), values)


@dataclass(frozen=True)
class Garch:
    """GARCH(1,1) parameters on daily log returns (variance units), fitted by ``arch``."""

    omega: float
    alpha: float
    beta: float
    mu: float = 0.0

    @property
    def persistence(self) -> float:
        return self.alpha + self.beta

    @property
    def long_run(self) -> float:
        """Unconditional daily variance."""
        return self.omega / max(1.0 - self.persistence, 1e-6)

    @classmethod
    def fit(cls, returns: pd.Series | np.ndarray) -> Garch:
        """Maximum-likelihood fit (normal errors, constant mean) by ``arch``; a DataError when
        fewer than 250 returns or the fit does not converge to a stationary model.

        Fits are remembered by the returns' exact values: in the process (the last
        :data:`FIT_MEMO`), so a replay that marks a position with the forecast its solve made
        reuses that solve's fit, and on disk (:mod:`quantalloc.data.memo`, keyed by
        :func:`fit_key`: the returns, :data:`GARCH_SPEC` and the versions of arch, scipy and
        numpy), so a second run neither fits nor imports ``arch``. A remembered fit is the
        fresh fit's numbers exactly."""
        r = np.ascontiguousarray(np.asarray(returns, dtype=float))
        if r.size < 250:
            raise DataError(f"a GARCH(1,1) fit needs 250 returns, got {r.size}")
        key = fit_key(r)
        with _FITS_LOCK:
            found = _FITS.get(key)
            if found is not None:
                _FITS.move_to_end(key)
        if found is None:
            found = cls._stored(key)
        if found is None:
            try:
                found = cls._fit(r)
            except DataError as exc:
                found = str(exc)
            value = {"error": found} if isinstance(found, str) else dataclasses.asdict(found)
            memo.store_json("fits", key, {"spec": GARCH_SPEC, "value": value})
        with _FITS_LOCK:
            _FITS[key] = found
            while len(_FITS) > FIT_MEMO:
                _FITS.popitem(last=False)
        if isinstance(found, str):
            raise DataError(found)
        return found

    @classmethod
    def _stored(cls, key: str) -> Garch | str | None:
        """The disk cache's fit (or failure) of ``key``; None on a miss."""
        entry = memo.load_json("fits", key)
        if entry is None or entry.get("spec") != GARCH_SPEC:
            return None
        value = entry.get("value")
        if not isinstance(value, dict):
            return None
        if isinstance(value.get("error"), str):
            return str(value["error"])
        try:
            return cls(**{f: float(value[f]) for f in ("omega", "alpha", "beta", "mu")})
        except (KeyError, TypeError, ValueError):
            return None

    @classmethod
    def _fit(cls, r: np.ndarray) -> Garch:
        from arch import arch_model

        if r.size < 250:
            raise DataError(f"a GARCH(1,1) fit needs 250 returns, got {r.size}")
        model = arch_model(r * 100.0, mean="Constant", vol="GARCH", p=1, q=1, rescale=False)
        with one_blas_thread():  # a fit's last bits follow BLAS's threads: one, on any machine
            res = model.fit(disp="off", show_warning=False)
        p = res.params
        out = cls(
            omega=float(p["omega"]) / 1e4,
            alpha=float(p["alpha[1]"]),
            beta=float(p["beta[1]"]),
            mu=float(p["mu"]) / 100.0,
        )
        if res.convergence_flag != 0 or not out.persistence < 1.0:
            raise DataError(
                f"GARCH(1,1) fit did not give a stationary model (alpha {out.alpha:.3f}, "
                f"beta {out.beta:.3f}, flag {res.convergence_flag})"
            )
        return out

    def variances(self, returns: pd.Series) -> pd.Series:
        """One-day-ahead variance after each return (the filter started at the long-run level)."""
        return pd.Series(self.variance_values(returns.to_numpy(float)), index=returns.index)

    def variance_values(self, returns: np.ndarray) -> np.ndarray:
        """:meth:`variances` on an array of returns."""
        r = returns - self.mu
        var = np.empty(r.size)
        v = self.long_run
        omega, alpha, beta = self.omega, self.alpha, self.beta
        for i, x in enumerate(r.tolist()):  # Python floats: 6x faster than numpy scalars
            v = omega + alpha * x * x + beta * v
            var[i] = v
        return var

    def horizon_vol(self, next_var: float | np.ndarray, days: int) -> float | np.ndarray:
        """Annualised vol over the next ``days`` trading days from tomorrow's variance: the
        mean of ``long + (v - long) p^k``, k = 0 .. days-1."""
        p = self.persistence
        k = np.arange(max(int(days), 1))
        mean_decay = float(np.mean(p**k))
        var = self.long_run + (np.asarray(next_var) - self.long_run) * mean_decay
        return np.sqrt(np.maximum(var, 0.0) * TRADING_DAYS)


def forecast_path(
    close: pd.Series,
    method: str = "garch",
    days: int = 21,
    max_gap_days: int = 7,
    fit_until: pd.Timestamp | None = None,
    fit_window: int = 756,
) -> pd.Series:
    """Annualised vol forecast over ``days`` trading days made at each close (from the data up
    to that close only: the GARCH parameters are fitted on the last ``fit_window`` returns up
    to ``fit_until``, default the end of the series given, so pass the history up to the as-of
    date; a fixed window makes the fit independent of how much older history was loaded)."""
    if method not in METHODS:
        raise ConfigError(f"vol forecast method {method!r} is unknown; use one of {METHODS}")
    rets = daily_returns(close, max_gap_days)
    if method == "ewma":
        return np.sqrt(ewma_variances(rets) * TRADING_DAYS)
    sample = rets if fit_until is None else rets.loc[rets.index <= fit_until]
    model = Garch.fit(sample.iloc[-fit_window:])
    path = model.horizon_vol(model.variances(rets).to_numpy(), days)
    return pd.Series(path, index=rets.index)


def forecast_last(
    close: pd.Series,
    method: str = "garch",
    days: int = 21,
    max_gap_days: int = 7,
    fit_window: int = 756,
) -> float:
    """The last value of :func:`forecast_path` (fitted to the end of ``close``), without the
    path: the returns, the fit and the variance filter on arrays."""
    if method not in METHODS:
        raise ConfigError(f"vol forecast method {method!r} is unknown; use one of {METHODS}")
    values, _, _ = _return_values(close, max_gap_days, 0.5)
    if method == "ewma":
        return float(np.sqrt(_ewma_path(values, EWMA_DECAY, EWMA_SEED)[-1] * TRADING_DAYS))
    model = Garch.fit(values[-fit_window:])
    return float(np.asarray(model.horizon_vol(model.variance_values(values)[-1:], days))[0])


def measured_ratio(
    implied: pd.Series, forecast: pd.Series, as_of: pd.Timestamp, window: int = 252
) -> float:
    """Median of ``implied / forecast`` (both annualised fractions) over the last ``window``
    dates up to ``as_of`` where both exist; a DataError with fewer than 20 such dates."""
    both = pd.concat([implied.rename("i"), forecast.rename("f")], axis=1, join="inner")
    both = both.loc[both.index <= as_of].dropna().iloc[-window:]
    if len(both) < 20:
        raise DataError(
            f"only {len(both)} dates up to {as_of.date()} carry both the vol index and the "
            "index's forecast; the implied-to-forecast ratio needs 20"
        )
    return float(np.median(both["i"] / both["f"]))


@dataclass(frozen=True)
class ProxyVol:
    """A symbol's proxied ATM vol and what it was made of."""

    vol: float
    forecast: float
    ratio: float
    method: str
    notes: tuple[str, ...] = ()


def proxy_vol(
    symbol_close: pd.Series,
    index_forecast: pd.Series,
    implied: pd.Series,
    as_of: pd.Timestamp,
    *,
    method: str = "garch",
    days: int = 21,
    min_vol: float = 0.05,
    max_vol: float = 2.0,
    ratio: float | None = None,
) -> ProxyVol:
    """The proxy of the module notes for one symbol on ``as_of``.

    ``index_forecast`` is the index's forecast path (:func:`forecast_path` with the same
    ``method``), ``implied`` the vol index as an annualised fraction (its history, the as-of
    level included). A GARCH fit that fails (too short a history, no stationary model) falls
    back to EWMA, with a note. ``ratio``: :func:`measured_ratio` of ``implied`` and
    ``index_forecast`` on ``as_of`` when already computed (it is the same for every symbol).
    """
    close = symbol_close.loc[symbol_close.index <= as_of]
    notes: list[str] = []
    used = method
    try:
        forecast = forecast_last(close, method, days)
    except DataError as exc:
        if method != "garch":
            raise
        notes.append(f"GARCH(1,1) not used ({exc}); EWMA instead")
        used = "ewma"
        forecast = forecast_last(close, "ewma", days)
    if ratio is None:
        ratio = measured_ratio(implied, index_forecast, as_of)
    vol = float(np.clip(forecast * ratio, min_vol, max_vol))
    return ProxyVol(vol=vol, forecast=forecast, ratio=ratio, method=used, notes=tuple(notes))


__all__ = [
    "METHODS",
    "TRADING_DAYS",
    "Garch",
    "ProxyVol",
    "daily_returns",
    "ewma_variances",
    "forecast_last",
    "forecast_path",
    "measured_ratio",
    "proxy_vol",
]
