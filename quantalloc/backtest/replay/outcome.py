"""A replay's result: its main pass, the optional proxy re-pricing beside it, and the timings.

Every replay on chains (the allocator's, the wheel's) ends the same way: when asked, the
positions the main pass opened are opened again on the same sessions and priced by the model
(:class:`ScriptedDecider`, ``reprice_entries``), the two books are compared
(:func:`~quantalloc.backtest.replay.compare.compare_runs`), and the trades, equity, notes,
sections and wall-clock timings become one :class:`~quantalloc.backtest.result.BacktestResult`
(:func:`replay_result`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pandas as pd

from quantalloc.backtest.replay.book import Position
from quantalloc.backtest.replay.compare import compare_runs
from quantalloc.backtest.replay.loop import ExitRules, ReplayRun, run_loop
from quantalloc.backtest.replay.pricing import Pricer
from quantalloc.backtest.result import BacktestResult, empty_trades, make_result


class ScriptedDecider:
    """Opens, on the same sessions, the positions another pass opened (the proxy re-pricing)."""

    def __init__(self, opened: dict[pd.Timestamp, list[Position]]) -> None:
        self.opened = opened

    def due(self, i: int, day: pd.Timestamp, open_positions: list[Position]) -> bool:
        """On the sessions the other pass opened positions."""
        return day in self.opened

    def decide(self, i: int, day: pd.Timestamp, free: float) -> list[Position] | None:
        """The other pass's positions of ``day``, not yet filled."""
        return [pos.fresh() for pos in self.opened[day]]


@dataclass(frozen=True)
class ProxyPass:
    """How to re-price a main pass by the model: the sessions, the model-only pricer, the rules."""

    days: pd.DatetimeIndex
    pricer: Pricer
    rules: ExitRules


def replay_result(
    name: str,
    params: dict[str, Any],
    capital: float,
    main: ReplayRun,
    *,
    sections: dict[str, Any],
    notes: list[str],
    proxy: ProxyPass | None = None,
) -> BacktestResult:
    """The result of ``main`` with ``sections`` and ``notes``; with ``proxy``, the positions of
    ``main`` re-priced by the model and compared (``sections["comparison"]``)."""
    sections = dict(sections)
    seconds = main.seconds
    if proxy is not None:
        scripted = ScriptedDecider(main.opened)
        again = run_loop(proxy.days, capital, proxy.pricer, scripted, proxy.rules,
                         reprice_entries=True)  # fmt: skip
        sections["comparison"] = compare_runs(
            main.equity, again.equity, main.trades, again.trades, capital
        )
        seconds += again.seconds
    frame = pd.DataFrame(main.trades) if main.trades else empty_trades()
    per = max(main.rebalances, 1)
    timings = {
        "seconds": round(seconds, 3),
        "rebalances": main.rebalances,
        "seconds_per_rebalance": round(main.seconds / per, 3),
        "solve_seconds_per_rebalance": round(main.decide_seconds / per, 3),
    }
    result = make_result(name, params, capital, main.equity, frame, main.in_position,
                         notes=tuple(notes), open_at_close=main.open_at_close)  # fmt: skip
    return dataclasses.replace(result, timings=timings, sections=sections)


__all__ = ["ProxyPass", "ScriptedDecider", "replay_result"]
