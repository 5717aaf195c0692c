"""Small random allocation problems for the tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from quantalloc.allocation import Candidates


def make_candidates(
    n: int = 10,
    scenarios: int = 200,
    seed: int = 0,
    industries: tuple[str, ...] = ("Energy", "IT", "Fin"),
) -> Candidates:
    """Fat-tailed scenario returns with a mild positive drift, labels, Greeks and lot costs."""
    rng = np.random.default_rng(seed)
    names = [f"c{i}" for i in range(n)]
    drift = rng.uniform(-0.005, 0.03, n)
    returns = drift + 0.08 * rng.standard_t(5, size=(scenarios, n)) / np.sqrt(5 / 3)
    returns = np.maximum(returns, -0.95)
    groups = pd.DataFrame(
        {
            "industry": [industries[i % len(industries)] for i in range(n)],
            "symbol": [f"S{i // 2}" for i in range(n)],
            "position_type": rng.choice(["LONG", "SHORT", "NEUTRAL"], n),
            "theta_positive": rng.random(n) < 0.5,
        },
        index=names,
    )
    attributes = pd.DataFrame(
        {"delta": rng.normal(0, 1, n), "vega": rng.normal(0, 1, n), "score": rng.random(n)},
        index=names,
    )
    lot_cost = pd.Series(rng.uniform(2_000, 30_000, n), index=names)
    return Candidates(
        returns=pd.DataFrame(returns, columns=names),
        attributes=attributes,
        groups=groups,
        lot_cost=lot_cost,
    )
