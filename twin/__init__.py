"""twin: digital twins of city infrastructure (water, power grid and traffic in one network model)."""

from importlib.metadata import PackageNotFoundError, version

from twin import datasets, errors, io, kpi, model, results, scenario, sim, testing
from twin.contingency import contingencies
from twin.hydraulics import hydraulics
from twin.model import Network
from twin.power_flow import power_flow
from twin.scenario import compare, load_scenario, run
from twin.traffic import traffic_assignment, traffic_dynamics, travel_times

try:
    __version__ = version("twin")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = [
    "Network", "__version__", "compare", "contingencies", "datasets", "errors", "hydraulics", "io", "kpi",
    "load_scenario", "model", "power_flow", "results", "run", "scenario", "sim", "testing", "traffic_assignment",
    "traffic_dynamics", "travel_times",
]
