"""Option expiry calendars, for when no chain lists the expiries.

NSE (``in``): monthly stock and index options expire on the last Tuesday of the month for
contracts expiring from September 2025 on, and on the last Thursday before that; index
weeklies (NIFTY) on every such weekday. When that day is an exchange holiday the contract
expires on the previous session (2026-03-31 -> 2026-03-30).

US (``us``): monthly options expire on the third Friday, or on the previous session when that
Friday is a holiday (Good Friday 2019-04-19 -> 2019-04-18); weeklies exist only where listed,
so they come from a chain, not from here.

Exchange sessions come from ``exchange_calendars`` (XBOM for NSE, whose holidays NSE shares;
XNYS for the US); it is imported only when a calendar is first needed, and the sessions it
gives are kept on disk (:mod:`quantalloc.data.memo`), so a later run neither imports it nor
builds the calendar. Past the last year a
calendar records (XBOM: one year ahead), weekdays are sessions except NSE's fixed-date
holidays (26 January, 1 May, 15 August, 2 October, 25 December).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.data import memo
from quantalloc.errors import ConfigError

NSE_TUESDAY_FROM = date(2025, 9, 1)
"""NSE contracts expiring on or after this date expire on Tuesdays (Thursdays before)."""

_CALENDARS = {"in": "XBOM", "us": "XNYS"}
_FIXED_HOLIDAYS = {"in": {(1, 26), (5, 1), (8, 15), (10, 2), (12, 25)}, "us": {(1, 1), (12, 25)}}


@lru_cache(maxsize=4)
def _calendar(market: str) -> Any:
    import exchange_calendars as xc

    try:
        code = _CALENDARS[market]
    except KeyError:
        raise ConfigError(f"no exchange calendar for market {market!r}; use in or us") from None
    try:
        return xc.get_calendar(code, start=CALENDAR_START, end=CALENDAR_END)
    except ValueError:  # holidays recorded only a year or so ahead
        return xc.get_calendar(code, start=CALENDAR_START)


CALENDAR_START, CALENDAR_END = "2000-01-01", "2035-12-31"


@lru_cache(maxsize=4)
def _sessions(market: str) -> np.ndarray:
    """The exchange's sessions from :data:`CALENDAR_START` to the last one its calendar records,
    as sorted ``datetime64[D]``; kept on disk (:mod:`quantalloc.data.memo`) because building
    the calendar costs ~0.6 s (import and holiday rules). The key holds the calendar, its range
    and exchange_calendars' and pandas' versions; a calendar whose holidays are recorded only
    to a year (the fallback of :func:`_calendar`, whose end moves with today) also holds
    today's date."""
    if market not in _CALENDARS:
        _calendar(market)  # the ConfigError naming the market
    versions = memo.versions("exchange_calendars", "pandas")
    spec = f"exchange sessions v1|{_CALENDARS[market]}|{CALENDAR_START}"
    full = memo.key(spec, CALENDAR_END, versions)
    short = memo.key(spec, "recorded", date.today().isoformat(), versions)
    for digest in (full, short):
        kept = memo.load_arrays("calendars", digest)
        if kept is not None and kept.get("sessions", np.empty(0)).dtype == "M8[D]":
            return kept["sessions"]
    cal = _calendar(market)
    sessions = np.asarray(pd.DatetimeIndex(cal.sessions).to_numpy().astype("M8[D]"))
    digest = full if cal.last_session >= pd.Timestamp(CALENDAR_END) else short
    memo.store_arrays("calendars", digest, {"sessions": sessions})
    return sessions


def is_session(day: date, market: str) -> bool:
    """True when the market's exchange is open on ``day``."""
    sessions = _sessions(market)
    stamp = np.datetime64(day, "D")
    if stamp < sessions[0]:  # before the recorded range: the calendar's own answer (or error)
        return bool(_calendar(market).is_session(pd.Timestamp(day)))
    if stamp <= sessions[-1]:
        i = int(np.searchsorted(sessions, stamp))
        return bool(sessions[i] == stamp)
    return day.weekday() < 5 and (day.month, day.day) not in _FIXED_HOLIDAYS[market]


def previous_session(day: date, market: str) -> date:
    """``day`` if it is a session, else the latest session before it."""
    while not is_session(day, market):
        day -= timedelta(days=1)
    return day


def expiry_weekday(day: date, market: str) -> int:
    """The weekday (Monday 0) options of ``market`` expire on around ``day``."""
    if market == "in":
        return 1 if day >= NSE_TUESDAY_FROM else 3
    if market == "us":
        return 4
    raise ConfigError(f"no expiry calendar for market {market!r}; use in or us")


def monthly_expiry(year: int, month: int, market: str) -> date:
    """The monthly option expiry of ``year``-``month`` (see the module notes)."""
    if market == "us":
        first = date(year, month, 1)
        friday = first + timedelta(days=(4 - first.weekday()) % 7 + 14)
        return previous_session(friday, market)
    last = date(year, month, calendar.monthrange(year, month)[1])
    weekday = expiry_weekday(last, market)
    nominal = last - timedelta(days=(last.weekday() - weekday) % 7)
    if weekday == 1 and nominal < NSE_TUESDAY_FROM:  # the month straddling the switch
        nominal = last - timedelta(days=(last.weekday() - 3) % 7)
    return previous_session(nominal, market)


def monthly_expiries(as_of: date, market: str, count: int = 6) -> list[date]:
    """The next ``count`` monthly expiries on or after ``as_of``."""
    out: list[date] = []
    year, month = as_of.year, as_of.month
    while len(out) < count:
        exp = monthly_expiry(year, month, market)
        if exp >= as_of:
            out.append(exp)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def weekly_expiries(as_of: date, until: date, market: str) -> list[date]:
    """Index weekly expiries from ``as_of`` to ``until`` (NSE only; US weeklies come from a
    chain)."""
    if market != "in":
        raise ConfigError(
            "US weekly expiries exist only where listed; read them from `chains`",
            params="chains",
        )
    out: list[date] = []
    day = as_of
    while day <= until:
        if day.weekday() == expiry_weekday(day, market):
            exp = previous_session(day, market)
            if exp >= as_of and (not out or exp != out[-1]):
                out.append(exp)
        day += timedelta(days=1)
    return out


def is_monthly(expiry: date, market: str) -> bool:
    """True when ``expiry`` is the monthly expiry of its month."""
    return monthly_expiry(expiry.year, expiry.month, market) == expiry


__all__ = [
    "NSE_TUESDAY_FROM",
    "expiry_weekday",
    "is_monthly",
    "is_session",
    "monthly_expiries",
    "monthly_expiry",
    "previous_session",
    "weekly_expiries",
]
