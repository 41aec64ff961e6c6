"""Traffic on the road network: static user equilibrium, dynamic loading, travel times for crews.

:func:`traffic_assignment` finds the link flows at which no driver can shorten their trip
(Wardrop's user equilibrium) with BPR link costs (Frank-Wolfe family, or the bush-based
Algorithm B for tight equilibria and fast re-solves); :class:`Assignment` compiles a network once
and re-solves it under changed conditions (closed links, capacity cuts, scaled demand, warm
starts), as the simulation engine does every period; :func:`traffic_dynamics` moves time-varying
demand through the network with queues, spillback and events (link transmission model);
:func:`travel_times` gives the shortest travel time between nodes under given flows (free flow,
a solved assignment, or a damaged network), so the engine can route repair crews.

Modules, one job each: :mod:`~twin.traffic.problem` (validation and the arrays of a static
assignment), :mod:`~twin.traffic.warm` (warm starts), :mod:`~twin.traffic.static` (running the
static kernels and the result Dataset), :mod:`~twin.traffic.assignment` (the public static API),
:mod:`~twin.traffic.dynamics` (link transmission model), :mod:`~twin.traffic.crews` (travel times).
All call the kernels of :mod:`twin.solvers.traffic`.
"""

from twin.traffic.assignment import Assignment, traffic_assignment
from twin.traffic.crews import travel_times
from twin.traffic.dynamics import traffic_dynamics

__all__ = ["Assignment", "traffic_assignment", "traffic_dynamics", "travel_times"]
