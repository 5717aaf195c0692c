"""What every backtest runs over: a price source, a date window and a starting capital.

The registry builds one :class:`BacktestWindow` per run from the caller's values and every
strategy module takes it (``run(window, params)``, ``run_batch(window, sets)``), so the checks
on capital and dates live here once. Loading prices (a module's ``prepare``) needs no capital
and takes the source and dates alone, as the live traders call it on their bar books.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from quantalloc.data.base import DateLike, PriceProvider
from quantalloc.errors import ConfigError


@dataclass(frozen=True, init=False)
class BacktestWindow:
    """``provider``'s prices from ``start`` to ``end`` (inclusive; None: the source's first or
    last bar), traded from ``capital``.

    Built from any date-like values; raises :class:`~quantalloc.errors.ConfigError` for a
    capital that is not a positive number, a value that is not a date, or ``start`` after
    ``end``.
    """

    provider: PriceProvider
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    capital: float

    def __init__(
        self,
        provider: PriceProvider,
        start: DateLike | None,
        end: DateLike | None,
        capital: float,
    ) -> None:
        if not (isinstance(capital, int | float) and capital > 0):
            raise ConfigError(f"capital must be a positive number, got {capital!r}")
        first, last = _date(start, "start"), _date(end, "end")
        if first is not None and last is not None and first > last:
            raise ConfigError(f"start {first.date()} is after end {last.date()}; swap them")
        object.__setattr__(self, "provider", provider)
        object.__setattr__(self, "start", first)
        object.__setattr__(self, "end", last)
        object.__setattr__(self, "capital", float(capital))


def _date(value: DateLike | None, name: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        out = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} date {value!r} is not a date; write YYYY-MM-DD") from None
    if out is pd.NaT:
        raise ConfigError(f"{name} date {value!r} is not a date; write YYYY-MM-DD")
    return out
