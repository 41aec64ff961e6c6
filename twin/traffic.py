"""Traffic on the road network: static user equilibrium, dynamic loading, travel times for crews.

:func:`traffic_assignment` finds the link flows at which no driver can shorten their trip
(Wardrop's user equilibrium) with BPR link costs (Frank-Wolfe family, or the bush-based
Algorithm B for tight equilibria and fast re-solves); :func:`traffic_dynamics` moves time-varying
demand through the network with queues, spillback and events (link transmission model);
:func:`travel_times` gives the shortest travel time between nodes under given flows (free flow,
a solved assignment, or a damaged network), so the simulation engine can route repair crews.
Each validates the network, compiles it once and calls the kernels of :mod:`twin.solvers.traffic`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr
from numba import get_num_threads

from twin.errors import ConvergenceError, NetworkError
from twin.model.compiled.traffic import TrafficArrays, compile_traffic
from twin.results import Variable, make_dataset, provenance
from twin.solvers.traffic import frank_wolfe as _fw
from twin.solvers.traffic.bush import solve_bush
from twin.solvers.traffic.costs import beckmann, bpr_time
from twin.solvers.traffic.ltm import CAPACITY, CLOSURE, event_factors, link_travel_times, run_ltm
from twin.solvers.traffic.paths import active_origins, node_to_node_costs, shortest_path_tree

if TYPE_CHECKING:
    from twin.model.network import Network

__all__ = ["traffic_assignment", "traffic_dynamics", "travel_times"]

ALGORITHMS: dict[str, int] = {"fw": _fw.FW, "cfw": _fw.CFW, "bfw": _fw.BFW, "bush": -1}
#: Generalised-cost weights a user may give: seconds per toll unit and seconds per metre.
COST_WEIGHTS: tuple[str, ...] = ("toll", "length")


#: Forward star and zones as the kernels take them: zone_node, origins, out_indptr, out_links,
#: from_node, to_node, through.
Star = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Problem:
    """Writable, contiguous copies of the arrays a static assignment needs.

    ``const`` is the generalised-cost constant per link (s); closed links have ``const = inf``
    (so no path uses them) and capacity 1 (so no division by zero).
    """

    arrays: TrafficArrays
    t0: np.ndarray
    cap: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    const: np.ndarray
    demand: np.ndarray
    origins: np.ndarray
    star: Star
    backward: tuple[np.ndarray, np.ndarray]

    @property
    def open(self) -> np.ndarray:
        """True for links in service."""
        return np.isfinite(self.const)


def _copy(values: np.ndarray, dtype: Any = np.float64) -> np.ndarray:
    return np.array(values, dtype=dtype, copy=True, order="C")


def _check_links(net: "Network", arrays: TrafficArrays) -> None:
    """Open links need capacity > 0 and finite, non-negative BPR parameters."""
    open_ = arrays.in_service
    checks = (("capacity_vph", arrays.capacity_vph, lambda v: np.isfinite(v) & (v > 0), "> 0"),
              ("free_flow_time_s", arrays.free_flow_time_s, lambda v: np.isfinite(v) & (v >= 0), ">= 0"),
              ("bpr_alpha", arrays.bpr_alpha, lambda v: np.isfinite(v) & (v >= 0), ">= 0"),
              ("bpr_beta", arrays.bpr_beta, lambda v: np.isfinite(v) & (v >= 0), ">= 0"))
    for column, values, ok, rule in checks:
        bad = np.flatnonzero(open_ & ~ok(values))
        if len(bad):
            names = ", ".join(repr(str(arrays.link_ids[i])) for i in bad[:5])
            raise NetworkError(f"link {names}: {column} must be {rule}, got {values[bad[0]]!r}; "
                               f"fix the value or close the link (in_service=False)")


def _check_trips(net: "Network") -> None:
    trips = net.tables["trips"]
    q = trips["trips_vph"].to_numpy(float) if len(trips) else np.zeros(0)
    bad = np.flatnonzero(~np.isfinite(q) | (q < 0))
    if len(bad):
        row = trips.iloc[bad[0]]
        raise NetworkError(f"trips {trips.index[bad[0]]!r}: demand from zone {row['origin']!r} to zone "
                           f"{row['destination']!r} must be >= 0 veh/h, got {q[bad[0]]!r}")


def _check_zones(arrays: TrafficArrays, cost: np.ndarray) -> None:
    """Zones that send (receive) trips need an open link out of (into) their centroid node."""
    opened = np.isfinite(cost)
    for z, node in enumerate(arrays.zone_node):
        outs = arrays.out_links[arrays.out_indptr[node]:arrays.out_indptr[node + 1]]
        ins = arrays.in_links[arrays.in_indptr[node]:arrays.in_indptr[node + 1]]
        for what, q, links in (("sends", arrays.demand_vph[z].sum(), outs),
                               ("receives", arrays.demand_vph[:, z].sum(), ins)):
            if q > 0 and not opened[links].any():
                way = "out of" if what == "sends" else "into"
                raise NetworkError(f"zone {str(arrays.zone_ids[z])!r} {what} {q:g} veh/h but its centroid node "
                                   f"{str(arrays.node_ids[node])!r} has no open link {way} it; add a connector "
                                   f"link or remove the zone's trips")


def _weights(cost: str | Mapping[str, float], arrays: TrafficArrays) -> np.ndarray:
    if isinstance(cost, str):
        if cost != "time":
            raise ValueError(f"cost must be 'time' or a mapping of weights {COST_WEIGHTS}, got {cost!r}")
        return np.zeros(arrays.n_links)
    unknown = set(cost) - set(COST_WEIGHTS)
    if unknown:
        raise ValueError(f"unknown cost weight(s) {sorted(unknown)}; known: {COST_WEIGHTS} "
                         "(seconds per toll unit, seconds per metre)")
    const = float(cost.get("toll", 0.0)) * arrays.toll + float(cost.get("length", 0.0)) * arrays.length_m
    if (const < 0).any():
        i = int(np.flatnonzero(const < 0)[0])
        raise NetworkError(f"link {str(arrays.link_ids[i])!r}: generalised cost {const[i]:g} s is negative; "
                           "shortest paths need non-negative costs")
    return const


def prepare(network: "Network", cost: str | Mapping[str, float] = "time") -> Problem:
    """Validate ``network`` and build the arrays of a static assignment.

    Raises
    ------
    NetworkError
        Negative demand (names the trip and zones), an open link with capacity <= 0 (names the
        link), a zone with trips but no open link at its centroid (names the zone).
    """
    _check_trips(network)
    arrays = compile_traffic(network)
    _check_links(network, arrays)
    const = _copy(_weights(cost, arrays))
    const[~arrays.in_service] = np.inf
    _check_zones(arrays, const)
    cap = _copy(arrays.capacity_vph)
    cap[~arrays.in_service] = 1.0
    star: Star = (_copy(arrays.zone_node, np.int64), active_origins(arrays.demand_vph), _copy(arrays.out_indptr, np.int64),
            _copy(arrays.out_links, np.int64), _copy(arrays.from_node, np.int64), _copy(arrays.to_node, np.int64),
            _copy(arrays.through, np.bool_))
    return Problem(arrays=arrays, t0=_copy(arrays.free_flow_time_s), cap=cap, alpha=_copy(arrays.bpr_alpha),
                   beta=_copy(arrays.bpr_beta), const=const, demand=_copy(arrays.demand_vph),
                   origins=star[1], star=star,
                   backward=(_copy(arrays.in_indptr, np.int64), _copy(arrays.in_links, np.int64)))


def _warm_flows(warm_start: Any, problem: Problem) -> np.ndarray:
    """Link flows (veh/h, link order) from a Dataset, a Series by link id or an array."""
    ids = problem.arrays.link_ids
    if isinstance(warm_start, xr.Dataset):
        warm_start = warm_start["flow_vph"]
    if isinstance(warm_start, xr.DataArray):
        warm_start = warm_start.to_series()
    if isinstance(warm_start, pd.Series):
        missing = pd.Index(ids.astype(str)).difference(warm_start.index.astype(str))
        if len(missing):
            raise NetworkError(f"warm_start has no flow for link(s) {list(missing[:5])}; "
                               "give flows for every link of the network")
        flows = warm_start.set_axis(warm_start.index.astype(str)).reindex(ids.astype(str)).to_numpy(float)
    else:
        flows = np.asarray(warm_start, dtype=float)
        if flows.shape != (len(ids),):
            raise NetworkError(f"warm_start has {flows.shape} flows; the network has {len(ids)} links")
    if not np.isfinite(flows).all() or (flows < 0).any():
        i = int(np.flatnonzero(~np.isfinite(flows) | (flows < 0))[0])
        raise NetworkError(f"warm_start: flow on link {str(ids[i])!r} is {flows[i]!r}; flows must be >= 0")
    return _copy(flows)


def _node_imbalance(x: np.ndarray, problem: Problem) -> np.ndarray:
    """Flow out minus flow in minus (trips sent - trips received), per node (veh/h)."""
    a = problem.arrays
    n = a.n_nodes
    net = np.bincount(a.from_node, x, n) - np.bincount(a.to_node, x, n)
    net -= np.bincount(a.zone_node, problem.demand.sum(axis=1), n)
    net += np.bincount(a.zone_node, problem.demand.sum(axis=0), n)
    return net


def _reroute_closed(x: np.ndarray, problem: Problem) -> None:
    """Move warm-start flow off closed links onto the shortest detour between their ends."""
    a = problem.arrays
    cost = np.where(problem.open, 0.0, np.inf)
    cost[problem.open] = bpr_time(x, problem.t0, problem.cap, problem.alpha, problem.beta,
                                  np.empty_like(x))[problem.open] + problem.const[problem.open]
    n = a.n_nodes
    dist, pred, order, heap, pos = np.empty(n), *(np.empty(n, np.int64) for _ in range(4))
    indptr, links, to_node, through = problem.star[2], problem.star[3], problem.star[5], problem.star[6]
    for link in np.flatnonzero(~problem.open & (x > 0)):
        shortest_path_tree(int(a.from_node[link]), cost, indptr, links, to_node, through, dist, pred, order, heap, pos)
        v = int(a.to_node[link])
        if not np.isfinite(dist[v]):
            raise NetworkError(f"link {str(a.link_ids[link])!r} is closed and carries {x[link]:g} veh/h in "
                               "warm_start, but no detour joins its ends; solve without warm_start")
        while pred[v] >= 0:
            x[pred[v]] += x[link]
            v = int(a.from_node[pred[v]])
        x[link] = 0.0


def _warm_start(warm_start: Any, problem: Problem) -> np.ndarray:
    x = _warm_flows(warm_start, problem)
    _reroute_closed(x, problem)
    imbalance = _node_imbalance(x, problem)
    scale = max(float(problem.demand.sum()), 1.0)
    worst = int(np.argmax(np.abs(imbalance)))
    if abs(imbalance[worst]) > 1e-6 * scale:
        raise NetworkError(f"warm_start flows do not carry this network's trips: node "
                           f"{str(problem.arrays.node_ids[worst])!r} is off balance by {imbalance[worst]:g} veh/h; "
                           "warm-start only from a solution with the same trips")
    return x


def _link_variables(x: np.ndarray, problem: Problem) -> dict[str, Variable]:
    a = problem.arrays
    t = bpr_time(x, problem.t0, problem.cap, problem.alpha, problem.beta, np.empty_like(x))
    t[~problem.open] = np.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(t > 0, a.length_m / t, np.inf)
    vc = np.where(problem.open, x / problem.cap, 0.0)
    gen = t + np.where(problem.open, problem.const, 0.0)
    return {
        "flow_vph": Variable(("link",), x, "veh/h", "link flow"),
        "travel_time_s": Variable(("link",), t, "s", "link travel time (BPR; inf when closed)"),
        "cost_s": Variable(("link",), gen, "s", "generalised link cost (travel time + toll and distance weights)"),
        "speed_mps": Variable(("link",), speed, "m/s", "mean speed (length / travel time)"),
        "volume_capacity_ratio": Variable(("link",), vc, "1", "volume / capacity ratio"),
    }


def _dataset(network: "Network", problem: Problem, x: np.ndarray, gaps: np.ndarray, aecs: np.ndarray,
             info: dict[str, Any], extra: dict[str, Variable]) -> xr.Dataset:
    variables = _link_variables(x, problem)
    variables.update(extra)
    variables["relative_gap"] = Variable(("iteration",), gaps, "1", "relative gap (TSTT - SPTT) / TSTT")
    variables["average_excess_cost_s"] = Variable(("iteration",), aecs, "s",
                                                  "average excess cost (TSTT - SPTT) / total demand")
    xo = np.where(problem.open, x, 0.0)
    t = np.where(problem.open, variables["travel_time_s"].values, 0.0)
    attrs = provenance(network, **info)
    attrs.update(
        beckmann_objective=float(beckmann(xo, problem.t0, problem.cap, problem.alpha, problem.beta,
                                          np.where(problem.open, problem.const, 0.0))),
        beckmann_objective_units="veh s/h",
        total_system_travel_time_vh=float(xo @ t) / 3600.0,
        relative_gap=float(gaps[-1]), average_excess_cost=float(aecs[-1]), average_excess_cost_units="s",
        iterations=len(gaps) - 1, total_demand_vph=float(problem.demand.sum()))
    coords = {"link": problem.arrays.link_ids, "iteration": np.arange(len(gaps))}
    if extra:
        coords["origin"] = problem.arrays.zone_ids[problem.origins]
    return make_dataset(variables, coords, attrs=attrs)


def _solve_linear(problem: Problem, algorithm: str, warm_start: Any, rgap: float, max_iterations: int,
                  gaps: np.ndarray, aecs: np.ndarray) -> tuple[tuple[int, int, int, int], np.ndarray, dict, bool]:
    """Frank-Wolfe family from free flow or from link flows."""
    warm = warm_start is not None
    x = _warm_start(warm_start, problem) if warm else np.zeros(problem.arrays.n_links)
    status = _fw.solve_frank_wolfe(ALGORITHMS[algorithm], x, warm, problem.t0, problem.cap, problem.alpha,
                                   problem.beta, problem.const, problem.demand, *problem.star, rgap,
                                   max_iterations, gaps, aecs)
    return status, x, {}, warm


def _origin_flows(warm_start: Any, problem: Problem) -> np.ndarray | None:
    """Origin flows (origins x links, veh/h) from a bush result, checked against this network's trips."""
    if not isinstance(warm_start, xr.Dataset) or "origin_flow_vph" not in warm_start:
        return None
    a = problem.arrays
    wanted = a.zone_ids[problem.origins].astype(str)
    table = pd.DataFrame(warm_start["origin_flow_vph"].to_pandas())
    table = table.set_axis(table.index.astype(str), axis=0).set_axis(table.columns.astype(str), axis=1)
    missing = pd.Index(a.link_ids.astype(str)).difference(table.columns)
    if len(missing):
        raise NetworkError(f"warm_start has no flow for link(s) {list(missing[:5])}; "
                           "give flows for every link of the network")
    xo = _copy(table.reindex(index=wanted, columns=a.link_ids.astype(str)).fillna(0.0).to_numpy(float))
    balance = np.zeros((a.n_nodes, len(problem.origins)))
    np.add.at(balance, a.from_node, xo.T)
    np.subtract.at(balance, a.to_node, xo.T)
    balance = balance.T
    sent = problem.demand[problem.origins]
    np.add.at(balance.T, a.zone_node, sent.T)
    balance[np.arange(len(problem.origins)), a.zone_node[problem.origins]] -= sent.sum(axis=1)
    worst = np.unravel_index(np.argmax(np.abs(balance)), balance.shape) if balance.size else (0, 0)
    if balance.size and abs(balance[worst]) > 1e-6 * max(float(problem.demand.sum()), 1.0):
        raise NetworkError(f"warm_start origin flows from zone {str(wanted[worst[0]])!r} do not carry this network's "
                           f"trips (node {str(a.node_ids[worst[1]])!r} off by {balance[worst]:g} veh/h); "
                           "warm-start only from a solution with the same trips")
    return xo


