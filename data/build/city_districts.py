"""People and places: buildings to residents and jobs, districts, traffic zones and trips.

Every number that drives demand in the sample city (water use, electric load, trips) comes from
the OpenStreetMap building footprints of the extract through the rules below. They are planning
rules of thumb, stated so they can be checked and changed, not census data.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.optimize import linear_sum_assignment

from city_streets import CRS

#: Seed of every random draw in the build (k-means++ initial centres).
SEED = 20240611
#: Number of districts.
N_DISTRICTS = 7
#: Traffic zones per district.
ZONES_PER_DISTRICT = 3
#: Storeys where OSM gives neither ``building:levels`` nor ``height``, by ``building`` type.
#: Central Helsinki's blocks are mostly 5-7 storeys (the tagged buildings of the extract have a
#: median of 6); roofs, canopies and entrances hold no floor space.
DEFAULT_LEVELS = {
    "yes": 6, "apartments": 6, "residential": 6, "block": 6, "office": 6, "hotel": 6,
    "commercial": 5, "retail": 4, "public": 4, "university": 4, "school": 3, "museum": 3,
    "train_station": 2, "church": 1, "cathedral": 1, "chapel": 1, "kiosk": 1, "shed": 1,
    "glasshouse": 1, "pavilion": 1, "tower": 1, "roof": 0, "atrium": 0, "entrance": 0, "ship": 0,
}
#: Storey height used to turn an OSM ``height`` (m) into storeys.
STOREY_M = 3.3
#: Share of floor area that is housing, by building type (the rest is workplaces). Untyped
#: (``yes``) and ``block`` buildings in the city centre are mixed use: shops and offices on the
#: lower floors, flats above.
RESIDENTIAL_SHARE = {"apartments": 0.9, "residential": 0.9, "house": 1.0, "yes": 0.35, "block": 0.35}
#: Gross floor area per resident (m2): about 35 m2 of living space per person in Helsinki plus
#: walls, stairs and common areas.
FLOOR_PER_RESIDENT_M2 = 45.0
#: Gross floor area per job (m2) in offices, shops and public buildings.
FLOOR_PER_JOB_M2 = 35.0
#: Landmarks that name the districts (lon, lat in WGS 84); each district takes the name of one
#: landmark, matched so that the total distance is smallest.
LANDMARKS = {
    "Kaisaniemi": (24.9470, 60.1750), "Rautatientori": (24.9440, 60.1710),
    "Kamppi": (24.9370, 60.1690), "Kluuvi": (24.9480, 60.1695),
    "Senaatintori": (24.9525, 60.1695), "Kruununhaka": (24.9560, 60.1720),
    "Esplanadi": (24.9480, 60.1676), "Erottaja": (24.9430, 60.1660),
    "Kaartinkaupunki": (24.9480, 60.1650), "Kauppatori": (24.9527, 60.1675),
}
#: Evening peak hour trips in the whole city (veh/h); see :func:`trip_table`.
TOTAL_TRIPS_VPH = 8000.0
#: Gravity model decay time (s): f(t) = exp(-t / DECAY_S) on free-flow travel time.
DECAY_S = 180.0


def building_activity(buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Floor area, residents and jobs of every building (centroid points).

    floor area = footprint x storeys, where storeys = OSM ``building:levels``, else OSM
    ``height`` / :data:`STOREY_M`, else :data:`DEFAULT_LEVELS` of the type (2 if unknown);
    residents = floor area x :data:`RESIDENTIAL_SHARE` / :data:`FLOOR_PER_RESIDENT_M2`;
    jobs = floor area x (1 - share) / :data:`FLOOR_PER_JOB_M2`.
    """
    def number(v: object) -> float:
        try:
            return float(str(v).split(";")[0])
        except (TypeError, ValueError):
            return np.nan

    kind = buildings["building"].fillna("yes").astype(str)
    levels = buildings["building:levels"].map(number)
    from_height = (buildings["height"].map(number) / STOREY_M).round()
    levels = levels.fillna(from_height).fillna(kind.map(DEFAULT_LEVELS)).fillna(2.0)
    floor = buildings.geometry.area * levels
    share = kind.map(RESIDENTIAL_SHARE).fillna(0.0)
    out = gpd.GeoDataFrame({
        "osm_id": buildings["id"].astype("int64"), "building": kind, "levels": levels,
        "floor_m2": floor, "residents": floor * share / FLOOR_PER_RESIDENT_M2,
        "jobs": floor * (1.0 - share) / FLOOR_PER_JOB_M2,
    }, geometry=buildings.geometry.centroid, crs=CRS)
    return out[out.floor_m2 > 0].reset_index(drop=True)


