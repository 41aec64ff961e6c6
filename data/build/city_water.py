"""Water layer of the sample city: mains along the streets, three pressure zones, pumps, a tank.

Design in short:

* **Mains** follow every street (:mod:`city_terrain`); junctions sit at intersections, dead ends
  and every ~15 m of a longer street. Ground levels come from :func:`city_terrain.elevation`.
* **Pressure zones** by ground level: the *main zone* floats on the water tower T1; the *hill
  zone* (ground >= HILL_MIN_M, Kaartinkaupunki) is lifted by the booster pump P4; the *shore
  zone* (ground <= SHORE_MAX_M, the South Harbour) is fed through the pressure-reducing valve
  V1. Every other main crossing a zone boundary is a closed boundary valve (a pipe with
  ``initial_status = CLOSED``).
* **Sources**: the regional transmission main is the fixed-grade reservoir R1 at the northern
  edge; pumping station PS1 lifts its water with the duty pumps P1 and P2 (P3 is the standby),
  switched by the level of T1.
* **Demand** = residents x RESIDENT_LPD + jobs x JOB_LPD per district, spread over the
  district's junctions in proportion to the length of main they serve, with hourly diurnal
  patterns RES and COM.
* **Diameters** from the peak flow at VELOCITY_MPS, rounded up to a commercial size (SIZES_M):
  the peak flow of a main is the largest it carries on the shortest-path trees from the pumping
  station and from the water tower, each source supplying the whole peak alone (so the city
  stays served while the station pumps are off). Hazen-Williams C by size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from city_streets import CRS
from city_terrain import Mains, elevation

#: Water use per resident (L/day), households only.
RESIDENT_LPD = 150.0
#: Water use per job (L/day) in offices, shops and services.
JOB_LPD = 40.0
_RES = (0.45, 0.35, 0.3, 0.3, 0.35, 0.55, 1.0, 1.5, 1.45, 1.25, 1.1, 1.05,
        1.05, 1.0, 0.95, 0.95, 1.05, 1.3, 1.5, 1.55, 1.4, 1.15, 0.85, 0.6)
_COM = (0.3, 0.25, 0.25, 0.25, 0.3, 0.4, 0.7, 1.2, 1.6, 1.7, 1.7, 1.65,
        1.6, 1.6, 1.6, 1.5, 1.4, 1.2, 0.9, 0.7, 0.55, 0.45, 0.4, 0.35)
#: Hourly demand multipliers from midnight, scaled to a mean of 1: households peak in the
#: morning and the evening, workplaces through office hours.
PATTERNS = {name: tuple(round(v / np.mean(p), 4) for v in p) for name, p in (("RES", _RES), ("COM", _COM))}
#: Ground level (m) at and above which a junction belongs to the hill zone.
HILL_MIN_M = 20.0
#: Ground level (m) at and below which a junction belongs to the shore zone.
SHORE_MAX_M = 6.0
#: Design velocity (m/s) at peak flow for sizing mains.
VELOCITY_MPS = 1.0
#: Commercial internal diameters (m).
SIZES_M = (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6)
#: Fixed grade of the transmission main feeding the pumping station (m).
RESERVOIR_HEAD_M = 20.0
#: Water tower T1: bottom elevation, levels (m) and diameter (m).
TANK = dict(elevation_m=50.0, min_level_m=0.5, max_level_m=8.5, initial_level_m=5.0, diameter_m=14.0)
#: Hydraulic grade (m) that the PRV V1 holds at its downstream side.
PRV_GRADE_M = 42.0
#: Station duty pump design point: flow = STATION_SHARE x average demand, head STATION_HEAD_M.
STATION_SHARE, STATION_HEAD_M = 0.75, 38.0
#: Booster design point: flow = BOOSTER_MARGIN x hill-zone peak demand, head BOOSTER_HEAD_M.
BOOSTER_MARGIN, BOOSTER_HEAD_M = 1.3, 22.0
#: Wire-to-water efficiency of the pump sets (motor x pump).
WIRE_TO_WATER = 0.7
#: Tank level controls of the station pumps: (pump, open below m, close above m).
LEVEL_CONTROLS = (("P1", 4.5, 7.5), ("P2", 3.0, 6.0))


@dataclass
class WaterLayer:
    """Water tables (kind -> DataFrame) and the design figures other layers need."""

    tables: dict
    pump_power_kw: dict = field(default_factory=dict)


def hazen_williams_c(diameter_m: float) -> float:
    """C = 130 for trunk mains >= 300 mm (newer, cement-lined), 120 for 150-250 mm, 110 below."""
    return 130.0 if diameter_m >= 0.3 else (120.0 if diameter_m >= 0.15 else 110.0)


def pressure_zones(graph: nx.MultiGraph, ground: dict) -> dict:
    """Zone of every junction: ``hill`` and ``shore`` are the largest connected groups of
    junctions above HILL_MIN_M / below SHORE_MAX_M; pockets of the main zone that those cut off
    join the zone around them so that every zone is connected."""
    zone = {n: "main" for n in graph}
    for name, inside in (("hill", lambda z: z >= HILL_MIN_M), ("shore", lambda z: z <= SHORE_MAX_M)):
        sub = graph.subgraph([n for n in graph if zone[n] == "main" and inside(ground[n])])
        best = sorted(nx.connected_components(sub), key=lambda c: (-len(c), min(c)))[0]
        zone.update({n: name for n in best})
    main = graph.subgraph([n for n in graph if zone[n] == "main"])
    pockets = sorted(nx.connected_components(main), key=lambda c: (-len(c), min(c)))[1:]
    for pocket in pockets:
        around = sorted({zone[m] for n in pocket for m in graph.neighbors(n) if zone[m] != "main"})
        zone.update({n: around[0] for n in pocket})
    return zone


def _boundary_pipe(mains: Mains, zone: dict, xy: dict, other: str) -> int:
    """Index of the main between the main zone and ``other`` whose ``other`` end is nearest to
    the centre of that zone: the feed of the zone (booster or PRV)."""
    centre = np.mean([xy[n] for n, z in zone.items() if z == other], axis=0)
    best = None
    for i, p in enumerate(mains.pipes):
        ends = {zone[p["a"]], zone[p["b"]]}
        if ends == {"main", other}:
            far = p["a"] if zone[p["a"]] == other else p["b"]
            d = float(np.hypot(*(np.asarray(xy[far]) - centre)))
            if best is None or d < best[0]:
                best = (d, i)
    return best[1]


def _sites(mains: Mains, zone: dict, xy: dict, ground: dict) -> dict:
    """Where the works stand: the pumping station at the northernmost main-zone junction, the
    water tower at the highest main-zone junction at least 400 m from it, the booster and the
    PRV on the boundary mains that reach furthest into their zones."""
    main = [n for n in mains.junctions if zone[n] == "main"]
    station = max(main, key=lambda n: (xy[n][1], n))
    far = [n for n in main if np.hypot(*(np.asarray(xy[n]) - xy[station])) >= 400.0]
    tower = max(far, key=lambda n: (ground[n], n))
    if ground[tower] >= TANK["elevation_m"]:
        raise ValueError("the tower's bottom must stand above the ground")
    return dict(station=station, tower=tower, booster=_boundary_pipe(mains, zone, xy, "hill"),
                prv=_boundary_pipe(mains, zone, xy, "shore"))


def allocate_demand(mains: Mains, jxy: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> pd.DataFrame:
    """Average demand (m3/s) per junction and category.

    Each junction serves half of every main that touches it; a district's demand
    (residents x RESIDENT_LPD + jobs x JOB_LPD) is split over its junctions in proportion to
    that length. Junctions are in the district that contains them (else the nearest).
    """
    served = pd.Series(0.0, index=jxy.index)
    for p in mains.pipes:
        served[p["a"]] += p["length_m"] / 2
        served[p["b"]] += p["length_m"] / 2
    where = gpd.sjoin_nearest(jxy[["geometry"]], districts[["geometry"]].rename_axis("district"), how="left")
    where = where[~where.index.duplicated()]["district"]
    out = []
    for did, d in districts.iterrows():
        share = served[where == did] / served[where == did].sum()
        res = d.population * RESIDENT_LPD / 1000.0 / 86400.0
        com = d.jobs * JOB_LPD / 1000.0 / 86400.0
        out.append(pd.DataFrame({"RES": share * res, "COM": share * com}))
    return pd.concat(out).reindex(jxy.index).fillna(0.0)


def _tree_flows(links: list, loads: dict, root) -> dict:
    """Flow on every link of a shortest-path tree from ``root`` that carries all ``loads``
    (node -> m3/s) downstream; links off the tree carry none. ``links``: (key, a, b, length)."""
    graph = nx.Graph()
    for key, a, b, length in links:
        if not graph.has_edge(a, b) or graph.edges[a, b]["length"] > length:
            graph.add_edge(a, b, length=length, key=key)
    dist, paths = nx.single_source_dijkstra(graph, root, weight="length")
    acc = {n: loads.get(n, 0.0) for n in graph}
    flows = {}
    for n in sorted(dist, key=lambda n: (-dist[n], str(n))):
        if n == root:
            continue
        parent = paths[n][-2]
        flows[graph.edges[parent, n]["key"]] = acc[n]
        acc[parent] += acc[n]
    return flows


def commercial_size(flow_m3s: float) -> float:
    """Smallest commercial diameter (m) carrying ``flow_m3s`` at VELOCITY_MPS or less."""
    need = np.sqrt(4.0 * flow_m3s / (np.pi * VELOCITY_MPS))
    return next((d for d in SIZES_M if d >= need - 1e-9), SIZES_M[-1])


def _head_curve(name: str, flow: float, head: float) -> list[dict]:
    """Three-point head curve through the design point: shutoff at 1.3 x head, 0.7 x head at
    1.5 x flow (EPANET fits h = A - B q^C through them)."""
    pts = ((0.0, 1.3 * head), (flow, head), (1.5 * flow, 0.7 * head))
    return [dict(id=f"{name}:{k}", curve=name, curve_type="HEAD", point=k, x=round(q, 6), y=round(h, 3))
            for k, (q, h) in enumerate(pts)]


def pump_power_kw(flow: float, head: float) -> float:
    """Electric power at the design point: rho g Q H / WIRE_TO_WATER (kW)."""
    return round(1000.0 * 9.81 * flow * head / WIRE_TO_WATER / 1000.0, 1)


def _junction_frame(mains: Mains, graph: nx.Graph) -> gpd.GeoDataFrame:
    """Junctions (index: OSM id) with their id ``J0001``..., position and ground level."""
    xy = np.array([graph.nodes[n]["xy"] for n in mains.junctions])
    return gpd.GeoDataFrame({"id": [f"J{k + 1:04d}" for k in range(len(xy))],
                             "elevation_m": elevation(xy[:, 0], xy[:, 1])},
                            index=pd.Index(mains.junctions, name="osm"),
                            geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=CRS)


def _offset(point: shapely.Point, dx: float, dy: float) -> shapely.Point:
    return shapely.Point(round(point.x + dx, 2), round(point.y + dy, 2))


def _station_pumps(jx: gpd.GeoDataFrame, site: dict) -> tuple[list, list]:
    """Reservoir R1 40 m north of the station junction and pumps P1-P3 from it (P3 standby)."""
    j = jx.loc[site["station"]]
    r1 = _offset(j.geometry, 0.0, 40.0)
    reservoir = [dict(id="R1", head_m=RESERVOIR_HEAD_M, geometry=r1)]
    pumps = []
    for k, status in enumerate(("OPEN", "CLOSED", "CLOSED")):
        mid = _offset(j.geometry, 6.0 * (k - 1), 20.0)
        pumps.append(dict(id=f"P{k + 1}", start_node="R1", end_node=j.id, head_curve="PS",
                          initial_status=status,
                          geometry=shapely.LineString([r1, mid, j.geometry])))
    return reservoir, pumps


def _tower(jx: gpd.GeoDataFrame, site: dict) -> tuple[list, dict]:
    """Water tower T1 25 m east of its junction, joined by the 300 mm riser M-T1."""
    j = jx.loc[site["tower"]]
    pos = _offset(j.geometry, 25.0, 0.0)
    tank = [dict(id="T1", geometry=pos, **TANK)]
    riser = dict(id="M-T1", start_node=j.id, end_node="T1", length_m=25.0, diameter_m=0.3,
                 roughness=hazen_williams_c(0.3), initial_status="OPEN",
                 geometry=shapely.LineString([j.geometry, pos]))
    return tank, riser


def _controls(tank: str = "T1") -> list[dict]:
    """Station pumps switched by the tank level (LEVEL_CONTROLS): open below, close above."""
    rows = []
    for pump, low, high in LEVEL_CONTROLS:
        rows.append(dict(link=pump, status="OPEN", condition="BELOW", node=tank, threshold=low))
        rows.append(dict(link=pump, status="CLOSED", condition="ABOVE", node=tank, threshold=high))
    return [dict(id=str(k + 1), **r) for k, r in enumerate(rows)]


def _patterns() -> list[dict]:
    return [dict(id=f"{name}:{k}", pattern=name, period=k, multiplier=m)
            for name, values in PATTERNS.items() for k, m in enumerate(values)]


def _demand_rows(jx: gpd.GeoDataFrame, demand: pd.DataFrame) -> list[dict]:
    rows = []
    for osm, j in jx.iterrows():
        for k, (cat, name) in enumerate((("RES", "residential"), ("COM", "commercial")), start=1):
            q = round(float(demand.loc[osm, cat]), 9)
            if q > 0:
                rows.append(dict(id=f"{j.id}#{k}", junction=j.id, base_demand_m3s=q, pattern=cat,
                                 category=name))
    return rows


def water_settings() -> dict:
    """EPANET options in the keys of ``settings["water"]`` (``docs/water-settings.md``): LPS flow
    units, Hazen-Williams, a 24 h extended period run in hourly steps from midnight, RES as the
    default pattern; everything else at EPANET's defaults."""
    return {
        "title": ["twin sample city: central Helsinki streets (OpenStreetMap, ODbL), synthetic water mains"],
        "flow_units": "LPS", "pressure_units": "METERS", "headloss": "H-W", "hydraulics_mode": None,
        "hydraulics_file": None, "quality_parameter": "NONE", "quality_chemical": None, "quality_units": None,
        "trace_node": None, "viscosity": 1.0, "diffusivity": 1.0, "specific_gravity": 1.0, "trials": 200,
        "accuracy": 0.001, "unbalanced": "STOP", "unbalanced_trials": 0, "default_pattern": "RES",
        "demand_multiplier": 1.0, "emitter_exponent": 0.5, "emitter_backflow": True, "quality_tolerance": 0.01,
        "map_file": None, "check_frequency": 2, "max_check": 10, "damp_limit": 0.0, "head_error_m": 0.0,
        "flow_change_m3s": 0.0, "demand_model": "DDA", "minimum_pressure_m": 0.0, "required_pressure_m": 0.1,
        "pressure_exponent": 0.5, "duration_s": 86400, "hydraulic_timestep_s": 3600, "quality_timestep_s": 360,
        "rule_timestep_s": 360, "pattern_timestep_s": 3600, "pattern_start_s": 0, "report_timestep_s": 3600,
        "report_start_s": 0, "start_clocktime_s": 0, "statistic": "NONE",
        "global_efficiency_pct": round(100 * WIRE_TO_WATER, 1), "global_price": 0.0, "global_price_pattern": None,
        "demand_charge": 0.0, "bulk_order": 1.0, "wall_order": 1.0, "tank_order": 1.0, "global_bulk": 0.0,
        "global_wall": 0.0, "limiting_potential": 0.0, "roughness_correlation": 0.0,
        "sources": [], "report": [], "labels": [], "backdrop": [],
    }


