"""Index of a network's couplings for the engine: who is fed by which bus, where a crew goes,
which district an asset serves."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from twin.model.network import Network

#: District of each asset per network and kind, remembered outside the (immutable) network.
_DISTRICTS: "weakref.WeakKeyDictionary[Network, dict[str, pd.Series]]" = weakref.WeakKeyDictionary()

__all__ = ["DISCIPLINES", "Dependencies", "discipline", "districts_of", "layer_of", "nearest_node"]

#: Repair discipline of each asset kind (a crew of that discipline repairs it).
DISCIPLINES: Mapping[str, str] = {
    **{k: "power" for k in ("bus", "line", "transformer", "branch", "switch", "load", "static_generator",
                            "generator", "external_grid", "shunt")},
    **{k: "water" for k in ("pipe", "pump", "valve", "junction", "tank", "reservoir")},
    **{k: "roads" for k in ("link", "node", "signal")},
}


def discipline(kind: str) -> str:
    """The crew discipline that repairs ``kind`` (``power``, ``water`` or ``roads``).

    Examples
    --------
    >>> discipline("line"), discipline("pipe"), discipline("signal")
    ('power', 'water', 'roads')
    """
    return DISCIPLINES.get(kind, "")


def layer_of(kind: str) -> str:
    """The layer of an asset kind: ``grid``, ``water`` or ``traffic`` ('' for others).

    Examples
    --------
    >>> layer_of("pump")
    'water'
    """
    return {"power": "grid", "water": "water", "roads": "traffic"}.get(discipline(kind), "")


@dataclass(frozen=True)
class Dependencies:
    """Coupling lookups built once per run.

    Attributes
    ----------
    fed_by : mapping bus id -> list of (kind, id, backup_hours)
        Assets that stop when the bus has been de-energised for longer than their backup.
    access : mapping "kind:id" -> road node id
        Where a crew goes to reach an asset (``accessed_via``, else the nearest road node).
    district : mapping "kind:id" -> district id
        The district an asset lies in (``located_in``, else by its geometry).
    """

    fed_by: Mapping[str, list[tuple[str, str, float]]]
    access: Mapping[str, str]
    district: Mapping[str, str]

    @classmethod
    def build(cls, network: "Network") -> "Dependencies":
        """Index ``network``'s couplings.

        Examples
        --------
        >>> import twin
        >>> deps = Dependencies.build(twin.datasets.sample_city())
        >>> sorted(k for k, _, _ in deps.fed_by["SS02"])[:1]
        ['pump']
        """
        c = network.couplings
        fed: dict[str, list[tuple[str, str, float]]] = {}
        for row in c[c.relation == "fed_by"].itertuples(index=False):
            fed.setdefault(str(row.dst), []).append((str(row.src_kind), str(row.src), float(row.backup_hours)))
        acc = {f"{r.src_kind}:{r.src}": str(r.dst) for r in c[c.relation == "accessed_via"].itertuples(index=False)}
        dist = {f"{r.src_kind}:{r.src}": str(r.dst) for r in c[c.relation == "located_in"].itertuples(index=False)}
        return cls(fed, acc, dist)


def nearest_node(network: "Network", kind: str, asset_id: str) -> str | None:
    """The road node nearest to an asset's geometry (None without roads or geometry).

    Examples
    --------
    >>> import twin
    >>> city = twin.datasets.sample_city()
    >>> nearest_node(city, "signal", "X01") == city.signal.loc["X01", "node"]
    True
    """
    if kind == "node":
        return asset_id
    if kind == "signal":
        return str(network.signal.loc[asset_id, "node"])
    if kind == "link":
        return str(network.link.loc[asset_id, "from_node"])
    nodes = network.node
    table = network.table(kind)
    if not len(nodes) or not isinstance(table, gpd.GeoDataFrame) or asset_id not in table.index:
        return None
    geom = table.geometry.loc[asset_id]
    if geom is None or geom.is_empty:
        return None
    pts = np.column_stack([nodes.geometry.x.to_numpy(), nodes.geometry.y.to_numpy()])
    c = geom.centroid
    return str(nodes.index[int(np.argmin((pts[:, 0] - c.x) ** 2 + (pts[:, 1] - c.y) ** 2))])


def districts_of(network: "Network", kind: str) -> pd.Series:
    """District id of every asset of ``kind`` (couplings first, then geometry; '' when none).

    Examples
    --------
    >>> import twin
    >>> d = districts_of(twin.datasets.sample_city(), "junction")
    >>> bool((d != "").any())
    True
    """
    known = _DISTRICTS.setdefault(network, {})
    if kind not in known:
        known[kind] = _districts(network, kind)
    return known[kind].copy()


def _districts(network: "Network", kind: str) -> pd.Series:
    table = network.table(kind)
    out = pd.Series("", index=table.index, dtype=object)
    dist = network.district
    if len(dist) and isinstance(table, gpd.GeoDataFrame) and len(table):
        pts = gpd.GeoDataFrame(geometry=table.geometry.representative_point(), crs=table.crs)
        right = gpd.GeoDataFrame({"_district": dist.index.astype(str)}, geometry=dist.geometry.values, crs=dist.crs)
        joined = gpd.sjoin(pts, right, how="left", predicate="within")
        joined = joined[~joined.index.duplicated(keep="first")]
        out = joined["_district"].fillna("").astype(str).reindex(table.index).fillna("")
    c = network.couplings
    given = c[(c.relation == "located_in") & (c.src_kind == kind)]
    if len(given):
        out.loc[given.src.to_numpy()] = given.dst.to_numpy()
    if kind == "zone" and "district" in table:
        known = table["district"].notna()
        out[known] = table.loc[known, "district"]
    return out
