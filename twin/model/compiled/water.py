"""Compile the water layer to flat arrays (SI units) for the hydraulic solver."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from twin.errors import NetworkError
from twin.model.compiled.common import csr, frozen, ids, per_network, positions, series_csr

if TYPE_CHECKING:
    from twin.model.network import Network

#: Node kind codes: junctions first, then reservoirs, then tanks.
JUNCTION, RESERVOIR, TANK = 0, 1, 2
#: Link kind codes.
PIPE, PUMP, VALVE = 0, 1, 2
#: Initial status codes.
CLOSED, OPEN, CHECK_VALVE, ACTIVE = 0, 1, 2, 3
_STATUS = {"CLOSED": CLOSED, "OPEN": OPEN, "CV": CHECK_VALVE, "ACTIVE": ACTIVE}
#: Valve type codes (-1 for pipes and pumps).
VALVE_TYPES = ("PRV", "PSV", "PBV", "FCV", "TCV", "GPV", "PCV")


@dataclass(frozen=True, eq=False)
class WaterArrays:
    """The water layer as flat, read-only arrays.

    Nodes are ordered junctions, reservoirs, tanks (so the unknown heads are the first
    ``n_junctions`` nodes); links are ordered pipes, pumps, valves. Patterns and curves are
    CSR-packed (``pattern_indptr``, ``pattern_values``); ``-1`` means "none" in any index array.
    """

    node_ids: np.ndarray
    node_kind: np.ndarray
    n_junctions: int
    elevation_m: np.ndarray          # junction/tank bottom elevation; reservoir head
    emitter_coefficient: np.ndarray
    head_pattern: np.ndarray         # reservoirs: pattern index, else -1
    tank_initial_level_m: np.ndarray  # per node (0 for non-tanks)
    tank_min_level_m: np.ndarray
    tank_max_level_m: np.ndarray
    tank_diameter_m: np.ndarray
    tank_min_volume_m3: np.ndarray
    tank_volume_curve: np.ndarray
    link_ids: np.ndarray
    link_kind: np.ndarray
    start_node: np.ndarray
    end_node: np.ndarray
    length_m: np.ndarray
    diameter_m: np.ndarray
    roughness: np.ndarray
    minor_loss: np.ndarray
    initial_status: np.ndarray
    valve_type: np.ndarray
    setting: np.ndarray              # valve setting; pump speed
    pump_head_curve: np.ndarray
    pump_power_kw: np.ndarray
    pump_speed_pattern: np.ndarray
    valve_curve: np.ndarray
    demand_node: np.ndarray
    base_demand_m3s: np.ndarray
    demand_pattern: np.ndarray
    pattern_ids: np.ndarray
    pattern_indptr: np.ndarray
    pattern_values: np.ndarray
    curve_ids: np.ndarray
    curve_indptr: np.ndarray
    curve_x: np.ndarray
    curve_y: np.ndarray
    node_link_indptr: np.ndarray     # CSR node -> incident links (either end)
    node_link_index: np.ndarray

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    @property
    def n_links(self) -> int:
        """Number of links."""
        return len(self.link_ids)


@per_network
def compile_water(net: "Network") -> WaterArrays:
    """Compile the water layer of ``net`` to :class:`WaterArrays`.

    Raises
    ------
    NetworkError
        A link refers to an unknown node, or a pattern/curve id is unknown (names the asset).

    Examples
    --------
    >>> import twin
    >>> w = twin.model.compile_water(twin.datasets.sample_city())
    >>> w.n_junctions == len(twin.datasets.sample_city().junction)
    True
    """
    t = net.tables
    j, r, k = t["junction"], t["reservoir"], t["tank"]
    node_index = j.index.append(r.index).append(k.index)
    if node_index.has_duplicates:
        raise NetworkError(f"water node id {node_index[node_index.duplicated()][0]!r} is used twice")
    node_pos = pd.Index(node_index)
    n_j, n_r, n_k = len(j), len(r), len(k)
    n = n_j + n_r + n_k
    patterns = list(dict.fromkeys(t["pattern"]["pattern"])) if len(t["pattern"]) else []
    curves = list(dict.fromkeys(t["curve"]["curve"])) if len(t["curve"]) else []
    pat = pd.Index(patterns, dtype=object)
    cur = pd.Index(curves, dtype=object)

    def per_node(parts: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
        return frozen(np.concatenate(parts))

    zeros_j, zeros_r, zeros_k = np.zeros(n_j), np.zeros(n_r), np.zeros(n_k)
    tank = {c: per_node((zeros_j, zeros_r, k[c].to_numpy(float))) for c in
            ("initial_level_m", "min_level_m", "max_level_m", "diameter_m", "min_volume_m3")}
    link = _links(net, node_pos, pat, cur)
    demand = t["demand"]
    pattern_indptr, (pattern_values,) = series_csr(t["pattern"], "pattern", "period", ("multiplier",), patterns)
    curve_indptr, (cx, cy) = series_csr(t["curve"], "curve", "point", ("x", "y"), curves)
    ends = np.concatenate([link["start_node"], link["end_node"]])
    indptr, order = csr(ends, n)
    return WaterArrays(
        node_ids=ids(node_index),
        node_kind=frozen(np.repeat([JUNCTION, RESERVOIR, TANK], [n_j, n_r, n_k]), np.int8),
        n_junctions=n_j,
        elevation_m=per_node((j.elevation_m.to_numpy(float), r.head_m.to_numpy(float),
                              k.elevation_m.to_numpy(float))),
        emitter_coefficient=per_node((j.emitter_coefficient.to_numpy(float), zeros_r, zeros_k)),
        head_pattern=frozen(np.concatenate([np.full(n_j, -1), positions(r.head_pattern, pat, "head_pattern",
                                                                        "reservoir"), np.full(n_k, -1)]), np.int64),
        tank_initial_level_m=tank["initial_level_m"], tank_min_level_m=tank["min_level_m"],
        tank_max_level_m=tank["max_level_m"], tank_diameter_m=tank["diameter_m"],
        tank_min_volume_m3=tank["min_volume_m3"],
        tank_volume_curve=frozen(np.concatenate([np.full(n_j + n_r, -1),
                                                 positions(k.volume_curve, cur, "volume_curve", "tank")]), np.int64),
        demand_node=positions(demand.junction, node_pos, "junction", "demand"),
        base_demand_m3s=frozen(demand.base_demand_m3s.to_numpy(float)),
        demand_pattern=positions(demand.pattern, pat, "pattern", "demand"),
        pattern_ids=frozen(patterns, object), pattern_indptr=pattern_indptr, pattern_values=pattern_values,
        curve_ids=frozen(curves, object), curve_indptr=curve_indptr, curve_x=cx, curve_y=cy,
        node_link_indptr=indptr, node_link_index=frozen(order % max(len(link["link_ids"]), 1), np.int64),
        **link,
    )


def _links(net: "Network", node_pos: pd.Index, pat: pd.Index, cur: pd.Index) -> dict:
    t = net.tables
    p, u, v = t["pipe"], t["pump"], t["valve"]
    n_p, n_u, n_v = len(p), len(u), len(v)
    nan_u, nan_v = np.full(n_u, np.nan), np.full(n_v, np.nan)
    none_p, none_u, none_v = np.full(n_p, -1), np.full(n_u, -1), np.full(n_v, -1)
    ends = {}
    for end in ("start_node", "end_node"):
        ends[end] = frozen(np.concatenate([positions(tab[end], node_pos, end, kind)
                                           for tab, kind in ((p, "pipe"), (u, "pump"), (v, "valve"))]), np.int64)
    status = [_STATUS.get(s, -9) for s in
              list(p.initial_status) + list(u.initial_status) + list(v.initial_status)]
    if -9 in status:
        i = status.index(-9)
        aid = (list(p.index) + list(u.index) + list(v.index))[i]
        raise NetworkError(f"link {aid!r}: initial_status must be OPEN, CLOSED, CV or ACTIVE")
    vtype = [VALVE_TYPES.index(x) if x in VALVE_TYPES else -9 for x in v.valve_type]
    if -9 in vtype:
        raise NetworkError(f"valve {v.index[vtype.index(-9)]!r}: valve_type must be one of {VALVE_TYPES}")
    return dict(
        link_ids=ids(p.index.append(u.index).append(v.index)),
        link_kind=frozen(np.repeat([PIPE, PUMP, VALVE], [n_p, n_u, n_v]), np.int8),
        length_m=frozen(np.concatenate([p.length_m.to_numpy(float), nan_u, nan_v])),
        diameter_m=frozen(np.concatenate([p.diameter_m.to_numpy(float), nan_u, v.diameter_m.to_numpy(float)])),
        roughness=frozen(np.concatenate([p.roughness.to_numpy(float), nan_u, nan_v])),
        minor_loss=frozen(np.concatenate([p.minor_loss.to_numpy(float), np.zeros(n_u), v.minor_loss.to_numpy(float)])),
        initial_status=frozen(status, np.int8),
        valve_type=frozen(np.concatenate([none_p, none_u, vtype]), np.int8),
        setting=frozen(np.concatenate([np.zeros(n_p), u.speed.to_numpy(float), v.setting.to_numpy(float)])),
        pump_head_curve=frozen(np.concatenate([none_p, positions(u.head_curve, cur, "head_curve", "pump"), none_v]),
                               np.int64),
        pump_power_kw=frozen(np.concatenate([np.full(n_p, np.nan), u.power_kw.to_numpy(float), nan_v])),
        pump_speed_pattern=frozen(np.concatenate([none_p, positions(u.speed_pattern, pat, "speed_pattern", "pump"),
                                                  none_v]), np.int64),
        valve_curve=frozen(np.concatenate([none_p, none_u, positions(v.curve, cur, "curve", "valve")]), np.int64),
        **ends,
    )
