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
    ``probabilities`` weighs the scenarios (non-negative, summing to 1; the engine's
    ``Candidates(probabilities=...)``); None means equally likely.
    """

    table: pd.DataFrame
    legs: list[list[dict[str, object]]]
    pnl: np.ndarray
    horizon_days: int
    prices: np.ndarray | None = None
    """Each symbol's price in each scenario at the horizon (scenarios x symbols, in the order of
    the solve's symbols), for books beside the candidates (holdings)."""
    horizon_years: float = 0.0
    probabilities: np.ndarray | None = None
    """Scenario probabilities (calibrated, then tilted by the views); None: equal."""
    edge: pd.DataFrame | None = None
    """Per kept candidate, its expected return per unit of capital by source (``market``, each
    view's name, ``spread``, ``fees``); each row sums to the candidate's expected return."""
    views: tuple[str, ...] = ()
    """The views applied, in order (name, and how a conflict with the state was combined)."""

    def expectation(self, values: np.ndarray) -> np.ndarray:
        """The probability-weighted mean over scenarios (axis 0) of ``values``."""
        if self.probabilities is None:
            return np.asarray(values.mean(axis=0))
        return np.asarray(np.tensordot(self.probabilities, values, axes=(0, 0)))


@dataclass(frozen=True)
class Targets:
    """Target shares of the budget: per industry and, for the advanced model, per cap bucket."""

    industry: dict[str, float]
    market_cap: dict[str, float]
    long_short: tuple[float, float] | None = None
    """Caps on LONG and SHORT capital (shares of the budget) from the direction score."""
    blocked: tuple[str, ...] = ()
    """Candidates (by engine name) kept at 0 lots: they would buy stock the holdings provide."""
    losing: tuple[str, ...] = ()
    """Candidates (by engine name) kept at 0 lots: their expected P&L over the scenarios is
    below zero, and no rule forces them (the negative-edge rule)."""
    vega_offset: float = 0.0
    """Vega already in the book (held options, covered calls on held shares), per vol point."""


__all__ = ["CandidateSet", "ScenarioBook", "Targets"]
