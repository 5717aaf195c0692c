"""Expiry calendars: every expiry listed in the 30 NSE sessions and the 2019 SPX monthlies is the
calendar's, holidays move an expiry to the previous session, and NSE's Thursday-to-Tuesday
switch of September 2025."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from quantalloc.data.expiries import (
    is_monthly,
    monthly_expiries,
    monthly_expiry,
    previous_session,
    weekly_expiries,
)
from quantalloc.errors import ConfigError


def _listed(folder: Path) -> dict[str, set[date]]:
    out: dict[str, set[date]] = {}
    for path in sorted(folder.glob("*.csv.gz")):
        raw = pd.read_csv(path, usecols=["TckrSymb", "XpryDt", "OptnTp"]).dropna()
        for sym, exp in raw[["TckrSymb", "XpryDt"]].drop_duplicates().itertuples(index=False):
            out.setdefault(sym, set()).add(date.fromisoformat(exp))
    return out


def test_every_nse_expiry_is_the_calendars_real(shared_data: Path) -> None:
    listed = _listed(shared_data / "in/fo_bhavcopy")
    nifty = listed.pop("NIFTY")
    for sym, expiries in listed.items():  # stocks and BANKNIFTY: monthlies only
        assert all(is_monthly(e, "in") for e in expiries), sym
    weeklies = set(weekly_expiries(date(2026, 1, 1), date(2026, 3, 31), "in"))
    assert {e for e in nifty if e <= date(2026, 3, 31)} <= weeklies
    assert all(is_monthly(e, "in") for e in nifty if e > date(2026, 3, 31))
    # NIFTY lists every calendar weekly of 2026-02 .. 2026-03 on the sessions of February
    assert {e for e in weeklies if date(2026, 2, 14) <= e <= date(2026, 3, 17)} <= nifty


def test_nse_rules_and_holidays() -> None:
    assert monthly_expiry(2025, 8, "in") == date(2025, 8, 28)  # last Thursday before the switch
    assert monthly_expiry(2025, 9, "in") == date(2025, 9, 30)  # last Tuesday after it
    assert monthly_expiry(2026, 3, "in") == date(2026, 3, 30)  # 03-31 is a holiday
    assert monthly_expiry(2026, 1, "in") == date(2026, 1, 27)
    assert monthly_expiry(2029, 12, "in") == date(2029, 12, 24)  # Christmas, past XBOM's years
    assert previous_session(date(2026, 1, 15), "in") == date(2026, 1, 14)  # README: a holiday
    assert weekly_expiries(date(2026, 2, 25), date(2026, 3, 10), "in") == [
        date(2026, 3, 2),  # Holi on Tuesday 03-03
        date(2026, 3, 10),
    ]
    assert monthly_expiries(date(2026, 2, 25), "in", count=2) == [
        date(2026, 3, 30),
        date(2026, 4, 28),
    ]


def test_us_third_fridays_real(shared_data: Path) -> None:
    am: set[date] = set()
    for path in sorted((shared_data / "us/options/spx_2019").glob("*.csv.gz")):
        raw = pd.read_csv(path, usecols=["optionroot", "expiration"])
        raw = raw[raw["optionroot"].str.match(r"^SPX\d")]  # AM-settled standard monthlies
        am |= set(pd.to_datetime(raw["expiration"], format="%m/%d/%Y").dt.date)
    assert len(am) >= 10 and all(is_monthly(e, "us") for e in am)
    assert monthly_expiry(2019, 4, "us") == date(2019, 4, 18)  # Good Friday 2019-04-19
    with pytest.raises(ConfigError, match="weekly expiries exist only where listed"):
        weekly_expiries(date(2019, 4, 1), date(2019, 5, 1), "us")
