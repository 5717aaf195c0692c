"""Market data: price providers behind one Protocol, validation, and input tables."""

from quantalloc.data.base import OHLCV_COLUMNS, PriceProvider
from quantalloc.data.csv_provider import CsvProvider
from quantalloc.data.sources import get_provider

__all__ = ["OHLCV_COLUMNS", "CsvProvider", "PriceProvider", "get_provider"]
