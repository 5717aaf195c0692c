"""CsvProvider on every layout of the real files in ../shared/data, and on fixture files."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantalloc.data import CsvProvider
from quantalloc.data.csv_provider import read_price_csv
from quantalloc.data.validation import validate_ohlcv
from quantalloc.errors import ConfigError, DataError

# ---------------------------------------------------------------- real files (../shared/data)


def test_yahoo_layout_us_daily(shared_data: Path) -> None:
    frame = CsvProvider(shared_data / "us").history("AAPL")
    # First row of us/daily/AAPL.csv: 2012-12-06,75.562859,79.044289,74.089996,78.177139,...
    assert frame.index[0] == pd.Timestamp("2012-12-06")
    assert frame["close"].iloc[0] == pytest.approx(78.177139)
    assert frame["adj_close"].iloc[0] == pytest.approx(70.702957)
    assert len(frame) == 1260  # data lines of the file (the README says 1259)
    assert list(frame.columns) == ["open", "high", "low", "close", "volume", "adj_close"]


def test_every_us_and_in_symbol_loads(shared_data: Path) -> None:
    for folder, expected in (("us", 55), ("in", 54)):
        provider = CsvProvider(shared_data / folder)
        names = provider.symbols()
        # us: 51 stocks + SPY, SPXL, ^GSPC, ^VIX + vix_daily_cboe; in: 50 stocks + 3 index
        # files + ^NSEBANK (BANKNIFTY's closes on the F&O day files)
        assert len(names) == expected + (1 if folder == "us" else 0)
        for name in names:
            frame = provider.history(name)
            assert frame.index.is_monotonic_increasing and frame.index.is_unique
            assert (frame[["open", "high", "low", "close"]] > 0).all().all()


def test_symbols_skip_non_price_files(shared_data: Path) -> None:
    names = CsvProvider(shared_data / "us").symbols()
    assert "constituents" not in names  # symbol,name,sector,industry
    assert not any(n.startswith("SPY_") for n in names)  # option chains
    assert {"^VIX", "^GSPC", "SPY", "SPXL"} <= set(names)
    assert "nifty50_constituents" not in CsvProvider(shared_data / "in").symbols()


def test_upstox_layout_keeps_ist_wall_time(shared_data: Path) -> None:
    frame = CsvProvider(shared_data / "in").history("ADANIENT")
    # First row: 2020-10-01 00:00:00+05:30,299.8,311.95,296.0,308.15,6914505,0
    assert frame.index[0] == pd.Timestamp("2020-10-01")  # not shifted to 2020-09-30 18:30 UTC
    assert frame.index.tz is None
    assert frame["close"].iloc[0] == pytest.approx(308.15)
    assert "oi" not in frame.columns


def test_symbols_with_punctuation(shared_data: Path) -> None:
    provider = CsvProvider(shared_data / "in")
    assert provider.history("M&M")["close"].gt(0).all()
    assert len(provider.history("bajaj-auto")) > 1000  # file lookup ignores case


def test_close_only_index_files(shared_data: Path) -> None:
    provider = CsvProvider(shared_data / "in")
    nsei = provider.history("^NSEI")
    # _NSEI.csv first row: 2016-01-04,7791.2998046875
    assert nsei.index[0] == pd.Timestamp("2016-01-04")
    assert nsei["close"].iloc[0] == pytest.approx(7791.2998046875)
    assert (nsei["open"] == nsei["close"]).all() and (nsei["volume"] == 0).all()
    vix = provider.history("^INDIAVIX")
    # _INDIAVIX.csv first row: 2016-01-01,14.260000228881836
    assert vix["close"].iloc[0] == pytest.approx(14.260000228881836)


def test_nifty_ohlcv_index_file_with_unnamed_column(shared_data: Path) -> None:
    frame = CsvProvider(shared_data / "in").history("NIFTY50_ohlcv_2012_2022")
    # Row 0: 0,2012-01-02,4640.20,4645.95,4588.05,4636.75,108461000
    assert frame.index[0] == pd.Timestamp("2012-01-02")
    assert frame.iloc[0].tolist() == pytest.approx([4640.20, 4645.95, 4588.05, 4636.75, 108461000])
    assert len(frame) == 2719


def test_yahoo_vix_file_has_zero_volume(shared_data: Path) -> None:
    vix = CsvProvider(shared_data / "us").history("^VIX")
    assert (vix["volume"] == 0).all()
    assert vix.index[0] == pd.Timestamp("2000-01-03")


def test_cboe_vix_file_read_as_a_file(shared_data: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = shared_data / "us" / "vix_daily_cboe.csv"
    with caplog.at_level(logging.WARNING):
        frame = validate_ohlcv(read_price_csv(path), "VIX", str(path))
    # 1992-02-11,19.240000,18.570000,17.610000,17.700000: the open is above the high; CBOE's
    # file has 47 such opens before 2007, clipped into [low, high] and logged.
    assert "open outside the high-low range" in caplog.text and "(+42 more)" in caplog.text
    assert frame.loc["1992-02-11", "open"] == pytest.approx(18.57)
    assert frame.loc["1992-02-11", "close"] == pytest.approx(17.70)
    assert frame.index[0] == pd.Timestamp("1990-01-02")
    assert frame.loc["2008-10-02", "high"] == pytest.approx(46.48)


def test_stray_last_open_of_a_yahoo_file_is_clipped(shared_data: Path) -> None:
    # COST.csv last row: 2017-12-06,189.669998,187.975006,185.509995,186.910004,...: open > high
    frame = CsvProvider(shared_data / "us").history("COST")
    assert frame["open"].iloc[-1] == pytest.approx(187.975006)


def test_intraday_5min_and_1min(shared_data: Path) -> None:
    five = CsvProvider(shared_data / "us_intraday" / "5min").history("SPY")
    # First row: 2025-05-12 09:30:00,581.4900,581.7300,579.2200,579.2300,2393147
    assert five.index[0] == pd.Timestamp("2025-05-12 09:30")
    assert five["close"].iloc[0] == pytest.approx(579.23)
    steps = pd.Series(five.index).diff().dropna()
    assert (steps.dt.total_seconds() % 300 == 0).all()
    one = CsvProvider(shared_data / "us_intraday" / "1min").history("SPY", "2026-03-19")
    # A date-only end includes the whole day; the file ends 2026-03-19 15:59.
    assert one.index[-1] == pd.Timestamp("2026-03-19 15:59")
    assert one.index[0] == pd.Timestamp("2026-03-19 09:30")


def test_date_range_on_real_file(shared_data: Path) -> None:
    provider = CsvProvider(shared_data / "us")
    frame = provider.history("SPY", "2008-10-01", "2008-10-31")
    assert frame.index[0] >= pd.Timestamp("2008-10-01")
    assert frame.index[-1] <= pd.Timestamp("2008-10-31")
    assert len(frame) == 23  # trading days of October 2008
    with pytest.raises(DataError, match=r"no rows between 2030-01-01 and the end .*2000-01-03"):
        provider.history("SPY", "2030-01-01")


def test_missing_symbol_on_real_folder(shared_data: Path) -> None:
    with pytest.raises(DataError, match=r"NOPE: no file NOPE.csv under .*`data`"):
        CsvProvider(shared_data / "us").history("NOPE")


def test_symbol_in_two_folders_is_ambiguous(shared_data: Path) -> None:
    # SPY is in us/etf and in both intraday folders.
    with pytest.raises(DataError, match="several files match"):
        CsvProvider(shared_data).history("SPY")


# ---------------------------------------------------------------- fixture files


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


HEADER = "Date,Open,High,Low,Close,Adj Close,Volume\n"


def test_fixture_clean_file_and_caret_mapping(tmp_path: Path) -> None:
    write(tmp_path, "sub/_IDX.csv", HEADER + "2024-01-02,10,11,9,10.5,10.5,0\n")
    provider = CsvProvider(tmp_path)
    assert provider.symbols() == ["^IDX"]
    assert provider.history("^IDX")["close"].iloc[0] == 10.5


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("2024-01-02,10,11,9,10.5,10.5,100\n2024-01-03,,11,9,10.5,10.5,100\n", "blank fields"),
        ("2024-01-02,10,11,9,10.5,10.5,100\n2024-01-03,abc,11,9,10,10,1\n", "non-numeric"),
        ("2024-01-02,10,11,9,10.5,10.5,100\n2024-01-02,10,11,9,10.5,10.5,100\n", "duplicate"),
        ("2024-01-03,10,11,9,10.5,10.5,100\n2024-01-02,10,11,9,10.5,10.5,100\n", "out of order"),
        ("2024-01-02,10,11,9,10.5,10.5,100\n2024-01-03,0,11,9,10.5,10.5,100\n", "non-positive"),
        ("2024-01-02,10,11,9,10.5,10.5,100\n2024-01-03,10,9,11,10,10,100\n", "high below low"),
        ("2024-01-02,10,11,9,10.5,10.5,100\nnot-a-date,10,11,9,10,10,1\n", "readable date"),
    ],
    ids=["blank", "text", "duplicate", "unsorted", "zero", "high<low", "bad-date"],
)
def test_fixture_bad_files(tmp_path: Path, rows: str, message: str) -> None:
    write(tmp_path, "BAD.csv", HEADER + rows)
    with pytest.raises(DataError, match=rf"BAD: .*{message}.*BAD.csv|BAD: .*BAD.csv.*"):
        CsvProvider(tmp_path).history("BAD")
    with pytest.raises(DataError, match=message):
        CsvProvider(tmp_path).history("BAD")


def test_fixture_forward_fill_through_provider(tmp_path: Path) -> None:
    rows = [
        "2024-01-02,10,11,9,10.5,10.5,100",
        "2024-01-03,,,,,,",
        "2024-01-04,10,12,9.5,11,11,100",
    ]
    write(tmp_path, "GAP.csv", HEADER + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match="blank fields"):
        CsvProvider(tmp_path).history("GAP")
    frame = CsvProvider(tmp_path, max_ffill=1).history("GAP")
    assert frame.loc["2024-01-03", "close"] == 10.5
    assert frame.loc["2024-01-03", "volume"] == 0.0


def test_fixture_close_only_and_non_price_files(tmp_path: Path) -> None:
    write(tmp_path, "VALUE.csv", "date,vix_value\n2024-01-02,15.5\n2024-01-03,16.0\n")
    write(tmp_path, "LIST.csv", "symbol,name\nAAA,Aaa Ltd\n")
    write(tmp_path, "CHAIN.csv", "date,strike,price,expiry\n2024-01-02,100,5,2024-02-01\n")
    provider = CsvProvider(tmp_path)
    assert provider.symbols() == ["VALUE"]
    assert provider.history("VALUE")["high"].tolist() == [15.5, 16.0]
    with pytest.raises(DataError, match="no date column"):
        provider.history("LIST")
    with pytest.raises(DataError, match="is not a price file"):
        provider.history("CHAIN")


def test_fixture_empty_and_header_only(tmp_path: Path) -> None:
    write(tmp_path, "EMPTY.csv", "")
    write(tmp_path, "HEAD.csv", HEADER)
    with pytest.raises(DataError, match="cannot read"):
        CsvProvider(tmp_path).history("EMPTY")
    with pytest.raises(DataError, match="no rows"):
        CsvProvider(tmp_path).history("HEAD")


def test_fixture_file_added_after_first_scan_is_found(tmp_path: Path) -> None:
    write(tmp_path, "A.csv", HEADER + "2024-01-02,10,11,9,10.5,10.5,100\n")
    provider = CsvProvider(tmp_path)
    assert provider.symbols() == ["A"]
    write(tmp_path, "B.csv", HEADER + "2024-01-02,10,11,9,10.5,10.5,100\n")
    assert provider.history("B")["close"].iloc[0] == 10.5


def test_fixture_empty_date_range_and_bad_dates(tmp_path: Path) -> None:
    write(tmp_path, "A.csv", HEADER + "2024-01-02,10,11,9,10.5,10.5,100\n")
    provider = CsvProvider(tmp_path)
    with pytest.raises(DataError, match=r"no rows between 2025-01-01 and 2025-02-01"):
        provider.history("A", "2025-01-01", "2025-02-01")
    with pytest.raises(ConfigError, match="is after end date"):
        provider.history("A", "2025-02-01", "2025-01-01")
    with pytest.raises(ConfigError, match="'yesterday' is not a date"):
        provider.history("A", "yesterday")


def test_missing_folder() -> None:
    with pytest.raises(DataError, match="does not exist"):
        CsvProvider("/nonexistent/prices")


def test_returned_frame_is_a_copy(tmp_path: Path) -> None:
    write(tmp_path, "A.csv", HEADER + "2024-01-02,10,11,9,10.5,10.5,100\n")
    provider = CsvProvider(tmp_path)
    first = provider.history("A")
    first.loc[:, "close"] = np.nan
    assert provider.history("A")["close"].iloc[0] == 10.5
