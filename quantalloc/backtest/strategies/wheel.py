"""The wheel on SPY options, simulated end of day with Black-Scholes.

Rules (all decisions and fills at a day's close, at Black-Scholes prices from that close):

1. With no shares and no open option, sell cash-secured puts ``put_otm`` below the close (strike
   rounded down to ``strike_step``), expiring on the first Friday at least ``min_dte`` calendar
   days away (weekly expiries; ``expiry="monthly"`` uses third Fridays). Contracts: as many as the
   cash secures at the strike (x 100 shares each), so the account never borrows.
2. Buy an option back once it has lost ``take_profit`` of its premium (0.3: at 70% of the premium
   received); then the next one is sold at the same close.
3. At expiry (the close of the last trading day on or before the expiry date, by the NYSE
   calendar) a put in the money (by a cent or more, the clearing house's rule) is assigned:
   the shares are bought at the strike. With shares, sell covered calls ``call_otm`` above the
   close (strike rounded up) until a call expires in the money and the shares are called away at
   its strike; then back to puts. The trade table shows a settled option closed at its
   intrinsic value and the shares traded at the close (the same cash).

Vol: the ATM vol is the vol index's close (``^VIX``) / 100, and each strike's vol follows the
options engine's put skew (``SkewModel``). Cash earns ``rate`` (also the pricing rate); held
shares collect the dividends implied by the source's adjusted close. Early exercise is ignored
(European pricing), as are bid-ask quotes beyond ``option_spread`` (a share of the option price
lost per fill) and ``fee_per_contract``.

The rules run one session at a time (:func:`next_option`, :func:`take_profit_due`,
:func:`interest`, settlement by :meth:`~quantalloc.backtest.strategies.wheel_book.WheelBook.
settled`) on a :class:`~quantalloc.backtest.strategies.wheel_book.WheelBook`, priced by
:func:`make_quotes`: :func:`run` drives them over stored days, and the trader of
:mod:`quantalloc.service.trading.wheel` drives the same functions through a broker.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.backtest import bars
from quantalloc.backtest.params import param
from quantalloc.backtest.result import BacktestResult, empty_trades, make_result
from quantalloc.backtest.strategies.wheel_book import OpenOption, WheelBook
from quantalloc.backtest.window import BacktestWindow
from quantalloc.errors import ConfigError, DataError
from quantalloc.options.contract import OptionContract, Right
from quantalloc.options.quotes import Closes, ModelQuotes, OptionQuote, OptionQuotes, fill_price
from quantalloc.options.volatility import SkewModel

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


def expiry_after(day: pd.Timestamp, min_dte: int, cycle: str) -> pd.Timestamp:
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


# -- the rules, one session at a time (the backtest below and the trader both call these) ------


def make_quotes(p: WheelParams, closes: Closes) -> OptionQuotes:
    """The wheel's option prices: the one source its backtest, the paper broker and the trader
    share (a model at the vol index's level today; listed chain quotes can take its place)."""
    return ModelQuotes(
        closes, vol_symbol=p.vol_symbol, rate=p.rate, dividend_yield=p.dividend_yield,
        skew=SkewModel(put_slope=p.put_slope, call_slope=p.call_slope), spread=p.option_spread,
    )  # fmt: skip


def option_fee(p: WheelParams, contracts: int) -> float:
    """Commission of one option fill of ``contracts``."""
    return contracts * p.fee_per_contract


def interest(p: WheelParams, cash: float, days: int) -> float:
    """What ``cash`` earns over ``days`` calendar days at ``rate`` (compounded daily)."""
    return cash * ((1.0 + p.rate / YEAR_DAYS) ** days - 1.0)


def dividends(frame: pd.DataFrame) -> pd.Series:
    """Dividend per share on each row, implied by the source's adjusted close (0 without one)."""
    if "adj_close" not in frame.columns:
        return pd.Series(0.0, index=frame.index)
    tr = frame["adj_close"] / frame["adj_close"].shift(1) - 1
    pr = frame["close"] / frame["close"].shift(1) - 1
    return ((tr - pr) * frame["close"].shift(1)).clip(lower=0).fillna(0.0)


def take_profit_due(p: WheelParams, opt: OpenOption, quote: OptionQuote) -> bool:
    """True when the open option has lost ``take_profit`` of its premium at ``quote``."""
    return p.take_profit > 0 and quote.mark <= (1.0 - p.take_profit) * opt.premium


def next_option(
    p: WheelParams, day: pd.Timestamp, spot: float, shares: int, cash: float
) -> tuple[OptionContract, int] | None:
    """The option to sell at this close: covered calls on ``shares``, else puts ``cash``
    secures at the strike; None when not one contract fits."""
    expiry = expiry_after(day, p.min_dte, p.expiry)
    if shares:
        right: Right = "call"
        contracts = shares // MULTIPLIER
        strike = math.ceil(spot * (1 + p.call_otm) / p.strike_step) * p.strike_step
    else:
        right = "put"
        strike = math.floor(spot * (1 - p.put_otm) / p.strike_step) * p.strike_step
        contracts = int(cash // (strike * MULTIPLIER)) if strike > 0 else 0
    if contracts <= 0 or strike <= 0:
        return None
    return OptionContract(p.symbol, expiry.date(), float(strike), right, MULTIPLIER), contracts


def _load(window: BacktestWindow, p: WheelParams) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    provider, start, end = window.provider, window.start, window.end
    under = bars.as_daily(provider.history(p.symbol, start, end))
    vol_provider = provider
    if p.vol_data:
        from quantalloc.data.sources import get_provider

        vol_provider = get_provider(p.vol_data, "us")
    try:
        vix = bars.as_daily(bars.load_with_warmup(vol_provider, p.vol_symbol, start, end, 10))
    except DataError as exc:
        hint = "`params['vol_data']=csv:DIR` `params['vol_symbol']=NAME`"
        raise exc.hinted(
            f"wheel needs the vol index {p.vol_symbol}: {exc} (or take it from another source "
            f"with {hint})",
            "params",
        ) from exc
    vix_close = vix["close"].reindex(under.index, method="ffill")
    if vix_close.isna().any():
        first = vix_close.index[vix_close.isna()][0].date()
        raise DataError(f"{p.vol_symbol}: no level on or before {first}; start later")
    return under, vix_close, dividends(under)


def run(
    window: BacktestWindow,
    p: WheelParams,
    progress: Any = None,
    *,
    quotes: OptionQuotes | None = None,
) -> BacktestResult:
    """Backtest the wheel over ``window``.

    ``quotes`` prices its options (default :func:`make_quotes`, the model at the vol index);
    a chain-backed source quotes every contract the rules pick, or raises DataError.
    ``progress`` is the chain replay's (:mod:`quantalloc.backtest.strategies.wheel_chains`).
    """
    if p.chains:  # listed contracts at their quotes (quantalloc.backtest.strategies.wheel_chains)
        from quantalloc.backtest.strategies import wheel_chains

        return wheel_chains.run(window, p, make_quotes, progress)
    if p.compare_proxy:
        raise ConfigError(
            "wheel: compare_proxy re-prices a replay on chains; give `chains` too",
            params=("compare_proxy", "chains"),
        )
    under, vix_close, dividend = _load(window, p)
    days = pd.DatetimeIndex(under.index)
    close = under["close"].to_numpy()
    levels = {p.symbol: dict(zip(days, close, strict=True)),
              p.vol_symbol: dict(zip(days, vix_close.to_numpy(), strict=True))}  # fmt: skip
    if quotes is None:
        quotes = make_quotes(p, lambda symbol, day: float(levels[symbol][day]))
    divs = dividend.to_numpy()
    cash = window.capital
    book = WheelBook(p.symbol)
    equity = np.empty(len(days))
    held = np.zeros(len(days), dtype=bool)
    fresh_put = np.zeros(len(days), dtype=bool)  # a new put sized from cash at this close
    for i, day in enumerate(days):
        if i > 0:
            cash += interest(p, cash, (day - days[i - 1]).days)
        spot = float(close[i])
        if book.shares:
            cash += divs[i] * book.shares
        mark = 0.0  # the open option's value at this close (its liability)
        opt = book.option
        if opt is not None and opt.contract.settles_on(day):
            cash -= book.settled(day, spot) * opt.contract.strike  # shares at the strike
        elif opt is not None:
            quote = quotes.quote(opt.contract, day)
            mark = quote.mark
            if take_profit_due(p, opt, quote):
                price, fee = fill_price(quote, "buy"), option_fee(p, opt.contracts)
                cash -= price * opt.units + fee
                book.bought_back(day, price, fee, "take_profit")
        if book.option is None and (sale := next_option(p, day, spot, book.shares, cash)):
            contract, contracts = sale
            quote = quotes.quote(contract, day)
            price, fee = fill_price(quote, "sell"), option_fee(p, contracts)
            cash += price * contracts * contract.multiplier - fee
            book.opened(contract, contracts, price, fee, day)
            mark = quote.mark
            fresh_put[i] = contract.right == "put"
        equity[i] = cash + book.shares * spot - book.liability(mark)
        held[i] = book.option is not None or book.shares > 0
    last = book.option
    end_mark = quotes.quote(last.contract, days[-1]).mark if last is not None else None
    rows = book.finish(days[-1], float(close[-1]), end_mark)
    frame = pd.DataFrame(rows) if rows else empty_trades()
    return make_result(
        NAME,
        asdict(p),
        window.capital,
        pd.Series(equity, index=days),
        frame,
        pd.Series(held, index=days),
        open_at_close=pd.Series(held & ~fresh_put, index=days),
    )
