"""twin: digital twins of city infrastructure (water, power grid and traffic in one network model)."""

from importlib.metadata import PackageNotFoundError, version

from twin import datasets, errors, io, model
from twin.model import Network

try:
    __version__ = version("twin")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["Network", "__version__", "datasets", "errors", "io", "model"]
