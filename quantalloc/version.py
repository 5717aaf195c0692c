"""The package version, read from the installed package's metadata (pyproject.toml is the one
place it is written), in a module of its own so any layer can read it without importing the
package's top."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("quantalloc")
except PackageNotFoundError:  # pragma: no cover - running from a source tree never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
