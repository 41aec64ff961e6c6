"""twin: digital twins of city infrastructure (water, power grid and traffic in one network model).

The subpackages and entry points load on first use (``import twin`` stays cheap; the solvers
import Numba, SciPy and pandas only when called)::

    >>> import twin
    >>> city = twin.datasets.sample_city()
    >>> int(city.counts("grid")["bus"])
    39
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from twin import datasets, errors, grid, io, kpi, model, results, scenario, sim, testing, traffic, water
    from twin.grid import contingencies, power_flow
    from twin.model import Network
    from twin.scenario import compare, load_scenario, run
    from twin.traffic import traffic_assignment, traffic_dynamics, travel_times
    from twin.water import hydraulics

try:
    __version__ = version("twin")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

#: public name -> (module, attribute or None for the module itself)
_LAZY: dict[str, tuple[str, str | None]] = {
    **{m: (f"twin.{m}", None) for m in (
        "datasets", "errors", "grid", "io", "kpi", "model", "results", "scenario", "sim", "testing", "traffic",
        "water")},
    "Network": ("twin.model", "Network"),
    "contingencies": ("twin.grid", "contingencies"),
    "power_flow": ("twin.grid", "power_flow"),
    "hydraulics": ("twin.water", "hydraulics"),
    "compare": ("twin.scenario", "compare"),
    "load_scenario": ("twin.scenario", "load_scenario"),
    "run": ("twin.scenario", "run"),
    "traffic_assignment": ("twin.traffic", "traffic_assignment"),
    "traffic_dynamics": ("twin.traffic", "traffic_dynamics"),
    "travel_times": ("twin.traffic", "travel_times"),
}

__all__ = sorted(["__version__", *_LAZY])


def __getattr__(name: str) -> Any:
    """Load a subpackage or entry point on first access (PEP 562)."""
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'twin' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
