"""Chains by date: the folder source on the real NSE and SPX files, the table and Yahoo sources,
session picking and the validation that drops bad rows with one line."""

from __future__ import annotations

import gzip
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from quantalloc.data.chain_open import get_chain_source
from quantalloc.data.chain_source import (
    ChainSource,
    FolderChainSource,
    TableChainSource,
    chain_symbol,
    pick_session,
)
from quantalloc.data.chain_yahoo import YahooChainSource
from quantalloc.data.chains import validate_chain
from quantalloc.errors import ConfigError, DataError

NSE_FILE = "BhavCopy_NSE_FO_0_0_0_20260202_F_0000.csv.gz"


def test_nse_bhavcopy_session_real(shared_data: Path) -> None:
    folder = shared_data / "in/fo_bhavcopy"
    source = get_chain_source(str(folder))
    assert isinstance(source, ChainSource)
    sessions = source.sessions()
    # README: 30 sessions 2026-01-01 .. 2026-02-13, 2026-01-15 a holiday
    assert len(sessions) == 30
    assert sessions[0] == pd.Timestamp("2026-01-01") and sessions[-1] == pd.Timestamp("2026-02-13")
    assert pd.Timestamp("2026-01-15") not in sessions
    snap = source.chain("RELIANCE", "2026-02-02")
    assert snap.session == pd.Timestamp("2026-02-02") and snap.symbol == "RELIANCE"
    raw = pd.read_csv(folder / NSE_FILE)
    raw = raw[(raw["TckrSymb"] == "RELIANCE") & raw["OptnTp"].isin(["CE", "PE"])]
    frame = snap.frame
    assert len(frame) == len(raw)
    assert (frame["as_of"] == pd.Timestamp("2026-02-02")).all()
    key = raw.assign(kind=np.where(raw["OptnTp"] == "CE", "call", "put"))
    key = key.assign(expiry=pd.to_datetime(key["XpryDt"]), strike=key["StrkPric"].astype(float))
    merged = frame.merge(key, on=["expiry", "strike", "kind"], validate="one_to_one")
    assert (merged["lot_size"] == merged["NewBrdLotQty"]).all()
    assert (merged["settlement"] == merged["SttlmPric"]).all()
    assert (merged["spot"] == merged["UndrlygPric"]).all()
    assert (merged["volume"] == merged["TtlTradgVol"]).all()
    # open interest is in shares in the file, in contracts here
    shares = merged["OpnIntrst"] / merged["NewBrdLotQty"]
    np.testing.assert_allclose(merged["open_interest"], shares)
    traded = merged["TtlTradgVol"] > 0
    assert (merged.loc[traded, "last"] == merged.loc[traded, "ClsPric"]).all()
    # README quirk: an untraded row's ClsPric repeats an old close; it is never passed on
    assert merged.loc[~traded, "last"].isna().all()
    assert frame["bid"].isna().all() and frame["ask"].isna().all()


def test_index_alias_and_weekend_pick_real(shared_data: Path) -> None:
    source = get_chain_source(str(shared_data / "in/fo_bhavcopy"))
    snap = source.chain("^NSEI", "2026-02-01")  # a Sunday: Friday's session serves
    assert snap.symbol == "NIFTY" and snap.session == pd.Timestamp("2026-01-30")
    assert any("2026-01-30 used for as-of 2026-02-01" in n for n in snap.notes)
    assert (snap.frame["lot_size"] == 65).all()  # README: NIFTY lot 65 in 2026
    with pytest.raises(DataError, match=r"2026-02-13, 16 days older \(at most 5 allowed\)"):
        source.chain("NIFTY", "2026-03-01")
    with pytest.raises(DataError, match=r"no option chain on or before 2025-12-31"):
        source.chain("NIFTY", "2025-12-31")
    with pytest.raises(DataError, match=r"M&M: no option chain of M&M on 2026-02-02"):
        source.chain("M&M", "2026-02-02")