def _solve_bush(problem: Problem, algorithm: str, warm_start: Any, rgap: float, max_iterations: int,
                gaps: np.ndarray, aecs: np.ndarray) -> tuple[tuple[int, int, int, int], np.ndarray, dict, bool]:
    """Algorithm B from shortest-path bushes or from the origin flows of a bush result."""
    m = problem.arrays.n_links
    xo = _origin_flows(warm_start, problem) if warm_start is not None else None
    warm = xo is not None
    if xo is None:
        xo = np.zeros((len(problem.origins), m))
    x, bush = np.zeros(m), np.zeros(xo.shape, dtype=np.bool_)
    zone_node, origins, out_indptr, out_links, from_node, to_node, through = problem.star
    status = solve_bush(x, xo, bush, warm, problem.t0, problem.cap, problem.alpha, problem.beta, problem.const,
                        problem.demand, zone_node, origins, out_indptr, out_links, *problem.backward,
                        from_node, to_node, through, rgap, max_iterations, gaps, aecs)
    extra = {"origin_flow_vph": Variable(("origin", "link"), xo, "veh/h",
                                         "link flow by origin zone (bushes; warm start for algorithm='bush')")}
    return status, x, extra, warm


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
        demand), ``relative_gap``, ``average_excess_cost`` (s), ``iterations`` and provenance.

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
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {sorted(ALGORITHMS)}, got {algorithm!r}")
    if not rgap >= 0 or int(max_iterations) < 0:
        raise ValueError(f"rgap must be >= 0 and max_iterations >= 0, got {rgap!r}, {max_iterations!r}")
    wall, cpu = time.perf_counter(), time.process_time()
    problem = prepare(network, cost)
    gaps, aecs = np.zeros(int(max_iterations) + 1), np.zeros(int(max_iterations) + 1)
    solve = _solve_bush if algorithm == "bush" else _solve_linear
    (status, iters, bad_o, bad_d), x, extra, warm = solve(problem, algorithm, warm_start, float(rgap),
                                                          int(max_iterations), gaps, aecs)
    if status == _fw.UNREACHABLE:
        z = problem.arrays.zone_ids
        raise NetworkError(f"trips from zone {str(z[bad_o])!r} to zone {str(z[bad_d])!r} have no path over open "
                           "links; open a link or remove the trips")
    info = dict(solver=algorithm, rgap_target=float(rgap), converged=int(status == _fw.CONVERGED),
                warm_start=int(warm), threads=get_num_threads(), wall_time_s=time.perf_counter() - wall,
                cpu_time_s=time.process_time() - cpu)
    ds = _dataset(network, problem, x, gaps[:iters + 1], aecs[:iters + 1], info, extra)
    if status != _fw.CONVERGED:
        err = ConvergenceError(f"{algorithm} stopped at relative gap {gaps[iters]:.3g} after {iters} iterations "
                               f"(target {rgap:g}); raise max_iterations or use algorithm='bfw'",
                               iterations=iters, residual=float(gaps[iters]))
        err.result = ds  # type: ignore[attr-defined]
        raise err
    return ds


