"""Holdings: the stocks and options already held, counted in the book.

The ``holdings`` table has one row per holding: ``symbol``, ``instrument`` (``stock``, ``call``
or ``put``), ``quantity`` (signed: + long, - short; shares for stock, contracts for options,
each contract the symbol's lot size), ``strike`` and ``expiry`` (options), ``cost`` (per unit,
optional). What the solve does with them:

- **Covered calls on held shares** (a stated rule): for a symbol held with at least one lot of
  shares and a covered call among its kept candidates, the one with the highest probability of
  profit is written on ``floor(shares / lot size)`` lots against the shares. No stock is bought:
  its stock leg says ``held`` and the position uses no budget (``allocated_capital`` 0). The
  optimizer never buys stock for a covered call or collar on a held symbol.
- **Held options** count in the vega limit (the row becomes ``|new + held| <= limit``) and, with
  the held stock, in every figure of ``portfolio.risk``.
- **Actions**: every allocation is ``open``, every holding ``keep``
  (``portfolio.holdings``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from quantalloc.errors import DataError
from quantalloc.options.pricing import black_scholes
from quantalloc.pipeline.inputs import MarketInputs
from quantalloc.pipeline.records import ScenarioBook
from quantalloc.pipeline.request import Plan
from quantalloc.risk import Positions

WRITES_ON_SHARES = ("covered_call", "collar")
"""Strategies with a long stock leg that held shares replace."""
_KIND = {"stock": 0, "call": 1, "put": -1}


@dataclass(frozen=True)
class Holdings:
    """The validated ``holdings`` table (see the module notes)."""

    frame: pd.DataFrame

    @classmethod
    def from_table(cls, table: pd.DataFrame | None, as_of: date) -> Holdings:
        """Check the rows a solve needs: options with a strike and an expiry after ``as_of``,
        no zero quantity; one DataError naming the rows otherwise."""
        if table is None or not len(table):
            return cls(pd.DataFrame(columns=["symbol", "instrument", "quantity"]))
        frame = table.copy()
        for col in ("strike", "expiry", "cost"):
            if col not in frame:
                frame[col] = np.nan
        opt = frame["instrument"] != "stock"
        missing = opt & (frame["strike"].isna() | frame["expiry"].isna())
        expiry = pd.to_datetime(frame["expiry"], errors="coerce")
        expired = opt & ~missing & (expiry.dt.date <= as_of)
        zero = frame["quantity"].astype(float) == 0
        for mask, rule in (
            (missing, "an option needs its strike and expiry"),
            (expired, f"an option must expire after the as-of date {as_of}"),
            (zero, "quantity must not be 0"),
        ):
            if mask.any():
                rows = ", ".join(str(i + 1) for i in np.flatnonzero(mask.to_numpy())[:5])
                raise DataError(f"holdings rows {rows}: {rule}; fix or drop them")
        frame["expiry"] = expiry
        return cls(frame.reset_index(drop=True))

    def __len__(self) -> int:
        return len(self.frame)

    def shares(self) -> dict[str, float]:
        """Shares held per symbol (stock rows summed; short stock counts negative)."""
        rows = self.frame.loc[self.frame["instrument"] == "stock"]
        return {str(k): float(v) for k, v in rows.groupby("symbol")["quantity"].sum().items()}

    def symbols(self) -> list[str]:
        """Every symbol held."""
        return sorted({str(s) for s in self.frame["symbol"]})

    def positions(
        self,
        as_of: date,
        lot_size: Mapping[str, int],
        vol: Mapping[str, float],
        skip_shares: Mapping[str, float] | None = None,
    ) -> Positions:
        """The holdings as risk legs, one position per row (options: contracts x lot size),
        marked at ``vol`` of their symbol; ``skip_shares`` shares per symbol already counted
        (covered-call positions carry them) are left out of the stock rows."""
        rows = []
        left = dict(skip_shares or {})
        for r in self.frame.to_dict(orient="records"):
            sym, kind = str(r["symbol"]), _KIND[str(r["instrument"])]
            qty = float(r["quantity"])
            if kind == 0:
                used = min(max(left.get(sym, 0.0), 0.0), max(qty, 0.0))
                left[sym] = left.get(sym, 0.0) - used
                qty -= used
                if qty == 0:
                    continue
                rows.append((sym, 0, qty, 0.0, 0.0, 0.0))
                continue
            t = (pd.Timestamp(r["expiry"]).date() - as_of).days / 365.0
            rows.append((sym, kind, qty * lot_size[sym], float(r["strike"]), t, float(vol[sym])))
        if not rows:
            return Positions.empty()
        cols = list(zip(*rows, strict=True))
        return Positions(
            position=np.arange(len(rows)),
            symbol=np.array(cols[0], dtype=str),
            kind=np.array(cols[1], dtype=int),
            units=np.array(cols[2], dtype=float),
            strike=np.array(cols[3], dtype=float),
            t=np.array(cols[4], dtype=float),
            vol=np.array(cols[5], dtype=float),
            n_positions=len(rows),
        )

    def document(self) -> list[dict[str, object]]:
        """The rows with the action the solve takes on each (``keep``)."""
        out = []
        for r in self.frame.to_dict(orient="records"):
            expiry = r.get("expiry")
            out.append(
                {
                    "symbol": str(r["symbol"]),
                    "instrument": str(r["instrument"]),
                    "quantity": float(r["quantity"]),
                    "strike": None if pd.isna(r.get("strike")) else float(r["strike"]),
                    "expiry": None if pd.isna(expiry) else pd.Timestamp(expiry).date().isoformat(),
                    "cost": None if pd.isna(r.get("cost")) else float(r["cost"]),
                    "action": "keep",
                }
            )
        return out


def covered_writes(book: ScenarioBook, shares: Mapping[str, float]) -> dict[int, int]:
    """Candidate row -> lots of the covered calls written on held shares (the module's rule)."""
    table = book.table
    size = table["lot_size"].to_numpy(dtype=float)
    pop = table["probability_of_profit"].to_numpy(dtype=float)
    out: dict[int, int] = {}
    for sym, held in shares.items():
        rows = np.flatnonzero(
            ((table["symbol"] == sym) & (table["strategy_name"] == "covered_call")).to_numpy()
        )
        if not rows.size:
            continue
        lots = int(held // size[rows[0]])
        if lots >= 1:
            out[int(rows[np.argmax(pop[rows])])] = lots
    return out


def bought_stock(book: ScenarioBook, shares: Mapping[str, float]) -> list[int]:
    """Rows of candidates that would buy stock the holdings already provide (kept at 0 lots)."""
    table = book.table
    held = {s for s, n in shares.items() if n > 0}
    mask = table["symbol"].isin(held) & table["strategy_name"].isin(WRITES_ON_SHARES)
    return [int(i) for i in np.flatnonzero(mask.to_numpy())]


def held_vega(positions: Positions, spot: Mapping[str, float], rate: float) -> float:
    """Vega of held option legs, currency per vol point."""
    opt = positions.kind != 0
    if not opt.any():
        return 0.0
    s = np.array([float(spot[str(x)]) for x in positions.symbol[opt]])
    bs = black_scholes(
        positions.kind[opt].astype(float),
        s,
        positions.strike[opt],
        positions.t[opt],
        rate,
        positions.vol[opt],
    )
    return float(positions.units[opt] @ np.asarray(bs.vega, dtype=float)) / 100.0


@dataclass(frozen=True)
class HoldingPlan:
    """What the holdings change in a solve: covered-call lots on held shares by candidate row,
    candidate rows kept at 0 lots, the rest of the holdings as risk legs, the vega already in
    the book and the notes."""

    holdings: Holdings
    writes: dict[int, int]
    blocked: tuple[int, ...]
    positions: Positions
    vega_offset: float
    notes: tuple[str, ...]


def plan_holdings(
    holdings: Holdings,
    book: ScenarioBook,
    *,
    as_of: date,
    spot: Mapping[str, float],
    vol: Mapping[str, float],
    lot_size: Mapping[str, int],
    rate: float,
) -> HoldingPlan:
    """Apply the module's rules to the kept candidates of ``book``."""
    shares = holdings.shares()
    writes = covered_writes(book, shares)
    sym = book.table["symbol"].astype(str).to_numpy()
    size = book.table["lot_size"].to_numpy(dtype=float)
    vega = book.table["vega"].to_numpy(dtype=float)
    covered = {str(sym[i]): float(n * size[i]) for i, n in writes.items()}
    positions = holdings.positions(as_of, lot_size, vol, skip_shares=covered)
    offset = held_vega(positions, spot, rate) + float(sum(vega[i] * n for i, n in writes.items()))
    notes = [
        f"holdings: covered call on {covered[str(sym[i])]:g} held shares of {sym[i]}: {n} "
        "lots, no stock bought (rule: write against holdings)"
        for i, n in writes.items()
    ]
    if len(holdings):
        notes.append(
            f"holdings: {len(holdings)} rows kept and counted in the vega limit and the book "
            f"risk (held vega {offset:,.0f} per vol point)"
        )
    blocked = tuple(i for i in bought_stock(book, shares) if i not in writes)
    return HoldingPlan(holdings, writes, blocked, positions, offset, tuple(notes))


def holding_plan(plan: Plan, inputs: MarketInputs, book: ScenarioBook) -> HoldingPlan:
    """The holdings' rules on the kept candidates (nothing when no holdings are given)."""
    holdings = Holdings.from_table(inputs.holdings, inputs.as_of.date())
    if not len(holdings):
        return HoldingPlan(holdings, {}, (), Positions.empty(), 0.0, ())
    vol = dict(zip(book.table["symbol"], book.table["atm_vol"], strict=False))
    sizes = dict(zip(book.table["symbol"], book.table["lot_size"].astype(int), strict=False))
    for s in holdings.symbols():  # the candidates' lot sizes (a chain's), else the table's
        if s not in sizes:
            sizes[s] = plan.market.lot_size(s, inputs.lot_sizes())
    for s in holdings.symbols():
        if s not in vol:
            from quantalloc.options.volatility import realized_vol

            vol[s] = max(realized_vol(inputs.closes[s].dropna()), 0.05)
    return plan_holdings(
        holdings,
        book,
        as_of=inputs.as_of.date(),
        spot={s: float(inputs.closes[s].dropna().iloc[-1]) for s in inputs.symbols},
        vol=vol,
        lot_size=sizes,
        rate=plan.market.risk_free_rate,
    )


__all__ = [
    "WRITES_ON_SHARES",
    "HoldingPlan",
    "Holdings",
    "bought_stock",
    "covered_writes",
    "held_vega",
    "holding_plan",
    "plan_holdings",
]
