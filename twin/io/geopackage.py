"""A whole Network in open GIS formats: one GeoPackage file, or a folder of GeoJSON files.

Every table kind becomes one layer named after it (``junction``, ``line``, ``link``, ...),
with the asset id in an ``id`` column; non-spatial tables (patterns, curves, trips) are
attribute-only layers. The couplings are the ``couplings`` layer, and a ``twin_metadata``
layer keeps the network name, the CRS and the per-layer settings as JSON. Any GIS (QGIS,
ArcGIS, GDAL) opens the file; twin reads it back to an equal Network.
"""

from __future__ import annotations

import json
import warnings
from os import PathLike
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from twin.errors import InputFileError, SchemaError
from twin.model.network import Network
from twin.model.schema import SCHEMAS
from twin.model.tables import make_couplings, make_table

FORMAT_VERSION = "1"
_META = "twin_metadata"
_COUPLINGS = "couplings"
# Full double precision for GeoJSON attributes and coordinates, and keep the network's CRS
# (RFC 7946 would force WGS 84 and lose exactness; reproject with Network.to_crs first).
_GEOJSON_OPTIONS = {"SIGNIFICANT_FIGURES": 17, "RFC7946": "NO", "WRITE_NAME": "NO"}


def write_network(network: Network, path: str | PathLike[str]) -> Path:
    """Write a whole Network (every table, the couplings, CRS and settings).

    Parameters
    ----------
    network : Network
        The network to write.
    path : str or PathLike
        A ``.gpkg`` file (GeoPackage, replaced if it exists) or a folder (created if needed)
        that receives one ``<kind>.geojson`` per non-empty table plus ``couplings.geojson``
        and ``twin_metadata.json``.

    Returns
    -------
    Path
        The path written.

    Examples
    --------
    >>> import tempfile, pathlib, twin
    >>> city = twin.datasets.sample_city()
    >>> out = twin.io.write_network(city, pathlib.Path(tempfile.mkdtemp()) / "city.gpkg")
    >>> twin.io.read_network(out).fingerprint() == city.fingerprint()
    True
    """
    path = Path(path)
    meta = {
        "format": "twin-network",
        "format_version": FORMAT_VERSION,
        "name": network.name,
        "crs": network.crs.to_wkt() if network.crs is not None else None,
        "settings": {k: dict(v) for k, v in network.settings.items()},
        "kinds": [k for k in SCHEMAS if len(network.tables[k])],
    }
    with warnings.catch_warnings():
        # A network without CRS (EPANET coordinates) is written without projection on purpose.
        warnings.filterwarnings("ignore", message="'crs' was not provided", category=UserWarning)
        if path.suffix.lower() == ".gpkg":
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():
                path.unlink()
            _write_gpkg(network, path, meta)
        else:
            path.mkdir(parents=True, exist_ok=True)
            for old in path.glob("*.geojson"):
                old.unlink()
            _write_geojson(network, path, meta)
    return path


def _as_layer(network: Network, kind: str) -> gpd.GeoDataFrame | pd.DataFrame:
    table = network.tables[kind]
    out = table.reset_index()
    if isinstance(table, gpd.GeoDataFrame):
        return gpd.GeoDataFrame(out, geometry="geometry", crs=network.crs)
    return out


def _write_gpkg(network: Network, path: Path, meta: dict[str, Any]) -> None:
    for kind in meta["kinds"]:
        pyogrio.write_dataframe(_as_layer(network, kind), path, layer=kind, driver="GPKG")
    pyogrio.write_dataframe(network.couplings, path, layer=_COUPLINGS, driver="GPKG")
    frame = pd.DataFrame({"key": list(meta), "value": [json.dumps(v) for v in meta.values()]})
    pyogrio.write_dataframe(frame, path, layer=_META, driver="GPKG")


def _write_geojson(network: Network, folder: Path, meta: dict[str, Any]) -> None:
    for kind in meta["kinds"]:
        layer = _as_layer(network, kind)
        if not isinstance(layer, gpd.GeoDataFrame):
            layer = gpd.GeoDataFrame(layer, geometry=[None] * len(layer), crs=network.crs)
        pyogrio.write_dataframe(layer, folder / f"{kind}.geojson", driver="GeoJSON",
                                layer_options=_GEOJSON_OPTIONS)
    couplings = gpd.GeoDataFrame(network.couplings, geometry=[None] * len(network.couplings), crs=network.crs)
    pyogrio.write_dataframe(couplings, folder / f"{_COUPLINGS}.geojson", driver="GeoJSON",
                            layer_options=_GEOJSON_OPTIONS)
    (folder / f"{_META}.json").write_text(json.dumps(meta, indent=1))


