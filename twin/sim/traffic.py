"""Traffic adapter of the engine: closed links, dark signals (intersection capacity cut by the
signal's ``dark_capacity_factor``), demand multiplier; static assignment re-solved per period
only when something changed, warm-started from the last flows; travel times for crews.

Built on the public :class:`twin.traffic.Assignment` (the network compiled once, each period
solved with ``closed_links``, ``capacity_factor``, ``demand_multiplier`` and ``warm_start``)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from twin.errors import ConvergenceError, NetworkError, ScenarioError, SimulationError
from twin.results import Variable, make_dataset
from twin.traffic import Assignment

if TYPE_CHECKING:
    from twin.model.network import Network

__all__ = ["TrafficAdapter", "TrafficRecorder"]


class TrafficAdapter:
    """The road layer during a run.

    Parameters
    ----------
    network : Network
        The city; compiled once here.
    demand_multiplier : float
        Multiplier of every OD demand.
    rgap : float
        Relative gap of each assignment.

    Examples
    --------
    >>> import twin
    >>> roads = TrafficAdapter(twin.datasets.sample_city())
    >>> roads.solve()
    True
    >>> roads.delay_rate_vh() == 0.0
    True
    """

    kinds = ("link", "node", "signal")

    def __init__(self, network: "Network", demand_multiplier: float = 1.0, rgap: float = 1e-4) -> None:
        self.assignment = Assignment(network)
        roads = self.assignment
        self.link_ids = [str(x) for x in roads.link_ids]
        self.node_ids = [str(x) for x in roads.node_ids]
        self._link_pos = {x: i for i, x in enumerate(self.link_ids)}
        self._node_pos = {x: i for i, x in enumerate(self.node_ids)}
        sig = network.signal
        self.signal_ids = [str(s) for s in sig.index]
        self._signal = {str(s): (self._node_pos[str(r.node)], float(r.dark_capacity_factor))
                        for s, r in sig.iterrows()}
        self.link_open = roads.in_service.copy()
        self.dark: set[str] = set()
        self.multiplier = float(demand_multiplier)
        self.rgap = float(rgap)
        self.x = np.zeros(roads.n_links)
        self._x_mult = self.multiplier
        self._base: dict[float, tuple[np.ndarray, float]] = {}
        self.tstt_vh = 0.0
        self.lost_vph = 0.0
        self.dirty = True
        self.solve_time_s = 0.0
        self.n_solves = 0

    def has(self, kind: str, asset_id: str) -> bool:
        """Whether the road layer holds asset ``kind:asset_id``."""
        pos: Any = {"link": self._link_pos, "node": self._node_pos, "signal": self._signal}.get(kind, {})
        return asset_id in pos

    def set_out(self, kind: str, asset_id: str, out: bool) -> None:
        """Close or reopen a link, close every link at a node, or darken / light a signal."""
        if not self.has(kind, asset_id):
            raise ScenarioError(f"road network has no {kind} {asset_id!r}")
        roads = self.assignment
        if kind == "link":
            i = self._link_pos[asset_id]
            self.link_open[i] = not out and bool(roads.in_service[i])
        elif kind == "node":
            n = self._node_pos[asset_id]
            touching = (roads.from_node == n) | (roads.to_node == n)
            self.link_open[touching] = (not out) & roads.in_service[touching]
        elif out:
            self.dark.add(asset_id)
        else:
            self.dark.discard(asset_id)
        self.dirty = True

    def set_multiplier(self, value: float) -> None:
        """Change the demand multiplier."""
        if float(value) != self.multiplier:
            self.multiplier = float(value)
            self.dirty = True

    def capacity_factor(self) -> np.ndarray:
        """Capacity multiplier per link now: links into a dark signal's node keep their share."""
        roads = self.assignment
        factor = np.ones(roads.n_links)
        for s in self.dark:
            node, share = self._signal[s]
            factor[roads.to_node == node] *= share
        return factor

    def capacity(self) -> np.ndarray:
        """Link capacities now (veh/h)."""
        return self.assignment.capacities(self.capacity_factor())

    def _assign(self, warm: np.ndarray | None, base: bool = False) -> tuple[np.ndarray, float]:
        """Flows and total travel time (veh h/h) now; trips cut off by closures are left out."""
        conditions: dict[str, Any] = {} if base else dict(capacity_factor=self.capacity_factor(),
                                                          closed_links=~self.link_open)
        try:
            ds = self.assignment.solve(**conditions, demand_multiplier=self.multiplier, warm_start=warm,
                                       rgap=self.rgap, max_iterations=200, unreachable="drop")
        except ConvergenceError as err:
            ds = err.result  # type: ignore[attr-defined]
        except NetworkError as err:
            if warm is None:
                raise SimulationError(f"traffic assignment failed: {err}") from None
            return self._assign(None, base)
        if not base:
            self.lost_vph = float(ds.attrs["unreachable_demand_vph"])
        return ds["flow_vph"].values.copy(), float(ds.attrs["total_system_travel_time_vh"])

    def _base_state(self) -> tuple[np.ndarray, float]:
        key = self.multiplier
        if key not in self._base:
            self._base[key] = self._assign(None, base=True)
        return self._base[key]

    def base_tstt(self) -> float:
        """Total travel time (veh h per hour) of the undisturbed network at the current demand."""
        return self._base_state()[1]

    @property
    def undisturbed(self) -> bool:
        """True when no link is closed beyond the network's own and no signal is dark."""
        return not self.dark and bool(np.array_equal(self.link_open, self.assignment.in_service))

    def solve(self) -> bool:
        """Re-assign when something changed (warm start from the last flows); True if it solved."""
        if not self.dirty:
            return False
        start = time.perf_counter()
        if self.undisturbed:
            x, tstt = self._base_state()
            self.x, self.tstt_vh, self.lost_vph = x.copy(), tstt, 0.0
        else:
            warm = self.x * (self.multiplier / self._x_mult) if self.n_solves and self._x_mult else None
            self.lost_vph = 0.0
            self.x, self.tstt_vh = self._assign(warm)
        self._x_mult = self.multiplier
        self.solve_time_s += time.perf_counter() - start
        self.n_solves += 1
        self.dirty = False
        return True

    def delay_rate_vh(self) -> float:
        """Extra vehicle hours per hour against the undisturbed network."""
        return max(self.tstt_vh - self.base_tstt(), 0.0)

    def link_times(self) -> np.ndarray:
        """Link travel times now (s; inf when closed): last solved flows over today's capacities."""
        return self.assignment.link_travel_times(self.x, capacity_factor=self.capacity_factor(),
                                                 closed_links=~self.link_open)

    def travel_time_s(self, origin: str, destination: str) -> float:
        """Shortest travel time (s) between two road nodes now (inf when cut off).

        Examples
        --------
        >>> import twin
        >>> roads = TrafficAdapter(twin.datasets.sample_city())
        >>> roads.travel_time_s("N0002", "N0002")
        0.0
        """
        if origin == destination:
            return 0.0
        return float(self.assignment.travel_times(origin, destination, link_time_s=self.link_times()).item())


