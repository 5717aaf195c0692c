"""Views: the only sources of edge, each a named tilt of the calibrated scenarios.

The calibrated scenarios price the market (:mod:`quantalloc.pipeline.calibration`); a view says
where the user (or a premium the model states) disagrees, as a linear moment of the horizon
prices, and entropy pooling (:mod:`quantalloc.pipeline.entropy`) finds the probabilities
nearest the calibrated ones that hold it. Kinds of view, in the order they are applied:

``regime``
    The market state's direction: every symbol drifts ``regime_drift`` a year above its forward
    in a Bullish state, below it in a Bearish one (none when Neutral).
``industry``
    The model's drift table by rating and position type (``[views]``), per priority industry.
    An industry drift against the state's direction (bullish in a Bearish state, or the other
    way) is combined by the model's ``on_conflict`` rule: ``drop`` it, ``shrink`` it by
    ``conflict_shrink``, or ``sum`` it with the regime's.
``vrp``
    The variance risk premium of the market: realised variance is ``vrp_ratio`` times the
    implied one (estimated from the shared data, stated in the model), a view on the second
    moment ``E[ln(S_h / F)^2]`` of every symbol.
``user``
    A user's own views from a file (``--views FILE``): a drift per symbol or per industry, and
    optionally a vol ratio.

A mean view is ``E[S_h / F] = e^{d h}`` (``d`` the symbol's total drift from the views applied
so far); views stack, each new one holding the earlier ones' moments too, so the expected
return a view adds is the change it makes (:mod:`quantalloc.pipeline.edge`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from quantalloc.config import load_toml
from quantalloc.errors import ConfigError
from quantalloc.pipeline.entropy import entropy_pooling

VIEW_MODES: tuple[str, ...] = ("none", "model")
CONFLICT_RULES: tuple[str, ...] = ("drop", "shrink", "sum")


@dataclass(frozen=True)
class ViewRules:
    """The model's view settings (``[view_rules]``)."""

    regime_drift: float = 0.05
    vrp_ratio: Mapping[str, float] = field(default_factory=dict)
    on_conflict: str = "drop"
    conflict_shrink: float = 0.5
    calibration: str = "copula"


@dataclass(frozen=True)
class View:
    """One named tilt: per symbol column an annual drift and/or a variance ratio."""

    name: str
    drift: Mapping[int, float] = field(default_factory=dict)
    variance_ratio: Mapping[int, float] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class ViewSubject:
    """What the views are taken on: the scenario columns (``symbols``) and their industries, the
    market state's ``direction``, the ``market`` and the model's drift per priority industry."""

    symbols: list[str]
    industry_of: Mapping[str, str]
    direction: str = "Neutral"
    market: str = ""
    industry_drift: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class UserView:
    """A view read from a user's file: a drift (and vol ratio) on a symbol or an industry."""

    name: str
    symbol: str | None
    industry: str | None
    drift: float
    vol_ratio: float | None = None


def load_user_views(path: str | Path) -> list[UserView]:
    """Views from a TOML file of ``[[view]]`` tables (``name``, ``symbol`` or ``industry``,
    ``drift`` a year, optional ``vol_ratio``)."""
    data = load_toml(str(path))
    rows = data.get("view")
    if not isinstance(rows, list) or not rows:
        raise ConfigError(
            f'{path}: no [[view]] tables; write e.g. [[view]] name = "banks" '
            'industry = "Banks" drift = 0.2'
        )
    out = []
    for i, r in enumerate(rows):
        where = f"{path} [[view]] #{i + 1}"
        sym, ind = r.get("symbol"), r.get("industry")
        if (sym is None) == (ind is None):
            raise ConfigError(f"{where}: give exactly one of symbol or industry")
        drift = r.get("drift", 0.0)
        ratio = r.get("vol_ratio")
        if not isinstance(drift, int | float) or not -1.0 <= float(drift) <= 1.0:
            raise ConfigError(f"{where}: drift must be a number in [-1, 1] a year, got {drift!r}")
        if ratio is not None and (not isinstance(ratio, int | float) or not 0.2 <= ratio <= 5):
            raise ConfigError(f"{where}: vol_ratio must be in [0.2, 5], got {ratio!r}")
        name = str(r.get("name") or sym or ind)
        out.append(
            UserView(
                name=name,
                symbol=None if sym is None else str(sym),
                industry=None if ind is None else str(ind),
                drift=float(drift),
                vol_ratio=None if ratio is None else float(ratio),
            )
        )
    return out