def read_network(path: str | PathLike[str]) -> Network:
    """Read a Network written by :func:`write_network` (GeoPackage file or GeoJSON folder).

    Parameters
    ----------
    path : str or PathLike
        A ``.gpkg`` file or a folder of GeoJSON files.

    Returns
    -------
    Network

    Raises
    ------
    InputFileError
        The file is missing, is not a twin network, or a layer does not fit its schema; the
        message names the file and the layer (and the asset id where one is at fault).

    Examples
    --------
    >>> import twin
    >>> from twin.datasets import sample_city_path
    >>> twin.io.read_network(sample_city_path()).crs.to_epsg()
    3067
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError("no such file or folder", path=path)
    if path.is_dir():
        meta_file = path / f"{_META}.json"
        if not meta_file.exists():
            raise InputFileError(f"not a twin network folder: {meta_file.name} is missing", path=path)
        meta = json.loads(meta_file.read_text())
        frames = {k: _read_layer(path / f"{k}.geojson", None) for k in meta.get("kinds", [])}
        couplings = _read_layer(path / f"{_COUPLINGS}.geojson", None)
    else:
        meta = _read_meta(path)
        frames = {k: _read_layer(path, k) for k in meta.get("kinds", [])}
        couplings = _read_layer(path, _COUPLINGS)
    return _assemble(path, meta, frames, couplings)


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        layers = {name for name, _ in pyogrio.list_layers(path)}
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise InputFileError(f"cannot open as GeoPackage: {exc}", path=path) from None
    if _META not in layers:
        raise InputFileError(f"not a twin network: layer {_META!r} is missing", path=path, field=_META)
    frame = pyogrio.read_dataframe(path, layer=_META, read_geometry=False)
    meta = {}
    for key, value in zip(frame["key"], frame["value"]):
        try:
            meta[key] = json.loads(value)
        except json.JSONDecodeError:
            raise InputFileError(f"value of {key!r} is not JSON", path=path, field=_META) from None
    unknown = set(meta.get("kinds", [])) - set(SCHEMAS) - {_COUPLINGS}
    if unknown:
        raise InputFileError(f"unknown table kind(s) {sorted(unknown)}", path=path, field=_META)
    missing = set(meta.get("kinds", [])) - layers
    if missing:
        raise InputFileError(f"layer(s) {sorted(missing)} listed but missing", path=path, field=_META)
    return meta


def _read_layer(path: Path, layer: str | None) -> pd.DataFrame:
    where = layer or path.stem
    if layer is None and not path.exists():
        raise InputFileError("layer file is missing", path=path, field=where)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # GDAL notes about null geometries
        frame = pyogrio.read_dataframe(path, layer=layer)
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.isna().all() and SCHEMAS.get(where) is None:
        frame = pd.DataFrame(frame.drop(columns="geometry"))
    return frame


def _assemble(path: Path, meta: dict[str, Any], frames: dict[str, pd.DataFrame],
              couplings: pd.DataFrame) -> Network:
    crs = meta.get("crs")
    tables = {}
    for kind, frame in frames.items():
        if SCHEMAS[kind].geometry is None and "geometry" in frame.columns:
            frame = pd.DataFrame(frame.drop(columns="geometry"))
        if "id" not in frame.columns:
            raise InputFileError("column 'id' is missing", path=path, field=kind)
        try:
            tables[kind] = make_table(kind, frame, crs=crs)
        except SchemaError as exc:
            raise InputFileError(str(exc), path=path, field=kind) from None
    try:
        links = make_couplings(pd.DataFrame(couplings.drop(columns="geometry", errors="ignore")))
    except SchemaError as exc:
        raise InputFileError(str(exc), path=path, field=_COUPLINGS) from None
    net = Network(tables, couplings=links, crs=crs, settings=meta.get("settings") or {},
                  name=meta.get("name") or path.stem)
    bad = net.coupling_problems()
    if bad:
        raise InputFileError(bad[0], path=path, field=_COUPLINGS)
    return net
