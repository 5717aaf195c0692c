"""Model-file export: readable TOML, versions that count up, JSON without NaN."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

from quantalloc.errors import ConfigError
from quantalloc.tuning.export import (
    check_export_target,
    code_version,
    model_file_path,
    write_json,
    write_model_toml,
)


def test_model_toml_round_trips_and_versions(tmp_path: Path) -> None:
    target = tmp_path / "models" / "mom_tuned.toml"
    target.parent.mkdir()
    params = {"sma_days": np.int64(180), "stop_loss": 0.0725, "trade_symbol": "SPXL", "x": True}
    prov = {"data": "csv:/d/us", "start": "2012-01-01", "end": "2017-12-29", "trials": 40,
            "score": 1.25, "pbo": None}  # fmt: skip
    path = write_model_toml(target, "momentum", params, prov)
    doc = tomllib.loads(path.read_text())
    assert doc["backtest"] == {
        "strategy": "momentum",
        "params": {"sma_days": 180, "stop_loss": 0.0725, "trade_symbol": "SPXL", "x": True},
    }
    p = doc["provenance"]
    assert p["model_version"] == 1 and p["trials"] == 40 and p["score"] == 1.25
    assert "pbo" not in p  # None is left out rather than written as a fake number
    assert p["code_version"] == code_version() and p["created"]
    again = tomllib.loads(write_model_toml(target, "momentum", params, prov).read_text())
    assert again["provenance"]["model_version"] == 2
    assert not list(target.parent.glob("*.tmp"))


def test_bare_name_goes_to_the_user_models_dir() -> None:
    from quantalloc.config import user_models_dir

    path = model_file_path("my_model")
    assert path == user_models_dir() / "my_model.toml"


def test_export_never_overwrites_a_shipped_model(tmp_path: Path) -> None:
    # the reproduction: `tune ... --export industry_first` replaced the shipped model
    from quantalloc.config import shipped_models_dirs

    shipped = shipped_models_dirs()[0] / "industry_first.toml"
    before = shipped.read_bytes()
    for target in ("industry_first", str(shipped)):
        with pytest.raises(ConfigError, match="shipped with quantalloc, never overwritten"):
            check_export_target(target, force=True)
    assert shipped.read_bytes() == before


def test_export_refuses_an_existing_file_unless_forced(tmp_path: Path) -> None:
    target = tmp_path / "mine.toml"
    assert check_export_target(str(target)) == target
    target.write_text("x = 1\n")
    with pytest.raises(ConfigError, match="exists; replace it with"):
        check_export_target(str(target))
    assert check_export_target(str(target), force=True) == target
    with pytest.raises(ConfigError, match="does not exist"):
        check_export_target(str(tmp_path / "nope" / "m.toml"))


def test_unwritable_value_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        write_model_toml(tmp_path / "m.toml", "momentum", {"a": object()}, {})
    assert not (tmp_path / "m.toml").exists()


def test_json_replaces_non_finite_numbers(tmp_path: Path) -> None:
    write_json(tmp_path / "o.json", {"a": math.nan, "b": [np.float64(1.5), math.inf]})
    assert json.loads((tmp_path / "o.json").read_text()) == {"a": None, "b": [1.5, None]}
