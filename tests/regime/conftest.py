"""Real index and vol-index histories (from ../shared/data), loaded once per session."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from quantalloc.data import CsvProvider
from quantalloc.regime import RegimeConfig, load_regime_config


@pytest.fixture(scope="session")
def regime_config() -> RegimeConfig:
    return load_regime_config()


@pytest.fixture(scope="session")
def us_frames(shared_data: Path) -> dict[str, pd.DataFrame]:
    """S&P 500 (^GSPC), SPY and VIX, 2000-01-03 .. 2017-12-29 (Yahoo layout)."""
    provider = CsvProvider(shared_data / "us" / "etf")
    return {sym: provider.history(sym) for sym in ("^GSPC", "SPY", "^VIX")}


@pytest.fixture(scope="session")
def in_frames(shared_data: Path) -> dict[str, pd.DataFrame]:
    """NIFTY 50 close (^NSEI) and India VIX, 2016 .. 2025-11-14 (close-only files)."""
    provider = CsvProvider(shared_data / "in" / "index")
    return {sym: provider.history(sym) for sym in ("^NSEI", "^INDIAVIX")}
