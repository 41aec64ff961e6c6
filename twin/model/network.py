"""The city network: one table per asset kind, a couplings table, one CRS."""

from __future__ import annotations

import copy
import functools
import hashlib
import weakref
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from twin.errors import AssetNotFoundError, NetworkError
from twin.model.schema import LAYERS, RELATIONS, SCHEMAS, SERIES_KEY, kinds, schema
from twin.model.tables import make_couplings, make_table


_FINGERPRINTS: "weakref.WeakKeyDictionary[Network, str]" = weakref.WeakKeyDictionary()


def _freeze(settings: Mapping[str, Mapping[str, Any]] | None) -> Mapping[str, Mapping[str, Any]]:
    settings = settings or {}
    unknown = set(settings) - set(LAYERS)
    if unknown:
        raise NetworkError(f"settings for unknown layer(s) {sorted(unknown)}; layers are {LAYERS}")
    return MappingProxyType({k: MappingProxyType(copy.deepcopy(dict(v))) for k, v in settings.items()})


@dataclass(frozen=True, eq=False)
class Network:
    """A city's water, grid and traffic assets and the ties between them.

    The network is data: one table per asset kind (GeoDataFrames for spatial kinds, indexed by
    a string asset id, with the columns of :mod:`twin.model.schema`), a couplings table, one
    CRS and per-layer settings that define the model (the EPANET file's headloss formula and
    time grid, the grid's base MVA, ...). Nothing computed is stored on it; every edit returns
    a new Network.

    Parameters
    ----------
    tables : mapping of kind -> DataFrame
        Asset tables; missing kinds are empty. Each is checked against its schema.
    couplings : DataFrame or iterable of mappings, optional
        Rows ``src_kind, src, relation, dst_kind, dst, backup_hours``.
    crs : optional
        The one CRS of every geometry (anything :class:`pyproj.CRS` accepts), or None for
        local coordinates without a datum (EPANET files).
    settings : mapping of layer -> mapping, optional
        Per-layer settings (``water``, ``grid``, ``traffic``).
    name : str
        Network name.

    Examples
    --------
    >>> import twin
    >>> city = twin.datasets.sample_city()
    >>> int(city.counts()["junction"]) > 100
    True
    >>> closed = city.set("pipe", city.pipe.index[0], initial_status="CLOSED")
    >>> closed is city
    False
    """

    tables: Mapping[str, pd.DataFrame]
    couplings: pd.DataFrame = field(default_factory=make_couplings)
    crs: CRS | None = None
    settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    name: str = "network"

    def __post_init__(self) -> None:
        crs = None if self.crs is None else CRS.from_user_input(self.crs)
        unknown = set(self.tables) - set(SCHEMAS)
        if unknown:
            raise NetworkError(f"unknown table kind(s) {sorted(unknown)}; known kinds: {', '.join(SCHEMAS)}")
        built: dict[str, pd.DataFrame] = {}
        for kind in SCHEMAS:
            table = self.tables.get(kind)
            if table is None:
                built[kind] = _empty(kind, crs)
            elif _fits(table, kind, crs):
                built[kind] = table
            else:
                built[kind] = make_table(kind, table, crs=crs)
        object.__setattr__(self, "crs", crs)
        object.__setattr__(self, "tables", MappingProxyType(built))
        object.__setattr__(self, "couplings", make_couplings(self.couplings))
        object.__setattr__(self, "settings", _freeze(self.settings))

    # ------------------------------------------------------------------ access
    def __getattr__(self, name: str) -> pd.DataFrame:
        if name in SCHEMAS:
            return self.tables[name]
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def table(self, kind: str) -> pd.DataFrame:
        """The table of one asset kind (a view; copy it before changing it)."""
        schema(kind)
        return self.tables[kind]

    def counts(self, layer: str | None = None) -> pd.Series:
        """Number of rows per table kind (optionally of one layer).

        Examples
        --------
        >>> int(Network({}).counts("grid")["bus"])
        0
        """
        return pd.Series({k: len(self.tables[k]) for k in kinds(layer)}, dtype="int64", name="count")

    def asset(self, kind: str, asset_id: str) -> pd.Series:
        """One row of one table; raises :class:`AssetNotFoundError` naming the id."""
        table = self.table(kind)
        if asset_id not in table.index:
            raise AssetNotFoundError(f"{kind} {asset_id!r} is not in network {self.name!r}")
        return table.loc[asset_id]

    def __repr__(self) -> str:
        parts = [f"{k}={n}" for k, n in self.counts().items() if n]
        crs = self.crs.to_string() if self.crs is not None else "none"
        return (f"<Network {self.name!r}: {', '.join(parts) or 'empty'}; couplings={len(self.couplings)}; "
                f"crs={crs}>")

    # ------------------------------------------------------------------ edits
    def replace(self, **changes: Any) -> "Network":
        """A new Network with some of ``tables``, ``couplings``, ``crs``, ``settings``, ``name`` replaced."""
        base = dict(tables=dict(self.tables), couplings=self.couplings, crs=self.crs,
                    settings={k: dict(v) for k, v in self.settings.items()}, name=self.name)
        base.update(changes)
        return Network(**base)

    def with_table(self, kind: str, table: pd.DataFrame | Iterable[Mapping[str, Any]]) -> "Network":
        """A new Network whose table ``kind`` is replaced (checked against the schema)."""
        tables = dict(self.tables)
        tables[kind] = make_table(kind, table, crs=self.crs)
        return self.replace(tables=tables)

    def set(self, kind: str, asset_id: str | Iterable[str], **values: Any) -> "Network":
        """A new Network with column values of one or more assets changed.

        Examples
        --------
        >>> import twin
        >>> city = twin.datasets.sample_city()
        >>> bus = city.bus.index[0]
        >>> bool(city.set("bus", bus, in_service=False).bus.loc[bus, "in_service"])
        False
        """
        table = self.table(kind)
        ids = [asset_id] if isinstance(asset_id, str) else list(asset_id)
        missing = [i for i in ids if i not in table.index]
        if missing:
            raise AssetNotFoundError(f"{kind} {missing[0]!r} is not in network {self.name!r}")
        new = table.copy()
        for column, value in values.items():
            if column not in new.columns and column != "geometry":
                raise NetworkError(f"{kind} has no column {column!r}; columns: {', '.join(new.columns)}")
            new.loc[ids, column] = value
        return self.with_table(kind, new)

    def add(self, kind: str, rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> "Network":
        """A new Network with rows appended to one table (ids must be new)."""
        extra = make_table(kind, rows, crs=self.crs)
        table = self.table(kind)
        clash = extra.index.intersection(table.index)
        if len(clash):
            raise NetworkError(f"{kind} {clash[0]!r} already exists in network {self.name!r}")
        return self.with_table(kind, pd.concat([table, extra]))

    def remove(self, kind: str, asset_ids: str | Iterable[str]) -> "Network":
        """A new Network without some assets of one kind and without their couplings."""
        ids = [asset_ids] if isinstance(asset_ids, str) else list(asset_ids)
        table = self.table(kind)
        missing = [i for i in ids if i not in table.index]
        if missing:
            raise AssetNotFoundError(f"{kind} {missing[0]!r} is not in network {self.name!r}")
        c = self.couplings
        keep = ~(((c.src_kind == kind) & c.src.isin(ids)) | ((c.dst_kind == kind) & c.dst.isin(ids)))
        tables = dict(self.tables)
        tables[kind] = table.drop(index=ids)
        return self.replace(tables=tables, couplings=c[keep.to_numpy()])

    def couple(self, src_kind: str, src: str, relation: str, dst_kind: str, dst: str,
               backup_hours: float = 0.0) -> "Network":
        """A new Network with one coupling added (e.g. ``pump P3 fed_by bus MV-12``)."""
        row = dict(src_kind=src_kind, src=src, relation=relation, dst_kind=dst_kind, dst=dst,
                   backup_hours=backup_hours)
        net = self.replace(couplings=pd.concat([self.couplings, make_couplings([row])], ignore_index=True))
        problems = [p for p in net.coupling_problems() if p.startswith(f"coupling {len(net.couplings) - 1}:")]
        if problems:
            raise NetworkError(problems[0])
        return net

    def to_crs(self, crs: Any) -> "Network":
        """A new Network with every geometry transformed to ``crs``."""
        if self.crs is None:
            raise NetworkError(f"network {self.name!r} has no CRS; set one with replace(crs=...) first")
        target = CRS.from_user_input(crs)
        tables = {k: (t.to_crs(target) if isinstance(t, gpd.GeoDataFrame) else t) for k, t in self.tables.items()}
        return self.replace(tables=tables, crs=target)

    # ------------------------------------------------------------------ views
    def graph(self, layer: str | None = None) -> Any:
        """A NetworkX view of one layer (``water``, ``grid``, ``traffic``) or of the whole city.

        Derived anew on each call; the Network keeps nothing. See :mod:`twin.model.graph`.

        Examples
        --------
        >>> import twin
        >>> twin.datasets.sample_city().graph("water").number_of_edges() > 100
        True
        """
        from twin.model import graph

        views = {"water": graph.water_graph, "grid": graph.grid_graph, "traffic": graph.traffic_graph,
                 None: graph.city_graph, "city": graph.city_graph}
        if layer not in views:
            raise NetworkError(f"unknown layer {layer!r}; use water, grid, traffic or None for the city")
        return views[layer](self)

    # ------------------------------------------------------------------ checks
    def coupling_problems(self) -> list[str]:
        """Couplings whose relation or endpoints are not valid, one message per fault."""
        out = []
        for i, row in enumerate(self.couplings.itertuples(index=False)):
            rel = RELATIONS.get(row.relation)
            if rel is None:
                out.append(f"coupling {i}: unknown relation {row.relation!r}; known: {', '.join(RELATIONS)}")
                continue
            src_ok, dst_ok = rel
            for end, kind, aid, allowed in (("src", row.src_kind, row.src, src_ok),
                                            ("dst", row.dst_kind, row.dst, dst_ok)):
                if kind not in SCHEMAS:
                    out.append(f"coupling {i}: {end} kind {kind!r} is not an asset kind")
                elif allowed is not None and kind not in allowed:
                    out.append(f"coupling {i}: {row.relation} needs {end} kind in {allowed}, got {kind!r}")
                elif aid not in self.tables[kind].index:
                    out.append(f"coupling {i}: {row.src_kind}:{row.src} {row.relation} "
                               f"{row.dst_kind}:{row.dst}: {end} {kind} {aid!r} does not exist")
        return out

    def problems(self) -> list[str]:
        """Everything inconsistent in the network, one readable message per fault.

        Checks references between tables (a pipe to an unknown node, a load on a missing bus),
        duplicate node ids across water node kinds, couplings, and geometry CRS.

        Examples
        --------
        >>> import twin
        >>> twin.datasets.sample_city().problems()
        []
        """
        out: list[str] = []
        water_nodes = [self.tables[k].index for k in ("junction", "reservoir", "tank")]
        allnodes = pd.Index([]).append(water_nodes)
        if allnodes.has_duplicates:
            out.append(f"water node id {allnodes[allnodes.duplicated()][0]!r} is used by two node kinds")
        water_links = pd.Index([]).append([self.tables[k].index for k in ("pipe", "pump", "valve")])
        if water_links.has_duplicates:
            out.append(f"water link id {water_links[water_links.duplicated()][0]!r} is used by two link kinds")
        for kind, spec in SCHEMAS.items():
            table = self.tables[kind]
            for col in spec.columns:
                if not col.references or len(table) == 0:
                    continue
                known = pd.Index([]).append([_referable(self.tables[k], k) for k in col.references])
                values = table[col.name]
                bad = values.notna() & ~values.isin(known)
                if bad.any():
                    first = table.index[bad.to_numpy()][0]
                    out.append(f"{kind} {first!r}: {col.name} {values[first]!r} is not a "
                               f"{' or '.join(col.references)} ({int(bad.sum())} such rows)")
        sw = self.tables["switch"]
        if len(sw):
            targets = {"b": self.tables["bus"].index, "l": self.tables["line"].index,
                       "t": self.tables["transformer"].index}
            for sid, row in sw.iterrows():
                if row.et not in targets:
                    out.append(f"switch {sid!r}: et {row.et!r} must be b, l or t")
                elif row.element not in targets[row.et]:
                    out.append(f"switch {sid!r}: element {row.element!r} is not a "
                               f"{dict(b='bus', l='line', t='transformer')[row.et]}")
        out.extend(self.coupling_problems())
        return out

    def check(self) -> "Network":
        """Raise :class:`NetworkError` listing every problem; return self when there is none."""
        problems = self.problems()
        if problems:
            raise NetworkError(f"network {self.name!r} has {len(problems)} problem(s): " + "; ".join(problems[:10]))
        return self

    # ------------------------------------------------------------------ identity
    def fingerprint(self) -> str:
        """SHA-256 of the network's content (tables, couplings, CRS, settings), for provenance.

        Computed once per Network object and remembered outside it (tables are never changed
        in place: every edit makes a new Network).
        """
        known = _FINGERPRINTS.get(self)
        if known is None:
            known = _FINGERPRINTS[self] = self._content_hash()
        return known

    def _content_hash(self) -> str:
        h = hashlib.sha256()
        h.update((self.crs.to_wkt() if self.crs is not None else "").encode())
        h.update(repr(sorted((k, sorted(v.items())) for k, v in self.settings.items())).encode())
        for kind in SCHEMAS:
            t = self.tables[kind]
            h.update(kind.encode())
            if len(t):
                frame = pd.DataFrame(t.drop(columns="geometry", errors="ignore"))
                h.update(repr(list(frame.columns)).encode())
                h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
                if isinstance(t, gpd.GeoDataFrame):
                    wkb = shapely.to_wkb(t.geometry.to_numpy())
                    h.update(b"".join(b"" if g is None else g for g in wkb))
        h.update(pd.util.hash_pandas_object(self.couplings.astype(str)).to_numpy().tobytes())
        return h.hexdigest()


@functools.lru_cache(maxsize=256)
def _empty_cached(kind: str, crs_wkt: str | None) -> pd.DataFrame:
    return make_table(kind, None, crs=crs_wkt)


def _empty(kind: str, crs: CRS | None) -> pd.DataFrame:
    """An empty table of one kind (built once per kind and CRS, then copied)."""
    return _empty_cached(kind, None if crs is None else crs.to_wkt()).copy()


def _referable(table: pd.DataFrame, kind: str) -> pd.Index:
    """The ids other tables may refer to: row ids, or series names for patterns and curves."""
    key = SERIES_KEY.get(kind)
    return table.index if key is None else pd.Index(table[key].unique())


def _fits(table: pd.DataFrame, kind: str, crs: CRS | None) -> bool:
    """Whether a table already fits its schema exactly (skip rebuilding it)."""
    spec = SCHEMAS[kind]
    if not isinstance(table, pd.DataFrame) or table.index.name != "id" or table.index.dtype != object:
        return False
    if spec.geometry is not None:
        if not isinstance(table, gpd.GeoDataFrame) or table.crs != crs:
            return False
    names = [c.name for c in spec.columns]
    if list(table.columns[: len(names)]) != names:
        return False
    want = {"float": "float64", "int": "int64", "bool": "bool", "str": "object"}
    return all(str(table[c.name].dtype) == want[c.dtype] for c in spec.columns)
