"""The wheel on SPY options, simulated end of day with Black-Scholes.

Rules (all decisions and fills at a day's close, at Black-Scholes prices from that close):

1. With no shares and no open option, sell cash-secured puts ``put_otm`` below the close (strike
   rounded down to ``strike_step``), expiring on the first Friday at least ``min_dte`` calendar
   days away (weekly expiries; ``expiry="monthly"`` uses third Fridays). Contracts: as many as the
   cash secures at the strike (x 100 shares each), so the account never borrows.
2. Buy an option back once it has lost ``take_profit`` of its premium (0.3: at 70% of the premium
   received); then the next one is sold at the same close.
3. At expiry (the last trading day on or before the expiry date) a put in the money is assigned:
   the shares are bought at the strike. With shares, sell covered calls ``call_otm`` above the
   close (strike rounded up) until a call expires in the money and the shares are called away at
   its strike; then back to puts.

Vol: the ATM vol is the vol index's close (``^VIX``) / 100, and each strike's vol follows the
options engine's put skew (``SkewModel``). Cash earns ``rate`` (also the pricing rate); held
shares collect the dividends implied by the source's adjusted close. Early exercise is ignored
(European pricing), as are bid-ask quotes beyond ``option_spread`` (a share of the option price
lost per fill) and ``fee_per_contract``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.backtest import bars
from quantalloc.backtest.params import param, validate
from quantalloc.backtest.result import BacktestResult, empty_trades, make_result
from quantalloc.data.base import DateLike, PriceProvider
from quantalloc.errors import ConfigError, DataError
from quantalloc.options import SkewModel, black_scholes

NAME = "wheel"
MULTIPLIER = 100
YEAR_DAYS = 365.0


@dataclass(frozen=True)
class WheelParams:
    """Parameters of the wheel (defaults: the original rules)."""

    symbol: str = param("SPY", help="underlying")
    vol_symbol: str = param("^VIX", help="vol index whose close / 100 is the ATM vol")
    vol_data: str = param("", help="data source of the vol index (empty: the same as --data)")
    put_otm: float = param(0.016, low=0.0, high=0.3, help="put strike below the close")
    call_otm: float = param(0.016, low=0.0, high=0.3, help="call strike above the close")
    min_dte: int = param(10, low=1, high=120, help="minimum calendar days to expiry")
    expiry: str = param("weekly", choices=("weekly", "monthly"), help="expiry cycle")
    take_profit: float = param(0.30, low=0.0, high=1.0, help="share of premium to bank (0: hold)")
    strike_step: float = param(1.0, low=0.01, high=50.0, help="strike grid")
    rate: float = param(0.02, low=0.0, high=0.2, help="risk-free rate (pricing and cash)")
    dividend_yield: float = param(0.018, low=0.0, high=0.2, help="dividend yield for pricing")
    put_slope: float = param(1.0, low=0.0, high=5.0, help="skew: put-side slope")
    call_slope: float = param(0.3, low=-1.0, high=5.0, help="skew: call-side slope")
    option_spread: float = param(0.02, low=0.0, high=0.5, help="share of option price per fill")
    fee_per_contract: float = param(0.65, low=0.0, high=20.0, help="fee per contract per fill")
    chains: str = param("", help="replay on listed chains: a folder of chain files (empty: model)")
    root: str = param("", help="chains: the listed root to trade (e.g. SPXW; empty: any)")
    compare_proxy: bool = param(False, help="chains: also re-price the same puts by the model")


PARAMS = WheelParams


def _expiry_after(day: pd.Timestamp, min_dte: int, cycle: str) -> pd.Timestamp:
    """First weekly (Friday) or monthly (third Friday) expiry at least ``min_dte`` days away."""
    first = day + pd.Timedelta(days=min_dte)
    friday = first + pd.Timedelta(days=(4 - first.weekday()) % 7)
    if cycle == "weekly":
        return friday
    month = first.replace(day=1)
    while True:
        third = month + pd.Timedelta(days=(4 - month.weekday()) % 7 + 14)
        if third >= first:
            return third
        month = (month + pd.offsets.MonthBegin(1)).normalize()


@dataclass
class _Option:
    kind: str
    strike: float
    expiry: pd.Timestamp
    contracts: int
    premium: float  # per share, received
    opened: pd.Timestamp
    fees: float


class _Pricer:
    def __init__(self, p: WheelParams) -> None:
        self.p = p
        self.skew = SkewModel(put_slope=p.put_slope, call_slope=p.call_slope)

    def price(self, kind: str, spot: float, strike: float, t: float, atm: float) -> float:
        if t <= 0:
            return max(0.0, strike - spot) if kind == "put" else max(0.0, spot - strike)
        vol = float(self.skew.vol(atm, spot, strike, t))
        res = black_scholes(kind, spot, strike, t, self.p.rate, vol, self.p.dividend_yield)
        return float(res.price)


def _load(
    provider: PriceProvider, p: WheelParams, start: DateLike | None, end: DateLike | None
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    under = bars.as_daily(provider.history(p.symbol, start, end))
    vol_provider = provider
    if p.vol_data:
        from quantalloc.data.sources import get_provider

        vol_provider = get_provider(p.vol_data, "us")
    try:
        vix = bars.as_daily(bars.load_with_warmup(vol_provider, p.vol_symbol, start, end, 10))
    except DataError as exc:
        raise DataError(
            f"wheel needs the vol index {p.vol_symbol}: {exc} (or take it from another source "
            "with `params['vol_data']=csv:DIR` `params['vol_symbol']=NAME`)",
            params=(*exc.params, "params"),
        ) from exc
    vix_close = vix["close"].reindex(under.index, method="ffill")
    if vix_close.isna().any():
        first = vix_close.index[vix_close.isna()][0].date()
        raise DataError(f"{p.vol_symbol}: no level on or before {first}; start later")
    if "adj_close" in under.columns:
        tr = under["adj_close"] / under["adj_close"].shift(1) - 1
        pr = under["close"] / under["close"].shift(1) - 1
        dividend = ((tr - pr) * under["close"].shift(1)).clip(lower=0).fillna(0.0)
    else:
        dividend = pd.Series(0.0, index=under.index)
    return under, vix_close, dividend


def run(
    provider: PriceProvider,
    start: DateLike | None,
    end: DateLike | None,
    capital: float,
    params: WheelParams | None = None,
    progress: Any = None,
) -> BacktestResult:
    """Backtest the wheel between ``start`` and ``end`` from ``capital`` (``progress``: the
    chain replay's, see :mod:`quantalloc.backtest.strategies.wheel_chains`)."""
    p = params or WheelParams()
    validate(p, NAME)
    if p.chains:  # listed contracts at their quotes (quantalloc.backtest.strategies.wheel_chains)
        from quantalloc.backtest.strategies import wheel_chains

        return wheel_chains.run(provider, start, end, capital, p, progress)
    if p.compare_proxy:
        raise ConfigError(
            "wheel: compare_proxy re-prices a replay on chains; give `chains` too",
            params=("compare_proxy", "chains"),
        )
    under, vix_close, dividend = _load(provider, p, start, end)
    pricer = _Pricer(p)
    days = pd.DatetimeIndex(under.index)
    close = under["close"].to_numpy()
    atm = vix_close.to_numpy() / 100.0
    divs = dividend.to_numpy()
    cash = float(capital)
    shares = 0
    basis = 0.0
    shares_opened: pd.Timestamp | None = None
    opt: _Option | None = None
    equity = np.empty(len(days))
    held = np.zeros(len(days), dtype=bool)
    fresh_put = np.zeros(len(days), dtype=bool)  # a new put sized from cash at this close
    trades: list[dict[str, Any]] = []
    daily_rate = p.rate / YEAR_DAYS
    mark = 0.0

    def close_option(day: pd.Timestamp, value: float, reason: str) -> float:
        assert opt is not None
        spread = value * p.option_spread if reason == "take_profit" else 0.0
        fee = opt.contracts * p.fee_per_contract if reason == "take_profit" else 0.0
        paid = (value + spread) * opt.contracts * MULTIPLIER + fee
        pnl = opt.premium * opt.contracts * MULTIPLIER - opt.fees - paid
        trades.append(
            {
                "symbol": f"{p.symbol} {opt.expiry.date()} {opt.kind[0].upper()}{opt.strike:g}",
                "side": f"short {opt.kind}",
                "entry_time": opt.opened,
                "exit_time": day,
                "entry_price": opt.premium,
                "exit_price": value + spread,
                "units": opt.contracts * MULTIPLIER,
                "pnl": pnl,
                "fees": opt.fees + fee,
                "exit_reason": reason,
            }
        )
        return paid

    for i, day in enumerate(days):
        if i > 0:
            gap = (day - days[i - 1]).days
            cash *= (1.0 + daily_rate) ** gap
        spot = close[i]
        if shares:
            cash += divs[i] * shares
        expiry_day = False
        if opt is not None:
            next_day = days[i + 1] if i + 1 < len(days) else None
            expiry_day = day >= opt.expiry or (next_day is not None and next_day > opt.expiry)
            t = max((opt.expiry - day).days, 0) / YEAR_DAYS
            if expiry_day:
                t = 0.0
            value = pricer.price(opt.kind, spot, opt.strike, t, atm[i])
            mark = value
            if expiry_day:
                # settled at intrinsic value; an assignment then trades the shares at the close,
                # which together is buying (put) or selling (call) them at the strike
                itm = value > 0
                reason = "expired"
                if itm:
                    reason = "assigned" if opt.kind == "put" else "called_away"
                cash -= close_option(day, value, reason)
                n_sh = opt.contracts * MULTIPLIER
                if itm and opt.kind == "put":
                    cash -= spot * n_sh
                    shares, basis, shares_opened = n_sh, spot, day
                elif itm and opt.kind == "call":
                    cash += spot * shares
                    trades.append(
                        {
                            "symbol": p.symbol,
                            "side": "long",
                            "entry_time": shares_opened,
                            "exit_time": day,
                            "entry_price": basis,
                            "exit_price": spot,
                            "units": shares,
                            "pnl": (spot - basis) * shares,
                            "fees": 0.0,
                            "exit_reason": "called_away",
                        }
                    )
                    shares, basis, shares_opened = 0, 0.0, None
                opt = None
            elif p.take_profit > 0 and value <= (1.0 - p.take_profit) * opt.premium:
                cash -= close_option(day, value, "take_profit")
                opt = None
        if opt is None:
            expiry = _expiry_after(day, p.min_dte, p.expiry)
            t = (expiry - day).days / YEAR_DAYS
            if shares:
                kind, contracts = "call", shares // MULTIPLIER
                strike = math.ceil(spot * (1 + p.call_otm) / p.strike_step) * p.strike_step
            else:
                kind = "put"
                strike = math.floor(spot * (1 - p.put_otm) / p.strike_step) * p.strike_step
                contracts = int(cash // (strike * MULTIPLIER)) if strike > 0 else 0
            if contracts > 0 and strike > 0:
                value = pricer.price(kind, spot, strike, t, atm[i])
                mark = value
                premium = value * (1.0 - p.option_spread)
                fees = contracts * p.fee_per_contract
                cash += premium * contracts * MULTIPLIER - fees
                opt = _Option(kind, strike, expiry, contracts, premium, day, fees)
                fresh_put[i] = kind == "put"
        # the open option (if any) was priced at this close above: its mark is its liability
        liability = mark * opt.contracts * MULTIPLIER if opt is not None else 0.0
        equity[i] = cash + shares * spot - liability
        held[i] = opt is not None or shares > 0
    if opt is not None:
        t = max((opt.expiry - days[-1]).days, 0) / YEAR_DAYS
        value = pricer.price(opt.kind, close[-1], opt.strike, t, atm[-1])
        close_option(days[-1], value, "end_of_data")  # marked at the last close, still open
    if shares:
        trades.append(
            {
                "symbol": p.symbol, "side": "long", "entry_time": shares_opened,
                "exit_time": days[-1], "entry_price": basis, "exit_price": close[-1],
                "units": shares, "pnl": (close[-1] - basis) * shares, "fees": 0.0,
                "exit_reason": "end_of_data",
            }
        )  # fmt: skip
    frame = pd.DataFrame(trades) if trades else empty_trades()
    return make_result(
        NAME,
        asdict(p),
        capital,
        pd.Series(equity, index=days),
        frame,
        pd.Series(held, index=days),
        open_at_close=pd.Series(held & ~fresh_put, index=days),
    )
