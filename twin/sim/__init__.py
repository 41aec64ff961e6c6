"""The simulation engine: one SimPy clock for water, grid and traffic, cascades through couplings,
failures, hazards and repair crews, and an event log with causes.

Examples
--------
>>> import twin
>>> from twin.sim import Engine, Event, RunConfig
>>> res = Engine(twin.datasets.sample_city(), RunConfig(3600, 900, layers=("grid", "traffic")),
...              [Event(900, "outage", "line:F7-1")]).run()
>>> res.events.kind.tolist()[:2]
['outage', 'de-energised']
"""

from twin.sim.crews import CrewSpec, Crews
from twin.sim.engine import Engine, RunConfig, SimResult, simulate
from twin.sim.events import Event, EventLog, chain_of, parse_asset
from twin.sim.hazards import Fragility, Hazard

__all__ = ["CrewSpec", "Crews", "Engine", "Event", "EventLog", "Fragility", "Hazard", "RunConfig", "SimResult",
           "chain_of", "parse_asset", "simulate"]
