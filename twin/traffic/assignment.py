"""The public static assignment: a road network compiled once, solved under changing conditions.

:class:`Assignment` validates and compiles a network once; :meth:`Assignment.solve` finds the user
equilibrium with links closed, capacities cut (incidents, dark signals), demand scaled and a warm
start from an earlier result, and returns the result Dataset. :func:`traffic_assignment` is the
one-shot form. The simulation engine's road layer (:mod:`twin.sim.traffic`) uses only this API.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr
from numba import get_num_threads

from twin.errors import NetworkError
from twin.solvers.traffic.costs import bpr_time
from twin.solvers.traffic.paths import node_to_node_costs
from twin.traffic.crews import node_travel_times
from twin.traffic.problem import Problem, contiguous, prepare
from twin.traffic.static import check_options, finish, solve_problem
from twin.traffic.warm import link_flows

if TYPE_CHECKING:
    from twin.model.network import Network

__all__ = ["Assignment", "traffic_assignment"]

#: What :meth:`Assignment.solve` does with trips that have no path over the open links.
UNREACHABLE = ("raise", "drop")

CapacityFactor = float | np.ndarray | Mapping[str, float] | None
ClosedLinks = Iterable[str] | np.ndarray | None


class Assignment:
    """A road network compiled once for static assignments under changing conditions.

    Parameters
    ----------
    network : Network
        Road ``node``, ``link``, ``zone`` and ``trips`` (veh/h) tables; links with
        ``in_service=False`` stay closed in every solve.
    cost : "time" or mapping
        Generalised cost weights, as in :func:`traffic_assignment`.

    Raises
    ------
    NetworkError
        Bad input, naming the link, zone or trip (see :func:`traffic_assignment`).

    Attributes
    ----------
    network : Network
        The network (for provenance; never changed).
    link_ids, node_ids, zone_ids : numpy.ndarray of str
        Ids in the order of the arrays this object takes and returns.
    in_service : numpy.ndarray of bool
        The network's own open links.
    capacity_vph : numpy.ndarray
        The network's link capacities (veh/h).
    from_node, to_node : numpy.ndarray of int
        Position in ``node_ids`` of every link's upstream and downstream node (the links into a
        node, e.g. a signalised intersection, are those with ``to_node == node_index(node)``).

    Examples
    --------
    A closure and a dark signal, re-solved from the base flows:

    >>> import twin
    >>> roads = Assignment(twin.datasets.sample_city())
    >>> base = roads.solve(rgap=1e-4)
    >>> into = roads.link_ids[roads.to_node == roads.node_index("N0002")]
    >>> cut = roads.solve(closed_links=["L0001"], capacity_factor={k: 0.5 for k in into},
    ...                   warm_start=base, rgap=1e-4)
    >>> float(cut.flow_vph.sel(link="L0001")), cut.attrs["closed_links"]
    (0.0, 1)
    >>> cut.attrs["total_system_travel_time_vh"] >= base.attrs["total_system_travel_time_vh"]
    True
    """

    def __init__(self, network: "Network", cost: str | Mapping[str, float] = "time") -> None:
        self.network = network
        self._problem = prepare(network, cost)
        a = self._problem.arrays
        self.link_ids = a.link_ids.astype(str)
        self.node_ids = a.node_ids.astype(str)
        self.zone_ids = a.zone_ids.astype(str)
        self.in_service = np.array(a.in_service, dtype=bool)
        self.capacity_vph = np.array(a.capacity_vph, dtype=float)
        self.from_node = np.array(a.from_node, dtype=np.int64)
        self.to_node = np.array(a.to_node, dtype=np.int64)
        self._link_pos = {k: i for i, k in enumerate(self.link_ids)}
        self._node_pos = {k: i for i, k in enumerate(self.node_ids)}
        self._const = np.where(np.isfinite(self._problem.const), self._problem.const, 0.0)
        for values in (self.link_ids, self.node_ids, self.zone_ids, self.in_service, self.capacity_vph,
                       self.from_node, self.to_node):
            values.flags.writeable = False

    def __repr__(self) -> str:
        return (f"Assignment({self.network.name!r}: {len(self.link_ids)} links, {len(self.node_ids)} nodes, "
                f"{len(self.zone_ids)} zones)")

    @property
    def n_links(self) -> int:
        """Number of links."""
        return len(self.link_ids)

    def node_index(self, node: str) -> int:
        """Position of road node ``node`` in ``node_ids`` (NetworkError when unknown)."""
        if str(node) not in self._node_pos:
            raise NetworkError(f"node {node!r} is not in the road network")
        return self._node_pos[str(node)]

    def link_index(self, link: str) -> int:
        """Position of road link ``link`` in ``link_ids`` (NetworkError when unknown)."""
        if str(link) not in self._link_pos:
            raise NetworkError(f"link {link!r} is not in the road network")
        return self._link_pos[str(link)]

    # -- conditions -------------------------------------------------------------------------------

    def open_links(self, closed_links: ClosedLinks = None) -> np.ndarray:
        """True for links open under ``closed_links`` (ids, or a boolean mask in link order)."""
        open_ = self.in_service.copy()
        if closed_links is None:
            return open_
        if isinstance(closed_links, np.ndarray) and closed_links.dtype == bool:
            if closed_links.shape != open_.shape:
                raise ValueError(f"closed_links mask has shape {closed_links.shape}; the network has "
                                 f"{self.n_links} links")
            return open_ & ~closed_links
        ids = [closed_links] if isinstance(closed_links, str) else list(closed_links)
        open_[[self.link_index(k) for k in ids]] = False
        return open_

    def capacities(self, capacity_factor: CapacityFactor = None) -> np.ndarray:
        """Link capacities (veh/h) scaled by ``capacity_factor``.

        ``capacity_factor`` is one factor for every link, an array in link order, or a mapping of
        link id to factor (other links keep theirs); factors must be finite and > 0 (close a link
        with ``closed_links`` instead).
        """
        if capacity_factor is None:
            return self.capacity_vph.copy()
        if isinstance(capacity_factor, Mapping):
            factor = np.ones(self.n_links)
            for k, v in capacity_factor.items():
                factor[self.link_index(k)] = float(v)
        else:
            factor = np.broadcast_to(np.asarray(capacity_factor, dtype=float), (self.n_links,))
        bad = np.flatnonzero(~np.isfinite(factor) | (factor <= 0))
        if len(bad):
            raise ValueError(f"capacity_factor of link {str(self.link_ids[bad[0]])!r} is {float(factor[bad[0]])!r}; "
                             "factors must be > 0 (close the link with closed_links instead)")
        return self.capacity_vph * factor

    def problem(self, *, capacity_factor: CapacityFactor = None, closed_links: ClosedLinks = None,
                demand_multiplier: float = 1.0) -> Problem:
        """The arrays the kernels take under these conditions (see :meth:`solve`)."""
        if not (np.isfinite(demand_multiplier) and demand_multiplier >= 0):
            raise ValueError(f"demand_multiplier must be >= 0, got {demand_multiplier!r}")
        p = self._problem
        open_ = self.open_links(closed_links)
        if capacity_factor is None and closed_links is None and demand_multiplier == 1.0:
            return p
        cap = np.where(open_, self.capacities(capacity_factor), 1.0)
        return replace(p, cap=contiguous(cap), const=contiguous(np.where(open_, self._const, np.inf)),
                       demand=contiguous(p.demand * float(demand_multiplier)))

    # -- solving ----------------------------------------------------------------------------------

    def solve(
        self,
        *,
        capacity_factor: CapacityFactor = None,
        closed_links: ClosedLinks = None,
        demand_multiplier: float = 1.0,
        warm_start: xr.Dataset | pd.Series | np.ndarray | None = None,
        algorithm: str = "bfw",
        rgap: float = 1e-5,
        max_iterations: int = 1000,
        unreachable: str = "raise",
    ) -> xr.Dataset:
        """User equilibrium under the given conditions.

        Parameters
        ----------
        capacity_factor : float, array or mapping, optional
            Capacity multipliers (> 0): one for all links, one per link in ``link_ids`` order,
            or ``{link id: factor}`` (an incident, the links into a dark signal's node).
        closed_links : iterable of str or bool array, optional
            Links closed in this solve, besides the network's own closed links.
        demand_multiplier : float
            Multiplier of every OD demand (>= 0).
        warm_start : Dataset, Series or array, optional
            Flows to start from, carrying the same trips (so scale them when
            ``demand_multiplier`` changed); see :func:`traffic_assignment`.
        algorithm, rgap, max_iterations
            As in :func:`traffic_assignment`.
        unreachable : {"raise", "drop"}
            What to do with trips that have no path over the open links: raise
            :class:`~twin.errors.NetworkError` naming the zones, or leave them out (re-solving
            from free flow) and report them in the ``unreachable_demand_vph`` attribute.

        Returns
        -------
        xarray.Dataset
            As :func:`traffic_assignment`, with attrs ``demand_multiplier``, ``closed_links``
            (number of links closed, the network's own included) and ``unreachable_demand_vph``.

        Raises
        ------
        NetworkError
            Unknown link id, warm-start flows that do not carry the trips, trips with no path
            (``unreachable="raise"``).
        ConvergenceError
            ``max_iterations`` reached; its ``result`` holds the Dataset of the last iterate.
        """
        check_options(algorithm, rgap, max_iterations)
        if unreachable not in UNREACHABLE:
            raise ValueError(f"unreachable must be one of {UNREACHABLE}, got {unreachable!r}")
        wall, cpu = time.perf_counter(), time.process_time()
        problem = self.problem(capacity_factor=capacity_factor, closed_links=closed_links,
                               demand_multiplier=demand_multiplier)
        solution = solve_problem(problem, algorithm, warm_start, float(rgap), int(max_iterations))
        lost = 0.0
        if solution.unreachable and unreachable == "drop":
            cut = self.unreachable_trips(problem)
            if cut.any():
                lost = float(problem.demand[cut].sum())
                problem = replace(problem, demand=contiguous(np.where(cut, 0.0, problem.demand)))
                solution = solve_problem(problem, algorithm, None, float(rgap), int(max_iterations))
        info = dict(solver=algorithm, rgap_target=float(rgap), converged=int(solution.converged),
                    warm_start=int(solution.warm), threads=get_num_threads(),
                    demand_multiplier=float(demand_multiplier), closed_links=int((~problem.open).sum()),
                    unreachable_demand_vph=lost, unreachable_demand_units="veh/h",
                    wall_time_s=time.perf_counter() - wall, cpu_time_s=time.process_time() - cpu)
        return finish(self.network, problem, solution, info)

    def unreachable_trips(self, problem: Problem | None = None) -> np.ndarray:
        """Zone x zone mask of trips with no path over the open links of ``problem`` (default: base)."""
        p = self._problem if problem is None else problem
        star = p.star
        zn = contiguous(p.arrays.zone_node, np.int64)
        cost = contiguous(np.where(p.open, p.t0, np.inf))
        out = np.empty((len(zn), len(zn)))
        node_to_node_costs(cost, zn, zn, star[2], star[3], star[5], star[6], out, get_num_threads())
        return (p.demand > 0) & ~np.isfinite(out)

    # -- travel times -----------------------------------------------------------------------------

    def link_travel_times(self, flows: xr.Dataset | pd.Series | np.ndarray | None = None, *,
                          capacity_factor: CapacityFactor = None, closed_links: ClosedLinks = None) -> np.ndarray:
        """BPR link travel times (s, ``link_ids`` order; inf when closed) under ``flows`` (veh/h).

        Without ``flows`` the links take their free-flow time.
        """
        open_ = self.open_links(closed_links)
        p = self._problem
        if flows is None:
            t = p.t0.copy()
        else:
            x = link_flows(flows, p.arrays.link_ids)
            cap = contiguous(np.where(open_, self.capacities(capacity_factor), 1.0))
            t = bpr_time(x, p.t0, cap, p.alpha, p.beta, np.empty_like(x))
        t[~open_] = np.inf
        return t

    def travel_times(self, origins: str | Sequence[str] | None = None,
                     destinations: str | Sequence[str] | None = None, *,
                     link_time_s: np.ndarray | None = None) -> xr.DataArray:
        """Shortest travel times (s) between road nodes, e.g. for repair crews.

        Parameters
        ----------
        origins, destinations : str or sequence of str, optional
            Node ids (default: every node).
        link_time_s : array, optional
            Link travel times in ``link_ids`` order (inf: closed), e.g. from
            :meth:`link_travel_times`; default: free flow over the network's open links.

        Returns
        -------
        xarray.DataArray
            ``travel_time_s`` over ``(origin, destination)``; ``inf`` where no path exists.

        Examples
        --------
        >>> import twin
        >>> roads = Assignment(twin.datasets.sample_city())
        >>> float(roads.travel_times("N0002", "N0002").item())
        0.0
        """
        t = self.link_travel_times() if link_time_s is None else np.asarray(link_time_s, dtype=float)
        if t.shape != (self.n_links,):
            raise ValueError(f"link_time_s has shape {t.shape}; the network has {self.n_links} links")
        return node_travel_times(self._problem.arrays, t, origins, destinations, self._node_pos)


def traffic_assignment(
    network: "Network",
    *,
    algorithm: str = "bfw",
    rgap: float = 1e-5,
    max_iterations: int = 1000,
    warm_start: xr.Dataset | pd.Series | np.ndarray | None = None,
    cost: str | Mapping[str, float] = "time",
) -> xr.Dataset:
    """Static user equilibrium of the network's trips with BPR link costs.

    Parameters
    ----------
    network : Network
        Road ``node``, ``link``, ``zone`` and ``trips`` (veh/h) tables; links with
        ``in_service=False`` are closed.
    algorithm : {"bfw", "cfw", "fw", "bush"}
        Bi-conjugate, conjugate or plain Frank-Wolfe with exact line search, or Algorithm B
        (bush-based; reaches gaps of 1e-10 and below, and keeps the flows by origin in
        ``origin_flow_vph`` so that a changed network re-solves from them).
    rgap : float
        Stop when the relative gap ``(TSTT - SPTT) / TSTT`` is at or below this value.
    max_iterations : int
        Most line-search steps; :class:`~twin.errors.ConvergenceError` when reached (its
        ``result`` attribute holds the Dataset of the last iterate).
    warm_start : Dataset, Series or array, optional
        Link flows (veh/h) to start from, e.g. the result of a base case with the same trips:
        a closed link's flow is first moved onto the shortest detour between its ends. With
        ``algorithm="bush"``, a bush result (with ``origin_flow_vph``) restarts from its bushes;
        link flows alone give a cold start.
    cost : "time" or mapping
        Generalised cost ``t(x) + w_toll * toll + w_length * length_m`` with weights
        ``{"toll": s per toll unit, "length": s per metre}`` (ChicagoSketch: 1.2 s/cent and
        2.4 s/mile).

    Returns
    -------
    xarray.Dataset
        ``flow_vph``, ``travel_time_s``, ``cost_s``, ``speed_mps``, ``volume_capacity_ratio``
        over ``link``; ``relative_gap`` and ``average_excess_cost_s`` over ``iteration``; attrs
        ``beckmann_objective`` (veh s/h), ``total_system_travel_time_vh`` (veh h per hour of
        demand), ``relative_gap``, ``average_excess_cost`` (s), ``iterations``,
        ``demand_multiplier``, ``closed_links``, ``unreachable_demand_vph`` and provenance.

    Raises
    ------
    NetworkError
        Bad input, naming the link, zone or trip: capacity <= 0, negative demand, a zone with
        trips but no open link at its centroid, an OD pair with no path.
    ConvergenceError
        ``max_iterations`` reached before ``rgap``.

    References
    ----------
    Mitradjieva, M. & Lindberg, P. O. (2013). The stiff is moving - conjugate direction
    Frank-Wolfe methods with applications to traffic assignment. Transportation Science 47(2).
    Dial, R. B. (2006). A path-based user-equilibrium traffic assignment algorithm that obviates
    path storage and enumeration. Transportation Research Part B 40(10).

    Examples
    --------
    >>> import twin
    >>> from twin.traffic import traffic_assignment
    >>> ds = traffic_assignment(twin.datasets.sample_city(), rgap=1e-4)
    >>> ds.attrs["relative_gap"] <= 1e-4, ds.flow_vph.attrs["units"]
    (True, 'veh/h')
    """
    check_options(algorithm, rgap, max_iterations)
    wall, cpu = time.perf_counter(), time.process_time()
    roads = Assignment(network, cost)
    ds = roads.solve(algorithm=algorithm, rgap=rgap, max_iterations=max_iterations, warm_start=warm_start)
    ds.attrs.update(wall_time_s=time.perf_counter() - wall, cpu_time_s=time.process_time() - cpu)
    return ds
