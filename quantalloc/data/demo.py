"""A deterministic synthetic market for both profiles: prices, a volatility index and a universe.

The demo market lets every command run offline. It is generated, not observed, and every
command that shows output made from it prints the synthetic banner.

Model (daily steps over business days, ``start`` .. ``end``):

- **Regimes.** A three-state Markov chain, calm / normal / stressed, with persistent states
  (expected stays of about 100, 80 and 33 days).
- **Market volatility.** The log of the annualised conditional volatility ``sigma_t`` reverts
  to the regime's level, is shocked by its own noise, rises after down days (leverage effect)
  and jumps after a crash.
- **Market factor** (the index): Student-t shocks scaled by ``sigma_t``, plus crashes (a 3-7%
  drop) that happen only in the stressed regime, so crashes cluster in stress.
- **Stocks.** ``r_i = alpha_i + beta_i * r_market + f_industry(i) + e_i``: industry factors with
  their own drift (so industries trend apart) and idiosyncratic noise, both louder in stress.
- **Volatility index** (``^INDIAVIX`` / ``^VIX``): ``100 * premium * sigma_t`` times a slowly
  varying noise, so it reads 10-30 (India) or 11-35 (US) most of the time and tops 40 in crashes.
- **Bars.** Opens gap from the previous close; highs and lows extend beyond open and close by
  a random share of the day's volatility; volumes rise with the size of the move.

The universe (``stock_data`` layout) and the example industry allocation table
(``industry_allocations_current`` layout, ratings from each industry's trailing six-month
trend at the last date) come with it. Symbols are ``SYN<INDUSTRY><n>``: clearly not real tickers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from quantalloc.data.base import DateLike, clip_dates, to_timestamp
from quantalloc.data.validation import validate_ohlcv
from quantalloc.errors import DataError
from quantalloc.markets import MarketProfile, get_market

DEFAULT_SEED = 7  # chosen among 1..12 for a plausible path: both indices up 2-3x, 3 down years
DEFAULT_START = "2016-01-01"
DEFAULT_END = "2025-12-31"
REGIMES: tuple[str, ...] = ("calm", "normal", "stressed")
RATINGS: tuple[str, ...] = (
    "Strong Overweight",
    "Moderate Overweight",
    "Neutral",
    "Moderate Underweight",
    "Strong Underweight",
)
_RATING_POSITION = {
    "Strong Overweight": "LONG",
    "Moderate Overweight": "LONG",
    "Neutral": "NEUTRAL",
    "Moderate Underweight": "SHORT",
    "Strong Underweight": "SHORT",
}
_RATING_WEIGHT = {  # percent of the portfolio per industry; 3 industries per rating sum to 99%
    "Strong Overweight": 12.0,
    "Moderate Overweight": 9.0,
    "Neutral": 6.0,
    "Moderate Underweight": 3.5,
    "Strong Underweight": 2.5,
}
_SYMBOLS_PER_INDUSTRY = 4

# (industry, sector, symbol code)
_INDUSTRIES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "in": (
        ("Banks", "Financial Services", "BANK"),
        ("Finance", "Financial Services", "NBFC"),
        ("Insurance", "Financial Services", "INSR"),
        ("IT Services", "Information Technology", "ITSV"),
        ("Pharmaceuticals", "Healthcare", "PHRM"),
        ("Hospitals", "Healthcare", "HOSP"),
        ("Automobiles", "Consumer Discretionary", "AUTO"),
        ("Consumer Durables", "Consumer Discretionary", "DURB"),
        ("FMCG", "Consumer Staples", "FMCG"),
        ("Oil & Gas", "Energy", "OILG"),
        ("Power", "Utilities", "POWR"),
        ("Metals & Mining", "Materials", "METL"),
        ("Cement", "Materials", "CMNT"),
        ("Capital Goods", "Industrials", "CAPG"),
        ("Telecom", "Communication Services", "TELE"),
    ),
    "us": (
        ("Banks", "Financials", "BANK"),
        ("Capital Markets", "Financials", "CAPM"),
        ("Insurance", "Financials", "INSR"),
        ("Software", "Information Technology", "SOFT"),
        ("Semiconductors", "Information Technology", "SEMI"),
        ("Pharmaceuticals", "Health Care", "PHRM"),
        ("Health Care Equipment", "Health Care", "HCEQ"),
        ("Specialty Retail", "Consumer Discretionary", "RETL"),
        ("Automobiles", "Consumer Discretionary", "AUTO"),
        ("Beverages", "Consumer Staples", "BEVG"),
        ("Oil & Gas", "Energy", "OILG"),
        ("Electric Utilities", "Utilities", "UTIL"),
        ("Chemicals", "Materials", "CHEM"),
        ("Aerospace & Defense", "Industrials", "AERO"),
        ("Media", "Communication Services", "MDIA"),
    ),
}


@dataclass(frozen=True)
class _Params:
    """Per-market calibration of the generator."""

    vol_levels: tuple[float, float, float]  # annualised market vol per regime
    vol_premium: float  # implied over realised volatility
    drift: float  # annual log drift of the market factor before crashes
    index_start: float
    index_volume: float
    price_range: tuple[float, float]  # start prices of stocks (log-uniform)
    volume_range: tuple[float, float]  # mean daily volume of stocks (log-uniform)


_PARAMS = {
    "in": _Params((0.105, 0.145, 0.24), 1.08, 0.15, 7800.0, 2.5e5, (150.0, 4000.0), (5e5, 1.5e7)),
    "us": _Params((0.10, 0.145, 0.27), 1.15, 0.14, 200.0, 8.0e7, (30.0, 450.0), (1e6, 3e7)),
}

# Daily transition probabilities of the regime chain (rows: from calm, normal, stressed).
_TRANSITIONS = np.array(
    [
        [0.990, 0.010, 0.000],
        [0.006, 0.988, 0.006],
        [0.000, 0.030, 0.970],
    ]
)
_CRASH_PROB = (0.0, 0.0, 0.025)  # per day, by regime: crashes only in stress


@dataclass(frozen=True)
class _DemoMarket:
    """Everything one generation produces (shared, never mutated: callers get copies)."""

    frames: dict[str, pd.DataFrame]
    regimes: pd.Series
    sigma: pd.Series
    universe: pd.DataFrame
    allocations: pd.DataFrame


class DemoProvider:
    """Deterministic synthetic market for ``market`` (``in`` or ``us``); ``synthetic = True``.

    Parameters
    ----------
    market
        Market profile name; the index and volatility index take that profile's symbols.
    seed
        Seed of the generator: the same seed gives identical frames.
    start, end
        First and last business day generated.
    """

    synthetic = True

    def __init__(
        self,
        market: str | None = None,
        *,
        seed: int = DEFAULT_SEED,
        start: DateLike = DEFAULT_START,
        end: DateLike = DEFAULT_END,
    ) -> None:
        self.market: MarketProfile = get_market(market)
        self.seed = int(seed)
        self.start = to_timestamp(start, "demo start date").normalize()
        self.end = to_timestamp(end, "demo end date").normalize()
        self.name = f"demo:{self.market.name}"

    def _data(self) -> _DemoMarket:
        return _generate(self.market.name, self.seed, self.start, self.end)

    def history(
        self, symbol: str, start: DateLike | None = None, end: DateLike | None = None
    ) -> pd.DataFrame:
        """Validated OHLCV frame of ``symbol`` between ``start`` and ``end`` (both inclusive)."""
        frames = self._data().frames
        key = symbol.strip()
        if key not in frames and key.upper() in frames:
            key = key.upper()
        if key not in frames:
            shown = ", ".join(list(frames)[:6])
            raise DataError(
                f"{symbol}: not in the demo market '{self.market.name}' (symbols such as {shown}; "
                f"list them with: quantalloc data symbols --data demo --market "
                f"{self.market.name}); for real prices of {symbol} use `data=yahoo` or "
                "`data=csv:DIR`",
                params="data",
            )
        return clip_dates(frames[key], key, start, end, self.name).copy()

    def symbols(self) -> list[str]:
        """Stocks of the universe, then the index and the volatility index."""
        return list(self._data().frames)

    def universe(self) -> pd.DataFrame:
        """The ``stock_data`` table: symbol, industry, sector, fno_stock, lot_size,
        market_cap_category."""
        return self._data().universe.copy()

    def industry_allocations(self) -> pd.DataFrame:
        """The ``industry_allocations_current`` table: industry, sector, position_type,
        weight_percentage, rating (weights sum to 99%)."""
        return self._data().allocations.copy()

    def sector_allocations(self) -> pd.DataFrame:
        """The ``sector_allocations_current`` table: sector, position_type, weight_percentage
        (the sum of its industries), rating (of its largest industry)."""
        ind = self._data().allocations
        rows = []
        for sector, group in ind.groupby("sector", sort=True):
            net = group.loc[group.position_type == "LONG", "weight_percentage"].sum() - (
                group.loc[group.position_type == "SHORT", "weight_percentage"].sum()
            )
            position = "LONG" if net > 0 else "SHORT" if net < 0 else "NEUTRAL"
            top = group.sort_values("weight_percentage", ascending=False).iloc[0]
            rows.append(
                {
                    "sector": sector,
                    "position_type": position,
                    "weight_percentage": round(float(group.weight_percentage.sum()), 2),
                    "rating": top.rating,
                }
            )
        return pd.DataFrame(rows)

    def regimes(self) -> pd.Series:
        """The generator's hidden regime per date (``calm`` / ``normal`` / ``stressed``)."""
        return self._data().regimes.copy()

    def conditional_vol(self) -> pd.Series:
        """The market factor's annualised conditional volatility per date (a fraction)."""
        return self._data().sigma.copy()

    def closes(self, symbols: list[str] | None = None) -> pd.DataFrame:
        """Closing prices of ``symbols`` (default: every symbol) side by side, one column each."""
        names = self.symbols() if symbols is None else symbols
        return pd.DataFrame({s: self.history(s)["close"] for s in names})


