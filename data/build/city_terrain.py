"""Terrain and the layout of the water mains along the streets.

No elevation model ships with the extract, so the ground is a smooth synthetic surface shaped
loosely after central Helsinki: low shores at the South Harbour (Market Square) and at the
Töölönlahti bay, higher ground in Kaartinkaupunki to the south and a rise towards Kamppi in the
west, a small crest around the Senate Square. It is an illustration for hydraulics, not survey
data: heights stay within 0-30 m like the real centre's.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import shapely

#: Base ground level (m above sea level).
BASE_M = 9.0
#: Gaussian bumps (x, y in EPSG:3067, amplitude m, radius m) added to the base.
BUMPS = (
    (386000.0, 6671450.0, 19.0, 280.0),   # Kaartinkaupunki hill
    (385500.0, 6671950.0, 6.0, 250.0),    # rise towards Kamppi
    (386300.0, 6672150.0, 4.0, 150.0),    # Senate Square crest
    (386650.0, 6671800.0, -10.0, 320.0),  # South Harbour shore
    (385750.0, 6672950.0, -10.0, 330.0),  # Töölönlahti bay
)
#: Lowest ground level (m).
FLOOR_M = 0.5
#: Target spacing (m) of water junctions along a street between intersections.
JUNCTION_SPACING_M = 15.0


def elevation(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Ground level (m) at EPSG:3067 coordinates: BASE_M + sum of Gaussian bumps
    a exp(-r^2 / (2 s^2)), at least FLOOR_M, rounded to 0.1 m."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    z = np.full(np.broadcast(x, y).shape, BASE_M)
    for bx, by, a, s in BUMPS:
        z = z + a * np.exp(-((x - bx) ** 2 + (y - by) ** 2) / (2.0 * s * s))
    return np.round(np.maximum(z, FLOOR_M), 1)


@dataclass(frozen=True)
class Mains:
    """Water mains laid along the streets.

    Attributes
    ----------
    junctions : list of int
        OSM ids of the street nodes that carry a water junction.
    pipes : list of dict
        ``a, b`` (OSM ids), ``length_m``, ``geometry`` (oriented from ``a`` to ``b``).
    """

    junctions: list
    pipes: list


def _chains(graph: nx.Graph) -> list[list]:
    """Maximal paths whose inner nodes have degree 2, each listed once."""
    key = {n for n in graph if graph.degree(n) != 2}
    if not key:
        key = {min(graph)}
    seen, out = set(), []
    for k in sorted(key):
        for n in sorted(graph.neighbors(k)):
            path = [k, n]
            while path[-1] not in key:
                nxt = [m for m in graph.neighbors(path[-1]) if m != path[-2]]
                path.append(nxt[0])
            sig = (path[0], path[1], path[-2], path[-1])
            if sig in seen:
                continue
            seen.add(sig)
            seen.add(sig[::-1])
            out.append(path)
    return out


def _cuts(graph: nx.Graph, path: list) -> list[int]:
    """Indices along ``path`` where a junction is placed: both ends, plus a node each time
    JUNCTION_SPACING_M of street has been walked (unless the rest is shorter than half of it)."""
    lengths = [graph.edges[a, b]["length"] for a, b in zip(path[:-1], path[1:])]
    total, acc, walked, cuts = sum(lengths), 0.0, 0.0, [0]
    for i, seg in enumerate(lengths[:-1], start=1):
        acc += seg
        walked += seg
        if acc >= JUNCTION_SPACING_M and total - walked >= JUNCTION_SPACING_M / 2:
            cuts.append(i)
            acc = 0.0
    if path[0] == path[-1] and len(cuts) == 1:
        cuts.append(len(path) // 2)
    return cuts + [len(path) - 1]


def lay_mains(graph: nx.Graph, edges) -> Mains:
    """Merge street segments into pipes between junctions (see :func:`_cuts`); junctions sit at
    every intersection and dead end and along long streets; geometry follows the street."""
    junctions, pipes = set(), []
    for path in _chains(graph):
        cuts = _cuts(graph, path)
        for s, e in zip(cuts[:-1], cuts[1:]):
            piece = path[s:e + 1]
            coords = []
            for a, b in zip(piece[:-1], piece[1:]):
                row = edges.iloc[graph.edges[a, b]["edge"]]
                xy = shapely.get_coordinates(row.geometry)
                xy = xy if row.u == a else xy[::-1]
                coords.extend(xy.tolist() if not coords else xy[1:].tolist())
            length = sum(graph.edges[a, b]["length"] for a, b in zip(piece[:-1], piece[1:]))
            pipes.append(dict(a=piece[0], b=piece[-1], length_m=round(length, 2),
                              geometry=shapely.LineString(coords)))
            junctions.update((piece[0], piece[-1]))
    pipes.sort(key=lambda p: (min(p["a"], p["b"]), max(p["a"], p["b"]), p["length_m"]))
    return Mains(sorted(junctions), pipes)
