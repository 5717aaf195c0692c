"""Market-data vendors behind the price-provider and chain-source protocols.

========  ==============================  =========================  ==========================
source    serves                           credentials                client
========  ==============================  =========================  ==========================
dhan      NSE daily and 1/5/15/25/60m      DHAN_CLIENT_ID,            ``dhanhq``
          bars, NSE option chains          DHAN_ACCESS_TOKEN
upstox    NSE daily and minute bars,       UPSTOX_ACCESS_TOKEN        ``upstox-python-sdk``
          NSE option chains
polygon   US daily and minute bars,        POLYGON_API_KEY            ``massive`` (formerly
          US option-chain snapshots                                   ``polygon-api-client``)
ibkr      US and NSE daily and minute      IB_PORT (IB_HOST,          ``ib_async``
          bars, option chains              IB_CLIENT_ID)
========  ==============================  =========================  ==========================

``--data dhan`` gives daily bars; ``--data dhan:5m`` five-minute bars. Every response is
cached on disk (see :mod:`quantalloc.data.vendors.bars` and
:mod:`quantalloc.data.vendors.chains`). ``auto`` tries the configured vendors of the market in
:data:`AUTO_ORDER` and then Yahoo, and records which source served each symbol
(:mod:`quantalloc.data.vendors.auto`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from quantalloc.data.vendors.errors import (
    CredentialsError,
    MarketClosedError,
    RateLimitError,
    UnknownSymbolError,
    VendorError,
    VendorUnavailableError,
)
from quantalloc.errors import ConfigError

VENDORS: tuple[str, ...] = ("dhan", "upstox", "polygon", "ibkr")
CHAIN_VENDORS: tuple[str, ...] = VENDORS

AUTO_ORDER: dict[str, tuple[str, ...]] = {
    "in": ("dhan", "upstox", "yahoo"),
    "us": ("polygon", "ibkr", "yahoo"),
}
"""The order ``auto`` tries sources in, per market (the Indian seeds' "Dhan first, yfinance
fallback"; the US seed's Polygon, then its IB session). A vendor is tried only when its
credentials are set (:func:`configured`); Yahoo always is."""


def configured(vendor: str, env: Mapping[str, str]) -> bool:
    """True when ``env`` holds the credentials ``vendor`` needs."""
    return all(str(env.get(name, "")).strip() for name in _bar_classes()[vendor].env_vars)


def split_source(text: str) -> tuple[str, str]:
    """``dhan:5m`` -> (``dhan``, ``5m``); ``polygon`` -> (``polygon``, ``1d``)."""
    name, _, interval = text.strip().lower().partition(":")
    return name, interval or "1d"


def open_bars(
    source: str,
    market: str | None,
    *,
    cache_root: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    max_ffill: int = 0,
    **options: Any,
) -> Any:
    """The price provider of a vendor source such as ``dhan`` or ``polygon:5m``."""
    name, interval = split_source(source)
    classes = _bar_classes()
    if name not in classes:
        raise ConfigError(f"unknown vendor {name!r}; use one of {', '.join(VENDORS)}")
    return classes[name](
        market, interval=interval, cache_root=cache_root, env=env, max_ffill=max_ffill, **options
    )


def open_chains(
    source: str,
    market: str | None,
    *,
    cache_root: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    **options: Any,
) -> Any:
    """The chain source of a vendor (``dhan``, ``upstox``, ``polygon``, ``ibkr``)."""
    name = source.strip().lower()
    classes = _chain_classes()
    if name not in classes:
        raise ConfigError(f"unknown chain vendor {name!r}; use one of {', '.join(CHAIN_VENDORS)}")
    return classes[name](market, cache_root=cache_root, env=env, **options)


def _bar_classes() -> dict[str, Any]:
    from quantalloc.data.vendors.dhan import DhanBars
    from quantalloc.data.vendors.ibkr import IbkrBars
    from quantalloc.data.vendors.polygon import PolygonBars
    from quantalloc.data.vendors.upstox import UpstoxBars

    return {"dhan": DhanBars, "upstox": UpstoxBars, "polygon": PolygonBars, "ibkr": IbkrBars}


def _chain_classes() -> dict[str, Any]:
    from quantalloc.data.vendors.dhan import DhanChains
    from quantalloc.data.vendors.ibkr import IbkrChains
    from quantalloc.data.vendors.polygon import PolygonChains
    from quantalloc.data.vendors.upstox import UpstoxChains

    return {
        "dhan": DhanChains,
        "upstox": UpstoxChains,
        "polygon": PolygonChains,
        "ibkr": IbkrChains,
    }


__all__ = [
    "AUTO_ORDER",
    "CHAIN_VENDORS",
    "VENDORS",
    "CredentialsError",
    "MarketClosedError",
    "RateLimitError",
    "UnknownSymbolError",
    "VendorError",
    "VendorUnavailableError",
    "configured",
    "open_bars",
    "open_chains",
    "split_source",
]
