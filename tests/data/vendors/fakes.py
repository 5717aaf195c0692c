"""What the vendor tests share: a clock, a recording sleep, and real files as vendor answers.

No vendor is reachable from here, so each test replaces the vendor's client at its boundary
with a fake that answers in the vendor's documented shape, built from the real files in
``../shared/data``; the same file read by the CSV provider (or the chain loader) is the
reference the vendor's frame must equal.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd


class Sleeps:
    """A sleep that records the waits instead of waiting, on a virtual clock that only the
    waits move (``clock``), so the pacing is deterministic."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.now = 0.0

    def __call__(self, seconds: float) -> None:
        self.waits.append(round(float(seconds), 6))
        self.now += float(seconds)

    def clock(self) -> float:
        return self.now


def clock_at(stamp: str) -> Any:
    """A clock frozen at ``stamp`` (UTC)."""
    fixed = pd.Timestamp(stamp, tz="UTC")
    return lambda: fixed


def local_epochs(index: pd.DatetimeIndex, timezone: str) -> list[int]:
    """Epoch seconds of wall times ``index`` in ``timezone`` (what Dhan sends)."""
    aware = index.tz_localize(timezone).tz_convert("UTC")
    return [int(t.timestamp()) for t in aware]


def upstox_chain_doc(shared: Path, expiry: str) -> dict[str, Any]:
    """The real Upstox put-call option chain answer of NIFTY for ``expiry``."""
    path = shared / "in" / "options" / f"NIFTY_{expiry}_expiry_chain_a.json"
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def dhan_chain_body(upstox_doc: dict[str, Any]) -> dict[str, Any]:
    """The same quotes in Dhan's documented option-chain shape (``last_price``, ``oc``)."""
    oc: dict[str, Any] = {}
    spot = None
    for row in upstox_doc["data"]:
        spot = row["underlying_spot_price"]
        sides: dict[str, Any] = {}
        for key, side in (("ce", "call_options"), ("pe", "put_options")):
            md = row[side]["market_data"]
            greeks = row[side]["option_greeks"]
            sides[key] = {
                "greeks": {k: greeks[k] for k in ("delta", "theta", "gamma", "vega")},
                "implied_volatility": greeks["iv"],
                "last_price": md["ltp"],
                "oi": md["oi"],
                "previous_close_price": md["close_price"],
                "previous_oi": md["prev_oi"],
                "previous_volume": 0,
                "top_ask_price": md["ask_price"],
                "top_ask_quantity": md["ask_qty"],
                "top_bid_price": md["bid_price"],
                "top_bid_quantity": md["bid_qty"],
                "volume": md["volume"],
            }
        oc[f"{float(row['strike_price']):.6f}"] = sides
    return {"data": {"last_price": spot, "oc": oc}, "status": "success"}