def test_spx_vendor_layout_real(shared_data: Path) -> None:
    source = get_chain_source(str(shared_data / "us/options/spx_2019"))
    assert len(source.sessions()) == 33  # README: 33 sessions, 05-10 and 05-17 missing
    snap = source.chain("^GSPC", "2019-05-17")
    assert snap.session == pd.Timestamp("2019-05-16")
    frame = snap.frame
    # AM-settled SPX monthlies and PM-settled SPXW weeklies on the same third Friday
    june = frame[frame["expiry"] == pd.Timestamp("2019-06-21")]
    assert set(june["root"]) == {"SPX", "SPXW"}
    assert frame["spot"].nunique() == 1 and frame["spot"].iloc[0] > 2000
    assert frame["bid"].notna().all() and (frame["bid"] <= frame["ask"]).all()


def test_validation_drops_bad_rows_with_one_line() -> None:
    frame = pd.DataFrame(
        {
            "symbol": "X",
            "expiry": ["2026-03-20", "2026-03-20", "2026-03-20", "2026-01-16"],
            "strike": [100, 105, 110, 100],
            "kind": ["call"] * 4,
            "bid": [1.0, 2.0, -0.1, 1.0],
            "ask": [1.2, 1.5, 0.2, 1.1],
            "as_of": "2026-02-02",
        }
    )
    out = validate_chain(frame, source="x.csv")
    assert out["strike"].tolist() == [100.0]
    (note,) = out.attrs["notes"]
    assert note == (
        "x.csv: dropped 3 of 4 contracts: 1 with a negative price, 1 with the bid above the "
        "ask, 1 expired before the quote date"
    )
    repeated = pd.concat([frame.iloc[:1], frame.iloc[:1]])
    with pytest.raises(DataError, match=r"contract X 2026-03-20 100 call appears more than once"):
        validate_chain(repeated, source="y.csv")
    with pytest.raises(DataError, match=r"1 missing or non-positive strikes \(first: -5\)"):
        validate_chain(frame.assign(strike=[100, 105, -5, 120]))


def test_cboe_datashop_layout(tmp_path: Path) -> None:
    header = (
        "underlying_symbol,quote_date,root,expiration,strike,option_type,open,high,low,close,"
        "trade_volume,bid_size_1545,bid_1545,ask_size_1545,ask_1545,underlying_bid_1545,"
        "underlying_ask_1545,implied_underlying_price_1545,active_underlying_price_1545,"
        "implied_volatility_1545,delta_1545,gamma_1545,theta_1545,vega_1545,rho_1545,"
        "bid_size_eod,bid_eod,ask_size_eod,ask_eod,underlying_bid_eod,underlying_ask_eod,vwap,"
        "open_interest,delivery_code\n"
    )
    rows = (
        "^SPX,2019-04-25,SPXW,2019-05-03,2900,P,0,0,0,12.5,40,1,12.1,1,12.6,2925,2927,2926,2926,"
        "0.13,-0.3,0.01,-1,1,0,10,12.0,10,12.4,2926.0,2928.0,12.3,500,\n"
        "^SPX,2019-04-25,SPXW,2019-05-03,2950,C,0,0,0,10.0,0,1,9.9,1,10.3,2925,2927,2926,2926,"
        "0.12,0.4,0.01,-1,1,0,10,9.8,10,10.2,2926.0,2928.0,10.1,300,\n"
    )
    path = tmp_path / "UnderlyingOptionsEODCalcs_2019-04-25.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(header + rows)
    snap = FolderChainSource(tmp_path).chain("SPX", "2019-04-26")
    frame = snap.frame
    assert frame["kind"].tolist() == ["put", "call"]
    assert frame["bid"].tolist() == [12.0, 9.8] and frame["ask"].tolist() == [12.4, 10.2]
    assert (frame["spot"] == 2927.0).all()  # the end-of-day underlying mid
    assert frame["implied_vol"].tolist() == [0.13, 0.12]
    assert np.isnan(frame["last"].iloc[1])  # no trade that day: no last price


def test_upstox_session_from_file_name_real(shared_data: Path) -> None:
    source = get_chain_source(str(shared_data / "in/options"))
    assert source.sessions() == [pd.Timestamp("2024-06-20"), pd.Timestamp("2024-06-27")]
    snap = source.chain("NIFTY", "2024-06-20")
    assert any("read from its file name" in n for n in snap.notes)


