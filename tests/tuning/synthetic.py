"""A cheap, deterministic stand-in strategy for tuning tests (picklable for worker processes).

A seeded random-walk market; the strategy is long while the close is above its simple moving
average of ``sma_days`` days, flat after a ``stop_loss`` fall from the high since entry or a
``take_profit`` rise above the entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.tuning.objective import WalkForwardObjective, make_folds
from quantalloc.tuning.spaces import get_space

_DATES = pd.bdate_range("2015-01-01", "2020-12-31", name="date")
_RET = pd.Series(
    np.random.default_rng(42).normal(0.0003, 0.011, len(_DATES)), index=_DATES, name="market"
)
_CLOSE = 100 * (1 + _RET).cumprod()


def sma_strategy(params: Mapping[str, Any], start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Daily returns of the SMA/stop rule between ``start`` and ``end`` (with warm-up before)."""
    n = int(params["sma_days"])
    stop = float(params["stop_loss"])
    target = float(params.get("take_profit", 0.0))
    close = _CLOSE.loc[: pd.Timestamp(end)]
    above = (close > close.rolling(n).mean()).to_numpy()
    c = close.to_numpy()
    pos = np.zeros(len(c))
    high = entry = 0.0
    for i in range(len(c)):
        held = pos[i - 1] if i else 0.0
        if held:
            high = max(high, c[i])
            hit = target > 0 and c[i] > entry * (1 + target)
            pos[i] = 0.0 if (c[i] < high * (1 - stop) or not above[i] or hit) else 1.0
        elif above[i]:
            pos[i], high, entry = 1.0, c[i], c[i]
    strat = pd.Series(np.r_[0.0, pos[:-1]] * _RET.loc[close.index].to_numpy(), index=close.index)
    return strat.loc[pd.Timestamp(start) :]


@dataclass(frozen=True)
class SyntheticObjective:
    """Builds the walk-forward objective over the synthetic market (used by worker processes)."""

    start: str = "2016-01-01"
    end: str = "2020-12-31"
    n_folds: int = 3
    metric: str = "sharpe"

    def __call__(self) -> WalkForwardObjective:
        return WalkForwardObjective(
            evaluate=sma_strategy,
            space=get_space("momentum"),
            folds=make_folds(self.start, self.end, self.n_folds),
            metric=self.metric,
        )
