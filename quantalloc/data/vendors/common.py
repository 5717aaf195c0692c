"""What every vendor adapter shares: credentials, intervals, sessions and the rate-limit pacer."""

from __future__ import annotations

import importlib
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time as clock_time
from types import ModuleType
from typing import Any, ClassVar, TypeVar

import pandas as pd

from quantalloc.data.vendors.errors import (
    CredentialsError,
    RateLimited,
    RateLimitError,
    VendorUnavailableError,
)
from quantalloc.errors import ConfigError
from quantalloc.markets import MarketProfile, get_market

T = TypeVar("T")


# ---- credentials -----------------------------------------------------------------------------


def default_env() -> dict[str, str]:
    """The process environment over the values of the nearest ``.env`` file (if any)."""
    from dotenv import dotenv_values, find_dotenv

    found = find_dotenv(usecwd=True)
    values = {k: v for k, v in dotenv_values(found).items() if v is not None} if found else {}
    values.update(os.environ)
    return values


def require_env(
    env: Mapping[str, str] | None, names: tuple[str, ...], vendor: str, how: str
) -> dict[str, str]:
    """The values of ``names`` in ``env`` (default: :func:`default_env`); a CredentialsError
    naming the missing variables (never a value) and how to get them."""
    source = default_env() if env is None else env
    found = {n: str(source.get(n, "")).strip() for n in names}
    missing = [n for n, v in found.items() if not v]
    if missing:
        raise CredentialsError(
            f"{vendor} needs {' and '.join(missing)}; set "
            f"{'it' if len(missing) == 1 else 'them'} in the environment or a .env file ({how})",
            vendor=vendor,
        )
    return found


def client_library(vendor: str, *modules: str) -> ModuleType:
    """The first of ``modules`` (a vendor's client library, by its import names) that imports;
    a VendorUnavailableError saying how to install it when none does."""
    for name in modules:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise VendorUnavailableError(
        f"{vendor} needs its client library; install it with pip install 'quantalloc[vendors]'",
        vendor=vendor,
    )


def scrub(text: str, secrets: Mapping[str, str] | None) -> str:
    """``text`` with every secret value replaced by ``***`` (vendors sometimes echo a token)."""
    out = str(text)
    for value in (secrets or {}).values():
        if value and len(value) >= 4:
            out = out.replace(value, "***")
    return out


def one_line(text: object, limit: int = 200) -> str:
    """A vendor's message on one line, at most ``limit`` characters."""
    flat = re.sub(r"\s+", " ", str(text)).strip()
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


# ---- intervals -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """A bar size: ``minutes`` = 0 for daily bars."""

    minutes: int

    @property
    def daily(self) -> bool:
        return self.minutes == 0

    @property
    def label(self) -> str:
        """``1d``, ``5m``, ``60m``: the spelling used in source names and cache files."""
        return "1d" if self.daily else f"{self.minutes}m"


_INTERVAL = re.compile(r"^(\d+)\s*(m|min|mins|minute|minutes|h|hour|hours|d|day|days)$")


def parse_interval(text: str | None) -> Interval:
    """``1d``/``day``/``daily`` or ``Nm``/``Nmin``/``Nh``; a ConfigError otherwise."""
    raw = (text or "1d").strip().lower()
    if raw in ("d", "day", "daily", "1d", "eod"):
        return Interval(0)
    match = _INTERVAL.match(raw)
    if match is None:
        raise ConfigError(
            f"interval {text!r} is not a bar size; use 1d for daily bars or Nm for N-minute "
            "bars (e.g. 5m)"
        )
    count, unit = int(match.group(1)), match.group(2)
    if unit.startswith("d"):
        if count != 1:
            raise ConfigError(f"interval {text!r}: only 1d daily bars are served; use 1d")
        return Interval(0)
    minutes = count * (60 if unit.startswith("h") else 1)
    if minutes <= 0:
        raise ConfigError(f"interval {text!r} must be at least 1 minute")
    return Interval(minutes)


def check_interval(interval: Interval, allowed: tuple[int, ...] | None, vendor: str) -> None:
    """A ConfigError when ``vendor`` has no bars of ``interval`` (``allowed`` None: any)."""
    if interval.daily or allowed is None or interval.minutes in allowed:
        return
    sizes = ", ".join(f"{m}m" for m in allowed)
    raise ConfigError(
        f"{vendor} serves intraday bars of {sizes} only, not {interval.label}; pick one of them"
    )


# ---- sessions --------------------------------------------------------------------------------

SESSION_HOURS: dict[str, tuple[clock_time, clock_time]] = {
    "in": (clock_time(9, 15), clock_time(15, 30)),
    "us": (clock_time(9, 30), clock_time(16, 0)),
}
"""Regular session of each market, in its exchange's local time."""

EXCHANGE: dict[str, str] = {"in": "NSE", "us": "the US exchanges"}


def utc_now() -> pd.Timestamp:
    """The clock, as an aware UTC timestamp (sources take another clock in tests)."""
    return pd.Timestamp.now(tz="UTC")


def local_now(timezone: str, now: pd.Timestamp | None = None) -> pd.Timestamp:
    """``now`` (default: the clock) as tz-naive wall time in ``timezone``."""
    stamp = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert(timezone).tz_localize(None)


def last_session(local: pd.Timestamp, market: str) -> pd.Timestamp:
    """The latest weekday whose session had opened by the wall time ``local`` (holidays are
    not known here; a vendor's quote time settles them)."""
    opens = SESSION_HOURS[market][0]
    day = local.normalize()
    if local.time() < opens:
        day -= pd.Timedelta(days=1)
    while day.weekday() >= 5:
        day -= pd.Timedelta(days=1)
    return day