@lru_cache(maxsize=8)
def _generate(market: str, seed: int, start: pd.Timestamp, end: pd.Timestamp) -> _DemoMarket:
    dates = pd.bdate_range(start, end, name="date")
    if len(dates) < 300:
        raise DataError(
            f"demo market from {start.date()} to {end.date()} has {len(dates)} business days; "
            "choose a span of at least 300 (the default is 2016-01-01 .. 2025-12-31)"
        )
    params = _PARAMS[market]
    industries = _INDUSTRIES[market]
    rng = np.random.default_rng([seed, 1 if market == "us" else 0])
    n = len(dates)

    regimes = _regime_path(rng, n)
    sigma, market_ret = _market_path(rng, regimes, params)
    vix = _vol_index(rng, sigma, params.vol_premium)

    k = len(industries)
    ind_vol = rng.uniform(0.07, 0.14, k)
    ind_drift = rng.normal(0.0, 0.05, k)
    ind_beta = rng.uniform(0.6, 1.3, k)
    stress = sigma / params.vol_levels[1]  # 1 in a normal regime, about 2 in stress
    ind_ret = (
        ind_drift / 252
        + ind_vol / np.sqrt(252) * stress[:, None] * _t_shocks(rng, (n, k))
        - 0.5 * (ind_vol**2) / 252
    )

    frames: dict[str, pd.DataFrame] = {}
    rows = []
    m = k * _SYMBOLS_PER_INDUSTRY
    beta = np.repeat(ind_beta, _SYMBOLS_PER_INDUSTRY) + rng.normal(0, 0.12, m)
    alpha = rng.normal(0.0, 0.03, m)
    idio = rng.uniform(0.14, 0.32, m)
    lo_p, hi_p = params.price_range
    start_price = np.exp(rng.uniform(np.log(lo_p), np.log(hi_p), m))
    lo_v, hi_v = params.volume_range
    base_volume = np.exp(rng.uniform(np.log(lo_v), np.log(hi_v), m))
    noise = _t_shocks(rng, (n, m)) * (idio / np.sqrt(252)) * np.sqrt(stress)[:, None]
    ind_of = np.repeat(np.arange(k), _SYMBOLS_PER_INDUSTRY)
    stock_ret = (
        alpha / 252 - 0.5 * idio**2 / 252 + market_ret[:, None] * beta + ind_ret[:, ind_of] + noise
    )
    daily_vol = np.sqrt(
        (beta * sigma[:, None]) ** 2
        + (ind_vol[ind_of] * stress[:, None]) ** 2
        + idio**2 * stress[:, None]
    ) / np.sqrt(252)
    caps = _cap_categories(rng, k)
    for j in range(m):
        industry, sector, code = industries[ind_of[j]]
        symbol = f"SYN{code}{j % _SYMBOLS_PER_INDUSTRY + 1}"
        closes = start_price[j] * np.exp(np.cumsum(stock_ret[:, j]))
        frames[symbol] = _bars(rng, dates, closes, stock_ret[:, j], daily_vol[:, j], base_volume[j])
        rows.append((symbol, industry, sector, caps[j], float(closes[-1])))

    profile = get_market(market)
    index_close = params.index_start * np.exp(np.cumsum(market_ret))
    index_vol = sigma / np.sqrt(252)
    frames[profile.index_symbol] = _bars(
        rng, dates, index_close, market_ret, index_vol, params.index_volume
    )
    frames[profile.vol_index_symbol] = _vol_bars(rng, dates, vix)
    frames = {s: validate_ohlcv(f, s, f"demo:{market}") for s, f in frames.items()}

    universe = _universe(rng, rows, market)
    trend = pd.Series(ind_ret[-126:].sum(axis=0), index=[i[0] for i in industries])
    allocations = _allocations(industries, trend)
    return _DemoMarket(
        frames=frames,
        regimes=pd.Series(np.asarray(REGIMES)[regimes], index=dates, name="regime"),
        sigma=pd.Series(sigma, index=dates, name="sigma"),
        universe=universe,
        allocations=allocations,
    )


