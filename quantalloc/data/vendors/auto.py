"""``auto``: try sources in a stated order, per symbol, and say which one served.

The order per market is :data:`quantalloc.data.vendors.AUTO_ORDER` (India: Dhan, Upstox,
Yahoo; US: Polygon, IB, Yahoo), keeping the vendors whose credentials are set; an explicit
list such as ``--data dhan,yahoo`` (or ``$QUANTALLOC_DATA``) states its own order. A source
that fails with a DataError (a vendor error: missing or expired credentials, rate limits
past every retry, an unknown symbol, no connection) hands the symbol to the next one; a
ConfigError (a bad date or interval) stops at once, since every source would refuse it.
:attr:`AutoPrices.served` maps each symbol to the source that served it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from quantalloc.data.base import DateLike
from quantalloc.data.vendors import (
    AUTO_ORDER,
    VENDORS,
    configured,
    split_source,
)
from quantalloc.errors import ConfigError, DataError

log = logging.getLogger(__name__)

KNOWN = (*VENDORS, "yahoo")


def auto_order(market: str, env: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """The sources ``auto`` tries in ``market`` and, for each vendor left out, why."""
    order, skipped = [], {}
    for name in AUTO_ORDER[market]:
        if name == "yahoo" or configured(name, env):
            order.append(name)
        else:
            skipped[name] = "credentials not set"
    return order, skipped


def parse_order(text: str) -> list[str]:
    """``dhan,yahoo`` -> [``dhan``, ``yahoo``]; a ConfigError names an unknown member."""
    names = [p.strip().lower() for p in text.split(",") if p.strip()]
    for name in names:
        if split_source(name)[0] not in KNOWN:
            raise ConfigError(
                f"unknown source {name!r} in the list {text!r}; list some of "
                f"{', '.join(KNOWN)} in the order to try them (e.g. dhan,yahoo)"
            )
    if len(names) < 2:
        raise ConfigError(f"source list {text!r} needs at least two sources, e.g. dhan,yahoo")
    return names


class _Ordered:
    """Members tried in order; records what served each symbol and why others did not."""

    def __init__(self, members: list[tuple[str, Any]], skipped: Mapping[str, str]) -> None:
        self.members = members
        self.order = [name for name, _ in members]
        self.skipped = dict(skipped)
        self.name = "auto(" + " > ".join(self.order) + ")"
        self.served: dict[str, str] = {}
        self.failures: dict[str, list[str]] = {}

    def source_of(self, symbol: str) -> str | None:
        """The source that served ``symbol`` last (None before it was asked for)."""
        return self.served.get(symbol.strip().upper())

    def _first(self, symbol: str, ask: Any) -> Any:
        key = symbol.strip().upper()
        failures: list[str] = []
        for name, member in self.members:
            try:
                result = ask(member)
            except ConfigError:
                raise
            except DataError as exc:
                failures.append(f"{name}: {exc}")
                log.info("auto: %s could not serve %s (%s)", name, key, exc)
                continue
            self.served[key] = name
            self.failures[key] = failures
            if failures:
                log.warning("auto: %s served by %s after %s", key, name, "; ".join(failures))
            return result
        self.failures[key] = failures
        raise DataError(
            f"{symbol}: no source served it (tried {' then '.join(self.order)}): "
            + "; ".join(failures)
        )


class AutoPrices(_Ordered):
    """A price provider over several sources tried in order (see the module notes)."""

    synthetic = False

    def history(
        self, symbol: str, start: DateLike | None = None, end: DateLike | None = None
    ) -> pd.DataFrame:
        frame: pd.DataFrame = self._first(symbol, lambda p: p.history(symbol, start, end))
        return frame

    def symbols(self) -> list[str]:
        out: set[str] = set()
        for _, member in self.members:
            out.update(member.symbols())
        return sorted(out)


class AutoChains(_Ordered):
    """A chain source over several sources tried in order (see the module notes)."""

    def sessions(self) -> list[pd.Timestamp]:
        out: set[pd.Timestamp] = set()
        for _, member in self.members:
            out.update(member.sessions())
        return sorted(out)

    def symbols(self, as_of: DateLike) -> list[str]:
        out: set[str] = set()
        for _, member in self.members:
            try:
                out.update(member.symbols(as_of))
            except DataError:
                continue
        return sorted(out)

    def chain(self, symbol: str, as_of: DateLike | None = None) -> Any:
        return self._first(symbol, lambda c: c.chain(symbol, as_of))


__all__ = ["AutoChains", "AutoPrices", "auto_order", "parse_order"]
