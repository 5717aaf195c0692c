"""The input of an allocation: candidates (columns) with scenario returns, attributes and labels.

Units. A weight ``w_i`` is the fraction of *capital* put into candidate ``i``. Scenario returns are
net returns per unit of capital put in, so wealth after scenario ``s`` is ``1 + sum_i r_si w_i``.
Attributes (delta, vega, theta, max_loss, ...) are per unit of currency put in, so the portfolio's
exposure in currency is ``capital * sum_i a_i w_i``: an option strategy with vega ``v`` per lot and
cost ``c`` per lot has attribute ``v / c``. ``lot_cost`` is the capital one lot ties up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.errors import DataError


def _frame(value: Any, what: str) -> pd.DataFrame:
    if isinstance(value, pd.DataFrame):
        return value
    try:
        return pd.DataFrame(value)
    except Exception as exc:
        raise DataError(
            f"{what} must be a table (DataFrame or 2-D array); got {type(value).__name__}"
        ) from exc


@dataclass(frozen=True, eq=False, kw_only=True)
class Candidates:
    """Candidates to allocate among, with everything the engine needs to know about them.

    Parameters
    ----------
    returns
        Scenario net returns, scenarios x candidates (columns name the candidates).
    probabilities
        Scenario probabilities (sum to 1); uniform when omitted.
    attributes
        Numeric attributes per candidate (rows indexed like the columns of ``returns``), per unit of
        currency invested: ``delta``, ``vega``, ``theta``, ``gamma``, ``max_loss``, ``score``, ...
    groups
        Labels per candidate (rows indexed like the columns of ``returns``): ``symbol``,
        ``strategy``, ``industry``, ``sector``, ``market_cap``, ``position_type``, boolean flags.
    lot_cost
        Capital tied up by one lot of each candidate (needed only to round to whole lots).
    """

    returns: pd.DataFrame
    probabilities: np.ndarray | None = None
    attributes: pd.DataFrame | None = None
    groups: pd.DataFrame | None = None
    lot_cost: pd.Series | None = None
    _p: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        returns = _frame(self.returns, "returns").astype(float)
        if returns.shape[1] == 0 or returns.shape[0] == 0:
            raise DataError(
                "returns must have at least one scenario and one candidate; "
                f"got shape {returns.shape}"
            )
        returns.columns = pd.Index([str(c) for c in returns.columns])
        if returns.columns.has_duplicates:
            dup = returns.columns[returns.columns.duplicated()].tolist()[:3]
            raise DataError(f"candidate names must be unique; repeated: {dup}")
        values = returns.to_numpy()
        if not np.isfinite(values).all():
            bad = returns.columns[~np.isfinite(values).all(axis=0)].tolist()[:3]
            raise DataError(f"scenario returns must be finite; NaN or inf in candidates {bad}")
        object.__setattr__(self, "returns", returns)
        names = returns.columns
        n_scen = returns.shape[0]
        if self.probabilities is None:
            p = np.full(n_scen, 1.0 / n_scen)
        else:
            p = np.asarray(self.probabilities, dtype=float).ravel()
            if p.shape != (n_scen,):
                raise DataError(
                    f"probabilities must have one value per scenario ({n_scen}); got {p.shape[0]}"
                )
            if not np.isfinite(p).all() or (p < 0).any():
                raise DataError("probabilities must be finite and >= 0; fix the scenario weights")
            total = p.sum()
            if abs(total - 1.0) > 1e-6:
                raise DataError(
                    f"probabilities sum to {total:.6g}, not 1; normalise them (p / p.sum())"
                )
            p = p / total
        object.__setattr__(self, "_p", p)
        for attr in ("attributes", "groups"):
            table = getattr(self, attr)
            if table is None:
                continue
            table = _frame(table, attr).copy()
            table.index = pd.Index([str(i) for i in table.index])
            missing = names.difference(table.index)
            if len(missing):
                raise DataError(
                    f"{attr} has no row for candidates {missing.tolist()[:3]}; give one row per "
                    "candidate (index = candidate names)"
                )
            table = table.loc[names]
            if attr == "attributes":
                try:
                    table = table.astype(float)
                except (TypeError, ValueError) as exc:
                    raise DataError(f"attributes must be numeric: {exc}") from exc
                if not np.isfinite(table.to_numpy()).all():
                    raise DataError("attributes must be finite; NaN or inf found")
            object.__setattr__(self, attr, table)
        if self.lot_cost is not None:
            cost = pd.Series(self.lot_cost, dtype=float)
            cost.index = pd.Index([str(i) for i in cost.index])
            missing = names.difference(cost.index)
            if len(missing):
                raise DataError(f"lot_cost has no value for candidates {missing.tolist()[:3]}")
            cost = cost.loc[names]
            if not np.isfinite(cost.to_numpy()).all() or (cost <= 0).any():
                raise DataError("lot_cost must be finite and > 0 for every candidate")
            object.__setattr__(self, "lot_cost", cost)

    @property
    def names(self) -> pd.Index:
        """Candidate names, in column order."""
        return self.returns.columns

    @property
    def n_candidates(self) -> int:
        return int(self.returns.shape[1])

    @property
    def n_scenarios(self) -> int:
        return int(self.returns.shape[0])

    @property
    def p(self) -> np.ndarray:
        """Scenario probabilities (normalised)."""
        return self._p

    @property
    def r(self) -> np.ndarray:
        """Scenario returns as a float array, scenarios x candidates."""
        return self.returns.to_numpy()

    def attribute(self, name: str) -> np.ndarray:
        """One attribute as an array in candidate order; DataError naming the known ones."""
        return _column(self.attributes, name, "attribute", "attributes").to_numpy(dtype=float)

    def group(self, name: str) -> pd.Series:
        """One grouping (labels per candidate); DataError naming the known groupings."""
        return _column(self.groups, name, "grouping", "groups")

    def structure_key(self) -> tuple[Any, ...]:
        """What the compiled problem's shape depends on (names, scenarios, labels, attributes)."""
        attrs = (
            None if self.attributes is None else pd.util.hash_pandas_object(self.attributes).sum()
        )
        groups = None
        if self.groups is not None:
            groups = pd.util.hash_pandas_object(self.groups.astype(str)).sum()
        return (tuple(self.names), self.n_scenarios, attrs, groups)

    def subset(self, names: Sequence[str]) -> Candidates:
        """The same candidates restricted to ``names`` (scenarios unchanged)."""
        keep = list(names)
        return Candidates(
            returns=self.returns[keep],
            probabilities=self.p,
            attributes=None if self.attributes is None else self.attributes.loc[keep],
            groups=None if self.groups is None else self.groups.loc[keep],
            lot_cost=None if self.lot_cost is None else self.lot_cost.loc[keep],
        )


def _column(frame: pd.DataFrame | None, name: str, what: str, argument: str) -> pd.Series:
    if frame is None or name not in frame.columns:
        known = [] if frame is None else list(frame.columns)
        raise DataError(
            f"{what} {name!r} not found; candidates have {what}s {known}; add a column "
            f"{name!r} to Candidates({argument}=...)"
        )
    return frame[name]
