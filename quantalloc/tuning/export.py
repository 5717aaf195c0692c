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
    write_atomic(Path(path), text, make_parents=False)


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
    """Where ``--export TARGET`` writes: a bare NAME in the user's model folder, else the path.

    The user's folder is where ``--model NAME`` finds the file again (after the shipped ones).
    """
    path = Path(target).expanduser()
    if path.suffix == ".toml" or path.parent != Path("."):
        return path if path.suffix == ".toml" else path.with_suffix(".toml")
    from quantalloc.config import user_models_dir

    return user_models_dir() / f"{target}.toml"


def check_export_target(target: str, *, force: bool = False) -> Path:
    """The file ``--export TARGET`` may write, or a ConfigError saying why not.

    Shipped models are never overwritten (not even with ``force``); an existing file of the
    user's is replaced only with ``force``; a path's folder must exist.
    """
    from quantalloc.config import shipped_models_dirs, user_models_dir

    if not str(target).strip():
        raise ConfigError("`export` needs a model name, e.g. momentum_tuned", params="export")
    path = model_file_path(str(target))
    shipped = {d.resolve() for d in shipped_models_dirs()}
    names = {p.stem for d in shipped for p in d.glob("*.toml")}
    if path.resolve().parent in shipped or (
        path.parent == user_models_dir() and path.stem in names
    ):
        raise ConfigError(
            f"`export` {target}: {path.stem} is a model shipped with quantalloc, never "
            f"overwritten; export under another name (it is written to {user_models_dir()})",
            params="export",
        )
    if path.parent != user_models_dir() and not path.parent.is_dir():
        raise ConfigError(
            f"`export` {target}: folder {path.parent} does not exist; create it first or give a "
            "bare NAME for your model folder",
            params="export",
        )
    if path.is_dir():
        raise ConfigError(
            f"`export` {target}: {path} is a folder; give a file name", params="export"
        )
    if path.exists() and not force:
        raise ConfigError(
            f"`export` {target}: {path} exists; replace it with `force=True`",
            params=("export", "force"),
        )
    return path


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
    from quantalloc.config import user_models_dir

    if path.parent == user_models_dir():  # the user's model folder is the one folder ever made
        path.parent.mkdir(parents=True, exist_ok=True)
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
    write_atomic(path, text, make_parents=False)
    return path


__all__ = [
    "check_export_target",
    "code_version",
    "model_file_path",
    "write_json",
    "write_model_toml",
]
