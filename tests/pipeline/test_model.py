"""Model files: the framework's numbers as written in the issue, and clear errors on bad files."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from quantalloc.config import model_path
from quantalloc.errors import ConfigError
from quantalloc.pipeline.model import load_model, parse_model


def test_industry_first_has_the_frameworks_numbers() -> None:
    m = load_model("industry_first")
    assert m.kind == "industry_first" and m.objective.kind == "kelly"
    expected = {  # options capital, min PoP, max risk per trade (issue 6)
        "conservative": (0.15, 0.45, 0.02),
        "moderate": (0.25, 0.30, 0.05),
        "aggressive": (0.40, 0.15, 0.10),
    }
    for name, (oc, pop, mrpt) in expected.items():
        p = m.profile(name)
        assert (p.options_capital, p.min_probability_of_profit, p.max_risk_per_trade) == (
            oc,
            pop,
            mrpt,
        )
    lim = m.limits
    assert (lim.max_strategy, lim.max_industry, lim.max_symbol, lim.max_theta_positive) == (
        0.15,
        0.30,
        0.10,
        0.40,
    )
    # 100,000 per vol point at the 3-crore scale, scaled with capital
    assert lim.max_abs_vega(30_000_000) == pytest.approx(100_000)
    assert lim.max_abs_vega(10_000_000) == pytest.approx(100_000 / 3)
    assert m.industries.min_industry_weight == 0.05
    assert m.market_state_table == "regime"
    assert m.scenarios.n_scenarios >= 2000


def test_advanced_has_the_allocators_cap_distribution() -> None:
    m = load_model("advanced")
    adv = m.advanced
    assert adv is not None
    assert (adv.min_total_score, adv.min_probability, adv.max_positions_per_bucket) == (
        0.4,
        0.35,
        10,
    )
    # neutral 45/30/20/5 and bullish 35/35/25/5 at a normal VIX (no adjustment between 15 and 25)
    assert adv.cap_targets("neutral", 20.0) == pytest.approx(
        {"large": 0.45, "mid": 0.30, "small": 0.20, "micro": 0.05}
    )
    assert adv.cap_targets("Bullish", 20.0) == pytest.approx(
        {"large": 0.35, "mid": 0.35, "small": 0.25, "micro": 0.05}
    )
    bear = adv.cap_targets("bearish", 20.0)
    assert bear["large"] > 0.45  # shifted to large caps
    assert adv.cap_targets("neutral", 12.0)["small"] > 0.20  # low VIX: more small caps
    assert adv.cap_targets("neutral", 30.0)["large"] > 0.45  # high VIX: defensive
    for vix in (10.0, 20.0, 40.0):
        assert sum(adv.cap_targets("bullish", vix).values()) == pytest.approx(1.0)


def _variant(tmp_path: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    data = tomllib.loads(model_path("industry_first").read_text())
    edit(data)
    lines = []

    def dump(prefix: str, table: dict) -> None:  # type: ignore[type-arg]
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        if prefix:
            lines.append(f"[{prefix}]")
        for k, v in scalars.items():
            lines.append(f"{k} = {_toml(v)}")
        for k, v in table.items():
            if isinstance(v, dict):
                dump(f"{prefix}.{k}" if prefix else k, v)

    dump("", data)
    path = tmp_path / "variant.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _toml(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return repr(v)


def test_a_variant_written_back_loads_the_same(tmp_path: Path) -> None:
    path = _variant(tmp_path, lambda d: None)
    assert load_model(str(path)).limits == load_model().limits


def test_a_key_left_out_takes_the_one_default(tmp_path: Path) -> None:
    """Defaults are written once, on the spec dataclasses (the parser once said seed 0 where
    ScenarioSpec said 20240601)."""
    from quantalloc.pipeline.model import CandidateSpec, IndustrySpec, ScenarioSpec

    def strip(d: dict) -> None:  # type: ignore[type-arg]
        for key in ("seed", "n_scenarios", "block_length", "lookback_days", "vol_scale"):
            d["scenarios"].pop(key, None)
        d["candidates"].pop("skew", None)
        d["industries"].pop("target_tolerance", None)

    spec = load_model(str(_variant(tmp_path, strip)))
    assert spec.scenarios.seed == ScenarioSpec().seed == 20240601
    assert spec.scenarios.n_scenarios == ScenarioSpec().n_scenarios
    assert spec.candidates.skew == CandidateSpec().skew
    assert spec.industries.target_tolerance == IndustrySpec().target_tolerance


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["limits"].update(max_industry=1.5), "max_industry"),
        (lambda d: d["limits"].pop("max_symbol"), "max_symbol"),
        (lambda d: d["objective"].update(kind="sharpe"), "kelly"),
        (lambda d: d["profiles"].pop("moderate"), "moderate"),
        (lambda d: d["strategy_map"]["LONG"].update(x=["bull_spread_typo"]), "bull_spread_typo"),
        (lambda d: d["strategy_map"].pop("default"), "strategy_map.default"),
        (lambda d: d["scenarios"].update(n_scenarios="many"), "n_scenarios"),
        (lambda d: d["candidates"].update(otm=[0.7]), "otm"),
    ],
)
def test_bad_model_files_give_config_errors(tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    path = _variant(tmp_path, edit)
    with pytest.raises(ConfigError, match=message):
        load_model(str(path))


def test_unknown_model_and_profile() -> None:
    with pytest.raises(ConfigError, match="no model named"):
        load_model("nope")
    with pytest.raises(ConfigError, match="risk profile"):
        load_model().profile("yolo")
    with pytest.raises(ConfigError, match="missing table"):
        parse_model({"model": {"name": "x"}})
