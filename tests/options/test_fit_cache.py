"""GARCH fits kept on disk (:mod:`quantalloc.data.memo`): a hit is the fresh fit's numbers
exactly, any change of the returns, the model or the library versions is a miss, a broken or
foreign entry is a miss, failures are kept like fits, and the cache can be turned off."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantalloc.data import memo
from quantalloc.errors import DataError
from quantalloc.options import forecast
from quantalloc.options.forecast import GARCH_SPEC, Garch, fit_key


def _returns(n: int = 400, seed: int = 3) -> pd.Series:
    """GARCH-like returns: volatility clusters, so the fit is a real interior optimum."""
    rng = np.random.default_rng(seed)
    r, v = np.empty(n), 1e-4
    for i in range(n):
        r[i] = rng.normal(0.0, np.sqrt(v))
        v = 2e-6 + 0.08 * r[i] ** 2 + 0.9 * v
    return pd.Series(r, index=pd.bdate_range("2020-01-01", periods=n))


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.json"))


@pytest.fixture
def cache(tmp_path: Path):  # type: ignore[no-untyped-def]
    forecast._FITS.clear()  # the in-process memo would hide the disk
    with memo.configured(tmp_path / "memo"):
        yield tmp_path / "memo" / "fits"
    forecast._FITS.clear()


def test_hit_is_the_fresh_fit_exactly(cache: Path) -> None:
    rets = _returns()
    fresh = Garch._fit(rets.to_numpy())  # arch, no cache of any kind
    first = Garch.fit(rets)  # a miss: fitted and written
    assert first == fresh
    assert len(_entries(cache)) == 1
    forecast._FITS.clear()
    # a hit must not fit again: make a fresh fit impossible and read it back from the disk
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Garch, "_fit", classmethod(lambda cls, r: pytest.fail("fitted on a hit")))
        hit = Garch.fit(rets)
    assert dataclasses.astuple(hit) == dataclasses.astuple(fresh)  # bit for bit
    # the forecasts made from it are the same numbers too
    assert np.array_equal(hit.variances(rets).to_numpy(), fresh.variances(rets).to_numpy())


def test_any_change_of_input_is_a_miss(cache: Path) -> None:
    rets = _returns()
    base = Garch.fit(rets)
    nudged = rets.copy()
    nudged.iloc[123] = np.nextafter(nudged.iloc[123], 1.0)  # one return, one ulp
    other = Garch.fit(nudged)
    shorter = Garch.fit(rets.iloc[1:])  # the window moved by a day
    assert len(_entries(cache)) == 3
    assert other == Garch._fit(nudged.to_numpy())  # what it stored is that input's own fit
    assert shorter != base
    # the model's spec and the library versions are in the key
    r = rets.to_numpy()
    key_now = fit_key(r)
    assert key_now != memo.key(GARCH_SPEC + " v2", memo.versions("arch", "scipy", "numpy"), r)
    saved = dict(memo._versions)
    memo._versions.update({"arch": "0.0", "scipy": "0.0"})  # as another install would read
    try:
        assert fit_key(r) != key_now
    finally:
        memo._versions.clear()
        memo._versions.update(saved)
    assert fit_key(r) == key_now


def test_broken_or_foreign_entry_is_a_miss_and_rewritten(cache: Path) -> None:
    rets = _returns()
    fresh = Garch.fit(rets)
    (entry,) = _entries(cache)
    entry.write_text("{not json")
    forecast._FITS.clear()
    assert Garch.fit(rets) == fresh
    assert json.loads(entry.read_text())["value"] == dataclasses.asdict(fresh)  # rewritten
    # an entry of another spec under the same name (a collision) is not trusted
    doc = json.loads(entry.read_text())
    doc["spec"], doc["value"]["alpha"] = "something else", 0.5
    entry.write_text(json.dumps(doc))
    forecast._FITS.clear()
    assert Garch.fit(rets) == fresh


def test_failures_are_kept_and_raised_alike(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rets = _returns(seed=5)
    calls: list[int] = []

    def no_stationary_model(cls: type, r: np.ndarray) -> Garch:
        calls.append(r.size)
        raise DataError("GARCH(1,1) fit did not give a stationary model (alpha 0.2, beta 0.9)")

    monkeypatch.setattr(Garch, "_fit", classmethod(no_stationary_model))
    with pytest.raises(DataError, match="stationary") as first:
        Garch.fit(rets)
    forecast._FITS.clear()
    with pytest.raises(DataError) as again:
        Garch.fit(rets)  # read from the disk: the same message, no second fit
    assert str(again.value) == str(first.value)
    assert calls == [len(rets)]
    with pytest.raises(DataError, match="needs 250 returns"):
        Garch.fit(rets.iloc[:100])  # too short to fit: refused before any cache
    assert len(_entries(cache)) == 1


def test_off_and_unwritable(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rets = _returns()
    forecast._FITS.clear()
    with memo.configured(tmp_path / "off", enabled=False):
        Garch.fit(rets)
    assert not (tmp_path / "off").exists()
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    forecast._FITS.clear()
    with memo.configured(blocker / "memo"), caplog.at_level("WARNING"):
        assert Garch.fit(rets) == Garch._fit(rets.to_numpy())
    assert "cannot keep computed results" in caplog.text
    forecast._FITS.clear()