def _node_positions(ids: np.ndarray, wanted: str | Sequence[str] | None, what: str) -> np.ndarray:
    lookup = {str(n): i for i, n in enumerate(ids)}
    if wanted is None:
        return np.arange(len(ids), dtype=np.int64)
    names = [wanted] if isinstance(wanted, str) else list(wanted)
    missing = [n for n in names if str(n) not in lookup]
    if missing:
        raise NetworkError(f"{what}: node(s) {missing[:5]} are not in the road network")
    return np.array([lookup[str(n)] for n in names], dtype=np.int64)


def travel_times(
    network: "Network",
    flows: xr.Dataset | pd.Series | np.ndarray | None = None,
    origins: str | Sequence[str] | None = None,
    destinations: str | Sequence[str] | None = None,
) -> xr.DataArray:
    """Shortest travel time (s) between road nodes under current conditions, for crews.

    Parameters
    ----------
    network : Network
        The road network as it is now: closed links (``in_service=False``) are not used.
    flows : Dataset, Series or array, optional
        Link flows (veh/h) giving the BPR travel times, e.g. a :func:`traffic_assignment`
        result, or a :func:`traffic_dynamics` result (its link travel times at its last
        reported time, queues included); without them links take their free-flow time.
    origins, destinations : str or sequence of str, optional
        Node ids (default: every node).

    Returns
    -------
    xarray.DataArray
        ``travel_time_s`` over ``(origin, destination)``; ``inf`` where no path exists.

    Examples
    --------
    >>> import twin
    >>> from twin.traffic import travel_times
    >>> city = twin.datasets.sample_city()
    >>> a, b = city.node.index[:2]
    >>> float(travel_times(city, None, a, a).item())
    0.0
    """
    arrays = compile_traffic(network)
    _check_links(network, arrays)
    cap = np.where(arrays.in_service, arrays.capacity_vph, 1.0)
    if flows is None:
        t = _copy(arrays.free_flow_time_s)
    elif isinstance(flows, xr.Dataset) and "flow_vph" not in flows and "travel_time_s" in flows:
        t = _copy(flows["travel_time_s"].isel(time=-1).to_series().astype(float)
                  .reindex(arrays.link_ids.astype(str)).fillna(np.inf).to_numpy())
    else:
        empty = np.zeros(0, np.int64)
        problem_like = Problem(arrays, arrays.free_flow_time_s, cap, arrays.bpr_alpha, arrays.bpr_beta,
                               np.zeros(arrays.n_links), arrays.demand_vph, empty, (empty,) * 7, (empty, empty))
        x = _warm_flows(flows, problem_like)
        t = bpr_time(x, _copy(arrays.free_flow_time_s), _copy(cap), _copy(arrays.bpr_alpha),
                     _copy(arrays.bpr_beta), np.empty(arrays.n_links))
    t[~arrays.in_service] = np.inf
    src = _node_positions(arrays.node_ids, origins, "origins")
    dst = _node_positions(arrays.node_ids, destinations, "destinations")
    out = np.empty((len(src), len(dst)))
    node_to_node_costs(t, src, dst, _copy(arrays.out_indptr, np.int64), _copy(arrays.out_links, np.int64),
                       _copy(arrays.to_node, np.int64), _copy(arrays.through, np.bool_), out, get_num_threads())
    ids = arrays.node_ids.astype(str)
    return xr.DataArray(out, dims=("origin", "destination"), coords={"origin": ids[src], "destination": ids[dst]},
                        name="travel_time_s", attrs={"units": "s", "long_name": "shortest travel time"})


