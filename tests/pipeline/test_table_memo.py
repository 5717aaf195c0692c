"""Input tables are validated once per content: a replay's solves share the work, and a changed
cell is validated again (so a bad value still fails, with the validator's message)."""

from __future__ import annotations

import pandas as pd
import pytest

from quantalloc.data import tables as table_module
from quantalloc.errors import DataError
from quantalloc.pipeline import core


def _stock_data() -> pd.DataFrame:
    return pd.DataFrame(
        {"symbol": ["AAA", "BBB"], "industry": ["Banks", "IT"], "sector": ["Fin", "Tech"],
         "fno_stock": ["true", "true"], "lot_size": ["100", "50"],
         "market_cap_category": ["Large", "Mid"]}
    )  # fmt: skip


def test_same_content_is_validated_once_and_a_changed_cell_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []
    real = table_module.validate_table

    def counting(name: str, frame: pd.DataFrame, **kw: object) -> pd.DataFrame:
        calls.append(name)
        return real(name, frame, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(table_module, "validate_table", counting)
    monkeypatch.setattr(core, "_VALIDATED", type(core._VALIDATED)())
    raw = _stock_data()
    first = core._validated("stock_data", raw)
    again = core._validated("stock_data", raw.copy())
    pd.testing.assert_frame_equal(first, real("stock_data", raw))
    pd.testing.assert_frame_equal(again, first)
    assert again is not first and calls == ["stock_data"]
    again.loc[0, "lot_size"] = -1  # a caller's copy: the remembered table is untouched
    pd.testing.assert_frame_equal(core._validated("stock_data", raw), first)
    stored = raw.copy()
    stored.attrs["origin"] = "the store sqlite:///x.db"  # same cells, another origin: its own
    assert core._validated("stock_data", stored).attrs["origin"] == "the store sqlite:///x.db"
    assert calls == ["stock_data", "stock_data"]
    bad = raw.copy()
    bad.loc[1, "lot_size"] = "lots"
    with pytest.raises(DataError, match="lot_size"):
        core._validated("stock_data", bad)
    assert calls == ["stock_data", "stock_data", "stock_data"]
