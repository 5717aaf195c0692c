"""Turn a ``--data`` source string into a provider."""

from __future__ import annotations

from quantalloc.data.base import PriceProvider
from quantalloc.data.csv_provider import CsvProvider
from quantalloc.errors import ConfigError


def get_provider(source: str | None = None, market: str | None = None) -> PriceProvider:
    """Provider for ``source``: ``csv:DIR`` (more sources arrive with the foundation issue)."""
    src = (source or "auto").strip()
    if src.startswith("csv:"):
        return CsvProvider(src[4:])
    raise ConfigError(f"unknown data source {source!r}; use csv:DIR")
