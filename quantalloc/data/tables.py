"""Input tables named as in the seeds' Supabase schema, read from CSV files and validated.

(Interface fixed here; the foundation issue fills in the rules.)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from quantalloc.errors import ConfigError

INPUT_TABLES: tuple[str, ...] = (
    "industry_allocations_current",
    "sector_allocations_current",
    "stock_data",
    "stock_rankings",
    "strategies",
    "option_chain_data",
)


def validate_table(name: str, frame: pd.DataFrame, *, source: str = "table") -> pd.DataFrame:
    """Return ``frame`` checked and typed as table ``name``; a DataError says what is wrong."""
    if name not in INPUT_TABLES:
        raise ConfigError(f"unknown table {name!r}; known tables: {', '.join(INPUT_TABLES)}")
    return frame


def read_table_csv(name: str, path: str | Path) -> pd.DataFrame:
    """Read and validate table ``name`` from the CSV file ``path``."""
    return validate_table(name, pd.read_csv(path), source=str(path))


def parse_table_args(items: list[str] | None) -> dict[str, pd.DataFrame]:
    """Turn ``--table NAME=FILE.csv`` arguments into validated frames keyed by table name."""
    tables: dict[str, pd.DataFrame] = {}
    for item in items or []:
        name, sep, file = item.partition("=")
        if not sep or not name or not file:
            raise ConfigError(f"--table takes NAME=FILE.csv, got {item!r}")
        tables[name.strip()] = read_table_csv(name.strip(), file.strip())
    return tables
