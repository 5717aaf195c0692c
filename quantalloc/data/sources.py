"""Turn a ``--data`` source string into a provider."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from quantalloc.data.base import PriceProvider
from quantalloc.errors import ConfigError

log = logging.getLogger(__name__)

SOURCE_FORMS = (
    "auto, yahoo, demo, csv:DIR, dhan, upstox, polygon, ibkr (a vendor with :5m for 5-minute "
    "bars), or a list to try in order such as dhan,yahoo"
)


def get_provider(
    source: str | None = None,
    market: str | None = None,
    *,
    configured: str | None = None,
    cache_dir: str | Path | None = None,
    max_ffill: int = 0,
    env: Mapping[str, str] | None = None,
) -> PriceProvider:
    """The price provider named by ``source``.

    Parameters
    ----------
    source
        ``csv:DIR`` (a folder of ``<SYMBOL>.csv`` files), ``yahoo`` (yfinance with an on-disk
        cache), ``demo`` (the synthetic market), a vendor (``dhan``, ``upstox``, ``polygon``,
        ``ibkr``; ``dhan:5m`` for 5-minute bars; see :mod:`quantalloc.data.vendors`), a list
        tried in order (``dhan,yahoo``), or ``auto``/None: ``configured`` if given, else the
        market's vendors whose credentials are set followed by Yahoo
        (:data:`quantalloc.data.vendors.AUTO_ORDER`), else ``yahoo`` when Yahoo answers within
        ~2 s or its cache holds data, else ``demo``.
    market
        Market profile name (``in`` or ``us``; None is ``in``).
    configured
        The user's configured source (the CLI passes ``$QUANTALLOC_DATA``); used by ``auto``.
    cache_dir
        Yahoo cache folder (the CLI passes ``$QUANTALLOC_CACHE_DIR``); default in the user cache.
        The vendors cache under ``cache_dir/<vendor>`` (default: the user cache folder).
    max_ffill
        Forward-fill repair allowed by validation (csv, yahoo, vendors), in rows.
    env
        Where vendors read credentials (the CLI passes the environment over ``.env``); None
        reads the process environment and ``.env``.
    """
    from quantalloc.markets import get_market

    profile = get_market(market)
    if max_ffill < 0:
        raise ConfigError(f"max_ffill is {max_ffill}; it must be 0 (no repair) or more rows")
    src = (source or "auto").strip()
    kind = src.lower()
    if kind == "auto":
        if configured and configured.strip() and configured.strip().lower() != "auto":
            return get_provider(
                configured, profile.name, cache_dir=cache_dir, max_ffill=max_ffill, env=env
            )
        vendors = _auto_vendors(profile.name, cache_dir, env, max_ffill)
        if vendors is not None:
            return vendors
        from quantalloc.data.yahoo import YahooProvider, yahoo_reachable

        yahoo = YahooProvider(profile.name, cache_dir=cache_dir, max_ffill=max_ffill)
        if yahoo.has_cache() or yahoo_reachable():
            return yahoo
        log.info("auto data source: Yahoo unreachable and no cache; using the demo market")
        return _demo(profile.name)
    if kind.startswith("csv:"):
        folder = src[4:].strip()
        if not folder:
            raise ConfigError("`data=csv:` needs a folder, e.g. `data=csv:./prices`", params="data")
        from quantalloc.data.cache import default_cache_root
        from quantalloc.data.csv_provider import CsvProvider

        return CsvProvider(folder, max_ffill=max_ffill, cache_dir=cache_dir or default_cache_root())
    if kind == "yahoo":
        from quantalloc.data.yahoo import YahooProvider

        return YahooProvider(profile.name, cache_dir=cache_dir, max_ffill=max_ffill)
    if kind == "demo":
        return _demo(profile.name)
    if "," in kind:
        from quantalloc.data.vendors.auto import parse_order

        return _auto_list(parse_order(kind), {}, profile.name, cache_dir, env, max_ffill)
    from quantalloc.data.vendors import VENDORS, open_bars, split_source

    if split_source(kind)[0] in VENDORS:
        return open_bars(kind, profile.name, cache_root=cache_dir, env=env, max_ffill=max_ffill)
    raise ConfigError(
        f"unknown data source {source!r}; use one of {SOURCE_FORMS} (e.g. `data=csv:./prices`)",
        params="data",
    )


def _auto_vendors(
    market: str, cache_dir: str | Path | None, env: Mapping[str, str] | None, max_ffill: int
) -> PriceProvider | None:
    """``auto`` over the market's configured vendors and Yahoo; None when no vendor is set."""
    from quantalloc.data.vendors.auto import auto_order
    from quantalloc.data.vendors.common import default_env

    order, skipped = auto_order(market, default_env() if env is None else env)
    if order == ["yahoo"]:
        return None
    return _auto_list(order, skipped, market, cache_dir, env, max_ffill)


def _auto_list(
    names: list[str],
    skipped: dict[str, str],
    market: str,
    cache_dir: str | Path | None,
    env: Mapping[str, str] | None,
    max_ffill: int,
) -> PriceProvider:
    """``auto`` over ``names`` (vendor sources or ``yahoo``), each opened as on its own."""
    from quantalloc.data.vendors.auto import AutoPrices

    opened = [
        (name, get_provider(name, market, cache_dir=cache_dir, max_ffill=max_ffill, env=env))
        for name in names
    ]
    return AutoPrices(opened, skipped)


def _demo(market: str) -> PriceProvider:
    from quantalloc.data.demo import DemoProvider

    return DemoProvider(market)