def _pipes_and_links(mains: Mains, jx: gpd.GeoDataFrame, zone: dict, site: dict) -> tuple[list, list, list]:
    """Pipe rows (diameter still unset), plus the booster pump P4 and the PRV V1, which take
    the place of the two feeding boundary mains; other boundary mains are closed."""
    pipes, booster, prv = [], None, None
    for i, p in enumerate(mains.pipes):
        a, b = p["a"], p["b"]
        if i in (site["booster"], site["prv"]):
            if zone[a] != "main":
                a, b = b, a
            geom = p["geometry"] if a == p["a"] else p["geometry"].reverse()
            row = dict(start_node=jx.loc[a, "id"], end_node=jx.loc[b, "id"], geometry=geom, a=a, b=b)
            if i == site["booster"]:
                booster = dict(id="P4", head_curve="BS", initial_status="OPEN", **row)
            else:
                prv = dict(id="V1", valve_type="PRV", initial_status="ACTIVE",
                           setting=round(PRV_GRADE_M - float(jx.loc[b, "elevation_m"]), 1), **row)
            continue
        status = "OPEN" if zone[a] == zone[b] else "CLOSED"
        pipes.append(dict(id=f"M{len(pipes) + 1:04d}", start_node=jx.loc[a, "id"], end_node=jx.loc[b, "id"],
                          length_m=p["length_m"], initial_status=status, geometry=p["geometry"], a=a, b=b))
    return pipes, [booster], [prv]


