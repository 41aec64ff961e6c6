"""Power grid of the sample city: one primary substation, 10 kV cable feeders in open rings.

Design in short (pandapower parameters throughout):

* **Primary substation** at the street intersection nearest to the load centre: a 110 kV bus
  fed by the external grid (the regional 110 kV network, slack at EXT_GRID_VM_PU) and two
  110/10 kV 40 MVA transformers onto the busbar sections MV-A and MV-B, with a normally open
  bus coupler.
* **Secondary substations** (10/0.4 kV): N_SECONDARY of them at the floor-area-weighted k-means
  centres of the buildings, snapped to the nearest street node; each is a 10 kV bus with a
  load. A district's peak load is its population x PEAK_KW_PER_RESIDENT (commercial load
  included) at power factor POWER_FACTOR, shared between its buildings by floor area; a
  building is served by the nearest secondary substation.
* **Feeders**: secondary substations sorted by bearing from the primary substation are cut into
  contiguous groups of about equal load (at most FEEDER_MAX_MW each); each group is a radial
  cable string fed by a circuit breaker, visiting its substations nearest-first along the
  streets, alternately from MV-A and MV-B. The ends of neighbouring feeders are joined by tie
  cables with a normally open switch (open rings, the usual urban layout).
* **Cables** NA2XS2Y 12/20 kV (pandapower standard types): 1x240 mm2 where a section carries
  more than CABLE_SPLIT_MW, and on ties; 1x150 mm2 elsewhere.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from city_districts import kmeans
from city_streets import CRS

N_SECONDARY = 36
PEAK_KW_PER_RESIDENT = 1.6
POWER_FACTOR = 0.95
MOTOR_POWER_FACTOR = 0.9
FEEDER_MAX_MW = 4.0
CABLE_SPLIT_MW = 2.5
EXT_GRID_VM_PU = 1.02
#: pandapower standard types ``NA2XS2Y 1x240 RM/25 12/20 kV`` and ``NA2XS2Y 1x150 RM/25 12/20 kV``.
CABLES = {
    "NA2XS2Y 1x240 RM/25 12/20 kV": dict(r_ohm_per_km=0.122, x_ohm_per_km=0.112, c_nf_per_km=304.0,
                                         max_i_ka=0.421),
    "NA2XS2Y 1x150 RM/25 12/20 kV": dict(r_ohm_per_km=0.206, x_ohm_per_km=0.116, c_nf_per_km=250.0,
                                         max_i_ka=0.319),
}
BIG, SMALL = list(CABLES)
#: 110/10 kV 40 MVA transformer, on-load tap changer on the HV side, +-9 x 1.5 %.
TRANSFORMER = dict(sn_mva=40.0, vn_hv_kv=110.0, vn_lv_kv=10.0, vk_percent=12.0, vkr_percent=0.3,
                   pfe_kw=20.0, i0_percent=0.05, shift_degree=150.0, tap_side="hv", tap_neutral=0,
                   tap_min=-9, tap_max=9, tap_step_percent=1.5, tap_pos=0)


def _tan_phi(pf: float) -> float:
    return float(np.tan(np.arccos(pf)))


def secondary_substations(activity: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, graph: nx.Graph,
                          rng: np.random.Generator) -> pd.DataFrame:
    """Secondary substations: street node, position and peak load (MW), ``SS01``... north to south."""
    inside = gpd.sjoin_nearest(activity, districts[["geometry"]].rename_axis("district"), how="left")
    inside = inside[~inside.index.duplicated()]
    floor_by_d = inside.groupby("district").floor_m2.sum()
    peak_mw = districts.population * PEAK_KW_PER_RESIDENT / 1000.0
    load = inside.floor_m2 * inside["district"].map(peak_mw / floor_by_d)
    pts = shapely.get_coordinates(activity.geometry.values)
    centres = kmeans(pts, activity.floor_m2.to_numpy(), N_SECONDARY, rng)
    nodes = sorted(graph.nodes)
    xy = np.array([graph.nodes[n]["xy"] for n in nodes])
    tree, used, rows = cKDTree(xy), set(), []
    for k, c in enumerate(centres):
        _, order = tree.query(c, k=10)
        node = next(nodes[i] for i in order if nodes[i] not in used)
        used.add(node)
        rows.append(dict(id=f"SS{k + 1:02d}", node=node, x=graph.nodes[node]["xy"][0],
                         y=graph.nodes[node]["xy"][1]))
    ss = pd.DataFrame(rows).set_index("id")
    _, nearest = cKDTree(ss[["x", "y"]].to_numpy()).query(pts)
    ss["p_mw"] = pd.Series(load.to_numpy()).groupby(nearest).sum().reindex(range(len(ss))).fillna(0.0).to_numpy()
    ss["p_mw"] = ss.p_mw.round(4)
    return ss


def feeders(ss: pd.DataFrame, origin: tuple) -> list[list[str]]:
    """Secondary substations cut into contiguous bearing sectors of about equal load."""
    bearing = np.arctan2(ss.y - origin[1], ss.x - origin[0])
    order = ss.index[np.argsort(bearing.to_numpy(), kind="stable")]
    total = float(ss.p_mw.sum())
    n = int(np.ceil(total / FEEDER_MAX_MW))
    cum = ss.p_mw[order].cumsum().to_numpy() - ss.p_mw[order].to_numpy() / 2
    group = np.minimum((cum / total * n).astype(int), n - 1)
    return [list(order[group == g]) for g in range(n) if np.any(group == g)]


def _chain(members: list[str], ss: pd.DataFrame, graph: nx.Graph, start) -> list[str]:
    """Visit the feeder's substations nearest-first along the streets from ``start``."""
    left, here, out = list(members), start, []
    while left:
        dist = nx.single_source_dijkstra_path_length(graph, here, weight="length")
        nxt = min(left, key=lambda s: (dist[ss.loc[s, "node"]], s))
        out.append(nxt)
        left.remove(nxt)
        here = ss.loc[nxt, "node"]
    return out


