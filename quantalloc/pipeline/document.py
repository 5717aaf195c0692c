"""The result of a solve and its JSON document (the contract in DESIGN.md section 3).

Units and conventions of the document (every key the contract names is always present; a few
extra keys add detail):

- ``capital`` is the account; ``budget`` the options capital (the risk profile's share of it).
- ``market``: the state and its scores; ``dte_window`` ([min, max] days to expiry in force),
  ``preferred_strategies`` and ``avoided_strategies`` of the state, extra ``iv_preference`` and
  ``long_short_split`` (``long`` and ``short``: the caps on LONG and SHORT strategies as shares
  of the budget, from the direction score).
- ``limits``: ``max_symbol``, ``max_strategy``, ``max_industry``, ``max_theta_positive`` are
  fractions of ``budget``; ``max_abs_vega`` is currency per vol point (absolute);
  ``max_risk_per_trade`` a fraction of ``capital``. Extra: ``min_probability_of_profit`` (the
  stricter of the profile's and the market state's), ``industry_target_tolerance`` (when
  industry targets are in force), ``market_cap_tolerance`` (advanced model).
- ``allocations[]``: ``lots`` whole lots of ``lot_size`` units; ``legs[].quantity`` is the
  position's quantity of that leg in lots (per-lot quantity x lots), ``legs[].price`` the
  fill price per unit at entry, ``legs[].price_source`` where it came from (``chain``: the
  listed contract's fill; ``proxy``: Black-Scholes at the vol proxy; ``spot`` for a stock
  leg), ``legs[].strike`` null for a stock leg; extra ``legs[].expiry``.
  ``allocated_capital`` and ``max_loss`` are currency for the position;
  ``max_loss`` of a strategy with unbounded loss is its loss in a stress move (the model's
  ``stress_move``) or the worst scenario, whichever is larger. ``probability_of_profit`` is at
  the strategy's expiry under the pricing distribution; ``expected_return`` is the
  probability-weighted scenario P&L over the capital, at the common horizon
  (``solver.horizon_days``), in excess of cash and net of costs; ``edge`` maps its sources
  (``market``, each view's name, ``spread``, ``fees``) to the return each contributes (they sum
  to ``expected_return``).
  Extra ``theta_positive``: the position's theta is above zero (it earns time decay, a
  calendar included), which the ``max_theta_positive`` cap counts.
  Greeks are position totals: delta in currency per 1 point of the underlying, gamma in delta
  per point, vega in currency per vol point, theta in currency per calendar day.
- ``portfolio``: sums of the positions; ``expected_log_growth`` is E[log(1 + P&L / capital)]
  over the (probability-weighted) scenarios with the whole lots; extra ``expected_return`` (of
  the capital allocated), ``edge`` (the positions' edge weighted by capital) and ``views`` (the
  views applied, in order); ``by_*`` give ``capital``, ``weight`` (of budget) and
  ``target_weight`` where a target exists.
  Each allocation also carries ``unbounded_loss`` (a naked short: its loss has no floor) and
  ``margin``: for a naked position the market rule's requirement (US Reg-T style, NSE
  SPAN-like; :mod:`quantalloc.risk.margin`), for any other the capital it ties up.
- ``portfolio.risk`` (:mod:`quantalloc.risk.book`): ``dollar_delta`` (currency per 1.00 move,
  the delta-equivalent stock position), ``dollar_gamma``, ``gamma``, ``vega``, ``theta`` (the
  legs repriced now), ``beta_weighted_delta`` (``index_points``: P&L per 1-point index move with
  every stock moving by its beta; ``currency``: the index-equivalent position), ``gross_exposure``
  and ``net_exposure`` (sum of absolute and signed dollar deltas per symbol), ``var_95``,
  ``cvar_95``, ``var_99``, ``cvar_99`` (losses as positive amounts over the scenarios at the
  horizon, whole lots), ``stress`` (rows of ``index_move`` fraction, ``vol_move`` points and
  ``pnl``: every leg repriced at the moved spot and vol), ``margin`` (``total`` of the positions'
  margins, ``naked`` part, ``of_budget``, the ``rule``) and ``by_symbol`` (the same per symbol,
  with its ``beta`` and ``spot``).
- ``portfolio.holdings`` (when a ``holdings`` table is given): its rows with ``action``
  (``keep``); allocations carry ``action`` (``open``) and ``covered_by_holdings`` (a covered
  call written on held shares: no budget, its stock leg's side ``held``).
- ``constraints[]``: ``value`` is realised with the whole lots; ``binding`` and ``dual`` (the
  objective gained per unit of relaxation) come from the continuous optimum; extra ``unit``
  (``budget``, ``capital`` or ``currency``) says what ``limit`` and ``value`` measure.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.atomic import write_atomic
from quantalloc.errors import DataError

TOP_LEVEL_KEYS: tuple[str, ...] = (
    "run_id",
    "as_of",
    "model",
    "risk",
    "currency",
    "capital",
    "budget",
    "market",
    "solver",
    "limits",
    "allocations",
    "portfolio",
    "constraints",
)
MARKET_KEYS: tuple[str, ...] = (
    "state",
    "direction",
    "vix_regime",
    "direction_score",
    "confidence",
    "technical_score",
    "options_flow_score",
    "price_action_score",
    "vix",
    "pcr",
    "dte_window",
    "preferred_strategies",
    "avoided_strategies",
)
LIMIT_KEYS: tuple[str, ...] = (
    "max_symbol",
    "max_strategy",
    "max_industry",
    "max_theta_positive",
    "max_abs_vega",
    "max_risk_per_trade",
)
ALLOCATION_KEYS: tuple[str, ...] = (
    "symbol",
    "industry",
    "sector",
    "strategy_name",
    "position_type",
    "expiry",
    "legs",
    "lots",
    "lot_size",
    "allocated_capital",
    "max_loss",
    "probability_of_profit",
    "expected_return",
    "edge",
    "delta",
    "gamma",
    "vega",
    "theta",
    "unbounded_loss",
    "margin",
)
EXTRA_ALLOCATION_KEYS: tuple[str, ...] = (
    "theta_positive",
    "action",
    "covered_by_holdings",
    "forced_by",
)
"""Allocation keys beyond the contract's: the theta flag, ``open``, a covered call written on
held shares, and the rule that holds a position with a negative expected return (``holdings``
or ``industry_target[NAME]``; empty otherwise: no other position expects a loss)."""
LEG_KEYS: tuple[str, ...] = ("kind", "side", "strike", "price", "quantity", "price_source")
PORTFOLIO_KEYS: tuple[str, ...] = (
    "allocated_capital",
    "max_loss",
    "delta",
    "gamma",
    "vega",
    "theta",
    "expected_log_growth",
    "by_industry",
    "by_strategy",
    "by_symbol",
    "risk",
)
RISK_KEYS: tuple[str, ...] = (
    "dollar_delta",
    "beta_weighted_delta",
    "gross_exposure",
    "net_exposure",
    "var_95",
    "cvar_95",
    "var_99",
    "cvar_99",
    "stress",
    "margin",
)
CONSTRAINT_KEYS: tuple[str, ...] = ("name", "limit", "value", "binding", "dual")


@dataclass(frozen=True)
class SolveResult:
    """A finished allocation: the document's parts plus accessors for tools and the CLI.

    ``allocations`` has one row per position with lots > 0 (columns :data:`ALLOCATION_KEYS`);
    ``constraints`` one row per labelled constraint (:data:`CONSTRAINT_KEYS`).
    """

    run_id: str
    as_of: str
    model: str
    risk: str
    currency: str
    capital: float
    budget: float
    market: Mapping[str, Any]
    solver: Mapping[str, Any]
    limits: Mapping[str, float | None]
    allocations: pd.DataFrame
    portfolio: Mapping[str, Any]
    constraints: pd.DataFrame
    synthetic: bool = False
    data_source: str = ""
    timings: Mapping[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    targets: Mapping[str, float] = field(default_factory=dict)

    def to_document(self) -> dict[str, Any]:
        """The JSON-ready document; raises DataError if any number is NaN or infinite."""
        doc = {
            "run_id": self.run_id,
            "as_of": self.as_of,
            "model": self.model,
            "risk": self.risk,
            "currency": self.currency,
            "capital": self.capital,
            "budget": self.budget,
            "market": dict(self.market),
            "solver": dict(self.solver),
            "limits": dict(self.limits),
            "allocations": [
                {k: row[k] for k in (*ALLOCATION_KEYS, *EXTRA_ALLOCATION_KEYS) if k in row}
                for row in self.allocations.to_dict(orient="records")
            ],
            "portfolio": dict(self.portfolio),
            "constraints": [
                {k: row[k] for k in (*CONSTRAINT_KEYS, "unit") if k in row}
                for row in self.constraints.to_dict(orient="records")
            ],
        }
        out: dict[str, Any] = plain(doc, "document")
        return out

    def to_json(self, indent: int | None = 2) -> str:
        """The document as JSON text (strict: no NaN)."""
        return json.dumps(self.to_document(), indent=indent, allow_nan=False)

    def write_json(self, path: str | Path) -> Path:
        """Write the document to ``path`` atomically (temp file in the same folder, then rename)."""
        text = self.to_json()
        return write_atomic(path, text)

    def binding_constraints(self) -> pd.DataFrame:
        """Rows of the constraints that hold with equality at the optimum."""
        return self.constraints.loc[self.constraints["binding"].astype(bool)]


def plain(value: Any, where: str) -> Any:
    """``value`` with numpy/pandas scalars turned into Python ones; DataError on NaN or inf."""
    if isinstance(value, Mapping):
        return {str(k): plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray | pd.Series):
        return [plain(v, f"{where}[{i}]") for i, v in enumerate(list(value))]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        out = float(value)
        if not math.isfinite(out):
            raise DataError(f"{where} is {out}: the result holds a non-finite number (a bug)")
        return out
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if value is None or isinstance(value, str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


__all__ = [
    "ALLOCATION_KEYS",
    "CONSTRAINT_KEYS",
    "EXTRA_ALLOCATION_KEYS",
    "LEG_KEYS",
    "LIMIT_KEYS",
    "MARKET_KEYS",
    "PORTFOLIO_KEYS",
    "RISK_KEYS",
    "TOP_LEVEL_KEYS",
    "SolveResult",
    "plain",
    "write_atomic",
]
