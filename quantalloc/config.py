"""Where model files live and how they are read: ``models/NAME.toml``, validated by their users."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from quantalloc.errors import ConfigError

_PACKAGE_DIR = Path(__file__).resolve().parent


def shipped_models_dirs() -> list[Path]:
    """Folders of the models that ship with quantalloc (never written by an export).

    The repository's ``models/`` (a checkout or editable install), then the copy shipped inside
    the wheel as ``quantalloc/_models``.
    """
    return [p for p in (_PACKAGE_DIR.parent / "models", _PACKAGE_DIR / "_models") if p.is_dir()]


def user_models_dir() -> Path:
    """The user's own model folder (``quantalloc tune --export NAME`` writes there)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("quantalloc")) / "models"


def models_dirs() -> list[Path]:
    """Folders searched for model files, first match wins: the shipped ones, then the user's."""
    user = user_models_dir()
    return shipped_models_dirs() + ([user] if user.is_dir() else [])


def model_path(name: str) -> Path:
    """Path of ``models/<name>.toml``, or of ``name`` itself when it is an existing .toml file."""
    given = Path(name)
    if given.suffix == ".toml" and given.is_file():
        return given
    for folder in models_dirs():
        candidate = folder / f"{name}.toml"
        if candidate.is_file():
            return candidate
    known = sorted({p.stem for d in models_dirs() for p in d.glob("*.toml")})
    raise ConfigError(
        f"no model named {name!r}; known models: {', '.join(known) or 'none'} "
        "(or pass a path to a .toml file)"
    )


def load_toml(name: str) -> dict[str, Any]:
    """Parse the model file ``name`` (see :func:`model_path`) into a dict."""
    path = model_path(name)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file") from exc