def resolve_views(mode: str) -> tuple[str, list[UserView]]:
    """``none``, ``model`` or a file path -> (mode, the file's views)."""
    key = str(mode).strip()
    if key.lower() in VIEW_MODES:
        return key.lower(), []
    if not Path(key).is_file():
        raise ConfigError(
            f"--views {mode!r}: not none, model or an existing file; give one of those",
            params="views",
        )
    return "file", load_user_views(key)


def _sign(direction: str) -> float:
    d = str(direction).lower()
    return 1.0 if d.startswith("bull") else -1.0 if d.startswith("bear") else 0.0


def views_in_force(
    rules: ViewRules, mode: str, user: list[UserView], subject: ViewSubject
) -> list[View]:
    """The views in force on ``subject``: none, the model's, or a file's (``--views``; ``mode``
    and ``user`` as :func:`resolve_views` gives them)."""
    if mode == "none":
        return []
    if mode == "model":
        return model_views(rules, subject)
    return user_views(user, subject)


def model_views(rules: ViewRules, subject: ViewSubject) -> list[View]:
    """The model's views (regime, industry, vrp) on the scenario columns."""
    direction, symbols = subject.direction, subject.symbols
    views: list[View] = []
    sign = _sign(direction)
    if sign and rules.regime_drift:
        d = sign * rules.regime_drift
        views.append(View("regime", {j: d for j in range(len(symbols))}, note=f"{direction}"))
    drift: dict[int, float] = {}
    notes = []
    for j, s in enumerate(symbols):
        d = float(subject.industry_drift.get(subject.industry_of.get(s, ""), 0.0))
        if d and sign and np.sign(d) != sign:
            if rules.on_conflict == "drop":
                notes.append(s)
                continue
            if rules.on_conflict == "shrink":
                d *= rules.conflict_shrink
        if d:
            drift[j] = d
    if drift:
        note = f"against the {direction} state ({rules.on_conflict}): {', '.join(notes)}"
        views.append(View("industry", drift, note=note if notes else ""))
    ratio = rules.vrp_ratio.get(subject.market)
    if ratio is not None and ratio != 1.0:
        views.append(View("vrp", variance_ratio={j: ratio for j in range(len(symbols))}))
    return views


def user_views(views: list[UserView], subject: ViewSubject) -> list[View]:
    """The file's views on the scenario columns (a view on nothing held is kept, inert)."""
    out = []
    for v in views:
        cols = [
            j
            for j, s in enumerate(subject.symbols)
            if (v.symbol is not None and s == v.symbol)
            or (v.industry is not None and subject.industry_of.get(s) == v.industry)
        ]
        ratio = {} if v.vol_ratio is None else {j: v.vol_ratio**2 for j in cols}
        out.append(View(f"user:{v.name}", {j: v.drift for j in cols}, ratio))
    return out


def apply_views(
    prices: np.ndarray,
    prior: np.ndarray,
    forwards: np.ndarray,
    views: list[View],
    horizon: float,
) -> list[np.ndarray]:
    """The probabilities after each view in turn (stacked: view k holds views 1..k).

    Returns one probability vector per view, in order.
    """
    rel = prices / forwards[None, :]
    logsq = np.log(rel) ** 2
    base_var = prior @ logsq
    drift: dict[int, float] = {}
    ratio: dict[int, float] = {}
    out = []
    for v in views:
        for j, d in v.drift.items():
            drift[j] = drift.get(j, 0.0) + d
        for j, r in v.variance_ratio.items():
            ratio[j] = ratio.get(j, 1.0) * r
        rows, target = [], []
        for j, d in drift.items():
            rows.append(rel[:, j])
            target.append(np.exp(d * horizon))
        for j, r in ratio.items():
            rows.append(logsq[:, j])
            target.append(r * base_var[j])
        if not rows:
            out.append(prior.copy())
            continue
        pooled = entropy_pooling(prior, np.array(rows), np.array(target), max_iterations=500)
        out.append(pooled.probabilities)
    return out


__all__ = [
    "CONFLICT_RULES",
    "VIEW_MODES",
    "UserView",
    "View",
    "ViewRules",
    "ViewSubject",
    "apply_views",
    "load_user_views",
    "model_views",
    "resolve_views",
    "user_views",
    "views_in_force",
]
