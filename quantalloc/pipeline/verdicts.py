"""Why a solve allocated nothing to a symbol: each candidate tried, and what stopped it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import pandas as pd

NO_GROWTH = (
    "kept, but the optimum gives it no weight: it adds no expected log growth within the limits"
)


def symbol_verdict(symbol: str, table: pd.DataFrame, rejected: Sequence[str]) -> str:
    """One note listing ``symbol``'s candidates by strategy and expiry with the reason each got
    no capital: the first filter it failed, or that the optimum left it out."""
    rows = table.reset_index(drop=True)
    mine = rows["symbol"].astype(str).str.upper() == symbol.strip().upper()
    counts: Counter[tuple[str, str, str]] = Counter()
    for i in rows.index[mine]:
        expiry = str(rows.at[i, "expiry"])[:10] if "expiry" in rows else "-"
        reason = rejected[i] if i < len(rejected) and rejected[i] else NO_GROWTH
        counts[(str(rows.at[i, "strategy_name"]), expiry, reason)] += 1
    if not counts:
        return f"{symbol}: nothing allocated; no candidate was built for it"
    by_reason: dict[str, list[str]] = {}
    for (strategy, expiry, reason), n in sorted(counts.items()):
        by_reason.setdefault(reason, []).append(
            f"{strategy} {expiry}" + (f" x{n}" if n > 1 else "")
        )
    parts = [f"{', '.join(names)} ({reason})" for reason, names in by_reason.items()]
    return f"{symbol}: nothing allocated; {sum(counts.values())} candidates tried: " + "; ".join(
        parts
    )


__all__ = ["NO_GROWTH", "symbol_verdict"]
