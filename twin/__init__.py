"""twin: digital twins of city infrastructure (water, power grid and traffic in one network model)."""

from importlib.metadata import PackageNotFoundError, version

from twin import datasets, errors, io, model, results
from twin.contingency import contingencies
from twin.hydraulics import hydraulics
from twin.model import Network
from twin.power_flow import power_flow

try:
    __version__ = version("twin")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = [
    "Network", "__version__", "contingencies", "datasets", "errors", "hydraulics", "io", "model", "power_flow",
    "results",
]
