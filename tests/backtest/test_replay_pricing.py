"""A mark or fill the session's chain does not list falls back to the model, and is counted;
the chain's prices are an OptionQuotes source."""

from __future__ import annotations

import pandas as pd
import pytest

from quantalloc.backtest.replay.book import Leg, Position
from quantalloc.backtest.replay.costs import ReplayCosts
from quantalloc.backtest.replay.pricing import ChainPrices, Pricer
from quantalloc.data.chain_source import ChainSnapshot
from quantalloc.errors import DataError
from quantalloc.options.contract import OptionContract
from quantalloc.options.costs import SpreadTable
from quantalloc.options.quotes import OptionQuote, fill_price

DAY = pd.Timestamp("2026-02-10")
EXPIRY = pd.Timestamp("2026-02-24")


class OneContract:
    """A chain source listing one quoted put (strike 100) on DAY, and nothing else."""

    name = "one"

    def sessions(self) -> list[pd.Timestamp]:
        return [DAY]

    def chain(self, symbol: str, as_of: object) -> ChainSnapshot:
        if pd.Timestamp(as_of) != DAY:
            raise DataError(f"{symbol}: no chain on {as_of}")
        frame = pd.DataFrame(
            {"symbol": [symbol], "root": [symbol], "expiry": [EXPIRY], "strike": [100.0],
             "kind": ["put"], "bid": [4.0], "ask": [4.4], "last": [4.1],
             "settlement": [float("nan")], "volume": [10.0], "open_interest": [100.0],
             "implied_vol": [0.3], "spot": [101.0], "lot_size": [1.0], "as_of": [DAY]}
        )  # fmt: skip
        return ChainSnapshot(symbol, DAY, frame, "one")


class Flat:
    """A model worth 7 a share for every option (so a fallback is visible)."""

    def spot(self, symbol: str, day: pd.Timestamp) -> float:
        return 101.0

    def value(self, pos: Position, leg: Leg, day: pd.Timestamp) -> float:
        return 7.0


def _position(strikes: tuple[float, ...]) -> Position:
    legs = tuple(Leg("put", k, EXPIRY, -10.0, 4.0, 10.0, "chain") for k in strikes)
    return Position("X", "short_put", EXPIRY, 10, 1, legs, 1000.0, DAY, "2026-02-10")


def test_unlisted_contracts_and_sessions_fall_back_to_the_model_and_are_counted() -> None:
    table = SpreadTable(tuple(tuple(0.1 for _ in range(4)) for _ in range(6)))
    pricer = Pricer(Flat(), ChainPrices(OneContract(), table), ReplayCosts.flat(0.02, 0.0, 0.0))
    pos = _position((100.0, 95.0))
    marks = pricer.marks(pos, DAY)
    # the listed put at its mid, the unlisted one at the model
    assert [(m.value, m.source) for m in marks] == [(pytest.approx(4.2), "chain"), (7.0, "model")]
    # a later session without a chain: every mark is the model's
    later = pricer.marks(pos, DAY + pd.Timedelta(days=1))
    assert [m.source for m in later] == ["model", "model"]
    assert pricer.counts.marks == {"chain": 1, "model": 3}
    # buying back: the listed put at its ask, the unlisted at the model plus 2%
    fills = [pricer.exit_fill(pos, leg, DAY) for leg in pos.legs]
    assert [(f.value, f.source) for f in fills] == [(4.4, "chain"), (pytest.approx(7.14), "model")]
    assert pricer.counts.fills == {"chain": 1, "model": 1}


def test_chain_prices_are_an_option_quotes_source() -> None:
    """The listed side of the OptionQuotes seam: bid and ask the fills, mark the mid."""
    table = SpreadTable(tuple(tuple(0.1 for _ in range(4)) for _ in range(6)))
    listed = ChainPrices(OneContract(), table, root="X")
    quote = listed.quote(OptionContract("X", EXPIRY.date(), 100.0, "put"), DAY)
    assert quote == OptionQuote(bid=4.0, ask=4.4, mark=pytest.approx(4.2), source="chain")
    assert fill_price(quote, "sell") == 4.0
    for contract, day in (
        (OptionContract("X", EXPIRY.date(), 95.0, "put"), DAY),  # not listed
        (OptionContract("X", EXPIRY.date(), 100.0, "put"), DAY + pd.Timedelta(days=1)),  # no chain
    ):
        with pytest.raises(DataError, match="lists no fill"):
            listed.quote(contract, day)
    with pytest.raises(DataError, match="under root SPXW"):  # another root's listing
        ChainPrices(OneContract(), table, root="SPXW").quote(
            OptionContract("X", EXPIRY.date(), 100.0, "put"), DAY
        )
