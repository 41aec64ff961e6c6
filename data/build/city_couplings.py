"""Couplings between the layers: what feeds what, how crews reach it, where loads are.

* ``fed_by``: each pump from the 10 kV secondary substation bus nearest to its station, the
  bus that carries the station's load (its low-voltage supply); the station pumps P1-P3 have
  STATION_BACKUP_H of standby diesel generation, the booster none. Each traffic signal from
  the nearest secondary substation bus; the signals where two primary streets cross carry a
  SIGNAL_UPS_H battery (uninterruptible power supply), the others none.
* ``accessed_via``: every pump, tank, reservoir and valve, both transformers, every secondary
  substation bus and every cable (at its midpoint) from the nearest traffic node, where a repair
  crew leaves the road network.
* ``located_in``: every grid load in the district that contains it (for district scorecards).

Water pipes and junctions get no rows of their own: their nearest node and district follow
from their geometry, and a row per junction would swamp the table.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from city_grid import nearest_bus

STATION_BACKUP_H = 4.0
SIGNAL_UPS_H = 0.5


def _nearest(index: pd.Index, xy: np.ndarray, points: list) -> list[str]:
    _, k = cKDTree(xy).query(shapely.get_coordinates(np.asarray(points)))
    return [str(index[i]) for i in np.atleast_1d(k)]


def _anchor(geom: shapely.Geometry) -> shapely.Point:
    """A point of an asset: itself, or the midpoint of a line."""
    return geom if geom.geom_type == "Point" else geom.interpolate(0.5, normalized=True)


def primary_crossings(links: pd.DataFrame) -> set:
    """Nodes where two (or more) differently named primary streets meet."""
    primary = links[links.highway == "primary"]
    ends = pd.concat([primary[["from_node", "street"]].set_axis(["node", "street"], axis=1),
                      primary[["to_node", "street"]].set_axis(["node", "street"], axis=1)])
    names = ends.groupby("node").street.nunique()
    return set(names.index[names >= 2])


def fed_by(tables: dict, ss: pd.DataFrame) -> list[dict]:
    """Pumps fed by the bus that carries their station's load (``LD-PS1`` for the pumps drawing
    from a reservoir, ``LD-PS2`` for the booster); signals by the nearest substation bus."""
    rows = []
    loads = tables["load"]
    for pid, p in tables["pump"].iterrows():
        at_station = p.start_node in tables["reservoir"].index
        bus = loads.loc["LD-PS1" if at_station else "LD-PS2", "bus"]
        rows.append(dict(src_kind="pump", src=pid, relation="fed_by", dst_kind="bus", dst=bus,
                         backup_hours=STATION_BACKUP_H if at_station else 0.0))
    crossings = primary_crossings(tables["link"])
    for sid, s in tables["signal"].iterrows():
        backup = SIGNAL_UPS_H if s.node in crossings else 0.0
        rows.append(dict(src_kind="signal", src=sid, relation="fed_by", dst_kind="bus",
                         dst=nearest_bus(ss, s.geometry), backup_hours=backup))
    return rows


def accessed_via(tables: dict, ss: pd.DataFrame) -> list[dict]:
    """Works, transformers, secondary substations and cables reached from the nearest road node."""
    nodes = tables["node"]
    xy = shapely.get_coordinates(nodes.geometry.values)
    assets = []
    for kind in ("pump", "tank", "reservoir", "valve", "transformer", "line"):
        assets += [(kind, i, _anchor(g)) for i, g in tables[kind].geometry.items()]
    buses = tables["bus"]
    assets += [("bus", i, buses.geometry[i]) for i in ss.index]
    near = _nearest(nodes.index, xy, [a[2] for a in assets])
    return [dict(src_kind=k, src=i, relation="accessed_via", dst_kind="node", dst=n)
            for (k, i, _), n in zip(assets, near)]


def located_in(tables: dict) -> list[dict]:
    """Grid loads in the district that contains them (else the nearest)."""
    loads = tables["load"][["geometry"]]
    districts = tables["district"][["geometry"]].rename_axis("district")
    where = gpd.sjoin_nearest(loads, districts, how="left")
    where = where[~where.index.duplicated()]
    return [dict(src_kind="load", src=i, relation="located_in", dst_kind="district", dst=d)
            for i, d in where["district"].items()]


def couplings(tables: dict, ss: pd.DataFrame) -> pd.DataFrame:
    """The couplings table (see the module docstring)."""
    rows = fed_by(tables, ss) + accessed_via(tables, ss) + located_in(tables)
    return pd.DataFrame(rows)
