"""Listed contracts: expiries chosen from a real chain, legs snapped to listed strikes in order,
lot sizes from the chain before the table, and an error naming a symbol nobody sizes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from quantalloc.data import get_chain_source
from quantalloc.errors import DataError
from quantalloc.options.listed import (
    listed_expiries,
    lot_size_of,
    resolve_lot_sizes,
    snap_strikes,
    strikes_of,
)


def test_expiries_strikes_and_lots_of_a_real_chain(shared_data: Path) -> None:
    chain = get_chain_source(str(shared_data / "in/fo_bhavcopy")).chain("RELIANCE", "2026-02-02")
    frame = chain.frame
    # RELIANCE lists the monthlies 02-24, 03-30, 04-28; none lies 30-45 days out, so the one
    # nearest the window's middle (37.5 days) comes first: 02-24 at 22 days before 03-30 at 56
    assert listed_expiries(frame, date(2026, 2, 2), 30, 45, 1) == [date(2026, 2, 24)]
    assert listed_expiries(frame, date(2026, 2, 2), 30, 45, 2) == [
        date(2026, 2, 24),
        date(2026, 3, 30),
    ]
    calls = strikes_of(frame, date(2026, 2, 24), "call")
    assert calls.size > 20 and np.all(np.diff(calls) > 0)
    assert lot_size_of(frame) == lot_size_of(frame, date(2026, 2, 24)) == 500  # NewBrdLotQty


def test_snap_keeps_order_and_distinct_strikes() -> None:
    listed = np.array([90.0, 95.0, 100.0, 105.0, 110.0])
    # a bull call spread placed at 101 and 102: both nearest 100, so the upper moves up a strike
    assert snap_strikes([101.0, 102.0], [listed, listed]) == [100.0, 105.0]
    # the order follows the targets, not the list order
    assert snap_strikes([108.0, 93.0], [listed, listed]) == [110.0, 95.0]
    # a straddle's legs share their target and stay together
    assert snap_strikes([99.0, 99.0], [listed, listed]) == [100.0, 100.0]
    with pytest.raises(DataError, match="no listed strike above 110"):
        snap_strikes([109.0, 111.0], [listed, listed])
    with pytest.raises(DataError, match="no listed strike for the leg at 5"):
        snap_strikes([5.0], [np.array([])])


def test_lot_sizes_chain_first_then_table_then_none() -> None:
    got = resolve_lot_sizes(
        ["RELIANCE", "INFY", "M&M"],
        from_chain={"RELIANCE": 500, "INFY": 400},
        from_table={"RELIANCE": 250, "M&M": 200},
    )
    assert got.sizes == {"RELIANCE": 500, "INFY": 400, "M&M": 200}
    assert got.source == {"RELIANCE": "chain", "INFY": "chain", "M&M": "stock_data"}
    assert got.notes == (
        "RELIANCE: stock_data.lot_size 250 disagrees with the chain's 500; the chain's is used",
    )
    with pytest.raises(DataError, match=r"no lot size for M&M, TMPV: no chain lists it") as exc:
        resolve_lot_sizes(["M&M", "TMPV"], from_chain={}, from_table={})
    assert exc.value.params == ("tables", "chains")
    us = resolve_lot_sizes(["AAPL"], from_chain={}, from_table={}, convention=100)
    assert us.sizes == {"AAPL": 100} and us.source == {"AAPL": "market"}
