"""pedsim: a co-simulation testbed for Positive Energy Districts."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pedsim")
except PackageNotFoundError:  # pragma: no cover - source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]