def _route(graph: nx.Graph, edges: gpd.GeoDataFrame, a, b) -> tuple[float, shapely.LineString]:
    """Street route from node ``a`` to ``b``: length (km) and geometry."""
    path = nx.shortest_path(graph, a, b, weight="length")
    coords = []
    for u, v in zip(path[:-1], path[1:]):
        row = edges.iloc[graph.edges[u, v]["edge"]]
        xy = shapely.get_coordinates(row.geometry)
        xy = xy if row.u == u else xy[::-1]
        coords.extend(xy.tolist() if not coords else xy[1:].tolist())
    length = sum(graph.edges[u, v]["length"] for u, v in zip(path[:-1], path[1:]))
    if len(coords) < 2:
        p = graph.nodes[a]["xy"]
        coords = [p, (p[0] + 1.0, p[1])]
    return max(round(length / 1000.0, 4), 0.01), shapely.LineString(coords)


def _point(graph: nx.Graph, node, dx: float = 0.0, dy: float = 0.0) -> shapely.Point:
    x, y = graph.nodes[node]["xy"]
    return shapely.Point(round(x + dx, 2), round(y + dy, 2))


def _substation(graph: nx.Graph, ss: pd.DataFrame) -> tuple:
    """The primary substation's street node (nearest to the load centre) and its tables."""
    centre = np.average(ss[["x", "y"]].to_numpy(), axis=0, weights=ss.p_mw.to_numpy())
    nodes = sorted(graph.nodes)
    xy = np.array([graph.nodes[n]["xy"] for n in nodes])
    site = nodes[int(np.argmin(np.hypot(*(xy - centre).T)))]
    hv, mva, mvb = _point(graph, site, 0, 15), _point(graph, site, -10, 0), _point(graph, site, 10, 0)
    buses = [dict(id="HV", vn_kv=110.0, bus_type="REF", zone="PS", geometry=hv),
             dict(id="MV-A", vn_kv=10.0, bus_type="PQ", zone="PS", min_vm_pu=0.95, max_vm_pu=1.05, geometry=mva),
             dict(id="MV-B", vn_kv=10.0, bus_type="PQ", zone="PS", min_vm_pu=0.95, max_vm_pu=1.05, geometry=mvb)]
    trafos = [dict(id="TR1", hv_bus="HV", lv_bus="MV-A", geometry=shapely.LineString([hv, mva]), **TRANSFORMER),
              dict(id="TR2", hv_bus="HV", lv_bus="MV-B", geometry=shapely.LineString([hv, mvb]), **TRANSFORMER)]
    ext = [dict(id="GRID", bus="HV", vm_pu=EXT_GRID_VM_PU, geometry=hv)]
    switches = [dict(id="SW-BC", bus="MV-A", element="MV-B", et="b", closed=False, switch_type="CB",
                     geometry=shapely.LineString([mva, mvb]))]
    return site, buses, trafos, ext, switches


def _cable(mw: float) -> dict:
    name = BIG if mw > CABLE_SPLIT_MW else SMALL
    return dict(std_type=name, **CABLES[name])


