"""The on-disk result cache: keyed by inputs, expires, survives corruption, writes atomically."""

from __future__ import annotations

from pathlib import Path

import pytest

from quantalloc.errors import StorageError
from quantalloc.regime.cache import ResultCache, cache_key


def test_key_depends_on_every_input_and_not_on_order() -> None:
    a = cache_key(market="us", as_of="2017-07-26", vix=None)
    assert a == cache_key(vix=None, as_of="2017-07-26", market="us")
    assert a != cache_key(market="in", as_of="2017-07-26", vix=None)
    assert a != cache_key(market="us", as_of="2017-07-27", vix=None)
    assert a != cache_key(market="us", as_of="2017-07-26", vix=20.0)


def test_round_trip_and_expiry(tmp_path: Path) -> None:
    cache = ResultCache(directory=tmp_path / "c", ttl_seconds=3600)
    assert cache.get("k") is None
    cache.put("k", {"state": "Bullish_Low_VIX"}, now=1_000.0)
    hit = cache.get("k", now=1_000.0 + 3599)
    assert hit == ({"state": "Bullish_Low_VIX"}, 1_000.0)
    assert cache.get("k", now=1_000.0 + 3601) is None  # older than the TTL
    assert ResultCache(directory=tmp_path / "c", ttl_seconds=0).get("k", now=1_000.0) is None
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["k.json"]  # no temp files left


def test_corrupt_entry_is_a_miss(tmp_path: Path) -> None:
    cache = ResultCache(directory=tmp_path, ttl_seconds=3600)
    (tmp_path / "bad.json").write_text("{not json")
    assert cache.get("bad") is None
    (tmp_path / "odd.json").write_text('{"stored_at": "x", "value": 1}')
    assert cache.get("odd") is None


def test_unwritable_folder_raises_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(StorageError, match="cannot write the regime cache"):
        ResultCache(directory=blocker / "sub").put("k", {"a": 1})
