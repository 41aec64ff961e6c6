"""Dynamic network loading: time-varying trips through the link transmission model, with queues,
spillback, incidents, closures and dark signals, and route choice that follows current travel times."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import xarray as xr

from twin.errors import NetworkError
from twin.model.compiled.traffic import TrafficArrays
from twin.results import Variable, make_dataset, provenance
from twin.solvers.traffic.ltm import (CAPACITY, CLOSURE, NODE_FIFO, NODE_REDISTRIBUTE, event_factors,
                                      link_travel_times, run_ltm)
from twin.traffic.problem import contiguous, prepare

if TYPE_CHECKING:
    from twin.model.network import Network

__all__ = ["NODE_MODELS", "traffic_dynamics"]

#: Node models of :func:`traffic_dynamics` (``node_model=``).
NODE_MODELS = {"fifo_redistribute": NODE_REDISTRIBUTE, "fifo_proportional": NODE_FIFO}


def _dynamic_links(arrays: TrafficArrays, network: "Network", dt: float, jam_density_vpm: float,
                   lane_capacity_vph: float | None = None):
    """Free-flow and wave travel times in steps, capacity per step and storage (veh) of every link.

    A link shorter than one step (in free-flow time) is stretched to one step, its storage with it;
    storage is at least twice what the link holds at capacity in free flow, so that the triangular
    diagram stays valid (zero-length TNTP connectors, very short street links). With
    ``lane_capacity_vph`` a link has at least ``capacity / lane_capacity_vph`` lanes.
    """
    lanes = np.maximum(network.tables["link"]["lanes"].to_numpy(float), 1.0)
    if lane_capacity_vph is not None:
        lanes = np.maximum(lanes, arrays.capacity_vph / float(lane_capacity_vph))
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
    lane_capacity_vph: float | None = 2400.0,
    node_model: str = "fifo_proportional",
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
        (and at every closure) with smoothing weight ``reroute_weight``: each destination's
        turning fractions move that share towards its current shortest paths (UXsim's
        ``homogeneous_DUO``, routes chosen en route at every node; equally short routes split
        the share moved evenly, so results do not depend on the order of the links). A link's
        current time is its free-flow time plus its queue over the rate the queue has left at
        over the last minute (a queue held up by spillback or by a full out-link reads as slow
        as it is), as reported in ``travel_time_s``. Vehicles that find no room on the
        out-link they prefer choose again among their destination's preferred out-links,
        waiting at the head of their link meanwhile (UXsim's vehicles draw their next link
        again at every step they wait).
    report_s : float
        Reporting interval (s) of the results.
    jam_density_vpm : float
        Jam density per lane (veh/m); with capacity and free speed it fixes the wave speed.
    lane_capacity_vph : float or None
        Most vehicles per hour one lane carries: a link stores vehicles (jam density times
        lanes times length) on at least ``capacity_vph / lane_capacity_vph`` lanes. This is a
        no-op on consistent lane data and matters where lanes are missing (TNTP networks have
        none, so every link reads as one lane): a 6000 veh/h road then keeps the storage of
        2.5 lanes, not of one, and queues do not lock the network up. ``None``: the lanes as given.
    node_model : {"fifo_redistribute", "fifo_proportional"}
        How a node shares the out-links' room among its in-links. Both are first-in-first-out
        per in-link: the vehicles at the head of a link that wait for a full out-link hold up
        the whole link, also those behind them bound for free out-links (as in UXsim, whose
        nodes move only the front vehicle of each link, and SUMO on a one-lane approach).
        Each out-link's room is shared in proportion to the turning demand.
        ``"fifo_proportional"`` (default): each out-link's room is shared once, and the share
        of an in-link held up elsewhere stays unused. ``"fifo_redistribute"`` (Tampere et al.
        2011, the incremental algorithm of their generic node model with demand-proportional
        priorities): room that an in-link held up by another out-link cannot use goes to the
        other in-links, so a node passes as much as FIFO allows. With routes frozen (no
        rerouting) the proportional model can lock a congested network up where UXsim does not
        and the redistributing one does not (see the Notes); with route choice running, the
        proportional model's total travel time is the closer to UXsim's on SiouxFalls at 30 %
        demand (-3.9 % / -0.7 % / +0.1 % at 120 / 300 / 600 s route updates, against +11 % /
        +13 % / +14 %, where the redistributing model's routes drive 5 % more vehicle-km than
        UXsim's), hence the default. Both drain ChicagoSketch at full demand (98.9 % and 99.2 %
        of the trips arrived after 3 h).

    Returns
    -------
    xarray.Dataset
        Over ``(time, link)``: ``inflow_vph``, ``outflow_vph`` (over the interval ending at
        ``time``), ``vehicles``, ``queue_veh``, ``travel_time_s``; over ``time``:
        ``vehicles_in_network``, ``waiting_at_origins``, ``arrived``, ``demanded``; attrs
        ``total_travel_time_vh``, ``conservation_error_veh`` and provenance.

        ``total_travel_time_vh`` counts every trip from its scheduled departure (the step its
        demand falls in), so the wait in the origin queue before the first link can take it is
        included, as in UXsim and SUMO (``duration`` = arrival - ``depart``); trips still
        travelling at the end count up to ``duration_s`` (UXsim counts completed trips only:
        the same once all have arrived, ``arrived_veh == demanded_veh``).

    Notes
    -----
    The model moves continuous flows: below capacity a trip takes exactly its free-flow time,
    delay comes only from queues where demand exceeds capacity. Particle simulators add a small
    delay below capacity from vehicles (or platoons) arriving at a merge in the same step; on
    SiouxFalls at 10 % demand UXsim's is 5.9 s per trip with platoons of 5 and 1.9 s with single
    vehicles (``benchmarks/results_traffic.md``).

    The node model matters once queues spill back over nodes. On a diverge where one branch is
    full both node models (and UXsim) hold the in-link when its vehicles have a settled route,
    and the free branch gets only its share of what the full branch takes; vehicles whose
    destination's preferences also name the free branch choose again and take it. Where several
    in-links compete, ``"fifo_proportional"`` wastes the room a held-up in-link leaves: on
    SiouxFalls at 30 % demand, routes frozen at free flow, 54 % of the trips arrive within 2 h
    (gridlock) against 96 % with ``"fifo_redistribute"`` and 98 % in UXsim.

    Which link times routes see matters most when routes are updated seldom. Reading a queue as
    if it left at the link's capacity (before) made a queue held up by spillback look up to
    several times shorter than it was; with routes updated every 600 s (UXsim's default) the
    centre of SiouxFalls at 30 % demand then locked up for 10 minutes at a time and the total
    travel time was 37 % above UXsim's (default node model), against 0.1 % now.

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
    if node_model not in NODE_MODELS:
        raise ValueError(f"node_model must be one of {sorted(NODE_MODELS)}, got {node_model!r}")
    if lane_capacity_vph is not None and not lane_capacity_vph > 0:
        raise ValueError(f"lane_capacity_vph must be > 0, got {lane_capacity_vph!r}")
    wall, cpu = time.perf_counter(), time.process_time()
    problem = prepare(network)
    a = problem.arrays
    n_steps, per = int(round(duration_s / step_s)), max(int(round(period_s / step_s)), 1)
    demand = _demand_profile(problem.demand, demand_profile, duration_s, period_s)
    for p in range(demand.shape[0]):
        np.fill_diagonal(demand[p], 0.0)
    link = tuple(contiguous(v) for v in _dynamic_links(a, network, step_s, jam_density_vpm, lane_capacity_vph))
    ev = _events(events, network, a)
    zone_node, _, out_indptr, out_links, from_node, to_node, through = problem.star
    star = (out_indptr, out_links, *problem.backward, from_node, to_node, through)
    n_up, n_down = np.zeros((a.n_links, n_steps + 1)), np.zeros((a.n_links, n_steps + 1))
    waiting, arrived = np.zeros(n_steps + 1), np.zeros(n_steps + 1)
    origins = np.flatnonzero(demand.sum(axis=(0, 2)) > 0).astype(np.int64)
    # destination-share packets per link: up to 64, fewer on big networks (about 256 MB at most)
    packets = int(np.clip(2**28 // (8 * a.n_links * max(len(a.zone_ids), 1)), 4, 64))
    run_ltm(n_steps, float(step_s), demand, per, origins, zone_node, link, star, ev,
            max(int(round(reroute_s / step_s)), 1), float(reroute_weight), packets, n_up, n_down, waiting, arrived,
            NODE_MODELS[node_model])
    step_demand = demand.sum(axis=(1, 2)) * step_s / 3600.0
    per_step = np.array([step_demand[t // per] if t // per < len(demand) else 0.0 for t in range(n_steps)])
    demanded = np.concatenate([[0.0], np.cumsum(per_step)])
    every = max(int(round(report_s / step_s)), 1)
    variables = _dynamic_report(n_up, n_down, waiting, arrived, demanded, link, ev, float(step_s), every)
    on_links = (n_up - n_down).sum(axis=0)
    attrs = provenance(network, solver="ltm", step_s=float(step_s), duration_s=float(duration_s), node_model=node_model,
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
        "travel_time_s": Variable(("time", "link"), tt, "s",
                                  "instantaneous travel time (free flow + queue over the rate it leaves at)"),
        "vehicles_in_network": Variable(("time",), (n_up - n_down).sum(axis=0)[k], "veh", "vehicles on links"),
        "waiting_at_origins": Variable(("time",), waiting[k], "veh", "vehicles waiting to enter at origins"),
        "arrived": Variable(("time",), arrived[k], "veh", "vehicles arrived (cumulative)"),
        "demanded": Variable(("time",), demanded[k], "veh", "trips that wanted to start (cumulative)"),
    }