def _t_shocks(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Student-t(5) shocks scaled to unit variance (fat tails, as daily returns have)."""
    return rng.standard_t(5, size=shape) * np.sqrt(3.0 / 5.0)


def _regime_path(rng: np.random.Generator, n: int) -> np.ndarray:
    cumulative = np.cumsum(_TRANSITIONS, axis=1)
    draws = rng.random(n)
    path = np.empty(n, dtype=np.int64)
    state = 1
    for t in range(n):
        state = int(np.searchsorted(cumulative[state], draws[t], side="right"))
        state = min(state, 2)
        path[t] = state
    return path


def _market_path(
    rng: np.random.Generator, regimes: np.ndarray, params: _Params
) -> tuple[np.ndarray, np.ndarray]:
    """Conditional volatility (annualised) and daily log returns of the market factor."""
    n = len(regimes)
    levels = np.log(np.asarray(params.vol_levels))
    z = _t_shocks(rng, (n,))
    eps = rng.normal(size=n)
    crash_draw = rng.random(n)
    crash_size = rng.uniform(0.03, 0.07, n)
    crash_p = np.asarray(_CRASH_PROB)[regimes]
    crashes = crash_draw < crash_p
    h = np.empty(n)
    log_vol = levels[regimes[0]]
    lo, hi = np.log(0.075), np.log(1.2)
    for t in range(n):
        h[t] = log_vol
        log_vol = (
            log_vol
            + 0.06 * (levels[regimes[t]] - log_vol)
            + 0.045 * eps[t]
            - 0.035 * z[t]
            + (0.35 if crashes[t] else 0.0)
        )
        log_vol = min(max(log_vol, lo), hi)
    sigma = np.exp(h)
    ret = (params.drift - 0.5 * sigma**2) / 252 + sigma / np.sqrt(252) * z - crashes * crash_size
    return sigma, ret


def _vol_index(rng: np.random.Generator, sigma: np.ndarray, premium: float) -> np.ndarray:
    """Volatility-index close: 100 * premium * sigma, times AR(1) noise in logs."""
    n = len(sigma)
    shocks = rng.normal(0.0, 0.03, n)
    noise = np.empty(n)
    level = 0.0
    for t in range(n):
        level = 0.9 * level + shocks[t]
        noise[t] = level
    return 100.0 * premium * sigma * np.exp(noise)


def _bars(
    rng: np.random.Generator,
    dates: pd.DatetimeIndex,
    close: np.ndarray,
    ret: np.ndarray,
    daily_vol: np.ndarray,
    base_volume: float,
) -> pd.DataFrame:
    n = len(close)
    prev = np.concatenate([[close[0] * np.exp(-ret[0])], close[:-1]])
    opens = prev * np.exp(rng.normal(0.0, 0.25, n) * daily_vol)
    top = np.maximum(opens, close) * np.exp(np.abs(rng.normal(0.0, 0.4, n)) * daily_vol)
    bottom = np.minimum(opens, close) * np.exp(-np.abs(rng.normal(0.0, 0.4, n)) * daily_vol)
    surprise = np.abs(ret) / np.maximum(daily_vol, 1e-9)
    volume = np.round(base_volume * np.exp(rng.normal(0.0, 0.3, n)) * (0.6 + 0.4 * surprise))
    return pd.DataFrame(
        {"open": opens, "high": top, "low": bottom, "close": close, "volume": volume},
        index=dates,
    )


def _vol_bars(rng: np.random.Generator, dates: pd.DatetimeIndex, vix: np.ndarray) -> pd.DataFrame:
    n = len(vix)
    prev = np.concatenate([[vix[0]], vix[:-1]])
    opens = prev * np.exp(rng.normal(0.0, 0.03, n))
    top = np.maximum(opens, vix) * np.exp(np.abs(rng.normal(0.0, 0.04, n)))
    bottom = np.minimum(opens, vix) * np.exp(-np.abs(rng.normal(0.0, 0.04, n)))
    return pd.DataFrame(
        {"open": opens, "high": top, "low": bottom, "close": vix, "volume": np.zeros(n)},
        index=dates,
    )


def _cap_categories(rng: np.random.Generator, k: int) -> list[str]:
    """Market-cap bucket of each symbol: per industry one Large, then Large/Mid, Mid/Small,
    Small/Micro."""
    options = (("Large",), ("Large", "Mid"), ("Mid", "Small"), ("Small", "Micro"))
    out = []
    for _ in range(k):
        for choices in options:
            out.append(str(choices[int(rng.integers(len(choices)))]))
    return out


def _nse_lot(price: float) -> int:
    """An NSE-like lot size: a round number of shares worth about 7.5 lakh rupees."""
    raw = 750_000.0 / price
    step = 100 if raw >= 2000 else 25 if raw >= 100 else 5 if raw >= 10 else 1
    return max(step, round(raw / step) * step)


def _universe(
    rng: np.random.Generator, rows: list[tuple[str, str, str, str, float]], market: str
) -> pd.DataFrame:
    records = []
    for symbol, industry, sector, cap, last in rows:
        fno = cap in ("Large", "Mid") or (cap == "Small" and bool(rng.random() < 0.5))
        lot = _nse_lot(last) if market == "in" else 100
        records.append(
            {
                "symbol": symbol,
                "industry": industry,
                "sector": sector,
                "fno_stock": fno,
                "lot_size": lot,
                "market_cap_category": cap,
            }
        )
    frame = pd.DataFrame(records)
    frame["lot_size"] = frame["lot_size"].astype("int64")
    frame["fno_stock"] = frame["fno_stock"].astype(bool)
    return frame


def _allocations(industries: tuple[tuple[str, str, str], ...], trend: pd.Series) -> pd.DataFrame:
    """Ratings by the industries' trailing trend: best three Strong Overweight, and so on."""
    order = trend.sort_values(ascending=False).index
    per = max(1, int(np.ceil(len(order) / len(RATINGS))))
    sector_of = {name: sector for name, sector, _ in industries}
    records = []
    for rank, industry in enumerate(order):
        rating = RATINGS[min(rank // per, len(RATINGS) - 1)]
        records.append(
            {
                "industry": industry,
                "sector": sector_of[industry],
                "position_type": _RATING_POSITION[rating],
                "weight_percentage": _RATING_WEIGHT[rating],
                "rating": rating,
            }
        )
    return pd.DataFrame(records)