def kmeans(points: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator,
           iterations: int = 100) -> np.ndarray:
    """Weighted k-means (Lloyd's algorithm, k-means++ start); returns the ``k`` centres
    sorted north to south, then west to east."""
    centres = [points[rng.choice(len(points), p=weights / weights.sum())]]
    for _ in range(1, k):
        d2 = np.min(((points[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        p = weights * d2
        centres.append(points[rng.choice(len(points), p=p / p.sum())])
    c = np.array(centres)
    for _ in range(iterations):
        label = np.argmin(((points[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
        new = np.array([np.average(points[label == j], axis=0, weights=weights[label == j])
                        if np.any(label == j) else c[j] for j in range(k)])
        if np.allclose(new, c, atol=1e-6):
            break
        c = new
    order = np.lexsort((np.round(c[:, 0], 3), -np.round(c[:, 1], 3)))
    return np.round(c[order], 2)


def voronoi_cells(centres: np.ndarray, area: shapely.Geometry) -> list[shapely.Geometry]:
    """Voronoi cells of ``centres`` clipped to ``area``, in the order of ``centres``."""
    cells = shapely.voronoi_polygons(shapely.MultiPoint(centres), extend_to=area).geoms
    out = []
    for c in centres:
        cell = next(g for g in cells if g.contains(shapely.Point(c)))
        out.append(shapely.set_precision(cell.intersection(area), 0.01))
    return out


def district_table(streets_hull: shapely.Geometry, activity: gpd.GeoDataFrame,
                   rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Districts: Voronoi cells of the floor-area-weighted k-means centres of the buildings,
    clipped to the street area; named after the nearest landmarks; population = residents of
    the buildings whose centroid lies inside."""
    pts = shapely.get_coordinates(activity.geometry.values)
    centres = kmeans(pts, activity.floor_m2.to_numpy(), N_DISTRICTS, rng)
    cells = voronoi_cells(centres, streets_hull)
    marks = gpd.GeoSeries(gpd.points_from_xy(*zip(*LANDMARKS.values())), crs="EPSG:4326").to_crs(CRS)
    mark_xy = shapely.get_coordinates(marks.values)
    cost = np.linalg.norm(centres[:, None, :] - mark_xy[None], axis=-1)
    _, pick = linear_sum_assignment(cost)
    names = list(LANDMARKS)
    ids = pd.Index([f"D{j + 1}" for j in range(len(cells))], name="id")
    table = gpd.GeoDataFrame({"name": [names[i] for i in pick]}, index=ids, geometry=cells, crs=CRS)
    inside = gpd.sjoin(activity, table[["geometry"]].rename_axis("district"), predicate="within")
    table["population"] = ids.map(inside.groupby("district").residents.sum()).fillna(0.0).round(0)
    table["jobs"] = ids.map(inside.groupby("district").jobs.sum()).fillna(0.0).round(0)
    return table


def zone_table(districts: gpd.GeoDataFrame, activity: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame,
               rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Traffic zones: :data:`ZONES_PER_DISTRICT` per district (Voronoi cells of k-means centres
    of the district's buildings); each zone loads the network at its centroid node, the
    intersection inside the zone nearest to the zone centre (any node if none)."""
    inside = gpd.sjoin(activity, districts[["geometry"]].rename_axis("district"), predicate="within")
    rows, geoms, used = [], [], set()
    crossing = nodes.control != "none"
    for did, cell_d in districts.geometry.items():
        mine = inside[inside.district == did]
        pts = shapely.get_coordinates(mine.geometry.values)
        centres = kmeans(pts, mine.floor_m2.to_numpy(), ZONES_PER_DISTRICT, rng)
        for cell, c in zip(voronoi_cells(centres, cell_d), centres):
            z = f"Z{len(rows) + 1:02d}"
            within = nodes.within(cell) & ~nodes.index.isin(list(used))
            pool = nodes[within & crossing] if (within & crossing).any() else nodes[within]
            if pool.empty:
                pool = nodes[~nodes.index.isin(list(used))]
            dist = pool.distance(shapely.Point(c))
            centroid = dist.index[int(np.argmin(dist.to_numpy()))]
            used.add(centroid)
            in_zone = mine.within(cell)
            rows.append(dict(id=z, centroid_node=centroid, district=did,
                             residents=round(float(mine.residents[in_zone].sum()), 1),
                             jobs=round(float(mine.jobs[in_zone].sum()), 1)))
            geoms.append(cell)
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=CRS).set_index("id")


def trip_table(zones: gpd.GeoDataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Evening peak hour car trips by a singly constrained gravity model.

    Trip ends: origins O_i = jobs_i + 0.5 residents_i (leaving work, and residents' errands);
    destinations D_j = residents_j + 0.5 jobs_j (going home, shops and services).
    T_ij = O_i D_j f(t_ij) / sum_k D_k f(t_ik) for i != j, with f(t) = exp(-t / DECAY_S) on the
    free-flow travel time between the centroids, scaled so that the total is
    :data:`TOTAL_TRIPS_VPH` and rounded to 0.1 veh/h (pairs under 0.05 veh/h dropped).
    """
    graph = nx.DiGraph()
    graph.add_weighted_edges_from(zip(links.from_node, links.to_node, links.free_flow_time_s))
    cent = zones["centroid_node"].tolist()
    t = _travel_times(graph, cent)
    o = zones.jobs.to_numpy() + 0.5 * zones.residents.to_numpy()
    d = zones.residents.to_numpy() + 0.5 * zones.jobs.to_numpy()
    f = np.exp(-t / DECAY_S)
    np.fill_diagonal(f, 0.0)
    share = d[None, :] * f
    trips = o[:, None] * share / share.sum(axis=1, keepdims=True)
    trips *= TOTAL_TRIPS_VPH / trips.sum()
    z = zones.index
    rows = [dict(id=f"{z[i]}-{z[j]}", origin=z[i], destination=z[j], trips_vph=round(float(trips[i, j]), 1))
            for i in range(len(z)) for j in range(len(z)) if round(float(trips[i, j]), 1) > 0]
    return pd.DataFrame(rows).set_index("id")


def _travel_times(graph: nx.DiGraph, centroids: list[str]) -> np.ndarray:
    """Free-flow travel time (s) between every pair of centroid nodes."""
    out = np.zeros((len(centroids), len(centroids)))
    for i, a in enumerate(centroids):
        dist = nx.single_source_dijkstra_path_length(graph, a)
        out[i] = [dist[b] for b in centroids]
    return out


def street_area(nodes: gpd.GeoDataFrame, buffer_m: float = 30.0) -> shapely.Geometry:
    """Convex hull of the street nodes, widened by ``buffer_m``: the area the city covers."""
    hull = shapely.convex_hull(shapely.MultiPoint(shapely.get_coordinates(nodes.geometry.values)))
    area = hull.buffer(buffer_m, quad_segs=4)
    return shapely.set_precision(area, 0.01)
