"""Read an EPANET .inp file into a :class:`~twin.model.Network` (water layer, SI units).

Tables: ``junction``, ``reservoir``, ``tank``, ``pipe``, ``pump``, ``valve``, ``demand``,
``pattern``, ``curve``, ``control``, ``rule``; model-wide settings in ``settings["water"]``
(see ``docs/water-settings.md``). Ids are kept exactly as written. Extra (non-schema) columns
appear only when the file uses them: ``tag`` ([TAGS]); on tanks ``bulk_coeff`` (1/day,
[REACTIONS] TANK), ``mixing_model`` and ``mixing_fraction`` ([MIXING]); on pipes
``leak_area_mm2_per_100m`` and ``leak_expansion_mm2_per_m`` ([LEAKAGE]).
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from twin.errors import InputFileError, NetworkError, SchemaError
from twin.io.inp_controls import read_controls, read_rules
from twin.io.inp_elements import CURVE_QUANTITIES, ElementReader, RawCurve, read_curves, read_patterns
from twin.io.inp_sections import InpFile, SectionReader, file_guard, keyword, read_sections
from twin.io.inp_settings import read_settings, read_sources
from twin.model.network import Network
from twin.model.tables import make_table

__all__ = ["read_inp"]

_SPATIAL = ("junction", "reservoir", "tank", "pipe", "pump", "valve")
_EXTRA_TEXT = ("tag", "mixing_model")


def read_inp(path: str | PathLike[str], *, crs: Any = None, name: str | None = None) -> Network:
    """Read an EPANET 2.2/2.3 input file.

    Every value is converted to SI (m, m3/s, m3, kW, m of pressure head; times in seconds)
    from the file's flow units (kept in ``settings["water"]["flow_units"]``) and pressure
    units, following EPANET's own conventions (1 psi = 1/0.4333 ft of water, 1 hp = 0.7457 kW).

    Parameters
    ----------
    path : str or PathLike
        The .inp file.
    crs : optional
        CRS of the coordinates (EPANET files carry none; default: no CRS).
    name : str, optional
        Network name (default: the file name without extension).

    Returns
    -------
    Network
        Water tables and ``settings["water"]``.

    Raises
    ------
    InputFileError
        A malformed line (names the file, the 1-based line and the section), an unknown
        section, a reference to an undefined node, link, pattern or curve.

    Examples
    --------
    >>> import twin
    >>> net = twin.io.read_inp("tests/data/water/Net1.inp")
    >>> len(net.junction), net.settings["water"]["flow_units"]
    (9, 'GPM')
    >>> round(float(net.pipe.loc["10", "diameter_m"]), 4)  # 18 in
    0.4572
    """
    inp = read_sections(path)
    with file_guard(inp):
        return _read(inp, crs, name or Path(path).stem)


def _read(inp: InpFile, crs: Any, name: str) -> Network:
    patterns = read_patterns(inp)
    curves = read_curves(inp)
    settings, units = read_settings(inp, patterns)
    reader = ElementReader(inp, units, settings, patterns, curves)
    reader.read_nodes()
    reader.read_links()
    for step in (reader.read_demands, reader.read_status, reader.read_emitters, reader.read_quality,
                 reader.read_mixing, reader.read_reactions, reader.read_pump_energy, reader.read_leakage,
                 reader.read_tags):
        step()
    settings["sources"] = read_sources(inp, reader.nodes, patterns)
    _check_trace_node(inp, settings, reader.nodes)
    curve_types = _curve_types(curves, reader.curve_use)
    _check_volume_curves(reader, curves)
    try:
        tables = _tables(reader, inp, curve_types)
        return Network(tables, crs=crs, settings={"water": settings}, name=name)
    except (SchemaError, NetworkError) as exc:
        raise InputFileError(f"the network does not fit twin's schema: {exc}", path=inp.path) from exc


def _check_trace_node(inp: InpFile, settings: dict[str, Any], nodes: dict[str, str]) -> None:
    if settings["quality_parameter"] != "TRACE" or settings["trace_node"] in nodes:
        return
    sec = SectionReader(inp.path, "OPTIONS")
    line = next(ln for ln in inp.data("OPTIONS") if keyword(ln.tokens[0], "QUAL"))
    raise sec.error(line, f"trace node {settings['trace_node']!r} is not defined")


def _curve_types(curves: dict[str, RawCurve], use: dict[str, tuple[str, int]]) -> dict[str, str]:
    """Each curve's type: from its use, else from its comment, else GENERIC."""
    return {cid: use[cid][0] if cid in use else (c.comment_type or "GENERIC") for cid, c in curves.items()}


