"""The risk figures of a book: Greeks in currency per symbol, beta-weighted delta, exposure,
scenario VaR/CVaR over the horizon, the stress table and margin.

Units: ``dollar_delta`` is currency per 1.00 relative move of the underlying (delta x spot:
the delta-equivalent stock position, in the market's currency whatever its name);
``dollar_gamma`` the change of dollar delta for a 1% move (gamma x spot^2 / 100); ``gamma``
delta per point; ``vega`` currency per vol point; ``theta`` currency per calendar day.
``beta_weighted_delta.index_points`` is the book's P&L for a 1-point index move when every stock
moves by its beta (sum of beta x dollar delta / index level), ``currency`` the index-equivalent
position (sum of beta x dollar delta).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from quantalloc.options.pricing import black_scholes
from quantalloc.risk.margin import MarginModel
from quantalloc.risk.measures import var_cvar
from quantalloc.risk.positions import Positions
from quantalloc.risk.stress import leg_values, stress_table

LEVELS = (0.95, 0.99)


@dataclass(frozen=True)
class BookRisk:
    """The figures of :func:`book_risk`; ``to_dict()`` is the document's ``portfolio.risk``."""

    figures: dict[str, Any]
    margin: np.ndarray = field(repr=False)
    """Naked-option margin per position (0 where nothing is naked)."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready block."""
        return dict(self.figures)


def leg_greeks(book: Positions, spot: Mapping[str, float], rate: float) -> dict[str, np.ndarray]:
    """Per leg and per unit: delta, gamma, vega (per 1.00 vol), theta (per year); stock delta 1."""
    n = len(book.position)
    out = {k: np.zeros(n) for k in ("delta", "gamma", "vega", "theta")}
    out["delta"][book.kind == 0] = 1.0
    opt = np.flatnonzero(book.kind != 0)
    if opt.size:
        s = np.array([float(spot[str(x)]) for x in book.symbol[opt]])
        bs = black_scholes(
            book.kind[opt].astype(float), s, book.strike[opt], book.t[opt], rate, book.vol[opt]
        )
        for k in out:
            out[k][opt] = np.asarray(getattr(bs, k), dtype=float)
    return out


def book_risk(
    book: Positions,
    *,
    spot: Mapping[str, float],
    beta: Mapping[str, float],
    index_level: float,
    rate: float,
    scenario_pnl: np.ndarray,
    horizon_days: int,
    capital: float,
    budget: float,
    margin_rule: MarginModel,
    naked: np.ndarray,
    index_symbols: frozenset[str] = frozenset(),
    probabilities: np.ndarray | None = None,
) -> BookRisk:
    """Every figure of the book (see the module notes for units).

    ``scenario_pnl`` is the book's P&L in each joint scenario at the horizon; ``naked`` flags
    the positions whose loss is unbounded (their margin is computed by ``margin_rule``);
    ``probabilities`` weigh the scenarios for VaR and CVaR (None: equally likely).
    """
    g = leg_greeks(book, spot, rate)
    per_symbol: dict[str, dict[str, float]] = {}
    for sym in book.symbols:
        m = book.symbol == sym
        u, s, b = book.units[m], float(spot[sym]), float(beta.get(sym, 1.0))
        dd = float(u @ g["delta"][m]) * s
        per_symbol[sym] = {
            "spot": s,
            "beta": b,
            "delta": float(u @ g["delta"][m]),
            "dollar_delta": dd,
            "beta_weighted_delta": b * dd / index_level,
            "gamma": float(u @ g["gamma"][m]),
            "dollar_gamma": float(u @ g["gamma"][m]) * s * s / 100.0,
            "vega": float(u @ g["vega"][m]) / 100.0,
            "theta": float(u @ g["theta"][m]) / 365.0,
        }
    dd_all = np.array([v["dollar_delta"] for v in per_symbol.values()])
    bwd = float(sum(v["beta"] * v["dollar_delta"] for v in per_symbol.values()))
    margin = _margins(book, spot, rate, margin_rule, naked, index_symbols)
    figures: dict[str, Any] = {
        "dollar_delta": float(dd_all.sum()),
        "dollar_gamma": float(sum(v["dollar_gamma"] for v in per_symbol.values())),
        "gamma": float(book.units @ g["gamma"]),
        "vega": float(book.units @ g["vega"]) / 100.0,
        "theta": float(book.units @ g["theta"]) / 365.0,
        "beta_weighted_delta": {
            "index_points": bwd / index_level,
            "currency": bwd,
            "index_level": float(index_level),
        },
        "gross_exposure": float(np.abs(dd_all).sum()),
        "net_exposure": float(dd_all.sum()),
        "gross_exposure_of_capital": float(np.abs(dd_all).sum()) / capital,
        "net_exposure_of_capital": float(dd_all.sum()) / capital,
        "horizon_days": int(horizon_days),
        "scenarios": int(np.asarray(scenario_pnl).size),
        "by_symbol": per_symbol,
        "stress": stress_table(book, spot, beta, rate),
        "margin": {
            "total": float(margin.sum()),
            "budget": float(budget),
            "of_budget": float(margin.sum()) / budget if budget else 0.0,
            "rule": margin_rule.description,
        },
    }
    for level in LEVELS:
        var, cvar = (
            var_cvar(scenario_pnl, level, probabilities) if np.size(scenario_pnl) else (0.0, 0.0)
        )
        figures[f"var_{round(level * 100)}"] = var
        figures[f"cvar_{round(level * 100)}"] = cvar
    return BookRisk(figures=figures, margin=margin)


def _margins(
    book: Positions,
    spot: Mapping[str, float],
    rate: float,
    rule: MarginModel,
    naked: np.ndarray,
    index_symbols: frozenset[str],
) -> np.ndarray:
    """Margin of each naked position's uncovered short options (legs valued now)."""
    value = leg_values(book, spot, rate)
    out = np.zeros(book.n_positions)
    for p in np.flatnonzero(np.asarray(naked, dtype=bool)):
        m = book.position == p
        if not m.any():
            continue
        sym = str(book.symbol[m][0])
        out[p] = rule.naked(
            book.kind[m],
            book.units[m],
            book.strike[m],
            value[m],
            float(spot[sym]),
            index=sym in index_symbols,
        )
    return out


__all__ = ["LEVELS", "BookRisk", "book_risk", "leg_greeks"]
