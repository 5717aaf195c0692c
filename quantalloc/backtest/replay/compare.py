"""A replay on chains beside the same replay priced by the proxy: what the proxy gets wrong.

The proxy re-pricing opens the very positions the replay on chains opened (same sessions,
contracts and lots), but fills, marks, take-profits, stops and back-month exits at the model's
prices (Black-Scholes at the vol proxy, half the model's spread per fill, the same fees and
expiry settlement). :func:`compare_runs` reports the two books' total return and Sharpe and,
per position, the entry premium and the P&L under each, with the proxy's error (proxy minus
chain).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from quantalloc.backtest import metrics as m


def compare_runs(
    chain_equity: pd.Series,
    proxy_equity: pd.Series,
    chain_trades: list[dict[str, Any]],
    proxy_trades: list[dict[str, Any]],
    capital: float,
) -> dict[str, Any]:
    """The ``comparison`` section of a replay's JSON (see the module notes)."""
    books = {}
    for name, equity in (("chain", chain_equity), ("proxy", proxy_equity)):
        returns = m.returns_from_equity(equity.astype(float), capital).to_numpy()
        summary = m.summary(m.curve_returns(returns), exposure=0.0, trades=0, wins=0)
        books[name] = {k: _num(summary[k]) for k in ("total_return", "sharpe", "max_drawdown")}
    by_number = {t["position"]: t for t in proxy_trades}
    rows = []
    for t in chain_trades:
        other = by_number.get(t["position"])
        if other is None:
            continue
        rows.append(
            {
                "position": int(t["position"]),
                "symbol": t["symbol"],
                "strategy_name": t["strategy_name"],
                "entry_date": t["entry_date"],
                "exit_date": {"chain": t["exit_date"], "proxy": other["exit_date"]},
                "exit_reason": {"chain": t["exit_reason"], "proxy": other["exit_reason"]},
                "entry_price": _pair(t["entry_price"], other["entry_price"]),
                "pnl": _pair(t["pnl"], other["pnl"]),
                "leg_entry_prices": [
                    _pair(a["entry_price"], b["entry_price"])
                    for a, b in zip(t["legs"], other["legs"], strict=True)
                    if a["kind"] != "stock"
                ],
            }
        )
    return {
        "method": "the same positions re-priced by the proxy (fills, marks, exits)",
        "chain": books["chain"],
        "proxy": books["proxy"],
        "difference": {
            k: _num(books["proxy"][k] - books["chain"][k]) for k in ("total_return", "sharpe")
        },
        "trades": rows,
        "summary": _summary(rows),
    }


def _pair(chain: float, proxy: float) -> dict[str, float]:
    return {"chain": _num(chain), "proxy": _num(proxy), "error": _num(proxy - chain)}


def _num(x: float) -> float:
    return round(float(x), 6) if np.isfinite(x) else float("nan")


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and median errors: entry premium per lot, P&L per position, and leg prices
    relative to the chain's (median absolute, and the mean signed: the proxy's bias)."""
    if not rows:
        return {"positions": 0}
    entry = np.array([r["entry_price"]["error"] for r in rows], dtype=float)
    pnl = np.array([r["pnl"]["error"] for r in rows], dtype=float)
    legs = [leg for r in rows for leg in r["leg_entry_prices"] if leg["chain"] > 0]
    rel = np.array([leg["error"] / leg["chain"] for leg in legs], dtype=float)
    return {
        "positions": len(rows),
        "entry_price_error_mean": _num(float(entry.mean())),
        "entry_price_error_median": _num(float(np.median(entry))),
        "pnl_error_mean": _num(float(pnl.mean())),
        "pnl_error_median": _num(float(np.median(pnl))),
        "pnl_error_total": _num(float(pnl.sum())),
        "legs": len(legs),
        "leg_price_relative_error_median_abs": _num(float(np.median(np.abs(rel))))
        if len(rel)
        else None,
        "leg_price_relative_error_mean": _num(float(rel.mean())) if len(rel) else None,
    }


__all__ = ["compare_runs"]