def _check_volume_curves(reader: ElementReader, curves: dict[str, RawCurve]) -> None:
    """EPANET's check: a tank's minimum and maximum levels lie within its volume curve."""
    for tid, row in reader.rows["tank"].items():
        cid = row["volume_curve"]
        if cid is None:
            continue
        line = reader.tank_lines[tid]
        xs = [x for x, _ in curves[cid].points]
        low, high = (reader.section("TANKS").number(line, i, "level") for i in (3, 4))
        if low < xs[0] or high > xs[-1]:
            raise reader.section("TANKS").error(line, f"tank {tid!r}: levels {low:g}..{high:g} are outside "
                                                      f"volume curve {cid!r} ({xs[0]:g}..{xs[-1]:g})")


def _tables(reader: ElementReader, inp: InpFile, curve_types: dict[str, str]) -> dict[str, pd.DataFrame]:
    tables: dict[str, pd.DataFrame] = {}
    nodes_xy, vertices = _coordinates(inp, reader)
    for kind in _SPATIAL:
        rows = list(reader.rows[kind].values())
        if kind in ("junction", "reservoir", "tank"):
            geometry = [shapely.Point(nodes_xy[r["id"]]) if r["id"] in nodes_xy else None for r in rows]
        else:
            geometry = [_line(r, nodes_xy, vertices) for r in rows]
        tables[kind] = make_table(kind, _frame(rows), geometry=geometry)
    demand_rows = [{"id": f"{jid}#{k}", **{c: v for c, v in row.items() if c != "primary"}}
                   for jid, rows in reader.demands.items() for k, row in enumerate(rows, start=1)]
    tables["demand"] = make_table("demand", _frame(demand_rows))
    tables["pattern"] = make_table("pattern", _frame(
        [{"id": f"{pid}#{k}", "pattern": pid, "period": k, "multiplier": m}
         for pid, values in reader.patterns.items() for k, m in enumerate(values)]))
    tables["curve"] = make_table("curve", _frame(_curve_rows(reader, curve_types)))
    controls = read_controls(inp, reader.links, reader.nodes, reader.units)
    tables["control"] = make_table("control", _frame(controls))
    tables["rule"] = make_table("rule", _frame(read_rules(inp, reader.links, reader.nodes, reader.units)))
    return tables


def _curve_rows(reader: ElementReader, curve_types: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for cid, curve in reader.curves.items():
        kind = curve_types[cid]
        fx, fy = (reader.units.factor(q) for q in CURVE_QUANTITIES[kind])
        rows += [{"id": f"{cid}#{k}", "curve": cid, "curve_type": kind, "point": k, "x": x * fx, "y": y * fy}
                 for k, (x, y) in enumerate(curve.points)]
    return rows


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows to a frame; missing extra text values are None, missing extra numbers NaN."""
    frame = pd.DataFrame(rows)
    for column in frame.columns:
        if column in _EXTRA_TEXT:
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame


def _coordinates(inp: InpFile, reader: ElementReader) -> tuple[dict[str, tuple[float, float]],
                                                                dict[str, list[tuple[float, float]]]]:
    """[COORDINATES] and [VERTICES] (lines for unknown ids are ignored, as EPANET does)."""
    nodes: dict[str, tuple[float, float]] = {}
    vertices: dict[str, list[tuple[float, float]]] = {}
    for section, known, store in (("COORDINATES", reader.nodes, None), ("VERTICES", reader.links, vertices)):
        sec = SectionReader(inp.path, section)
        for line in inp.data(section):
            sec.need(line, 3, "id x y")
            xy = (sec.number(line, 1, "x"), sec.number(line, 2, "y"))
            if line.tokens[0] not in known:
                continue
            if store is None:
                nodes[line.tokens[0]] = xy
            else:
                store.setdefault(line.tokens[0], []).append(xy)
    return nodes, vertices


def _line(row: dict[str, Any], nodes: dict[str, tuple[float, float]],
          vertices: dict[str, list[tuple[float, float]]]) -> shapely.LineString | None:
    start, end = nodes.get(row["start_node"]), nodes.get(row["end_node"])
    if start is None or end is None:
        return None
    return shapely.LineString(np.array([start, *vertices.get(row["id"], []), end], dtype=float))