class TrafficRecorder:
    """Per-step traffic results: link flows and travel times, total travel time, delay, dark signals."""

    def __init__(self, roads: TrafficAdapter, n_steps: int) -> None:
        self.roads = roads
        m = len(roads.link_ids)
        self.flow = np.zeros((n_steps, m))
        self.time = np.zeros((n_steps, m))
        self.tstt = np.zeros(n_steps)
        self.base = np.zeros(n_steps)
        self.lost = np.zeros(n_steps)
        self.dark = np.zeros((n_steps, len(roads.signal_ids)), bool)

    def record(self, k: int) -> None:
        """Store the current state as step ``k``."""
        r = self.roads
        self.flow[k], self.time[k] = r.x, r.link_times()
        self.tstt[k], self.base[k], self.lost[k] = r.tstt_vh, r.base_tstt(), r.lost_vph
        self.dark[k] = [s in r.dark for s in r.signal_ids]

    def dataset(self, time_s: np.ndarray, attrs: dict) -> xr.Dataset:
        """The traffic results of the run."""
        variables = {
            "flow_vph": Variable(("time", "link"), self.flow, "veh/h", "link flow"),
            "travel_time_s": Variable(("time", "link"), self.time, "s", "link travel time (inf when closed)"),
            "total_travel_time_vh": Variable(("time",), self.tstt, "veh h/h", "total system travel time per hour"),
            "base_travel_time_vh": Variable(("time",), self.base, "veh h/h",
                                            "total system travel time per hour of the undisturbed network"),
            "delay_vh": Variable(("time",), np.maximum(self.tstt - self.base, 0.0), "veh h/h",
                                 "extra vehicle hours per hour against the undisturbed network"),
            "lost_trips_vph": Variable(("time",), self.lost, "veh/h", "trips with no open path (not assigned)"),
            "signal_dark": Variable(("time", "signal"), self.dark, "", "signal is dark"),
        }
        coords: dict[str, Any] = {"time": time_s, "link": self.roads.link_ids, "signal": self.roads.signal_ids}
        return make_dataset(variables, coords, attrs=attrs, coord_units={"time": "s"})
