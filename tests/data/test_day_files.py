"""csv:DIR reads NSE day files: cash-market bhavcopy bars and the underlying closes on F&O rows,
stitched after a symbol's own file, gaps reported and never filled."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pandas as pd
import pytest

from quantalloc.data import CsvProvider, get_provider
from quantalloc.data.day_files import DayFiles, day_file_kind, find_gaps
from quantalloc.errors import DataError


def test_nifty50_stock_through_2026_real(shared_data: Path, tmp_path: Path) -> None:
    provider = CsvProvider(shared_data / "in", cache_dir=tmp_path)
    frame = provider.history("RELIANCE")
    assert frame.index[-1] == pd.Timestamp("2026-02-13")
    cm = pd.read_csv(shared_data / "in/cm_bhavcopy/13022026.csv")
    assert frame["close"].iloc[-1] == cm.loc[cm["SYMBOL"] == "RELIANCE", "CLOSE"].item()
    # 2026-01-01 .. 2026-01-09 only the F&O rows carry the stock: close-only bars
    fo = pd.read_csv(shared_data / "in/fo_bhavcopy/BhavCopy_NSE_FO_0_0_0_20260105_F_0000.csv.gz")
    under = fo.loc[fo["TckrSymb"] == "RELIANCE", "UndrlygPric"].unique().item()
    row = frame.loc[pd.Timestamp("2026-01-05")]
    assert row["close"] == under and row["open"] == row["high"] == row["low"] == under
    # README: the cash-market source lacks 2025-12-03 .. 2026-01-09; the F&O rows start 01-01
    assert frame.attrs["gaps"] == [("2025-12-03", "2025-12-31", 21)]
    assert not frame.index.isin(pd.date_range("2025-12-03", "2025-12-31")).any()
    # the Upstox file's rows are kept where it has them (2020-10-01 onwards)
    assert frame.index[0] == pd.Timestamp("2020-10-01")
    window = provider.history("RELIANCE", "2026-01-12", "2026-02-13")
    assert window.attrs["gaps"] == []


def test_index_and_banknifty_real(shared_data: Path, tmp_path: Path) -> None:
    provider = get_provider(f"csv:{shared_data / 'in'}", "in", cache_dir=tmp_path)
    nsei = provider.history("^NSEI")
    assert nsei.index[-1] == pd.Timestamp("2026-02-13")
    # _NSEI.csv ends 2025-11-14; the F&O rows start 2026-01-01
    assert nsei.attrs["gaps"] == [("2025-11-17", "2025-12-31", 33)]
    assert "^NSEBANK" in provider.symbols()
    assert provider.history("^NSEBANK").index[0] == pd.Timestamp("2026-01-01")
    # README: TATAMOTORS demerged and is in the cash-market files until 2025-10-23 only
    tata = provider.history("TATAMOTORS")
    assert tata.index[-1] == pd.Timestamp("2025-10-23")
    # the day files are not adjusted for corporate actions: the demerger (660.75 -> 395.45 on
    # 2025-10-14) and KOTAKBANK's 1:5 split (2132.6 -> 421.0 on 2026-01-14) are reported
    assert tata.attrs["jumps"] == [("2025-10-14", 660.75, 395.45)]
    assert provider.history("KOTAKBANK").attrs["jumps"] == [("2026-01-14", 2132.6, 421.0)]
    assert provider.history("KOTAKBANK", end="2026-01-13").attrs["jumps"] == []
    assert any(p.suffix == ".parquet" for p in (tmp_path / "dayfiles").iterdir())


def _cm(path: Path, rows: list[tuple[str, float, str]]) -> None:
    lines = [
        '"","SYMBOL","SERIES","OPEN","HIGH","LOW","CLOSE","LAST","PREVCLOSE","TOTTRDQTY",'
        '"TOTTRDVAL","TIMESTAMP","TOTALTRADES","ISIN","X"'
    ]
    for i, (sym, close, day) in enumerate(rows):
        lines.append(
            f'"{i}","{sym}","EQ",{close},{close * 1.01},{close * 0.99},{close},{close},{close},'
            f'100,1,"{day}",10,"",""'
        )
    lines.append('"9","JUNK","BE",1,1,1,1,1,1,1,1,"05-Jan-2026",1,"",""')
    path.write_text("\n".join(lines) + "\n")


def test_overlap_must_agree(tmp_path: Path) -> None:
    (tmp_path / "ABC.csv").write_text(
        "Date,Open,High,Low,Close,Volume\n2026-01-02,100,101,99,100,5\n2026-01-05,100,101,99,100,5\n"
    )
    _cm(tmp_path / "05012026.csv", [("ABC", 100.5, "05-Jan-2026")])
    _cm(tmp_path / "06012026.csv", [("ABC", 102.0, "06-Jan-2026")])
    frame = CsvProvider(tmp_path).history("ABC")
    assert frame["close"].tolist() == [100.0, 100.0, 102.0]  # the file wins on shared sessions
    assert day_file_kind(tmp_path / "05012026.csv") == ("cm", "classic")
    _cm(tmp_path / "05012026.csv", [("ABC", 50.0, "05-Jan-2026")])  # a 2:1 split, unadjusted
    with pytest.raises(
        DataError,
        match=r"ABC: closes in .*ABC\.csv and day files .* differ by "
        r"up to 100\.0% on 1 shared sessions \(e\.g\. 2026-01-05: 100 vs 50\)",
    ):
        CsvProvider(tmp_path).history("ABC")
    assert "JUNK" not in CsvProvider(tmp_path).symbols()  # series BE rows are not equity bars


def test_udiff_cash_market_and_fo_cache(tmp_path: Path) -> None:
    (tmp_path / "cm.csv").write_text(
        "TradDt,BizDt,Sgmt,Src,FinInstrmTp,FinInstrmId,ISIN,TckrSymb,SctySrs,OpnPric,HghPric,"
        "LwPric,ClsPric,TtlTradgVol\n"
        "2026-02-02,2026-02-02,CM,NSE,STK,1,X,XYZ,EQ,10,11,9,10.5,100\n"
    )
    fo = tmp_path / "fo.csv.gz"
    with gzip.open(fo, "wt") as handle:
        handle.write(
            "TradDt,TckrSymb,XpryDt,StrkPric,OptnTp,UndrlygPric\n"
            "2026-02-03,XYZ,2026-02-24,10,CE,10.8\n2026-02-03,XYZ,2026-02-24,11,PE,10.8\n"
        )
    cache = tmp_path / "cache"
    days = DayFiles(tmp_path, cache_dir=cache)
    frame = days.history("xyz")
    assert frame is not None and frame["close"].tolist() == [10.5, 10.8]
    assert len(list(cache.iterdir())) == 1
    os.utime(fo, ns=(1, 1))  # a changed file is read again under a new cache key
    assert DayFiles(tmp_path, cache_dir=cache).history("XYZ") is not None
    assert len(list(cache.iterdir())) == 2


def test_find_gaps_skips_single_holidays() -> None:
    days = pd.DatetimeIndex(["2026-01-14", "2026-01-16", "2026-01-19", "2026-02-02"])
    # 01-15 (a holiday) is one weekday: not a gap; 01-20 .. 01-30 is 9 weekdays
    assert find_gaps(days) == [("2026-01-20", "2026-01-30", 9)]
    assert find_gaps(days[:1]) == []