def _feeder_lines(chains: list, ss: pd.DataFrame, graph: nx.Graph, edges, site) -> tuple[list, list]:
    """Cable sections of each feeder (``F1-1``...), a breaker at each feeder head, and the
    tie cables with their normally open switches between neighbouring feeder ends."""
    lines, switches = [], []
    for f, chain in enumerate(chains, start=1):
        busbar = "MV-A" if f % 2 else "MV-B"
        stops = [(busbar, site)] + [(s, ss.loc[s, "node"]) for s in chain]
        downstream = ss.p_mw[chain][::-1].cumsum()[::-1].to_numpy()
        for k, ((a, na), (b, nb)) in enumerate(zip(stops[:-1], stops[1:])):
            length, geom = _route(graph, edges, na, nb)
            lines.append(dict(id=f"F{f}-{k + 1}", from_bus=a, to_bus=b, length_km=length, geometry=geom,
                              **_cable(float(downstream[k]))))
        switches.append(dict(id=f"CB-F{f}", bus=busbar, element=f"F{f}-1", et="l", closed=True,
                             switch_type="CB", geometry=_stub(lines[-len(chain)]["geometry"], head=True)))
    for t, (c1, c2) in enumerate(zip(chains[:-1], chains[1:]), start=1):
        a, b = c1[-1], c2[-1]
        length, geom = _route(graph, edges, ss.loc[a, "node"], ss.loc[b, "node"])
        lines.append(dict(id=f"TIE-{t}", from_bus=a, to_bus=b, length_km=length, geometry=geom,
                          **_cable(CABLE_SPLIT_MW + 1)))
        switches.append(dict(id=f"SW-TIE-{t}", bus=b, element=f"TIE-{t}", et="l", closed=False,
                             switch_type="LBS", geometry=_stub(geom, head=False)))
    return lines, switches


def _stub(line: shapely.LineString, head: bool) -> shapely.LineString:
    """The first (or last) straight piece of a cable: where its switch sits."""
    xy = shapely.get_coordinates(line)
    return shapely.LineString(xy[:2] if head else xy[-2:])


def _loads(ss: pd.DataFrame, graph: nx.Graph, pump_sites: dict) -> list[dict]:
    """One load per secondary substation (``LD-SS01``...) and one per pumping station
    (``LD-PS1``...: its duty pumps' power at MOTOR_POWER_FACTOR) on the nearest substation bus."""
    rows = [dict(id=f"LD-{s}", bus=s, p_mw=r.p_mw, q_mvar=round(r.p_mw * _tan_phi(POWER_FACTOR), 4),
                 geometry=_point(graph, r.node)) for s, r in ss.iterrows()]
    for name, (point, kw) in pump_sites.items():
        bus = nearest_bus(ss, point)
        p = round(kw / 1000.0, 4)
        rows.append(dict(id=f"LD-{name}", bus=bus, p_mw=p, q_mvar=round(p * _tan_phi(MOTOR_POWER_FACTOR), 4),
                         geometry=point))
    return rows


def nearest_bus(ss: pd.DataFrame, point: shapely.Point) -> str:
    """The secondary substation bus nearest to ``point`` (the low-voltage supply of a site)."""
    d = np.hypot(ss.x - point.x, ss.y - point.y)
    return str(d.index[int(np.argmin(d.to_numpy()))])


def build_grid(activity, districts, graph: nx.Graph, edges, pump_sites: dict,
               rng: np.random.Generator) -> tuple[dict, pd.DataFrame]:
    """All grid tables, and the secondary substations (for couplings).

    ``pump_sites``: station name -> (point, electric power kW of its duty pumps).
    """
    ss = secondary_substations(activity, districts, graph, rng)
    site, buses, trafos, ext, switches = _substation(graph, ss)
    chains = [_chain(g, ss, graph, site) for g in feeders(ss, graph.nodes[site]["xy"])]
    feeder_of = {s: f"F{f}" for f, chain in enumerate(chains, start=1) for s in chain}
    buses += [dict(id=s, vn_kv=10.0, bus_type="PQ", zone=feeder_of[s], min_vm_pu=0.95, max_vm_pu=1.05,
                   geometry=_point(graph, r.node)) for s, r in ss.iterrows()]
    lines, more = _feeder_lines(chains, ss, graph, edges, site)
    tables = {"bus": _frame(buses), "line": _frame(lines), "transformer": _frame(trafos),
              "switch": _frame(switches + more), "load": _frame(_loads(ss, graph, pump_sites)),
              "external_grid": _frame(ext)}
    return tables, ss


def _frame(rows: list[dict]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.DataFrame(rows).drop(columns="geometry"), geometry=[r["geometry"] for r in rows],
                            crs=CRS).set_index("id")
