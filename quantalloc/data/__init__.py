"""Market data: price providers and chain sources behind one Protocol each, validation, tables."""

from quantalloc.data.base import OHLCV_COLUMNS, PriceProvider
from quantalloc.data.chain_open import get_chain_source
from quantalloc.data.chain_source import ChainSnapshot, ChainSource, chain_symbol
from quantalloc.data.chains import CHAIN_COLUMNS, load_chain, validate_chain
from quantalloc.data.csv_provider import CsvProvider
from quantalloc.data.demo import DemoProvider
from quantalloc.data.sources import get_provider
from quantalloc.data.tables import INPUT_TABLES, parse_table_args, read_table_csv, validate_table
from quantalloc.data.validation import validate_ohlcv
from quantalloc.data.yahoo import YahooProvider

__all__ = [
    "CHAIN_COLUMNS",
    "INPUT_TABLES",
    "OHLCV_COLUMNS",
    "ChainSnapshot",
    "ChainSource",
    "CsvProvider",
    "DemoProvider",
    "PriceProvider",
    "YahooProvider",
    "chain_symbol",
    "get_chain_source",
    "get_provider",
    "load_chain",
    "parse_table_args",
    "read_table_csv",
    "validate_chain",
    "validate_ohlcv",
    "validate_table",
]
