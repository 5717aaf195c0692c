"""The NIFTY 50 solve on the NSE F&O bhavcopy of 2026-02-02 (issue 13's must-show): every leg of
every allocation is a contract listed in that session's file (expiry, strike, call/put, lot
size) and priced by the fill rule; the vol index comes from the NIFTY chain."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from quantalloc.cli.app import app
from quantalloc.options.costs import load_spread_table
from tests.pipeline.test_solve import in_tables

SESSION = "BhavCopy_NSE_FO_0_0_0_20260202_F_0000.csv.gz"
runner = CliRunner()


def _tables(shared: Path, folder: Path) -> list[str]:
    """stock_data from the constituents without lot_size (the chain gives it); a symbol
    is an F&O stock when the session's file lists it (M&M and TATAMOTORS are not there)."""
    tables = in_tables(shared)
    listed = set(pd.read_csv(shared / "in/fo_bhavcopy" / SESSION, usecols=["TckrSymb"])["TckrSymb"])
    stock = tables["stock_data"].drop(columns="lot_size")
    stock["fno_stock"] = stock["symbol"].isin(listed)
    stock.to_csv(folder / "stock_data.csv", index=False)
    tables["industry_allocations_current"].to_csv(folder / "industries.csv", index=False)
    return [
        "--table",
        f"stock_data={folder / 'stock_data.csv'}",
        "--table",
        f"industry_allocations_current={folder / 'industries.csv'}",
    ]


@pytest.mark.slow
def test_every_leg_is_a_listed_contract_priced_by_the_rule(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUANTALLOC_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "run.json"
    args = [
        "solve",
        "--risk",
        "aggressive",
        "--market",
        "in",
        "--data",
        f"csv:{shared_data / 'in'}",
        "--chains",
        str(shared_data / "in/fo_bhavcopy"),
        "--as-of",
        "2026-02-02",
        *_tables(shared_data, tmp_path),
        "--output",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["as_of"] == "2026-02-02"
    assert doc["market"]["vix_source"] == "chain"  # India VIX's series ends 2025-11-14
    raw = pd.read_csv(shared_data / "in/fo_bhavcopy" / SESSION)
    raw = raw.loc[raw["OptnTp"].isin(["CE", "PE"])]
    raw["kind"] = np.where(raw["OptnTp"] == "CE", "call", "put")
    index = raw.set_index(["TckrSymb", "XpryDt", "StrkPric", "kind"])
    spreads = load_spread_table("in")
    assert doc["allocations"], "the solve allocated nothing"
    for alloc in doc["allocations"]:
        for leg in alloc["legs"]:
            key = (alloc["symbol"], leg["expiry"], float(leg["strike"]), leg["kind"])
            assert key in index.index, f"{key} is not listed on 2026-02-02"
            row = index.loc[key]
            assert alloc["lot_size"] == row["NewBrdLotQty"]  # the lot size comes from the chain
            assert leg["price_source"] == "chain"
            # the rule: the close when it traded that session, else the settlement price (never
            # the stale close), plus half the measured spread to buy, minus half to sell
            ref = row["ClsPric"] if row["TtlTradgVol"] > 0 else row["SttlmPric"]
            dte = (pd.Timestamp(leg["expiry"]) - pd.Timestamp("2026-02-02")).days
            rel = spreads.relative([leg["kind"]], [leg["strike"]], [row["UndrlygPric"]], [dte])
            half = max(float(rel[0]) * ref, spreads.min_spread) / 2
            expected = ref + half if leg["side"] == "buy" else max(ref - half, 0.0)
            assert leg["price"] == pytest.approx(expected, abs=1e-4), key


@pytest.mark.slow
def test_no_lot_size_from_any_source_is_an_error_naming_the_symbols(shared_data: Path) -> None:
    from quantalloc import solve
    from quantalloc.errors import DataError

    tables = in_tables(shared_data)
    tables["stock_data"] = tables["stock_data"].drop(columns="lot_size")
    with pytest.raises(DataError, match=r"no lot size for [A-Z&-]+(, [A-Z&-]+)*: no chain lists"):
        solve(
            risk="aggressive",
            market="in",
            data=f"csv:{shared_data / 'in'}",
            tables=tables,
            as_of="2025-09-30",
            n_scenarios=200,
        )
