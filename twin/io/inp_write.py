"""Write the water layer of a :class:`~twin.model.Network` as an EPANET 2.2/2.3 input file.

Values are converted from SI to the file's units and written with full precision
(:func:`~twin.io.inp_sections.format_number`), so that reading the file back gives the same
tables and settings. Curve types are kept in the ``;PUMP:``/``;VOLUME:``/... comment line
above each curve, demand categories in the comment of each [DEMANDS] line.
"""

from __future__ import annotations

import math
from os import PathLike
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from twin.errors import NetworkError
from twin.io.inp_controls import LinkInfo, control_lines, rule_lines, setting_quantity
from twin.io.inp_elements import CURVE_QUANTITIES
from twin.io.inp_sections import SECTIONS, format_number, format_si
from twin.io.inp_settings import default_settings, emitter_factor, settings_sections, wall_factor
from twin.model.network import Network
from twin.units import EpanetUnits, default_pressure_units, epanet_units, unit_system

__all__ = ["write_inp"]

_MAXID = 31
_CURVE_LABEL = {"HEAD": "PUMP", "EFFICIENCY": "EFFICIENCY", "VOLUME": "VOLUME", "HEADLOSS": "HEADLOSS",
                "VALVE": "VALVE", "GENERIC": "GENERIC"}
_WATER = ("junction", "reservoir", "tank", "pipe", "pump", "valve", "demand", "pattern", "curve", "control",
          "rule")
f = format_number


def write_inp(network: Network, path: str | PathLike[str], *, flow_units: str | None = None) -> None:
    """Write the water layer of ``network`` as an EPANET input file.

    Parameters
    ----------
    network : Network
        Its water tables and ``settings["water"]`` (EPANET's defaults fill missing keys).
    path : str or PathLike
        File to write (overwritten).
    flow_units : str, optional
        EPANET flow units of the file (``GPM``, ``LPS``, ...); default: the network's own
        (``settings["water"]["flow_units"]``, else ``LPS``). Choosing units of the other unit
        system also switches a default pressure unit (PSI <-> METERS).

    Raises
    ------
    NetworkError
        The water layer is inconsistent (a link to an unknown node, a missing pattern or curve)
        or an id cannot be written (blank space, ``;``, longer than 31 characters).
    ValueError
        Unknown flow units.

    Examples
    --------
    >>> import tempfile, twin
    >>> net = twin.io.read_inp("tests/data/water/Net1.inp")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     twin.io.write_inp(net, f"{tmp}/net1.inp", flow_units="LPS")
    ...     again = twin.io.read_inp(f"{tmp}/net1.inp")
    >>> again.settings["water"]["flow_units"], len(again.pipe)
    ('LPS', 12)
    """
    water = {**default_settings(), **dict(network.settings.get("water", {}))}
    units = _target_units(water, flow_units)
    _check(network)
    nodes = {str(i): k for k in ("junction", "reservoir", "tank") for i in network.tables[k].index}
    links: LinkInfo = {str(i): ("pipe", str(s)) for i, s in network.pipe["initial_status"].items()}
    links.update({str(i): ("pump", "") for i in network.pump.index})
    links.update({str(i): ("valve", str(t)) for i, t in network.valve["valve_type"].items()})
    out: dict[str, list[str]] = {name: [] for name in SECTIONS}
    for name, lines in settings_sections(water, units).items():
        out[name] += lines
    _nodes(network, units, water, out)
    _links(network, units, water, out)
    out["PATTERNS"] = _pattern_lines(network.pattern)
    out["CURVES"] = _curve_lines(network.curve, units)
    out["CONTROLS"] = control_lines(network.control, links, nodes, units)
    out["RULES"] = rule_lines(network.rule, links, nodes, units)
    _geometry(network, out)
    text = "".join(f"[{name}]\n" + "".join(line + "\n" for line in out[name]) + "\n"
                   for name in SECTIONS if name not in ("END", "ROUGHNESS") and (out[name] or name != "LEAKAGE"))
    Path(path).write_text(text + "[END]\n", encoding="utf-8")


def _target_units(water: dict[str, Any], flow_units: str | None) -> EpanetUnits:
    original = str(water.get("flow_units") or "LPS").upper()
    target = (flow_units or original).upper()
    pressure = water.get("pressure_units") or default_pressure_units(original)
    if unit_system(target) != unit_system(original) and pressure == default_pressure_units(original):
        pressure = default_pressure_units(target)
    return epanet_units(target, pressure)


def _check(network: Network) -> None:
    """Water references must resolve and ids must be writable as EPANET tokens."""
    problems = [p for p in network.problems() if p.split(" ", 1)[0] in _WATER or p.startswith("water")]
    if problems:
        raise NetworkError(f"cannot write network {network.name!r} as EPANET input: " + "; ".join(problems[:5]))
    for kind in ("junction", "reservoir", "tank", "pipe", "pump", "valve"):
        _check_ids(kind, network.tables[kind].index)
    _check_ids("pattern", network.pattern["pattern"].unique())
    _check_ids("curve", network.curve["curve"].unique())
    _check_ids("rule", network.rule["rule"].unique())
    categories = network.demand["category"].dropna()
    long = categories[categories.str.len() > _MAXID]
    if len(long):
        raise NetworkError(f"demand {long.index[0]!r}: category longer than {_MAXID} characters")


