"""Open a chain source by name: a folder, ``yahoo``, ``store``, a vendor, ``auto`` or a list.

Kept apart from :mod:`quantalloc.data.chain_source` (the protocol and the folder and table
sources), which the Yahoo and vendor sources build on, so that no module imports in a circle.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from quantalloc.data.chain_source import (
    CHAIN_SOURCE_FORMS,
    DEFAULT_MAX_AGE_DAYS,
    ChainSource,
    FolderChainSource,
    TableChainSource,
)
from quantalloc.errors import ConfigError


def get_chain_source(
    spec: str | ChainSource,
    *,
    market: str | None = None,
    table_reader: Callable[[str], pd.DataFrame | None] | None = None,
    cache_dir: str | Path | None = None,
    max_age_days: int = DEFAULT_MAX_AGE_DAYS,
) -> ChainSource:
    """The chain source a ``--chains`` value names.

    Parameters
    ----------
    spec
        A folder of chain files, ``yahoo`` (yfinance chains, cached on disk with their quote
        time), ``store`` (the ``option_chain_data`` table; needs ``table_reader``), a vendor
        (``dhan``, ``upstox``, ``polygon``, ``ibkr``: today's chain, each fetch cached with its
        quote time; see :mod:`quantalloc.data.vendors`), ``auto`` (the market's configured
        vendors, then Yahoo), a list tried in order (``dhan,yahoo``), or a ready
        :class:`ChainSource` (returned as is).
    market
        ``in`` or ``us``, for Yahoo's symbol suffix.
    table_reader
        Reads a table by name (e.g. a store's ``read_table``); used by ``store``.
    cache_dir
        Yahoo's cache folder (default: the user cache folder); vendors cache under
        ``cache_dir/<vendor>/chains``.
    max_age_days
        How much older than the as-of date a chain may be.
    """
    if not isinstance(spec, str):
        return spec
    text = spec.strip()
    kind = text.lower()
    if not text:
        raise ConfigError(f"empty chain source; use one of {CHAIN_SOURCE_FORMS}")
    if kind == "yahoo":
        from quantalloc.data.chain_yahoo import YahooChainSource

        return YahooChainSource(market, cache_dir=cache_dir, max_age_days=max_age_days)
    vendor = _vendor_chain_source(kind, market, cache_dir, max_age_days)
    if vendor is not None:
        return vendor
    if kind == "store":
        if table_reader is None:
            raise ConfigError("chain source 'store' needs a store to read option_chain_data from")
        reader = table_reader
        return TableChainSource(
            lambda: reader("option_chain_data"), name="store", max_age_days=max_age_days
        )
    path = Path(text[4:] if kind.startswith("dir:") else text).expanduser()
    if not path.exists():
        raise ConfigError(
            f"unknown chain source {spec!r}: no such folder or file; use one of "
            f"{CHAIN_SOURCE_FORMS}"
        )
    return FolderChainSource(path, max_age_days=max_age_days)


def _vendor_chain_source(
    kind: str, market: str | None, cache_dir: str | Path | None, max_age_days: int
) -> ChainSource | None:
    """The vendor, ``auto`` or list chain source ``kind`` names; None for other kinds."""
    from quantalloc.data.vendors import CHAIN_VENDORS, open_chains

    if kind in CHAIN_VENDORS:
        source: ChainSource = open_chains(
            kind, market, cache_root=cache_dir, max_age_days=max_age_days
        )
        return source
    if kind != "auto" and "," not in kind:
        return None
    from quantalloc.data.vendors.auto import AutoChains, auto_order, parse_order
    from quantalloc.data.vendors.common import default_env
    from quantalloc.markets import get_market

    name = get_market(market).name
    if kind == "auto":
        order, skipped = auto_order(name, default_env())
    else:
        order, skipped = parse_order(kind), {}
    opened = [
        (one, get_chain_source(one, market=name, cache_dir=cache_dir, max_age_days=max_age_days))
        for one in order
    ]
    return AutoChains(opened, skipped)


__all__ = ["get_chain_source"]
