"""The tradable book of one underlying: fills by the rule, the liquidity rules' drops counted,
implied vols inverted from reference prices where the chain quotes none."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from quantalloc.data import get_chain_source
from quantalloc.errors import DataError
from quantalloc.options.chain_book import chain_quotes
from quantalloc.options.costs import LiquidityRules, load_spread_table
from quantalloc.options.pricing import black_scholes


def test_reliance_book_real(shared_data: Path) -> None:
    snap = get_chain_source(str(shared_data / "in/fo_bhavcopy")).chain("RELIANCE", "2026-02-02")
    rules = LiquidityRules(min_open_interest=50, max_spread=0.25)
    book = chain_quotes(snap, load_spread_table("in"), rules, 0.065)
    assert book.expiries() == [date(2026, 2, 24), date(2026, 3, 30), date(2026, 4, 28)]
    assert book.lot_size() == 500
    assert sum(book.dropped.values()) == len(snap.frame) - len(book.fills)
    assert (book.fills["open_interest"] >= 50).all() and (book.fills["rel_spread"] <= 0.25).all()
    assert any("liquidity rules left out" in n for n in book.notes)
    # an implied vol inverted from the reference price reprices it (Black-Scholes, ACT/365)
    row = book.contract(date(2026, 2, 24), 1400.0, "put")
    t = (row["expiry"] - snap.session).days / 365.0
    price = black_scholes("put", book.spot, 1400.0, t, 0.065, row["implied_vol"]).price
    assert float(price) == pytest.approx(row["ref"], rel=1e-8)
    assert 0.1 < book.surface.atm_vol(30 / 365) < 0.5  # type: ignore[union-attr]
    with pytest.raises(DataError, match="no tradable call 1401 expiring 2026-02-24"):
        book.contract(date(2026, 2, 24), 1401.0, "call")
    assert np.isfinite(book.fills["buy"]).all()