def _dynamic_links(arrays: TrafficArrays, network: "Network", dt: float, jam_density_vpm: float):
    """Free-flow and wave travel times in steps, capacity per step and storage (veh) of every link.

    A link shorter than one step (in free-flow time) is stretched to one step, its storage with it;
    storage is at least twice what the link holds at capacity in free flow, so that the triangular
    diagram stays valid (zero-length TNTP connectors, very short street links).
    """
    lanes = np.maximum(network.tables["link"]["lanes"].to_numpy(float), 1.0)
    t0 = np.maximum(arrays.free_flow_time_s, dt)
    stretch = np.where(arrays.free_flow_time_s > 0, t0 / np.maximum(arrays.free_flow_time_s, 1e-12), 1.0)
    length = np.maximum(arrays.length_m * stretch, 1.0)
    q = arrays.capacity_vph / 3600.0
    storage = np.maximum(jam_density_vpm * lanes * length, 2.0 * q * t0)
    kj, kc = storage / length, q * t0 / length
    w = q / (kj - kc)
    return (t0 / dt, np.maximum(length / w / dt, 1.0), q * dt, storage)


def _events(events: Sequence[Mapping[str, Any]], network: "Network", arrays: TrafficArrays) -> tuple:
    """Event table ``(start_s, end_s, link, kind, factor)`` from incident/closure/dark_signal dicts."""
    link_pos = {str(k): i for i, k in enumerate(arrays.link_ids)}
    rows: list[tuple[float, float, int, int, float]] = [(0.0, np.inf, int(a), CLOSURE, 0.0)
                                                        for a in np.flatnonzero(~arrays.in_service)]
    signals = network.tables["signal"]
    for e in events:
        kind, start, end = e.get("kind"), float(e.get("start_s", 0.0)), float(e.get("end_s", np.inf))
        if kind in ("incident", "closure"):
            if str(e.get("link")) not in link_pos:
                raise NetworkError(f"{kind} event: link {e.get('link')!r} is not in the road network")
            factor = float(e.get("capacity_factor", 0.0 if kind == "closure" else 0.5))
            rows.append((start, end, link_pos[str(e["link"])], CLOSURE if kind == "closure" else CAPACITY, factor))
        elif kind == "dark_signal":
            sid = str(e.get("signal"))
            if sid not in signals.index:
                raise NetworkError(f"dark_signal event: signal {sid!r} is not in the network")
            node = list(arrays.node_ids.astype(str)).index(str(signals.loc[sid, "node"]))
            factor = float(e.get("capacity_factor", signals.loc[sid, "dark_capacity_factor"]))
            for a in arrays.in_links[arrays.in_indptr[node]:arrays.in_indptr[node + 1]]:
                rows.append((start, end, int(a), CAPACITY, factor))
        else:
            raise ValueError(f"event kind must be 'incident', 'closure' or 'dark_signal', got {kind!r}")
    return (np.array([r[0] for r in rows], float), np.array([r[1] for r in rows], float),
            np.array([r[2] for r in rows], np.int64), np.array([r[3] for r in rows], np.int64),
            np.array([r[4] for r in rows], float))