def all_closed(start: pd.Timestamp, end: pd.Timestamp) -> bool:
    """True when every day of [start, end] is a Saturday or a Sunday."""
    days = pd.date_range(start.normalize(), end.normalize(), freq="D")
    return len(days) > 0 and all(d.weekday() >= 5 for d in days)


# ---- pacing and retries ----------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimit:
    """A vendor's stated limit: ``calls`` per ``seconds``, and where it is stated."""

    calls: int
    seconds: float
    text: str

    @property
    def spacing(self) -> float:
        """The least time between two calls that keeps inside the limit."""
        return self.seconds / self.calls


@dataclass
class Pacer:
    """Keep calls to one endpoint inside its stated limit, and retry "too many requests".

    Calls are spaced by at least ``limit.spacing``; a :class:`RateLimited` answer is retried
    after ``spacing * 2**k`` seconds (k = 1, 2, ...; at least the vendor's ``Retry-After``,
    at most ``max_delay``), up to ``attempts`` calls in all, then a RateLimitError says what
    was tried. ``sleep`` and ``clock`` are injectable, so tests run without waiting.
    """

    vendor: str
    limit: RateLimit
    attempts: int = 5
    max_delay: float = 60.0
    sleep: Callable[[float], None] = field(default=lambda seconds: time.sleep(seconds))
    clock: Callable[[], float] = time.monotonic
    _last: float | None = field(default=None, repr=False)

    def backoff(self, attempt: int, asked: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        delay = min(self.limit.spacing * 2.0**attempt, self.max_delay)
        return max(delay, asked or 0.0, self.limit.spacing)

    def _space(self) -> None:
        if self._last is not None:
            wait = self._last + self.limit.spacing - self.clock()
            if wait > 0:
                self.sleep(wait)
        self._last = self.clock()

    def call(self, fn: Callable[[], T], what: str) -> T:
        """``fn()`` paced and retried; ``what`` names the request in the final error."""
        waited = 0.0
        detail = ""
        for attempt in range(1, self.attempts + 1):
            if attempt == 1:
                self._space()  # a retry follows a backoff at least as long as the spacing
            try:
                return fn()
            except RateLimited as exc:
                detail = exc.detail
                if attempt == self.attempts:
                    break
                delay = self.backoff(attempt, exc.retry_after)
                self.sleep(delay)
                waited += delay
                self._last = self.clock()
        raise RateLimitError(
            f"{self.vendor} rate limit: {what} was refused as too many requests {self.attempts} "
            f"times over {waited:.1f} s of backoff ({one_line(detail, 80)}; the stated limit is "
            f"{self.limit.text}); wait a minute and retry, or use the cached data",
            vendor=self.vendor,
        )


# ---- the access every adapter shares ---------------------------------------------------------


class VendorAccess:
    """Who a vendor is, which markets it serves, and its client made on first use.

    The base of both :class:`~quantalloc.data.vendors.bars.VendorBars` and
    :class:`~quantalloc.data.vendors.chains.VendorChains`; a vendor module declares its
    identity once, in a subclass of this, and mixes it into its bars and chains classes.
    """

    vendor: ClassVar[str] = ""
    env_vars: ClassVar[tuple[str, ...]] = ()
    credentials_hint: ClassVar[str] = ""
    markets: ClassVar[tuple[str, ...]] = ("in", "us")
    rate_limit: ClassVar[RateLimit] = RateLimit(1, 1.0, "1 request per second")

    _refusal: ClassVar[tuple[str, str, tuple[str, ...]]] = ("serves the", "pick another source", ())
    """What a market this vendor does not serve is told: the verb phrase, the fix
    (``{market}`` stands for the market asked for), and the parameters it names."""

    def __init__(
        self,
        market: str | None,
        *,
        env: Mapping[str, str] | None,
        client: Any,
        sleep: Callable[[float], None] | None,
        clock: Callable[[], pd.Timestamp] | None,
    ) -> None:
        self.market: MarketProfile = get_market(market)
        if self.market.name not in self.markets:
            serves, fix, params = self._refusal
            raise ConfigError(
                f"{self.vendor} {serves} {', '.join(self.markets)} market only, "
                f"not {self.market.name!r}; {fix.format(market=self.market.name)}",
                params=params,
            )
        self._env = env
        self._client = client
        self._secrets: dict[str, str] = {}
        self.pacer = Pacer(self.vendor, self._limit())
        if sleep is not None:
            self.pacer.sleep = sleep
        self._clock = clock or utc_now

    def _limit(self) -> RateLimit:
        """The limit the pacer keeps (a vendor may read it from the environment)."""
        return self.rate_limit

    def _connect(self, credentials: dict[str, str]) -> Any:
        """The vendor's client, built from ``credentials`` (the values of ``env_vars``)."""
        raise NotImplementedError

    def client(self) -> Any:
        """The vendor's client, made on first use (credentials are read only then)."""
        if self._client is None:
            hint = self.credentials_hint
            self._secrets = require_env(self._env, self.env_vars, self.vendor, hint)
            self._client = self._connect(self._secrets)
        return self._client


__all__ = [
    "EXCHANGE",
    "SESSION_HOURS",
    "Interval",
    "Pacer",
    "RateLimit",
    "VendorAccess",
    "all_closed",
    "check_interval",
    "client_library",
    "default_env",
    "last_session",
    "local_now",
    "one_line",
    "parse_interval",
    "require_env",
    "scrub",
    "utc_now",
]
