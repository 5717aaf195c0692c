"""Option-chain analytics: put-call ratio and max pain.

All functions take the canonical chain frame of :func:`quantalloc.data.chains.load_chain`
(columns ``expiry, strike, kind, bid, ask, last, volume, open_interest, implied_vol, spot, as_of``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from quantalloc.errors import ConfigError, DataError

PcrBasis = Literal["oi", "volume"]
_BASIS_COLUMN = {"oi": "open_interest", "open_interest": "open_interest", "volume": "volume"}


def _basis_column(by: str) -> str:
    try:
        return _BASIS_COLUMN[str(by).strip().lower()]
    except KeyError:
        raise ConfigError(
            f"put-call ratio basis {by!r} is unknown; use by='oi' (open interest) or by='volume'"
        ) from None


def _check_chain(chain: pd.DataFrame) -> None:
    missing = [c for c in ("expiry", "strike", "kind") if c not in chain.columns]
    if missing:
        raise DataError(
            f"option chain lacks column(s) {missing}; load it with quantalloc.data.load_chain"
        )
    if chain.empty:
        raise DataError("option chain is empty; nothing to analyse")


def select_expiry(chain: pd.DataFrame, expiry: object = None) -> pd.DataFrame:
    """Rows of ``chain`` at ``expiry`` (a date or string); ``None`` gives the whole chain."""
    _check_chain(chain)
    if expiry is None:
        return chain
    try:
        stamp = pd.Timestamp(expiry).normalize()  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"expiry {expiry!r} is not a date (use YYYY-MM-DD)") from exc
    rows = chain.loc[pd.to_datetime(chain["expiry"]).dt.normalize() == stamp]
    if rows.empty:
        listed = sorted({pd.Timestamp(e).date().isoformat() for e in chain["expiry"].unique()})
        shown = ", ".join(listed[:8]) + (" ..." if len(listed) > 8 else "")
        raise DataError(
            f"option chain has no rows for expiry {stamp.date()}; expiries in the chain: {shown}"
        )
    return rows


def nearest_expiry(chain: pd.DataFrame) -> pd.Timestamp:
    """The earliest expiry in ``chain`` (loaders drop contracts that expired before ``as_of``)."""
    _check_chain(chain)
    return pd.Timestamp(pd.to_datetime(chain["expiry"]).min())


def _chain_spot(chain: pd.DataFrame, spot: float | None) -> float:
    if spot is not None:
        value = float(spot)
    else:
        spots = chain["spot"].dropna() if "spot" in chain.columns else pd.Series(dtype=float)
        if spots.empty:
            raise DataError(
                "option chain has no underlying price (spot), which a moneyness band needs; "
                "pass spot=... explicitly"
            )
        value = float(spots.median())
    if not np.isfinite(value) or value <= 0:
        raise DataError(f"underlying price must be a positive number, got {value}")
    return value


def put_call_ratio(
    chain: pd.DataFrame,
    by: PcrBasis | str = "oi",
    expiry: object = None,
    moneyness_band: float | None = None,
    *,
    spot: float | None = None,
) -> float:
    """Put-call ratio: total put open interest (or volume) over the call total.

    Parameters
    ----------
    chain
        Canonical chain frame.
    by
        ``"oi"`` (open interest) or ``"volume"``.
    expiry
        Restrict to one expiry; ``None`` uses the whole chain.
    moneyness_band
        Keep only strikes with ``|strike / spot - 1| <= moneyness_band`` (e.g. 0.05 for +-5%).
    spot
        Underlying price for the band; default the chain's ``spot`` column.

    Raises
    ------
    DataError
        No rows at ``expiry`` or within the band, the basis column is missing or all NaN, or
        the call total is zero (the ratio is undefined).
    """
    column = _basis_column(by)
    rows = select_expiry(chain, expiry)
    if column not in rows.columns or rows[column].isna().all():
        raise DataError(
            f"option chain has no {column.replace('_', ' ')} data; "
            f"use by={'volume' if column == 'open_interest' else 'oi'} or another chain"
        )
    if moneyness_band is not None:
        band = float(moneyness_band)
        if not np.isfinite(band) or band <= 0:
            raise ConfigError(f"moneyness_band must be a positive fraction of spot, got {band}")
        s = _chain_spot(rows, spot)
        rows = rows.loc[(rows["strike"] / s - 1.0).abs() <= band + 1e-12]
        if rows.empty:
            raise DataError(f"no strikes within {band:.1%} of spot {s:g}; widen moneyness_band")
    totals = rows.groupby("kind")[column].sum(min_count=1)
    calls = float(totals.get("call", np.nan))
    puts = float(totals.get("put", np.nan))
    if not np.isfinite(calls) or calls <= 0:
        raise DataError(
            f"call {column.replace('_', ' ')} is zero or missing for the selected rows "
            f"(puts {puts:g}); the put-call ratio is undefined"
        )
    return (puts if np.isfinite(puts) else 0.0) / calls


def put_call_table(chain: pd.DataFrame, moneyness_band: float | None = None) -> pd.DataFrame:
    """Per-expiry put and call totals and ratios.

    Returns a frame indexed by ``expiry`` with columns ``call_oi, put_oi, pcr_oi, call_volume,
    put_volume, pcr_volume`` (ratios NaN where the call total is zero or missing) and
    ``max_pain`` (NaN where the expiry has no open interest).
    """
    _check_chain(chain)
    rows = chain
    if moneyness_band is not None:
        s = _chain_spot(chain, None)
        rows = chain.loc[(chain["strike"] / s - 1.0).abs() <= float(moneyness_band) + 1e-12]
    records = []
    for expiry, group in rows.groupby("expiry", sort=True):
        rec: dict[str, object] = {"expiry": expiry}
        for column, short in (("open_interest", "oi"), ("volume", "volume")):
            tot = group.groupby("kind")[column].sum(min_count=1)
            c = float(tot.get("call", np.nan))
            p = float(tot.get("put", np.nan))
            rec[f"call_{short}"] = c
            rec[f"put_{short}"] = p
            rec[f"pcr_{short}"] = p / c if np.isfinite(c) and c > 0 else np.nan
        try:
            rec["max_pain"] = max_pain(chain, expiry)
        except DataError:
            rec["max_pain"] = np.nan
        records.append(rec)
    return pd.DataFrame.from_records(records).set_index("expiry")


def pain_curve(chain: pd.DataFrame, expiry: object = None) -> pd.Series:
    """Total intrinsic value paid to holders at expiry if the underlying settles at each strike.

    For settlement price ``S`` the payout is ``sum(OI_call * max(S - K, 0)) +
    sum(OI_put * max(K - S, 0))`` over the contracts of the expiry (per unit of underlying; multiply
    by the lot size for currency). ``expiry=None`` uses the nearest expiry. Indexed by strike.
    """
    _check_chain(chain)
    when = nearest_expiry(chain) if expiry is None else expiry
    rows = select_expiry(chain, when)
    if "open_interest" not in rows.columns:
        raise DataError("option chain has no open_interest column; max pain needs open interest")
    oi = rows["open_interest"].fillna(0.0).to_numpy(dtype=float)
    if not (oi > 0).any():
        raise DataError(
            f"option chain has no open interest at expiry {pd.Timestamp(str(when)).date()}; "
            "max pain is undefined"
        )
    strikes = rows["strike"].to_numpy(dtype=float)
    is_call = (rows["kind"].astype(str) == "call").to_numpy()
    grid = np.unique(strikes)
    # payout[i] = sum_j oi_j * intrinsic_j(grid_i): a (grid x contracts) product
    diff = grid[:, None] - strikes[None, :]
    intrinsic = np.where(is_call[None, :], np.maximum(diff, 0.0), np.maximum(-diff, 0.0))
    payout = intrinsic @ oi
    return pd.Series(payout, index=pd.Index(grid, name="strike"), name="payout")


def parity_spot(chain: pd.DataFrame, expiry: object = None, n_strikes: int = 5) -> float:
    """Underlying price implied by put-call parity, for chains that do not carry one.

    At strikes quoted on both sides (positive bid and ask), ``C - P + K`` estimates the forward
    price of the expiry (interest and dividends are ignored, which matters little for the nearest
    expiry). The median over the ``n_strikes`` strikes with the smallest ``|C - P|`` (nearest the
    money) is returned. ``expiry=None`` uses the nearest expiry.

    Raises
    ------
    DataError
        No strike has two-sided quotes on both the call and the put.
    """
    _check_chain(chain)
    when = nearest_expiry(chain) if expiry is None else expiry
    rows = select_expiry(chain, when)
    quoted = rows.loc[(rows["bid"] > 0) & (rows["ask"] >= rows["bid"])]
    mid = (quoted["bid"] + quoted["ask"]) / 2.0
    table = pd.DataFrame(
        {"strike": quoted["strike"], "kind": quoted["kind"].astype(str), "mid": mid}
    ).pivot_table(index="strike", columns="kind", values="mid", aggfunc="mean")
    if not {"call", "put"} <= set(table.columns):
        raise DataError("no strike has quotes for both a call and a put; cannot infer the spot")
    pairs = table.dropna(subset=["call", "put"])
    if pairs.empty:
        raise DataError("no strike has quotes for both a call and a put; cannot infer the spot")
    gap = pairs["call"] - pairs["put"]
    nearest = gap.abs().nsmallest(max(1, int(n_strikes))).index
    return float(np.median(gap.loc[nearest].to_numpy() + nearest.to_numpy(dtype=float)))


def max_pain(chain: pd.DataFrame, expiry: object = None) -> float:
    """The strike minimising the total intrinsic value paid to option holders at expiry.

    ``expiry=None`` uses the nearest expiry. Ties go to the lowest such strike.

    Raises
    ------
    DataError
        No rows at ``expiry`` or no open interest there.
    """
    curve = pain_curve(chain, expiry)
    return float(curve.index[int(np.argmin(curve.to_numpy()))])


__all__ = [
    "max_pain",
    "nearest_expiry",
    "pain_curve",
    "parity_spot",
    "put_call_ratio",
    "put_call_table",
    "select_expiry",
]