def _size(pipes: list, pumps: list, valves: list, loads: dict, roots: list) -> dict:
    """Design flow of every link: the largest of the flows on the shortest-path trees from
    each source (station, tower) through open mains, the booster and the PRV, each tree
    carrying the peak demand alone."""
    links = [(r["id"], r["a"], r["b"], r["length_m"]) for r in pipes if r["initial_status"] == "OPEN"]
    links += [(r["id"], r["a"], r["b"], r["geometry"].length) for r in pumps + valves]
    out: dict = {}
    for root in roots:
        for key, q in _tree_flows(links, loads, root).items():
            out[key] = max(out.get(key, 0.0), q)
    return out


def build_water(mains: Mains, graph: nx.Graph, districts: gpd.GeoDataFrame) -> WaterLayer:
    """All water tables of the city (see the module docstring for the design rules)."""
    jx = _junction_frame(mains, graph)
    ground = jx.elevation_m.to_dict()
    xy = {n: (g.x, g.y) for n, g in jx.geometry.items()}
    pipe_graph = nx.MultiGraph()
    pipe_graph.add_edges_from((p["a"], p["b"]) for p in mains.pipes)
    zone = pressure_zones(pipe_graph, ground)
    site = _sites(mains, zone, xy, ground)
    demand = allocate_demand(mains, jx, districts)
    peak = demand.RES * max(PATTERNS["RES"]) + demand.COM * max(PATTERNS["COM"])
    average = float(demand.to_numpy().sum())
    pipes, boosters, prvs = _pipes_and_links(mains, jx, zone, site)
    flows = _size(pipes, boosters, prvs, peak.to_dict(), [site["station"], site["tower"]])
    for r in pipes:
        r["diameter_m"] = commercial_size(flows.get(r["id"], 0.0))
        r["roughness"] = hazen_williams_c(r["diameter_m"])
    prvs[0]["diameter_m"] = commercial_size(flows[prvs[0]["id"]])
    hill_peak = float(sum(peak[n] for n in peak.index if zone[n] == "hill"))
    reservoir, pumps = _station_pumps(jx, site)
    tank, riser = _tower(jx, site)
    station_q, booster_q = STATION_SHARE * average, BOOSTER_MARGIN * hill_peak
    curves = _head_curve("PS", station_q, STATION_HEAD_M) + _head_curve("BS", booster_q, BOOSTER_HEAD_M)
    drop = ["a", "b"]
    tables = {
        "junction": jx.reset_index(drop=True).set_index("id"),
        "reservoir": _frame(reservoir), "tank": _frame(tank),
        "pipe": _frame([{k: v for k, v in r.items() if k not in drop} for r in pipes] + [riser]),
        "pump": _frame(pumps + [{k: v for k, v in boosters[0].items() if k not in drop}]),
        "valve": _frame([{k: v for k, v in prvs[0].items() if k not in drop}]),
        "demand": pd.DataFrame(_demand_rows(jx, demand)).set_index("id"),
        "pattern": pd.DataFrame(_patterns()).set_index("id"),
        "curve": pd.DataFrame(curves).set_index("id"),
        "control": pd.DataFrame(_controls()).set_index("id"),
    }
    power = {p: pump_power_kw(station_q, STATION_HEAD_M) for p in ("P1", "P2", "P3")}
    power["P4"] = pump_power_kw(booster_q, BOOSTER_HEAD_M)
    return WaterLayer(tables, power)


def _frame(rows: list[dict]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.DataFrame(rows).drop(columns="geometry"), geometry=[r["geometry"] for r in rows],
                            crs=CRS).set_index("id")
