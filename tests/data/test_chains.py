"""Chain loaders: the three real layouts in shared/data and small hand-written files of each."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantalloc.data.chains import CHAIN_COLUMNS, CONTRACT_KEY, load_chain, validate_chain
from quantalloc.errors import DataError


def _check_canonical(chain: pd.DataFrame) -> None:
    assert tuple(chain.columns) == CHAIN_COLUMNS
    assert chain["expiry"].dtype == np.dtype("M8[ns]")
    assert chain["as_of"].dtype == np.dtype("M8[ns]")
    assert (chain["expiry"] == chain["expiry"].dt.normalize()).all()
    assert set(chain["kind"].unique()) <= {"call", "put"}
    for col in ("strike", "bid", "ask", "last", "settlement", "volume", "open_interest"):
        assert chain[col].dtype == np.float64, col
    for col in ("implied_vol", "spot", "lot_size"):
        assert chain[col].dtype == np.float64, col
    ordered = chain.sort_values(list(CONTRACT_KEY), kind="mergesort")
    assert ordered.index.tolist() == list(range(len(chain)))
    assert not (chain["implied_vol"] <= 0).any()
    assert not chain.duplicated(list(CONTRACT_KEY)).any()


# ---- real files (skipped without ../shared/data) ----------------------------------------------


def test_yfinance_layout_real(shared_data: Path) -> None:
    chain = load_chain(shared_data / "us/options/SPY_2026-05-01.csv")
    _check_canonical(chain)
    # README: 7722 contracts, 24 expiries, spot 720.65, quoted 2026-05-01
    assert len(chain) == 7722
    assert chain["expiry"].nunique() == 24
    assert chain["spot"].round(2).unique().tolist() == [720.65]
    assert (chain["as_of"] == pd.Timestamp("2026-05-01")).all()
    # first data row of the file: SPY 2026-05-08 call 435, last 280.52, bid 284.26, iv 1.125...
    row = chain[(chain.expiry == "2026-05-08") & (chain.strike == 435) & (chain.kind == "call")]
    assert row[["last", "bid", "ask"]].iloc[0].tolist() == [280.52, 284.26, 287.05]
    assert row["implied_vol"].iloc[0] == pytest.approx(1.125004375)
    # yfinance gives iv as a fraction already: the median near the money is 10-40%
    atm = chain[(chain.strike / chain.spot - 1).abs() < 0.02]
    assert 0.05 < atm["implied_vol"].median() < 0.5


def test_eod_layout_real(shared_data: Path) -> None:
    path = shared_data / "us/options/SPY_2015-01-05.csv"
    chain = load_chain(path)
    _check_canonical(chain)
    raw = pd.read_csv(path, skipinitialspace=True)
    standard = raw[raw["symbol"].str.split().str[0] == "SPY"]
    live = standard[standard["expiration"] >= "2015-01-05"]
    # non-standard SPY7 contracts and the already-expired 2015-01-02 series are dropped
    assert len(chain) == len(live)
    assert chain["expiry"].min() == pd.Timestamp("2015-01-09")
    assert chain["spot"].isna().all()  # 'under' is the ticker SPY, not a price
    assert (chain["as_of"] == pd.Timestamp("2015-01-05")).all()
    assert chain["open_interest"].sum() == live["open interest"].sum()


def test_upstox_layout_real(shared_data: Path) -> None:
    path = shared_data / "in/options/NIFTY_2024-06-20_expiry_chain_a.json"
    chain = load_chain(path)
    _check_canonical(chain)
    # README: 104 strikes, spot 23593.5, one expiry
    assert len(chain) == 2 * 104
    assert chain["spot"].unique().tolist() == [23593.5]
    assert chain["expiry"].unique().tolist() == [pd.Timestamp("2024-06-20")]
    assert chain["as_of"].isna().all()
    doc = json.loads(path.read_text())
    first = doc["data"][0]
    put = chain[(chain.strike == first["strike_price"]) & (chain.kind == "put")].iloc[0]
    # iv 250 (percent) in the file -> 2.5; oi and volume as given
    assert put["implied_vol"] == pytest.approx(first["put_options"]["option_greeks"]["iv"] / 100)
    assert put["open_interest"] == first["put_options"]["market_data"]["oi"]
    call = chain[(chain.strike == first["strike_price"]) & (chain.kind == "call")].iloc[0]
    assert np.isnan(call["implied_vol"])  # iv 0 in the file means none


# ---- small hand-written files -----------------------------------------------------------------


def test_small_yfinance_file(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        "ticker,expiry,option_type,strike,lastPrice,bid,ask,volume,openInterest,"
        "impliedVolatility,S,spot_date\n"
        "X,2026-02-20,put,95,1.5,1.4,1.6,,7,0.25,100,2026-01-02\n"
        "X,2026-01-16,call,105,0.5,0.4,0.6,3,12,0.0,100,2026-01-02\n"
        "X,2025-12-19,call,105,0.5,0.4,0.6,3,12,0.2,100,2026-01-02\n"
    )
    chain = load_chain(path)
    _check_canonical(chain)
    assert chain["expiry"].tolist() == [pd.Timestamp("2026-01-16"), pd.Timestamp("2026-02-20")]
    assert np.isnan(chain.loc[0, "implied_vol"])  # zero iv -> NaN
    assert np.isnan(chain.loc[1, "volume"])  # blank volume -> NaN
    assert chain.loc[1, "open_interest"] == 7.0


def test_small_eod_file_with_leading_spaces(tmp_path: Path) -> None:
    path = tmp_path / "eod.csv"
    path.write_text(
        "date, symbol, under, expiration, strike, put/call, bid, ask, price, volume, "
        "open interest, implied vol\n"
        "2015-01-05,SPY   150109P00200000,SPY,2015-01-09,200,P,1,1.2,1.1,10,100,0.2\n"
        "2015-01-05,SPY7  150109P00200000,SPY,2015-01-09,200,P,9,9.2,9.1,0,0,0.1\n"
        "2015-01-05,SPY   150109C00200000,SPY,2015-01-09,200,C,3,3.2,3.1,5,50,0.18\n"
    )
    chain = load_chain(path)
    _check_canonical(chain)
    assert chain["kind"].tolist() == ["call", "put"]
    assert chain["bid"].tolist() == [3.0, 1.0]  # the SPY7 adjusted contract is dropped


def test_unknown_layout_names_file_and_layouts(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(DataError, match=r"odd\.csv.*unknown layout.*yfinance.*end-of-day.*Upstox"):
        load_chain(path)
    js = tmp_path / "odd.json"
    js.write_text(json.dumps({"rows": []}))
    with pytest.raises(DataError, match=r"odd\.json.*unknown layout"):
        load_chain(js)


def test_missing_file() -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_chain("/nonexistent/chain.csv")


def test_validate_chain_hand_made_and_bad_kind() -> None:
    chain = validate_chain(
        pd.DataFrame({"expiry": ["2026-01-16"] * 2, "strike": [100, 90], "kind": ["P", "c"]})
    )
    _check_canonical(chain)
    assert chain["strike"].tolist() == [90.0, 100.0]
    with pytest.raises(DataError, match="unknown option kind"):
        validate_chain(pd.DataFrame({"expiry": ["2026-01-16"], "strike": [1], "kind": ["x"]}))
    with pytest.raises(DataError, match="non-positive strikes"):
        validate_chain(pd.DataFrame({"expiry": ["2026-01-16"], "strike": [0], "kind": ["put"]}))
