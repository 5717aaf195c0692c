"""Market profiles: the index, volatility index, currency and contract conventions of a market."""

from __future__ import annotations

from dataclasses import dataclass

from quantalloc.errors import ConfigError


@dataclass(frozen=True, slots=True)
class MarketProfile:
    """Conventions of one market.

    ``contract_multiplier`` is the shares per option contract where it is fixed (US: 100); in India
    each stock has its own NSE lot size, read from its chain or the universe table
    (``stock_data.lot_size``), never a default (see ``options.listed.resolve_lot_sizes``).
    ``chain_symbols`` name the index option chains that give the volatility index (NIFTY, SPX).
    """

    name: str
    index_symbol: str
    vol_index_symbol: str
    currency: str
    default_capital: float
    contract_multiplier: int | None
    index_lot_size: int
    risk_free_rate: float
    timezone: str
    trading_days: int = 252
    chain_symbols: tuple[str, ...] = ()

    def lot_size(self, symbol: str, lot_sizes: dict[str, int] | None = None) -> int:
        """Units per lot of ``symbol``: the universe table's value, else the market convention."""
        if lot_sizes and symbol in lot_sizes:
            size = int(lot_sizes[symbol])
            if size <= 0:
                raise ConfigError(
                    f"lot size of {symbol} is {size} in the universe table; "
                    "it must be a positive whole number (fix stock_data.lot_size)"
                )
            return size
        if symbol == self.index_symbol:
            return self.index_lot_size
        if self.contract_multiplier is not None:
            return self.contract_multiplier
        raise ConfigError(
            f"no lot size for {symbol}: the universe table does not list one; add "
            "stock_data.lot_size or read it from a chain"
        )


INDIA = MarketProfile(
    name="in",
    index_symbol="^NSEI",
    vol_index_symbol="^INDIAVIX",
    currency="INR",
    default_capital=10_000_000.0,  # 1 crore
    contract_multiplier=None,
    index_lot_size=75,
    risk_free_rate=0.065,
    timezone="Asia/Kolkata",
    chain_symbols=("NIFTY",),
)

US = MarketProfile(
    name="us",
    index_symbol="SPY",
    vol_index_symbol="^VIX",
    currency="USD",
    default_capital=1_000_000.0,
    contract_multiplier=100,
    index_lot_size=100,
    risk_free_rate=0.04,
    timezone="America/New_York",
    chain_symbols=("SPX", "SPY"),
)

MARKETS: dict[str, MarketProfile] = {"in": INDIA, "us": US}
DEFAULT_MARKET = "in"


def get_market(name: str | None = None) -> MarketProfile:
    """Return the profile called ``name`` (``in`` or ``us``); ``None`` gives the default, ``in``."""
    key = (name or DEFAULT_MARKET).strip().lower()
    if key not in MARKETS:
        raise ConfigError(
            f"unknown market {name!r}; choose one of {', '.join(sorted(MARKETS))} "
            "(e.g. `market=us`)",
            params="market",
        )
    return MARKETS[key]


__all__ = ["DEFAULT_MARKET", "INDIA", "MARKETS", "US", "MarketProfile", "get_market"]