def _check_ids(kind: str, ids: Iterable[Any]) -> None:
    for aid in ids:
        text = str(aid)
        if (not text or len(text) > _MAXID or any(c.isspace() for c in text) or ";" in text
                or text[0] in '"['):
            raise NetworkError(f"{kind} id {text!r} cannot be written to an EPANET file: ids have 1 to "
                               f"{_MAXID} characters, no blank space or ';', and do not start with '\"' or '['")


def _opt(value: Any) -> str:
    """An optional id or number as a token ('' when missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f(value) if isinstance(value, (int, float)) else str(value)


def _join(*parts: Any) -> str:
    return " ".join(str(p) for p in parts).rstrip()


def _has(row: dict[str, Any], column: str) -> bool:
    value = row.get(column)
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _records(table: pd.DataFrame) -> list[tuple[str, dict[str, Any]]]:
    """(id, row) pairs of a table without its geometry, as plain dictionaries (fast)."""
    rows: list[dict[str, Any]] = [
        {str(k): v for k, v in row.items()}
        for row in pd.DataFrame(table.drop(columns="geometry", errors="ignore")).to_dict("records")]
    return list(zip((str(i) for i in table.index), rows))


# ============================================================================ nodes


def _nodes(net: Network, u: EpanetUnits, water: dict[str, Any], out: dict[str, list[str]]) -> None:
    demands: dict[str, list[dict[str, Any]]] = {}
    for _, d in _records(net.demand):
        demands.setdefault(d["junction"], []).append(d)
    emitter = emitter_factor(water["emitter_exponent"], u)
    length, flow = u.factor("length"), u.factor("flow")
    for jid, row in _records(net.junction):
        rows = demands.get(jid, [])
        elevation = format_si(row["elevation_m"], length)
        if len(rows) == 1 and rows[0]["category"] is None:
            d = rows[0]
            out["JUNCTIONS"].append(_join(jid, elevation, format_si(d["base_demand_m3s"], flow), _opt(d["pattern"])))
        else:
            out["JUNCTIONS"].append(_join(jid, elevation))
            for d in rows:
                comment = f";{d['category']}" if d["category"] is not None else ""
                out["DEMANDS"].append(_join(jid, format_si(d["base_demand_m3s"], flow), _opt(d["pattern"]), comment))
        if row["emitter_coefficient"] > 0:
            out["EMITTERS"].append(_join(jid, format_si(row["emitter_coefficient"], emitter)))
    for rid, row in _records(net.reservoir):
        out["RESERVOIRS"].append(_join(rid, format_si(row["head_m"], length), _opt(row["head_pattern"])))
    for tid, row in _records(net.tank):
        out["TANKS"].append(_tank_line(tid, row, u))
        if _has(row, "bulk_coeff"):
            out["REACTIONS"].append(_join("TANK", tid, f(row["bulk_coeff"])))
        if _has(row, "mixing_model"):
            two = row["mixing_model"] == "2COMP" and _has(row, "mixing_fraction")
            out["MIXING"].append(_join(tid, row["mixing_model"], f(row["mixing_fraction"]) if two else ""))
    for kind in ("junction", "reservoir", "tank"):
        for nid, row in _records(net.tables[kind]):
            if row["initial_quality"] != 0:
                out["QUALITY"].append(_join(nid, f(row["initial_quality"])))
            if _has(row, "tag"):
                out["TAGS"].append(_join("NODE", nid, row["tag"]))


def _tank_line(tid: str, row: dict[str, Any], u: EpanetUnits) -> str:
    levels = [format_si(row[c], u.length) for c in
              ("elevation_m", "initial_level_m", "min_level_m", "max_level_m", "diameter_m")]
    curve = row["volume_curve"] if row["volume_curve"] is not None else ("*" if row["overflow"] else "")
    return _join(tid, *levels, format_si(row["min_volume_m3"], u.volume), curve, "YES" if row["overflow"] else "")


# ============================================================================ links


def _links(net: Network, u: EpanetUnits, water: dict[str, Any], out: dict[str, list[str]]) -> None:
    _pipes(net, u, water, out)
    for pid, row in _records(net.pump):
        out["PUMPS"].append(_pump_line(pid, row, u))
        if row["initial_status"] == "CLOSED":
            out["STATUS"].append(_join(pid, "CLOSED"))
        for word, column in (("EFFIC", "efficiency_curve"), ("PRICE", "energy_price"), ("PATTERN", "price_pattern")):
            if _has(row, column):
                out["ENERGY"].append(_join("PUMP", pid, word, _opt(row[column])))
    for vid, row in _records(net.valve):
        out["VALVES"].append(_valve_line(vid, row, u))
        status = row["initial_status"]
        if status in ("OPEN", "CLOSED") and not (row["valve_type"] == "GPV" and status == "OPEN"):
            out["STATUS"].append(_join(vid, status))
    for kind in ("pipe", "pump", "valve"):
        for lid, row in _records(net.tables[kind]):
            if _has(row, "tag"):
                out["TAGS"].append(_join("LINK", lid, row["tag"]))


def _pipes(net: Network, u: EpanetUnits, water: dict[str, Any], out: dict[str, list[str]]) -> None:
    dw = water["headloss"] == "D-W"
    wall = wall_factor(water["wall_order"], u)
    for pid, row in _records(net.pipe):
        rough = format_si(row["roughness"], u.dw_roughness) if dw else f(row["roughness"])
        out["PIPES"].append(_join(pid, row["start_node"], row["end_node"], format_si(row["length_m"], u.length),
                                  format_si(row["diameter_m"], u.diameter), rough, f(row["minor_loss"]),
                                  row["initial_status"]))
        if _has(row, "bulk_coeff"):
            out["REACTIONS"].append(_join("BULK", pid, f(row["bulk_coeff"])))
        if _has(row, "wall_coeff"):
            out["REACTIONS"].append(_join("WALL", pid, format_si(row["wall_coeff"], wall)))
        if _has(row, "leak_area_mm2_per_100m") or _has(row, "leak_expansion_mm2_per_m"):
            area, expansion = (float(row[c]) if _has(row, c) else 0.0
                               for c in ("leak_area_mm2_per_100m", "leak_expansion_mm2_per_m"))
            out["LEAKAGE"].append(_join(pid, format_si(area, 1.0 / u.length), format_si(expansion, 1.0 / u.length)))


def _pump_line(pid: str, row: dict[str, Any], u: EpanetUnits) -> str:
    parts = [pid, row["start_node"], row["end_node"]]
    if row["head_curve"] is not None:
        parts += ["HEAD", row["head_curve"]]
    if _has(row, "power_kw"):
        parts += ["POWER", format_si(row["power_kw"], u.power)]
    if row["speed"] != 1.0:
        parts += ["SPEED", f(row["speed"])]
    if row["speed_pattern"] is not None:
        parts += ["PATTERN", row["speed_pattern"]]
    if len(parts) == 3:
        raise NetworkError(f"pump {pid!r} needs a head_curve or a power_kw")
    return _join(*parts)


def _valve_line(vid: str, row: dict[str, Any], u: EpanetUnits) -> str:
    vtype = row["valve_type"]
    if vtype == "GPV":
        if row["curve"] is None:
            raise NetworkError(f"valve {vid!r}: a GPV needs a headloss curve")
        setting = row["curve"]
    else:
        setting = format_si(row["setting"], u.factor(setting_quantity("valve", vtype)))
    curve = row["curve"] if vtype == "PCV" and row["curve"] is not None else ""
    return _join(vid, row["start_node"], row["end_node"], format_si(row["diameter_m"], u.diameter), vtype, setting,
                 f(row["minor_loss"]), curve)


# ============================================================================ patterns, curves, map


def _pattern_lines(pattern: pd.DataFrame) -> list[str]:
    lines = []
    for pid, group in pattern.groupby("pattern", sort=False):
        values = [f(v) for v in group.sort_values("period", kind="stable")["multiplier"]]
        lines += [_join(pid, *values[i:i + 8]) for i in range(0, len(values), 8)]
    return lines


def _curve_lines(curve: pd.DataFrame, u: EpanetUnits) -> list[str]:
    lines = []
    for cid, group in curve.groupby("curve", sort=False):
        kind = str(group["curve_type"].iloc[0])
        if kind not in CURVE_QUANTITIES:
            raise NetworkError(f"curve {cid!r}: unknown curve_type {kind!r}; expected {', '.join(CURVE_QUANTITIES)}")
        fx, fy = (u.factor(q) for q in CURVE_QUANTITIES[kind])
        lines.append(f";{_CURVE_LABEL[kind]}:")
        points = group.sort_values("point", kind="stable")
        lines += [_join(cid, format_si(x, fx), format_si(y, fy)) for x, y in zip(points["x"], points["y"])]
    return lines


def _geometry(net: Network, out: dict[str, list[str]]) -> None:
    for kind in ("junction", "reservoir", "tank"):
        for nid, geom in net.tables[kind].geometry.items():
            if geom is not None and not geom.is_empty:
                out["COORDINATES"].append(_join(nid, f(geom.x), f(geom.y)))
    for kind in ("pipe", "pump", "valve"):
        for lid, geom in net.tables[kind].geometry.items():
            if geom is not None and not geom.is_empty:
                out["VERTICES"] += [_join(lid, f(x), f(y)) for x, y, *_ in list(geom.coords)[1:-1]]
