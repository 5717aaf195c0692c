"""The held book's risk for the document: legs of the positions in lots, betas, the figures.

Builds :class:`~quantalloc.risk.Positions` from the candidates held (one position per allocation
row, in the same order) and hands them with the scenario P&L to :func:`quantalloc.risk.book_risk`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from quantalloc.pipeline.inputs import MarketInputs
from quantalloc.pipeline.records import CandidateSet, ScenarioBook
from quantalloc.pipeline.request import Plan
from quantalloc.risk import Positions, betas, book_risk, horizon_pnl, margin_model


@dataclass(frozen=True)
class HeldRisk:
    """``portfolio.risk`` and, per allocation row, its naked flag and margin: the market rule's
    requirement for a naked position, the capital it ties up (debit, or max loss of a spread)
    for any other."""

    block: dict[str, Any]
    unbounded: np.ndarray
    margin: np.ndarray
    notes: tuple[str, ...]


def held_positions(cands: CandidateSet, book: ScenarioBook, lots: np.ndarray) -> Positions:
    """The legs of the candidates with ``lots > 0``, in whole units, one position per row."""
    legs = cands.priced.book.subset(cands.keep)
    held = np.flatnonzero(lots > 0)
    if not held.size:
        return Positions.empty()
    row_of = np.full(len(lots), -1)
    row_of[held] = np.arange(held.size)
    mask = row_of[legs.candidate] >= 0
    cand = legs.candidate[mask]
    front_t = book.table["front_t"].to_numpy(dtype=float)
    return Positions(
        position=row_of[cand],
        symbol=book.table["symbol"].astype(str).to_numpy()[cand],
        kind=legs.kind[mask].astype(int),
        units=legs.units[mask] * lots[cand],
        strike=legs.strike[mask],
        t=front_t[cand] + legs.remaining[mask],
        vol=legs.vol[mask],
        n_positions=int(held.size),
    )


def held_risk(
    plan: Plan,
    inputs: MarketInputs,
    cands: CandidateSet,
    book: ScenarioBook,
    lots: np.ndarray,
    extra: Positions | None = None,
) -> HeldRisk:
    """Risk of the whole lots held and of the ``extra`` positions (the holdings): see
    :mod:`quantalloc.risk.book` for the figures."""
    new = held_positions(cands, book, lots)
    held = np.flatnonzero(lots > 0)
    pnl = book.pnl[:, held] @ lots[held].astype(float) if held.size else np.zeros(book.pnl.shape[0])
    closes = inputs.closes
    extra = extra if extra is not None else Positions.empty()
    positions = Positions.concat([new, extra])
    spot = {s: float(closes[s].dropna().iloc[-1]) for s in positions.symbols}
    if len(extra.position) and book.prices is not None:
        column = {s: i for i, s in enumerate(inputs.symbols)}
        rate = plan.market.risk_free_rate
        pnl = pnl + horizon_pnl(extra, spot, book.prices, column, book.horizon_years, rate)
    index_close = inputs.index_prices["close"].dropna()
    beta, notes = betas(closes.loc[:, positions.symbols], index_close)
    market = plan.market
    unbounded = book.table["unbounded_loss"].to_numpy(dtype=bool)[held]
    naked = np.concatenate([unbounded, np.zeros(extra.n_positions, dtype=bool)])
    risk = book_risk(
        positions,
        spot=spot,
        beta=beta,
        index_level=float(index_close.iloc[-1]),
        rate=market.risk_free_rate,
        scenario_pnl=pnl,
        horizon_days=book.horizon_days,
        capital=plan.capital,
        budget=plan.budget,
        margin_rule=margin_model(market.name),
        naked=naked,
        index_symbols=frozenset({market.index_symbol, *market.chain_symbols}),
        probabilities=book.probabilities,
    )
    capital = book.table["capital"].to_numpy(dtype=float)[held] * lots[held]
    margin = np.where(unbounded, risk.margin[: held.size], capital)
    block = risk.to_dict()
    block["index"] = market.index_symbol
    block["margin"] = {
        **block["margin"],
        "naked": float(risk.margin.sum()),
        "total": float(margin.sum()),
        "of_budget": float(margin.sum()) / plan.budget if plan.budget else 0.0,
    }
    return HeldRisk(block, unbounded, margin, tuple(notes))


__all__ = ["HeldRisk", "held_positions", "held_risk"]
