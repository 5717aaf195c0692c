"""Input tables: required columns, kinds, keys, weight sums, CSV reading and --table parsing."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantalloc.data.tables import (
    INPUT_TABLES,
    TABLE_SPECS,
    parse_table_args,
    read_table_csv,
    validate_table,
)
from quantalloc.errors import ConfigError, DataError


def industries(weights: list[float] | None = None) -> pd.DataFrame:
    weights = weights or [40.0, 35.0, 25.0]
    return pd.DataFrame(
        {
            "industry": ["Banks", "IT Services", "Power"][: len(weights)],
            "sector": ["Financials", "Technology", "Utilities"][: len(weights)],
            "position_type": ["LONG", "long ", "SHORT"][: len(weights)],
            "weight_percentage": weights,
            "rating": ["Strong Overweight", "Moderate Overweight", "Strong Underweight"][
                : len(weights)
            ],
        }
    )


def stocks() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": ["AAA", "BBB", "CCC"],
            "industry": ["Banks", "Banks", "Power"],
            "sector": ["Financials", "Financials", "Utilities"],
            "fno_stock": ["true", "FALSE", "1"],
            "lot_size": ["500", "1200.0", "75"],
            "market_cap_category": ["Large", "mid cap", "Small"],
        }
    )


def test_every_table_has_a_spec() -> None:
    assert set(TABLE_SPECS) == set(INPUT_TABLES)


def test_valid_industry_table_is_typed() -> None:
    out = validate_table("industry_allocations_current", industries())
    assert out["position_type"].tolist() == ["LONG", "LONG", "SHORT"]
    assert out["weight_percentage"].dtype == "float64"


def test_weights_over_100_are_refused_with_the_remedy() -> None:
    with pytest.raises(DataError) as info:
        validate_table("industry_allocations_current", industries([50, 40, 22]), source="ind.csv")
    assert str(info.value) == (
        "industry weights sum to 112.0% (> 100%) in industry_allocations_current (ind.csv); "
        "fix the table or pass `normalize_weights=True`"
    )


def test_normalize_rescales_to_100(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        out = validate_table(
            "industry_allocations_current", industries([50, 40, 22]), normalize=True
        )
    assert out["weight_percentage"].sum() == pytest.approx(100.0)
    assert out["weight_percentage"].iloc[0] == pytest.approx(50 * 100 / 112)
    assert "rescaled to 100%" in caplog.text
    # Weights already within 100% are left alone.
    kept = validate_table("industry_allocations_current", industries([30, 20, 10]), normalize=True)
    assert kept["weight_percentage"].tolist() == [30, 20, 10]


@pytest.mark.parametrize("bad", [-5.0, 120.0])
def test_weight_outside_0_100(bad: float) -> None:
    with pytest.raises(DataError, match=r"weight_percentage must be a percentage in \[0, 100\]"):
        validate_table("industry_allocations_current", industries([bad, 1, 1]))


def test_unknown_position_type() -> None:
    frame = industries()
    frame.loc[1, "position_type"] = "HEDGE"
    with pytest.raises(DataError, match=r"unknown position_type HEDGE in row 2 \(IT Services\)"):
        validate_table("industry_allocations_current", frame)


def test_duplicate_industries() -> None:
    frame = industries()
    frame.loc[2, "industry"] = "banks"
    with pytest.raises(DataError, match=r"duplicate industry .* in row 1 \(Banks\), row 3"):
        validate_table("industry_allocations_current", frame)


def test_missing_columns_are_named() -> None:
    with pytest.raises(DataError, match=r"missing column\(s\) position_type, weight_percentage"):
        validate_table(
            "industry_allocations_current",
            industries().drop(columns=["position_type", "weight_percentage"]),
        )


def test_empty_table() -> None:
    with pytest.raises(DataError, match="has no rows"):
        validate_table("industry_allocations_current", industries().iloc[:0])


def test_unknown_table_name() -> None:
    with pytest.raises(ConfigError, match="unknown table 'stocks'"):
        validate_table("stocks", stocks())


def test_stock_data_is_typed() -> None:
    out = validate_table("stock_data", stocks())
    assert out["fno_stock"].tolist() == [True, False, True]
    assert out["lot_size"].tolist() == [500, 1200, 75] and out["lot_size"].dtype == "int64"
    assert out["market_cap_category"].tolist() == ["Large", "Mid", "Small"]


def test_symbol_without_industry() -> None:
    frame = stocks()
    frame.loc[1, "industry"] = " "
    with pytest.raises(
        DataError,
        match=r"stock_data: industry is required but row 2 is empty "
        r"\(symbols without an industry: row 2 \(BBB\)\)",
    ):
        validate_table("stock_data", frame)


@pytest.mark.parametrize("lot", ["0", "-100", "12.5", "lots"])
def test_lot_size_must_be_a_positive_whole_number(lot: str) -> None:
    frame = stocks()
    frame.loc[0, "lot_size"] = lot
    with pytest.raises(DataError, match=r"lot_size must be a (positive whole )?number"):
        validate_table("stock_data", frame)


def test_duplicate_symbols_and_bad_flags() -> None:
    frame = stocks()
    frame.loc[2, "symbol"] = "AAA"
    with pytest.raises(DataError, match="duplicate symbol AAA"):
        validate_table("stock_data", frame)
    frame = stocks()
    frame.loc[0, "fno_stock"] = "maybe"
    with pytest.raises(DataError, match=r"fno_stock must be true or false; row 1 .* say maybe"):
        validate_table("stock_data", frame)
    frame = stocks()
    frame.loc[0, "market_cap_category"] = "Mega"
    with pytest.raises(DataError, match="unknown market_cap_category Mega"):
        validate_table("stock_data", frame)


def test_strategies_table() -> None:
    frame = pd.DataFrame(
        {
            "stock_name": ["AAA"],
            "industry": ["Banks"],
            "strategy_name": ["Bull Call Spread"],
            "total_score": ["0.71"],
            "probability_of_profit": ["0.55"],
            "risk_reward_ratio": ["1.8"],
            "legs": ['[{"kind": "call", "side": "buy", "strike": 100}]'],
        }
    )
    out = validate_table("strategies", frame)
    assert out["probability_of_profit"].iloc[0] == 0.55
    frame.loc[0, "probability_of_profit"] = "55"
    with pytest.raises(DataError, match="look like percentages: divide by 100"):
        validate_table("strategies", frame)
    frame.loc[0, "probability_of_profit"] = "0.5"
    frame.loc[0, "legs"] = "buy 100 call"
    with pytest.raises(DataError, match="legs must be a JSON list"):
        validate_table("strategies", frame)


def test_option_chain_table() -> None:
    frame = pd.DataFrame(
        {
            "symbol": ["NIFTY", "NIFTY"],
            "as_of": ["2024-06-20", "2024-06-20"],
            "expiry": ["2024-06-27", "2024-06-27"],
            "strike": ["23500", "23500"],
            "option_type": ["CE", "PE"],
            "implied_vol": ["0.14", ""],
        }
    )
    with pytest.raises(DataError, match=r"missing column.*as_of"):  # every row is dated
        validate_table("option_chain_data", frame.drop(columns="as_of"))
    out = validate_table("option_chain_data", frame)
    assert out["kind"].tolist() == ["call", "put"]
    assert out["expiry"].iloc[0] == pd.Timestamp("2024-06-27")
    assert pd.isna(out["implied_vol"].iloc[1])  # optional fields may be blank
    frame.loc[1, "option_type"] = "CE"
    with pytest.raises(DataError, match="duplicate"):
        validate_table("option_chain_data", frame)
    frame.loc[1, "as_of"] = "2024-06-21"  # the same contract on another session is a new row
    assert len(validate_table("option_chain_data", frame)) == 2
    frame.loc[1, "option_type"] = "X"
    with pytest.raises(DataError, match="unknown option kind X"):
        validate_table("option_chain_data", frame)


def test_sector_table_rating_optional() -> None:
    frame = pd.DataFrame(
        {
            "sector": ["Energy", "IT"],
            "position_type": ["LONG", "SHORT"],
            "weight_percentage": [60, 50],
        }
    )
    with pytest.raises(DataError, match=r"sector weights sum to 110.0%"):
        validate_table("sector_allocations_current", frame)


def test_read_csv_and_parse_args(tmp_path: Path) -> None:
    ind = tmp_path / "ind.csv"
    industries().to_csv(ind, index=False)
    stk = tmp_path / "stk.csv"
    stocks().to_csv(stk, index=False)
    tables = parse_table_args([f"industry_allocations_current={ind}", f" stock_data = {stk} "])
    assert set(tables) == {"industry_allocations_current", "stock_data"}
    assert tables["stock_data"]["lot_size"].tolist() == [500, 1200, 75]
    assert read_table_csv("stock_data", stk).equals(tables["stock_data"])


def test_parse_args_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"takes NAME=FILE\.csv"):
        parse_table_args(["stock_data"])
    with pytest.raises(DataError, match="not found"):
        parse_table_args([f"stock_data={tmp_path / 'nope.csv'}"])
    stk = tmp_path / "stk.csv"
    stocks().to_csv(stk, index=False)
    with pytest.raises(ConfigError, match="given twice"):
        parse_table_args([f"stock_data={stk}", f"stock_data={stk}"])
    with pytest.raises(ConfigError, match="unknown table"):
        parse_table_args([f"stocks={stk}"])


def test_ranked_symbols_need_an_industry(tmp_path: Path) -> None:
    stk = tmp_path / "stk.csv"
    stocks().to_csv(stk, index=False)
    ranks = tmp_path / "rank.csv"
    ranks.write_text("symbol,market_cap_category,score\nAAA,Large,0.9\nZZZ,Small,0.3\n")
    with pytest.raises(DataError, match=r"symbols without an industry .*: ZZZ"):
        parse_table_args([f"stock_data={stk}", f"stock_rankings={ranks}"])


def test_normalize_through_csv(tmp_path: Path) -> None:
    ind = tmp_path / "ind.csv"
    industries([60, 50, 10]).to_csv(ind, index=False)
    with pytest.raises(DataError, match=r"120\.0%"):
        parse_table_args([f"industry_allocations_current={ind}"])
    out = parse_table_args([f"industry_allocations_current={ind}"], normalize=True)
    assert out["industry_allocations_current"]["weight_percentage"].sum() == pytest.approx(100)


def test_not_a_csv(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"")
    with pytest.raises(DataError, match="cannot read"):
        read_table_csv("stock_data", bad)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.0, 100.0), min_size=1, max_size=12))
def test_normalized_weights_never_exceed_100_and_keep_proportions(weights: list[float]) -> None:
    """Property: after --normalize-weights the sum is <= 100% and the ratios are unchanged."""
    frame = pd.DataFrame(
        {
            "industry": [f"I{i}" for i in range(len(weights))],
            "sector": "S",
            "position_type": "LONG",
            "weight_percentage": weights,
            "rating": "Neutral",
        }
    )
    out = validate_table("industry_allocations_current", frame, normalize=True)["weight_percentage"]
    assert out.sum() <= 100.0 + 1e-9
    total = sum(weights)
    if total > 100.0 + 1e-6:
        assert out.sum() == pytest.approx(100.0)
        assert out.to_numpy() == pytest.approx([w * 100.0 / total for w in weights])
    else:
        assert out.tolist() == weights


def test_optional_columns_may_be_absent_or_blank() -> None:
    """Required columns need a value in every row; optional ones (nullable in the SQL store)
    may be missing or blank and keep a missing value."""
    frame = pd.DataFrame(
        {
            "symbol": ["AAA", "BBB"],
            "industry": ["Banks", "Power"],
            "fno_stock": ["yes", ""],
            "lot_size": ["250", "100"],
        }
    )
    out = validate_table("stock_data", frame)
    assert "sector" not in out.columns  # absent optional columns are not invented
    assert str(out["fno_stock"].dtype) == "boolean" and pd.isna(out["fno_stock"].iloc[1])
    assert out["lot_size"].tolist() == [250, 100]
    assert "lot_size" not in validate_table("stock_data", frame.drop(columns="lot_size"))
    with pytest.raises(DataError, match=r"missing column\(s\) industry"):
        validate_table("stock_data", frame.drop(columns="industry"))


def test_required_value_blank_names_rows() -> None:
    frame = industries()
    frame.loc[[0, 2], "weight_percentage"] = None
    with pytest.raises(DataError, match=r"weight_percentage is required but rows 1, 3 are empty"):
        validate_table("industry_allocations_current", frame)


def test_legs_given_as_lists_or_json_text_come_back_as_lists() -> None:
    legs = [{"kind": "put", "side": "sell", "strike": 100.0}]
    frame = pd.DataFrame(
        {
            "stock_name": ["AAA", "BBB", "CCC"],
            "strategy_name": ["Cash Secured Put"] * 3,
            "total_score": [0.5, 0.6, 0.7],
            "legs": pd.Series([legs, '[{"kind": "put", "side": "sell", "strike": 100.0}]', None]),
        }
    )
    out = validate_table("strategies", frame)
    assert out["legs"].iloc[0] == legs and out["legs"].iloc[1] == legs
    assert out["legs"].iloc[2] is None


def test_timestamps_keep_their_time_of_day() -> None:
    frame = pd.DataFrame(
        {
            "symbol": ["NIFTY"],
            "expiry": ["2024-06-27"],
            "strike": [23500],
            "kind": ["call"],
            "as_of": ["2024-06-20 15:30"],
        }
    )
    assert validate_table("option_chain_data", frame)["as_of"].iloc[0] == pd.Timestamp(
        "2024-06-20 15:30"
    )


def test_a_blank_lot_size_is_refused_at_the_door() -> None:
    # issue 18: a blank lot_size was shown as <NA>, imported, and crashed every later solve
    frame = pd.DataFrame(
        {"symbol": ["AAA", "BBB", "CCC"], "industry": ["Banks"] * 3, "lot_size": ["250", "", "75"]}
    )
    with pytest.raises(DataError, match=r"lot_size is blank in row 2 \(BBB\); give every row"):
        validate_table("stock_data", frame)
