"""What a solve is asked (``SolveRequest``) and the same request resolved (``Plan``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from quantalloc.markets import MarketProfile, get_market
from quantalloc.pipeline.model import ModelSpec, RiskProfile, load_model
from quantalloc.pipeline.requests import check_levels, check_limits


@dataclass(frozen=True)
class SolveRequest:
    """Every input of :func:`quantalloc.pipeline.solve`, frozen (see its parameters)."""

    risk: str = "moderate"
    model: str | ModelSpec = "industry_first"
    market: str | None = None
    capital: float | None = None
    vix: float | None = None
    as_of: str | pd.Timestamp | None = None
    data: str | Any = "auto"
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    symbol: str | None = None
    max_industries: int | None = None
    n_scenarios: int | None = None
    seed: int | None = None
    store: str | None = None
    limits: Mapping[str, Any] = field(default_factory=dict)
    chain: str | pd.DataFrame | None = None
    chains: str | Any | None = None
    vix_source: str = "auto"
    views: str = "model"

    def __post_init__(self) -> None:  # None for the mappings means none given
        object.__setattr__(self, "tables", dict(self.tables or {}))
        object.__setattr__(self, "limits", dict(self.limits or {}))


@dataclass(frozen=True)
class Plan:
    """A request resolved: the model and its risk profile, the market, the numbers in force."""

    request: SolveRequest
    spec: ModelSpec
    profile: RiskProfile
    market: MarketProfile
    capital: float
    n_scenarios: int
    seed: int
    run_id: str

    @property
    def budget(self) -> float:
        """The options capital: the risk profile's share of ``capital``."""
        return self.profile.options_capital * self.capital

    @property
    def vega_limit(self) -> float:
        """The absolute vega limit in currency per vol point, scaled to ``capital``."""
        return self.spec.limits.max_abs_vega(self.capital)


def plan(request: SolveRequest) -> Plan:
    """Resolve ``request``: load the model, pick the profile and market, check the numbers."""
    spec = request.model if isinstance(request.model, ModelSpec) else load_model(request.model)
    profile = spec.profile(request.risk)
    market = get_market(request.market)
    capital = float(request.capital if request.capital is not None else market.default_capital)
    check_levels(capital=capital, vix=request.vix, n_scenarios=request.n_scenarios)
    check_limits(request.limits)  # names and ranges, before any data is read
    n = spec.scenarios.n_scenarios if request.n_scenarios is None else int(request.n_scenarios)
    seed = spec.scenarios.seed if request.seed is None else int(request.seed)
    return Plan(request, spec, profile, market, capital, n, seed, uuid.uuid4().hex)


__all__ = ["Plan", "SolveRequest", "plan"]
