"""Writing a study's outcome: the ``--output`` JSON and the versioned model TOML.

The model file is what ``quantalloc backtest --model NAME`` loads::

    [backtest]
    strategy = "momentum"

    [backtest.params]
    sma_days = 200
    stop_loss = 0.07

    [provenance]
    model_version = 2            # one more than the file it replaced
    created = "2026-11-21T06:10:00+00:00"
    code_version = "cd72ce0-dirty"
    data = "csv:/work/shared/data/us"
    start = "2012-01-01"
    end = "2017-12-29"
    ...
"""

from __future__ import annotations

import json
import math
import subprocess
import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from quantalloc.atomic import write_atomic
from quantalloc.errors import ConfigError


def code_version() -> str:
    """``git describe --tags --always --dirty`` of the source tree, else the package version."""
    from quantalloc.version import __version__

    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "describe", "--tags", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        out = ""
    return f"{__version__}+{out}" if out else str(__version__)


def _clean(value: Any) -> Any:
    """JSON-safe copy: non-finite floats become None, numpy scalars plain Python."""
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | Path, payload: Mapping[str, Any]) -> None:
    """Write ``payload`` as indented JSON, atomically (temp file + rename)."""
    text = json.dumps(_clean(payload), indent=2, allow_nan=False) + "\n"
    write_atomic(Path(path), text)


def _toml_value(value: Any) -> str:
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: same escapes for these characters
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ConfigError(f"cannot write {type(value).__name__} value {value!r} to a model file")


def _toml_table(name: str, body: Mapping[str, Any]) -> str:
    lines = [f"[{name}]"]
    for key, value in body.items():
        if value is None:
            continue
        k = key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)
        lines.append(f"{k} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def model_file_path(target: str) -> Path:
    """``models/NAME.toml`` of the repository for a bare NAME, else ``target`` as a path."""
    path = Path(target)
    if path.suffix == ".toml" or path.parent != Path("."):
        return path if path.suffix == ".toml" else path.with_suffix(".toml")
    from quantalloc.config import models_dirs

    dirs = models_dirs()
    base = dirs[0] if dirs else Path("models")
    return base / f"{target}.toml"


def write_model_toml(
    target: str | Path,
    strategy: str,
    params: Mapping[str, Any],
    provenance: Mapping[str, Any],
) -> Path:
    """Write the tuned model file; returns its path.

    ``provenance.model_version`` is one more than that of the file being replaced (1 for a new
    file), so an export never silently reuses a version number.
    """
    path = model_file_path(str(target))
    version = 1
    if path.is_file():
        try:
            old = tomllib.loads(path.read_text())
            version = int(old.get("provenance", {}).get("model_version", 0)) + 1
        except (tomllib.TOMLDecodeError, ValueError, TypeError):
            version = 1
    prov = {
        "model_version": version,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "code_version": code_version(),
        **dict(provenance),
    }
    text = (
        f"# {strategy} parameters tuned by `quantalloc tune`; load with "
        f"`quantalloc backtest --model {path.stem}`\n\n"
        + _toml_table("backtest", {"strategy": strategy})
        + "\n"
        + _toml_table("backtest.params", params)
        + "\n"
        + _toml_table("provenance", prov)
    )
    tomllib.loads(text)  # never leave a file that cannot be read back
    write_atomic(path, text)
    return path


__all__ = ["code_version", "model_file_path", "write_json", "write_model_toml"]