def _demand_profile(demand: np.ndarray, profile: Any, duration_s: float, period_s: float) -> np.ndarray:
    if profile is None:
        return demand[None] * np.ones((max(int(np.ceil(duration_s / period_s)), 1), 1, 1))
    arr = np.asarray(profile, dtype=float)
    if arr.ndim == 1:
        return arr[:, None, None] * demand[None]
    if arr.ndim == 3 and arr.shape[1:] == demand.shape:
        return arr.copy()
    raise ValueError(f"demand_profile must be multipliers per period or (periods, zones, zones), got {arr.shape}")


def traffic_dynamics(
    network: "Network",
    *,
    duration_s: float = 3600.0,
    step_s: float = 5.0,
    demand_profile: Sequence[float] | np.ndarray | None = None,
    period_s: float = 900.0,
    events: Sequence[Mapping[str, Any]] = (),
    reroute_s: float = 120.0,
    reroute_weight: float = 0.5,
    report_s: float = 60.0,
    jam_density_vpm: float = 0.15,
) -> xr.Dataset:
    """Dynamic network loading with queues, spillback, events and en-route choice (LTM).

    Parameters
    ----------
    network : Network
        Road network and trips (veh/h); closed links stay closed for the whole run.
    duration_s, step_s : float
        Simulated time and time step (s); links shorter than one step count as one step long.
    demand_profile : sequence of float or array, optional
        Multipliers of the trips per period of ``period_s`` seconds, or a (periods, zones,
        zones) array in veh/h; no demand after the last period. Default: the trips throughout.
    events : sequence of mapping
        ``{"kind": "incident", "link", "start_s", "end_s", "capacity_factor"}`` (outflow capacity
        scaled), ``{"kind": "closure", "link", ...}`` (no inflow), ``{"kind": "dark_signal",
        "signal", ...}`` (outflow capacity of the links into its node scaled by the signal's
        ``dark_capacity_factor`` unless ``capacity_factor`` is given).
    reroute_s, reroute_weight : float
        Route choice follows current shortest travel times, updated every ``reroute_s`` seconds
        (and at every closure) with smoothing weight ``reroute_weight``.
    report_s : float
        Reporting interval (s) of the results.
    jam_density_vpm : float
        Jam density per lane (veh/m); with capacity and free speed it fixes the wave speed.

    Returns
    -------
    xarray.Dataset
        Over ``(time, link)``: ``inflow_vph``, ``outflow_vph`` (over the interval ending at
        ``time``), ``vehicles``, ``queue_veh``, ``travel_time_s``; over ``time``:
        ``vehicles_in_network``, ``waiting_at_origins``, ``arrived``, ``demanded``; attrs
        ``total_travel_time_vh``, ``conservation_error_veh`` and provenance.

    References
    ----------
    Yperman, I. (2007). The link transmission model for dynamic network loading. KU Leuven.

    Examples
    --------
    >>> import twin
    >>> from twin.traffic import traffic_dynamics
    >>> ds = traffic_dynamics(twin.datasets.sample_city(), duration_s=600)
    >>> abs(ds.attrs["conservation_error_veh"]) < 1e-6
    True
    """
    wall, cpu = time.perf_counter(), time.process_time()
    problem = prepare(network)
    a = problem.arrays
    n_steps, per = int(round(duration_s / step_s)), max(int(round(period_s / step_s)), 1)
    demand = _demand_profile(problem.demand, demand_profile, duration_s, period_s)
    for p in range(demand.shape[0]):
        np.fill_diagonal(demand[p], 0.0)
    link = tuple(_copy(v) for v in _dynamic_links(a, network, step_s, jam_density_vpm))
    ev = _events(events, network, a)
    zone_node, _, out_indptr, out_links, from_node, to_node, through = problem.star
    star = (out_indptr, out_links, *problem.backward, from_node, to_node, through)
    n_up, n_down = np.zeros((a.n_links, n_steps + 1)), np.zeros((a.n_links, n_steps + 1))
    waiting, arrived = np.zeros(n_steps + 1), np.zeros(n_steps + 1)
    origins = np.flatnonzero(demand.sum(axis=(0, 2)) > 0).astype(np.int64)
    # destination-share packets per link: up to 64, fewer on big networks (about 256 MB at most)
    packets = int(np.clip(2**28 // (8 * a.n_links * max(len(a.zone_ids), 1)), 4, 64))
    run_ltm(n_steps, float(step_s), demand, per, origins, zone_node, link, star, ev,
            max(int(round(reroute_s / step_s)), 1), float(reroute_weight), packets, n_up, n_down, waiting, arrived)
    step_demand = demand.sum(axis=(1, 2)) * step_s / 3600.0
    per_step = np.array([step_demand[t // per] if t // per < len(demand) else 0.0 for t in range(n_steps)])
    demanded = np.concatenate([[0.0], np.cumsum(per_step)])
    every = max(int(round(report_s / step_s)), 1)
    variables = _dynamic_report(n_up, n_down, waiting, arrived, demanded, link, ev, float(step_s), every)
    on_links = (n_up - n_down).sum(axis=0)
    attrs = provenance(network, solver="ltm", step_s=float(step_s), duration_s=float(duration_s),
                       wall_time_s=time.perf_counter() - wall, cpu_time_s=time.process_time() - cpu)
    attrs.update(total_travel_time_vh=float((on_links[1:] + waiting[1:]).sum() * step_s / 3600.0),
                 conservation_error_veh=float(demanded[-1] - arrived[-1] - on_links[-1] - waiting[-1]),
                 arrived_veh=float(arrived[-1]), demanded_veh=float(demanded[-1]))
    k = np.arange(every, n_steps + 1, every)
    return make_dataset(variables, {"time": k * float(step_s), "link": a.link_ids}, attrs=attrs,
                        coord_units={"time": "s"})


def _dynamic_report(n_up: np.ndarray, n_down: np.ndarray, waiting: np.ndarray, arrived: np.ndarray,
                    demanded: np.ndarray, link: tuple, ev: tuple, dt: float, every: int) -> dict[str, Variable]:
    """Result variables at every ``every``-th step from the cumulative counts."""
    m, n_steps = n_up.shape[0], n_up.shape[1] - 1
    k = np.arange(every, n_steps + 1, every)
    tt, queue = np.empty((len(k), m)), np.empty((len(k), m))
    cap_factor, closed, rows = np.ones(m), np.zeros(m, bool), np.arange(m)
    for i, t in enumerate(k):
        event_factors(t * dt, ev[0], ev[1], ev[2], ev[3], ev[4], cap_factor, closed)
        link_travel_times(int(t), n_up, n_down, link[0], link[2], cap_factor, closed, dt, tt[i])
        lag = np.clip(t - link[0], 0, None)
        lo = np.floor(lag).astype(int)
        hi = np.minimum(lo + 1, n_steps)
        up = n_up[rows, lo] + (lag - lo) * (n_up[rows, hi] - n_up[rows, lo])
        queue[i] = np.maximum(up - n_down[:, t], 0.0)
    rate = 3600.0 / (every * dt)
    return {
        "inflow_vph": Variable(("time", "link"), (n_up[:, k] - n_up[:, k - every]).T * rate, "veh/h",
                               "flow into the link over the reporting interval"),
        "outflow_vph": Variable(("time", "link"), (n_down[:, k] - n_down[:, k - every]).T * rate, "veh/h",
                                "flow out of the link over the reporting interval"),
        "vehicles": Variable(("time", "link"), (n_up[:, k] - n_down[:, k]).T, "veh", "vehicles on the link"),
        "queue_veh": Variable(("time", "link"), queue, "veh", "vehicles queued at the link exit"),
        "travel_time_s": Variable(("time", "link"), tt, "s", "instantaneous travel time (free flow + queue)"),
        "vehicles_in_network": Variable(("time",), (n_up - n_down).sum(axis=0)[k], "veh", "vehicles on links"),
        "waiting_at_origins": Variable(("time",), waiting[k], "veh", "vehicles waiting to enter at origins"),
        "arrived": Variable(("time",), arrived[k], "veh", "vehicles arrived (cumulative)"),
        "demanded": Variable(("time",), demanded[k], "veh", "trips that wanted to start (cumulative)"),
    }
