"""Model-file export: readable TOML, versions that count up, JSON without NaN."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

from quantalloc.errors import ConfigError
from quantalloc.tuning.export import code_version, model_file_path, write_json, write_model_toml


def test_model_toml_round_trips_and_versions(tmp_path: Path) -> None:
    target = tmp_path / "models" / "mom_tuned.toml"
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


def test_bare_name_goes_to_models_dir() -> None:
    path = model_file_path("my_model")
    assert path.name == "my_model.toml" and path.parent.name == "models"


def test_unwritable_value_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        write_model_toml(tmp_path / "m.toml", "momentum", {"a": object()}, {})
    assert not (tmp_path / "m.toml").exists()


def test_json_replaces_non_finite_numbers(tmp_path: Path) -> None:
    write_json(tmp_path / "o.json", {"a": math.nan, "b": [np.float64(1.5), math.inf]})
    assert json.loads((tmp_path / "o.json").read_text()) == {"a": None, "b": [1.5, None]}
