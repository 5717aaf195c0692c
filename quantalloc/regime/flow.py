"""Read an option chain for the options-flow part: put-call ratios, max pain, spot.

The chain must be a canonical chain frame (``quantalloc.data.chains.load_chain``): columns
expiry, strike, kind ("call"/"put"), volume, open_interest, and where known spot and as_of.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd

from quantalloc.data.validation import require_columns
from quantalloc.errors import DataError
from quantalloc.regime.config import OptionsFlowConfig
from quantalloc.regime.direction import ChainReading

REQUIRED_COLUMNS: tuple[str, ...] = ("expiry", "strike", "kind", "volume", "open_interest")


def _attempt(what: str, fn: Callable[[], float], notes: list[str]) -> float | None:
    """``fn()`` when it gives a finite number; otherwise None and a note saying why."""
    try:
        value = float(fn())
    except DataError as exc:
        notes.append(f"{what} not available: {exc}")
        return None
    if not math.isfinite(value):
        notes.append(f"{what} not available: the chain gives {value}")
        return None
    return value


def chain_date(chain: pd.DataFrame) -> pd.Timestamp | None:
    """The day the chain was taken (latest ``as_of``), or None when the chain does not say."""
    if "as_of" not in chain.columns:
        return None
    stamps = pd.to_datetime(chain["as_of"], errors="coerce").dropna()
    if stamps.empty:
        return None
    ts = pd.Timestamp(stamps.max())
    return (ts.tz_localize(None) if ts.tzinfo is not None else ts).normalize()


def read_chain(
    chain: pd.DataFrame,
    as_of: pd.Timestamp,
    fallback_spot: float,
    cfg: OptionsFlowConfig,
    name: str = "option chain",
) -> ChainReading:
    """PCR by volume and by open interest, max pain of the nearest live expiry, and spot.

    DataError when the chain is malformed, taken after ``as_of`` (it would look ahead), more
    than ``chain_max_age_days`` before it, or holds no expiry on or after it. A ratio the chain
    cannot give (e.g. no call volume at all) is left None with a note, not guessed.
    """
    if not isinstance(chain, pd.DataFrame):
        raise DataError(f"{name}: expected a chain DataFrame, got {type(chain).__name__}")
    require_columns(chain, REQUIRED_COLUMNS, name, "load it with quantalloc.data.chains.load_chain")
    if chain.empty:
        raise DataError(f"{name}: no contracts; load a non-empty chain")
    day = as_of.normalize()
    taken = chain_date(chain)
    if taken is not None:
        if taken > day:
            raise DataError(
                f"{name} is dated {taken.date()}, after the as-of date {day.date()}; using it "
                f"would look ahead; pass `as_of={taken.date()}` or an older chain",
                params="as_of",
            )
        age = (day - taken).days
        if age > cfg.chain_max_age_days:
            raise DataError(
                f"{name} is dated {taken.date()}, {age} days before the as-of date {day.date()} "
                f"(at most {cfg.chain_max_age_days} allowed); pass `as_of={taken.date()}` or a "
                "fresher chain",
                params="as_of",
            )
    expiries = pd.to_datetime(chain["expiry"], errors="coerce")
    if expiries.isna().any():
        raise DataError(f"{name}: {int(expiries.isna().sum())} rows with no readable expiry date")
    live = chain.loc[expiries.dt.normalize() >= day]
    if live.empty:
        raise DataError(
            f"{name}: every expiry ({expiries.min().date()} .. {expiries.max().date()}) is before "
            f"the as-of date {day.date()}; load a current chain"
        )
    from quantalloc.regime.chain_analytics import max_pain, put_call_ratio

    nearest = pd.Timestamp(expiries.loc[live.index].min())
    pcr_expiry = nearest if cfg.pcr_expiries == "nearest" else None
    notes: list[str] = []
    pcr_volume = _attempt(
        "volume PCR", lambda: put_call_ratio(live, by="volume", expiry=pcr_expiry), notes
    )
    pcr_oi = _attempt("OI PCR", lambda: put_call_ratio(live, by="oi", expiry=pcr_expiry), notes)
    pain = _attempt(f"max pain ({nearest.date()})", lambda: max_pain(live, expiry=nearest), notes)
    spot: float | None = None
    if "spot" in live.columns:
        spots = pd.to_numeric(live["spot"], errors="coerce").dropna()
        spots = spots[spots > 0]
        if not spots.empty:
            spot = float(spots.median())
    if spot is None:
        strikes = pd.to_numeric(live["strike"], errors="coerce")
        if strikes.min() <= fallback_spot <= strikes.max():
            spot = float(fallback_spot)
            notes.append(f"{name} gives no spot; the index close {spot:,.2f} stands in")
        else:
            notes.append(
                f"{name} gives no spot and its strikes ({strikes.min():g} .. {strikes.max():g}) "
                f"do not span the index close {fallback_spot:,.2f}: max-pain distance skipped"
            )
    if taken is None:
        notes.append(
            f"{name} carries no quote date; it is taken as current on {day.date()} "
            "(its staleness cannot be checked)"
        )
    return ChainReading(
        pcr_volume=pcr_volume, pcr_oi=pcr_oi, max_pain=pain, spot=spot, notes=tuple(notes)
    )


__all__ = ["REQUIRED_COLUMNS", "chain_date", "read_chain"]
