"""The arrays of a static assignment, built once per network and checked on the way.

:func:`prepare` validates the road tables (capacities, BPR parameters, demand, zone connectors)
with errors that name the link, zone or trip, compiles the network and returns a
:class:`Problem`: writable, contiguous copies of what the kernels of :mod:`twin.solvers.traffic`
take. A changed network state (closures, capacity cuts, scaled demand) is a new ``Problem`` made
with :func:`dataclasses.replace`; see :class:`twin.traffic.Assignment`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from twin.errors import NetworkError
from twin.model.compiled.traffic import TrafficArrays, compile_traffic
from twin.solvers.traffic.paths import active_origins

if TYPE_CHECKING:
    from twin.model.network import Network

__all__ = ["COST_WEIGHTS", "Problem", "Star", "check_links", "contiguous", "prepare"]

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


def contiguous(values: np.ndarray, dtype: Any = np.float64) -> np.ndarray:
    """A writable C-contiguous copy of ``values``."""
    return np.array(values, dtype=dtype, copy=True, order="C")


def check_links(net: "Network", arrays: TrafficArrays) -> None:
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
    check_links(network, arrays)
    const = contiguous(_weights(cost, arrays))
    const[~arrays.in_service] = np.inf
    _check_zones(arrays, const)
    cap = contiguous(arrays.capacity_vph)
    cap[~arrays.in_service] = 1.0
    star: Star = (contiguous(arrays.zone_node, np.int64), active_origins(arrays.demand_vph),
                  contiguous(arrays.out_indptr, np.int64), contiguous(arrays.out_links, np.int64),
                  contiguous(arrays.from_node, np.int64), contiguous(arrays.to_node, np.int64),
                  contiguous(arrays.through, np.bool_))
    return Problem(arrays=arrays, t0=contiguous(arrays.free_flow_time_s), cap=cap, alpha=contiguous(arrays.bpr_alpha),
                   beta=contiguous(arrays.bpr_beta), const=const, demand=contiguous(arrays.demand_vph),
                   origins=star[1], star=star,
                   backward=(contiguous(arrays.in_indptr, np.int64), contiguous(arrays.in_links, np.int64)))

