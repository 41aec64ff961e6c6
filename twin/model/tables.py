"""Build and check asset tables against their declared schema."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from twin.errors import SchemaError
from twin.model.schema import COUPLING_COLUMNS, Column, schema

_PANDAS_DTYPE = {"float": "float64", "int": "int64", "bool": "bool", "str": "object"}


def _coerce(values: pd.Series, col: Column, kind: str) -> pd.Series:
    where = f"{kind}.{col.name}"
    if col.dtype == "str":
        out = values.astype(object)
        out = out.where(out.notna(), None)
        bad = [v for v in out if v is not None and not isinstance(v, str)]
        if bad:
            out = out.map(lambda v: v if v is None else str(v))
        out = out.map(lambda v: None if v is None or v == "" else v)
        if col.default is not None:
            out = out.map(lambda v: col.default if v is None else v)
        return out
    if col.dtype == "bool":
        if values.isna().any():
            values = values.where(values.notna(), col.default)
        try:
            return values.map(_to_bool).astype(bool)
        except ValueError as exc:
            raise SchemaError(f"{where}: {exc}") from None
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna() & values.notna()
    if bad.any():
        first = values.index[bad.to_numpy()][0]
        raise SchemaError(f"{where}: {values[first]!r} at id {first!r} is not a number")
    if col.dtype == "int":
        if numeric.isna().any():
            if col.required or col.default is None:
                first = numeric.index[numeric.isna().to_numpy()][0]
                raise SchemaError(f"{where}: missing integer at id {first!r}")
            numeric = numeric.fillna(col.default)
        if not np.all(np.mod(numeric.to_numpy(dtype=float), 1.0) == 0.0):
            raise SchemaError(f"{where}: values must be whole numbers")
        return numeric.astype("int64")
    return numeric.astype("float64")


def _to_bool(v: Any) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer, float, np.floating)) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
        return v.strip().lower() in ("true", "1", "yes")
    raise ValueError(f"{v!r} is not a boolean")


def make_table(
    kind: str,
    data: pd.DataFrame | Mapping[str, Any] | Iterable[Mapping[str, Any]] | None = None,
    *,
    crs: Any = None,
    geometry: Iterable[Any] | None = None,
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Build one asset table that fits its schema.

    Missing optional columns get their defaults, values are coerced to the declared type,
    required columns must be present and filled, and bounds are checked. Columns not in the
    schema are kept (as user attributes) after the declared ones.

    Parameters
    ----------
    kind : str
        Table kind, e.g. ``"junction"`` or ``"line"`` (see :data:`twin.model.schema.SCHEMAS`).
    data : DataFrame, mapping of columns, or iterable of row mappings
        Rows of the table. An ``id`` column (or the index) gives the asset ids.
    crs : optional
        CRS of the geometry (spatial kinds only).
    geometry : iterable, optional
        Shapely geometries, one per row (overrides a ``geometry`` column).

    Returns
    -------
    GeoDataFrame or DataFrame
        Indexed by string ``id``; a GeoDataFrame for spatial kinds.

    Raises
    ------
    SchemaError
        A required column is missing or empty, a value is not of the declared type, or
        a value is out of bounds. The message names the table, the column and the id.

    Examples
    --------
    >>> t = make_table("junction", [{"id": "J1", "elevation_m": 10.0}])
    >>> float(t.loc["J1", "elevation_m"]), float(t.loc["J1", "emitter_coefficient"])
    (10.0, 0.0)
    """
    spec = schema(kind)
    if data is None:
        frame = pd.DataFrame(columns=["id"])
    elif isinstance(data, pd.DataFrame):
        frame = pd.DataFrame(data).copy()
    elif isinstance(data, Mapping):
        frame = pd.DataFrame(dict(data))
    else:
        frame = pd.DataFrame(list(data))
    if "id" in frame.columns:
        frame = frame.set_index("id")
    if geometry is not None:
        frame["geometry"] = list(geometry)
    if isinstance(data, gpd.GeoDataFrame) and crs is None:
        crs = data.crs
    frame.index = pd.Index([str(i) for i in frame.index], name="id", dtype=object)
    if frame.index.has_duplicates:
        dup = frame.index[frame.index.duplicated()][0]
        raise SchemaError(f"{kind}: duplicate id {dup!r}")
    cols: dict[str, pd.Series] = {}
    for col in spec.columns:
        if col.name in frame.columns:
            raw = frame[col.name]
            if col.required and raw.isna().any():
                first = raw.index[raw.isna().to_numpy()][0]
                raise SchemaError(f"{kind}.{col.name}: missing value at id {first!r}")
        elif col.required:
            if len(frame) == 0:
                raw = pd.Series([], dtype=_PANDAS_DTYPE[col.dtype], index=frame.index)
            else:
                raise SchemaError(f"{kind}: required column {col.name!r} is missing")
        else:
            raw = pd.Series([col.default] * len(frame), index=frame.index, dtype=object)
        series = _coerce(raw, col, kind)
        if col.dtype == "float" and not col.required and col.default is not None:
            series = series.fillna(col.default)
        _check_bounds(series, col, kind)
        cols[col.name] = series
    extra = [c for c in frame.columns if c not in spec.by_name and c != "geometry"]
    for c in extra:
        cols[c] = frame[c]
    out = pd.DataFrame(cols, index=frame.index)
    if spec.geometry is None:
        return out
    geom = frame["geometry"] if "geometry" in frame.columns else gpd.GeoSeries([None] * len(frame), index=frame.index)
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(list(geom), index=frame.index), crs=crs)


def _check_bounds(series: pd.Series, col: Column, kind: str) -> None:
    if col.dtype not in ("float", "int") or len(series) == 0:
        return
    values = series.to_numpy(dtype=float)
    ok = np.isnan(values)
    if col.positive:
        bad = ~ok & ~(values > 0)
        rule = "> 0"
    elif col.minimum is not None:
        bad = ~ok & ~(values >= col.minimum)
        rule = f">= {col.minimum:g}"
    else:
        return
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise SchemaError(
            f"{kind}.{col.name}: must be {rule} ({col.unit}), got {values[i]:g} at id {series.index[i]!r}"
        )


def make_couplings(data: pd.DataFrame | Iterable[Mapping[str, Any]] | None = None) -> pd.DataFrame:
    """Build the couplings table (``src_kind, src, relation, dst_kind, dst, backup_hours``).

    Examples
    --------
    >>> c = make_couplings([dict(src_kind="pump", src="P1", relation="fed_by", dst_kind="bus", dst="B7",
    ...                          backup_hours=2.0)])
    >>> c.iloc[0]["dst"]
    'B7'
    """
    if data is None:
        frame = pd.DataFrame(columns=[c.name for c in COUPLING_COLUMNS])
    else:
        frame = pd.DataFrame(data if isinstance(data, pd.DataFrame) else list(data)).reset_index(drop=True)
    cols = {}
    for col in COUPLING_COLUMNS:
        if col.name in frame.columns:
            raw = frame[col.name]
            if col.required and raw.isna().any():
                raise SchemaError(f"couplings.{col.name}: missing value in row {int(np.flatnonzero(raw.isna())[0])}")
        elif col.required and len(frame):
            raise SchemaError(f"couplings: required column {col.name!r} is missing")
        else:
            raw = pd.Series([col.default] * len(frame), dtype=object)
        series = _coerce(raw, col, "couplings")
        if col.dtype == "float":
            series = series.fillna(col.default)
        _check_bounds(series, col, "couplings")
        cols[col.name] = series
    out = pd.DataFrame(cols)
    out.index = pd.RangeIndex(len(out))
    return out
