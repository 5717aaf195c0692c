"""Turn a ``--data`` source string into a provider."""

from __future__ import annotations

import logging
from pathlib import Path

from quantalloc.data.base import PriceProvider
from quantalloc.errors import ConfigError

log = logging.getLogger(__name__)

SOURCE_FORMS = "auto, yahoo, demo, csv:DIR"


def get_provider(
    source: str | None = None,
    market: str | None = None,
    *,
    configured: str | None = None,
    cache_dir: str | Path | None = None,
    max_ffill: int = 0,
) -> PriceProvider:
    """The price provider named by ``source``.

    Parameters
    ----------
    source
        ``csv:DIR`` (a folder of ``<SYMBOL>.csv`` files), ``yahoo`` (yfinance with an on-disk
        cache), ``demo`` (the synthetic market) or ``auto``/None: ``configured`` if given, else
        ``yahoo`` when Yahoo answers within ~2 s or its cache holds data, else ``demo``.
    market
        Market profile name (``in`` or ``us``; None is ``in``).
    configured
        The user's configured source (the CLI passes ``$QUANTALLOC_DATA``); used by ``auto``.
    cache_dir
        Yahoo cache folder (the CLI passes ``$QUANTALLOC_CACHE_DIR``); default in the user cache.
    max_ffill
        Forward-fill repair allowed by validation (csv and yahoo), in rows.
    """
    from quantalloc.markets import get_market

    profile = get_market(market)
    if max_ffill < 0:
        raise ConfigError(f"max_ffill is {max_ffill}; it must be 0 (no repair) or more rows")
    src = (source or "auto").strip()
    kind = src.lower()
    if kind == "auto":
        if configured and configured.strip() and configured.strip().lower() != "auto":
            return get_provider(configured, profile.name, cache_dir=cache_dir, max_ffill=max_ffill)
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
        from quantalloc.data.csv_provider import CsvProvider

        return CsvProvider(folder, max_ffill=max_ffill, cache_dir=cache_dir or _cache_root())
    if kind == "yahoo":
        from quantalloc.data.yahoo import YahooProvider

        return YahooProvider(profile.name, cache_dir=cache_dir, max_ffill=max_ffill)
    if kind == "demo":
        return _demo(profile.name)
    raise ConfigError(
        f"unknown data source {source!r}; use one of {SOURCE_FORMS} (e.g. `data=csv:./prices`)",
        params="data",
    )


def _cache_root() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("quantalloc"))


def _demo(market: str) -> PriceProvider:
    from quantalloc.data.demo import DemoProvider

    return DemoProvider(market)
