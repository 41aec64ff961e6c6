"""Compile the traffic layer to flat arrays (SI: m, s, veh/h) for assignment and loading."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from twin.errors import NetworkError
from twin.model.compiled.common import csr, frozen, ids, per_network, positions

if TYPE_CHECKING:
    from twin.model.network import Network


@dataclass(frozen=True, eq=False)
class TrafficArrays:
    """The road network as flat, read-only arrays.

    Links are in table order; ``out_indptr``/``out_links`` is the forward star (CSR of the
    links leaving each node), ``in_indptr``/``in_links`` the backward star. ``through`` is False
    for nodes that paths may not pass through (TNTP zones numbered below the first
    through node). ``demand_vph`` is the dense zone x zone OD matrix.
    """

    node_ids: np.ndarray
    link_ids: np.ndarray
    from_node: np.ndarray
    to_node: np.ndarray
    capacity_vph: np.ndarray
    length_m: np.ndarray
    free_flow_time_s: np.ndarray
    bpr_alpha: np.ndarray
    bpr_beta: np.ndarray
    toll: np.ndarray
    in_service: np.ndarray
    out_indptr: np.ndarray
    out_links: np.ndarray
    in_indptr: np.ndarray
    in_links: np.ndarray
    through: np.ndarray
    zone_ids: np.ndarray
    zone_node: np.ndarray
    demand_vph: np.ndarray

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    @property
    def n_links(self) -> int:
        """Number of links."""
        return len(self.link_ids)


@per_network
def compile_traffic(net: "Network") -> TrafficArrays:
    """Compile the traffic layer of ``net`` to :class:`TrafficArrays`.

    Raises
    ------
    NetworkError
        A link or zone refers to an unknown node, or a trip to an unknown zone.

    Examples
    --------
    >>> import twin
    >>> tr = twin.model.compile_traffic(twin.datasets.sample_city())
    >>> round(float(tr.demand_vph.sum()), 6) == round(float(twin.datasets.sample_city().trips.trips_vph.sum()), 6)
    True
    """
    t = net.tables
    nodes, links, zones, trips = t["node"], t["link"], t["zone"], t["trips"]
    node_pos = pd.Index(nodes.index)
    zone_pos = pd.Index(zones.index)
    tail = positions(links.from_node, node_pos, "from_node", "link")
    head = positions(links.to_node, node_pos, "to_node", "link")
    out_indptr, out_links = csr(tail, len(nodes))
    in_indptr, in_links = csr(head, len(nodes))
    zone_node = positions(zones["centroid_node"], node_pos, "centroid_node", "zone")
    through = np.ones(len(nodes), dtype=bool)
    first_thru = net.settings.get("traffic", {}).get("first_thru_node")
    if first_thru is not None:
        for z, node in zip(zones.index, zone_node):
            if _number(z) is not None and _number(z) < int(first_thru):
                through[node] = False
    demand = np.zeros((len(zones), len(zones)))
    o = positions(trips.origin, zone_pos, "origin", "trips")
    d = positions(trips.destination, zone_pos, "destination", "trips")
    np.add.at(demand, (o, d), trips.trips_vph.to_numpy(float))
    if (demand < 0).any():
        raise NetworkError("trips: negative demand")
    return TrafficArrays(
        node_ids=ids(nodes.index), link_ids=ids(links.index), from_node=tail, to_node=head,
        capacity_vph=frozen(links.capacity_vph.to_numpy(float)), length_m=frozen(links.length_m.to_numpy(float)),
        free_flow_time_s=frozen(links.free_flow_time_s.to_numpy(float)),
        bpr_alpha=frozen(links.bpr_alpha.to_numpy(float)), bpr_beta=frozen(links.bpr_beta.to_numpy(float)),
        toll=frozen(links.toll.to_numpy(float)), in_service=frozen(links.in_service.to_numpy(bool), bool),
        out_indptr=out_indptr, out_links=out_links, in_indptr=in_indptr, in_links=in_links,
        through=frozen(through, bool), zone_ids=ids(zones.index), zone_node=zone_node,
        demand_vph=frozen(demand),
    )


def _number(text: str) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None
