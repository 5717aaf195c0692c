"""Property: any frame that passes validation comes back from the store exactly as written
(text verbatim, floats bit-for-bit, empty cells as missing), on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantalloc.storage import Store, open_store

# Cells the input-table rules accept (quantalloc.data.tables): text without surrounding blanks
# (PostgreSQL text cannot hold NUL; surrogates are not UTF-8), one row per symbol, market-cap
# categories from the fixed set. Within those rules the store must keep every value exactly.
_name = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")),
    min_size=1,
    max_size=12,
).filter(lambda s: s == s.strip() and s.lower() != "nan")
_cap = st.one_of(st.none(), st.sampled_from(["Large", "Mid", "Small", "Micro"]))
_float = st.floats(allow_infinity=False, allow_nan=False, width=64)
_optional_float = st.one_of(st.none(), _float)

_rows = st.lists(
    st.tuples(_name, _cap, _float, _optional_float, st.integers(1, 10**6), _name),
    min_size=1,
    max_size=8,
    unique_by=lambda row: row[0].lower(),
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def property_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    url = "sqlite://" if request.param == "sqlite" else request.getfixturevalue("module_pg_url")
    store = open_store(url)
    store.init()
    yield store
    store.close()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=_rows)
def test_input_frames_round_trip(property_store: Store, rows: list[tuple]) -> None:  # type: ignore[type-arg]
    rankings = pd.DataFrame(
        {
            "symbol": pd.Series([r[0] for r in rows], dtype="str"),
            "market_cap_category": pd.Series(
                [np.nan if r[1] is None else r[1] for r in rows], dtype="str"
            ),
            "score": pd.Series([r[2] for r in rows], dtype="float64"),
        }
    )
    property_store.write_table("stock_rankings", rankings)
    pd.testing.assert_frame_equal(property_store.read_table("stock_rankings"), rankings)
    stocks = pd.DataFrame(
        {
            "symbol": pd.Series([r[0] for r in rows], dtype="str"),
            "industry": pd.Series([r[5] for r in rows], dtype="str"),
            "sector": pd.Series([r[5] + " sector" for r in rows], dtype="str"),
            "fno_stock": pd.Series(
                [None if r[3] is None else r[3] > 0 for r in rows], dtype="boolean"
            ),
            "lot_size": pd.Series([r[4] for r in rows], dtype="Int64"),
            "market_cap_category": pd.Series(
                [np.nan if r[1] is None else r[1] for r in rows], dtype="str"
            ),
        }
    )
    property_store.write_table("stock_data", stocks)
    pd.testing.assert_frame_equal(property_store.read_table("stock_data"), stocks)
