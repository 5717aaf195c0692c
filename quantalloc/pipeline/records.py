"""The typed records one solve step hands to the next (no string-keyed dicts, no bare tuples)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from quantalloc.pipeline.contracts import PricedContracts


@dataclass(frozen=True)
class CandidateSet:
    """The priced candidates (with industry, sector, market cap, direction, ATM vol) and which
    of them pass the risk profile's and the market state's filters."""

    priced: PricedContracts
    keep: np.ndarray
    notes: tuple[str, ...]
    rejected: tuple[str, ...] = ()
    """Per candidate, the first filter it failed ("" when it passed them all)."""

    @property
    def n_built(self) -> int:
        """Candidates built before the filters."""
        return len(self.priced.table)


@dataclass(frozen=True)
class ScenarioBook:
    """The kept candidates and their P&L per lot in every joint scenario at the horizon.

    ``table`` has one row per kept candidate (its ``max_loss`` raised to the worst scenario for
    unbounded-loss strategies, and its ``expected_pnl``); ``pnl`` is scenarios x candidates.
    """

    table: pd.DataFrame
    legs: list[list[dict[str, object]]]
    pnl: np.ndarray
    horizon_days: int
    probabilities: np.ndarray | None = None
    """Scenario probabilities (calibrated, then tilted by the views); None: equal."""
    edge: pd.DataFrame | None = None
    """Per kept candidate, its expected return per unit of capital by source (``market``, each
    view's name, ``spread``, ``fees``); each row sums to the candidate's expected return."""
    views: tuple[str, ...] = ()
    """The views applied, in order (name, and how a conflict with the state was combined)."""

    @property
    def p(self) -> np.ndarray:
        """The scenario probabilities (equal when none were set)."""
        if self.probabilities is None:
            return np.full(self.pnl.shape[0], 1.0 / self.pnl.shape[0])
        return self.probabilities


@dataclass(frozen=True)
class Targets:
    """Target shares of the budget: per industry and, for the advanced model, per cap bucket."""

    industry: dict[str, float]
    market_cap: dict[str, float]


__all__ = ["CandidateSet", "ScenarioBook", "Targets"]