def test_pick_session_rules() -> None:
    days = [pd.Timestamp("2026-01-30"), pd.Timestamp("2026-02-02")]
    assert pick_session(days, "2026-02-02", 5, "x") == days[1]
    assert pick_session(days, "2026-02-01", 5, "x") == days[0]
    with pytest.raises(DataError, match="at most 1 allowed"):
        pick_session(days, "2026-02-01", 1, "x")
    with pytest.raises(DataError, match="holds no dated option chains"):
        pick_session([], "2026-02-01", 5, "x")


def test_chain_symbol_aliases() -> None:
    assert chain_symbol("^NSEI") == "NIFTY"
    assert chain_symbol("reliance.ns") == "RELIANCE"
    assert chain_symbol("^GSPC") == "SPX"
    assert chain_symbol("M&M") == "M&M"


def test_table_source_needs_quote_dates() -> None:
    rows = pd.DataFrame(
        {
            "symbol": ["RELIANCE.NS"] * 2 + ["RELIANCE"],
            "expiry": ["2026-02-24"] * 3,
            "strike": [1400.0, 1400.0, 1420.0],
            "kind": ["call", "put", "call"],
            "bid": [10.0, 9.0, 5.0],
            "ask": [10.5, 9.4, 5.5],
            "as_of": ["2026-02-02", "2026-02-02", "2026-02-03"],
        }
    )
    source = TableChainSource(lambda: rows)
    assert source.sessions() == [pd.Timestamp("2026-02-02"), pd.Timestamp("2026-02-03")]
    snap = source.chain("RELIANCE", "2026-02-02")
    assert len(snap.frame) == 2 and snap.session == pd.Timestamp("2026-02-02")
    undated = TableChainSource(lambda: rows.assign(as_of=[None, "2026-02-02", None]))
    with pytest.raises(DataError, match="2 rows without a quote date"):
        undated.chain("RELIANCE", "2026-02-02")


def test_get_chain_source_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such folder or file"):
        get_chain_source(str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="needs a store"):
        get_chain_source("store")
    with pytest.raises(DataError, match="no option-chain files with a quote date"):
        get_chain_source(str(tmp_path)).sessions()


class _FakeTicker:
    """Stands in for yfinance.Ticker: Yahoo is not reachable from the test machine."""

    calls = 0

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol

    @property
    def options(self) -> tuple[str, ...]:
        return ("2026-02-20", "2026-03-20")

    def option_chain(self, expiry: str) -> Any:
        _FakeTicker.calls += 1
        part = pd.DataFrame(
            {
                "contractSymbol": [f"SPY{expiry}"],
                "strike": [700.0],
                "lastPrice": [12.0],
                "bid": [11.8],
                "ask": [12.2],
                "volume": [10.0],
                "openInterest": [100.0],
                "impliedVolatility": [0.18],
            }
        )
        # 2026-02-02 15:00 New York = 20:00 UTC
        under = {"regularMarketPrice": 701.5, "regularMarketTime": 1770062400}
        return SimpleNamespace(calls=part, puts=part.copy(), underlying=under)


class _Offline:
    def __init__(self, symbol: str) -> None:
        raise AssertionError("the cache must serve without the network")


def test_yahoo_chain_cached_with_quote_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yfinance

    source = YahooChainSource("us", cache_dir=tmp_path)
    monkeypatch.setattr(source, "today", lambda: pd.Timestamp("2026-02-02"))
    monkeypatch.setattr(yfinance, "Ticker", _FakeTicker)
    snap = source.chain("SPY")
    assert snap.session == pd.Timestamp("2026-02-02")
    assert snap.quoted_at == pd.Timestamp("2026-02-02 20:00", tz="UTC")
    assert len(snap.frame) == 4 and (snap.frame["spot"] == 701.5).all()
    assert (tmp_path / "SPY_2026-02-02.csv").is_file()
    monkeypatch.setattr(yfinance, "Ticker", _Offline)
    again = YahooChainSource("us", cache_dir=tmp_path).chain("SPY", "2026-02-03")
    assert again.session == pd.Timestamp("2026-02-02") and len(again.frame) == 4
    with pytest.raises(DataError, match="Yahoo serves only today's option chain"):
        YahooChainSource("us", cache_dir=tmp_path).chain("SPY", "2026-01-20")
    assert YahooChainSource("in").yahoo_symbol("^NSEI") == "^NSEI"
    assert YahooChainSource("in").yahoo_symbol("RELIANCE") == "RELIANCE.NS"
