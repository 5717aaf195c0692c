"""The fill rule: the price a buy or a sell of a listed contract would get, and why.

For every contract of a canonical chain (:mod:`quantalloc.data.chains`):

1. **Quoted** (bid > 0 and ask >= bid): buy at the ask, sell at the bid; the reference is the
   mid (``basis = "quote"``).
2. Else, for chains that publish only closes and settlements (NSE bhavcopy): a contract that
   traded that session is referenced at its close (``basis = "close"``), an untraded one at the
   exchange's settlement price (``"settlement"``), never at a stale close; a chain with a last
   price and no volume column references that (``"last"``). A buy pays the reference plus half
   the modelled spread, a sell gets the reference less half of it (not below zero), the spread
   coming from :class:`~quantalloc.options.costs.SpreadTable` for the contract's moneyness and
   expiry bucket.
3. A contract with none of these has no fill price and is dropped.

:func:`fill_prices` returns the chain with ``ref``, ``buy``, ``sell``, ``rel_spread`` and
``basis``; every leg priced from it carries ``price_source = "chain"``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quantalloc.errors import DataError
from quantalloc.options.costs import SpreadTable

BASES: tuple[str, ...] = ("quote", "close", "settlement", "last")


def fill_prices(
    chain: pd.DataFrame,
    spreads: SpreadTable,
    *,
    spot: float | None = None,
    as_of: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Fill prices of every contract of ``chain`` that has one (see the module notes).

    Parameters
    ----------
    chain
        Canonical chain frame.
    spreads
        Spread model for contracts without quotes.
    spot
        Underlying price (default: the chain's ``spot`` column).
    as_of
        Quote date for days to expiry (default: the chain's ``as_of`` column).
    """
    out = chain.copy()
    if spot is not None:
        out["spot"] = float(spot)
    if as_of is not None:
        out["as_of"] = pd.Timestamp(as_of).normalize()
    if out["spot"].isna().any() or out["as_of"].isna().any():
        raise DataError(
            "the chain lacks its underlying price or quote date; pass spot= and as_of= to price it"
        )
    bid, ask = out["bid"].to_numpy(float), out["ask"].to_numpy(float)
    last, settle = out["last"].to_numpy(float), out["settlement"].to_numpy(float)
    volume = out["volume"].to_numpy(float)
    quoted = (bid > 0) & (ask >= bid)
    traded = ~quoted & (volume > 0) & (last > 0)
    settled = ~quoted & ~traded & (settle > 0)
    lasted = ~quoted & ~traded & ~settled & np.isnan(volume) & (last > 0)
    basis = np.select([quoted, traded, settled, lasted], list(BASES), default="")
    ref = np.select(
        [quoted, traded, settled, lasted], [(bid + ask) / 2.0, last, settle, last], np.nan
    )
    dte = (out["expiry"] - out["as_of"]).dt.days.to_numpy(float)
    modelled = spreads.spread(ref, out["kind"], out["strike"], out["spot"], dte)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = np.where(quoted, (ask - bid) / 2.0, modelled / 2.0)
        rel = np.where(ref > 0, 2.0 * half / ref, np.inf)
    out["basis"] = basis
    out["ref"] = ref
    out["buy"] = np.where(quoted, ask, ref + half)
    out["sell"] = np.where(quoted, bid, np.maximum(ref - half, 0.0))
    out["rel_spread"] = rel
    return out.loc[basis != ""].reset_index(drop=True)


__all__ = ["BASES", "fill_prices"]
