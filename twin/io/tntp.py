"""Read the TNTP traffic test problems (github.com/bstabler/TransportationNetworks).

A TNTP problem is a network file (``*_net.tntp``: one row per directed link), a trip table
(``*_trips.tntp``: ``Origin k`` blocks of ``destination : flow;`` pairs) and optionally node
coordinates (``*_node.tntp``). Each file starts with a metadata header of ``<KEY> value`` lines
ended by ``<END OF METADATA>``; lines starting with ``~`` are comments.

Mapping to twin's traffic tables:

* ``node``: nodes ``"1"`` .. ``"<NUMBER OF NODES>"`` (TNTP numbers as strings), with a Point
  where the node file gives coordinates (else no geometry);
* ``link``: one row per link row, in file order, id ``"<init>-<term>"`` (a pair that occurs
  more than once gets ``"<init>-<term>:<k>"`` on every occurrence, k = 1, 2, ... in file order),
  extra column ``tntp_index`` (1-based row number among the links); a straight LineString
  between its nodes where both have coordinates;
* ``zone``: zones ``"1"`` .. ``"<NUMBER OF ZONES>"``, each centred on the node of the same
  number (TNTP numbers zones as the first nodes);
* ``trips``: one row per origin-destination pair with non-zero demand (zeros are dropped),
  id ``"<origin>-<destination>"``, in file order.

Units: TNTP files do not state units; the README of each problem does. ``length_unit`` gives the
length unit (``"mi"`` for SiouxFalls, ChicagoSketch and EasternMassachusetts, ``"ft"`` for
Anaheim) and ``time_unit`` the free-flow time unit (``"min"`` for all but EasternMassachusetts,
whose README says hours). ``speed_unit`` defaults to ``<length_unit>/<time_unit>`` (Anaheim:
feet per minute); ChicagoSketch's README says mph, but its speeds are all 0 (unknown), as are
SiouxFalls' and EasternMassachusetts'. Capacity is in vehicles per hour, ``b`` and ``power`` are
the BPR coefficients ``t = t0 (1 + b (v/c)^power)``, the toll is kept in the file's own unit
(ChicagoSketch: cents).
"""

from __future__ import annotations

import math
import re
from os import PathLike
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd
import shapely

from twin.errors import InputFileError, SchemaError
from twin.model.network import Network
from twin.model.tables import make_table

__all__ = ["read_tntp"]

#: Metres per length unit and seconds per time unit accepted by :func:`read_tntp`.
LENGTH_UNITS: dict[str, float] = {"mi": 1609.344, "km": 1000.0, "ft": 0.3048, "m": 1.0}
TIME_UNITS: dict[str, float] = {"h": 3600.0, "min": 60.0, "s": 1.0}
_SPEED_ALIASES = {"mph": "mi/h", "kph": "km/h", "kmh": "km/h", "fpm": "ft/min", "mps": "m/s"}

_LINK_FIELDS = ("init_node", "term_node", "capacity", "length", "free_flow_time", "b", "power",
                "speed", "toll", "link_type")
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_META = re.compile(r"\s*<([^>]+)>\s*(.*?)\s*$")
_ORIGIN = re.compile(r"Origin\s+(\d+)\s*", re.IGNORECASE)
_PAIR = re.compile(r"\s*(\d+)\s*:\s*(" + _NUMBER + r")\s*;")
_COMMENT_LINE = re.compile(r"^[ \t]*~.*$", re.MULTILINE)
_ORIGIN_LINE = re.compile(r"^[ \t]*Origin[ \t]+(\d+)[ \t]*$", re.MULTILINE | re.IGNORECASE)
_TOKEN_PAIR = re.compile(r"\s*([^:;]*?)\s*:\s*([^;]*?)\s*(?:;|$)")


# ---------------------------------------------------------------------------- metadata


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise InputFileError(f"cannot read the file: {exc.strerror or exc}", path=path) from None


def _metadata(path: Path, lines: list[str]) -> tuple[dict[str, tuple[str, int]], int]:
    """The ``<KEY> value`` header (key -> (value, line)) and the index of the first data line."""
    meta: dict[str, tuple[str, int]] = {}
    for i, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith("~"):
            continue
        match = _META.match(line)
        if match is None:
            break
        key = " ".join(match.group(1).upper().split())
        if key == "END OF METADATA":
            return meta, i + 1
        meta[key] = (match.group(2), i + 1)
    raise InputFileError("no <END OF METADATA> line; a TNTP file starts with <KEY> value lines "
                         "ended by <END OF METADATA>", path=path, field="END OF METADATA")


def _meta_number(path: Path, meta: dict[str, tuple[str, int]], key: str) -> float:
    """A number of the metadata; the message names the key when it is missing or not a number."""
    if key not in meta:
        raise InputFileError(f"the metadata has no <{key}> line", path=path, field=key)
    text, line = meta[key]
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InputFileError(f"<{key}> must be a number, got {text!r}", path=path, line=line, field=key)
    return value


def _meta_count(path: Path, meta: dict[str, tuple[str, int]], key: str) -> int:
    """A whole number >= 0 of the metadata (a count or a node number)."""
    value = _meta_number(path, meta, key)
    if not value.is_integer() or value < 0:
        text, line = meta[key]
        raise InputFileError(f"<{key}> must be a whole number >= 0, got {text!r}", path=path,
                             line=line, field=key)
    return int(value)


# ---------------------------------------------------------------------------- network file


def _data_rows(path: Path, lines: list[str], start: int) -> list[tuple[int, list[str]]]:
    """Non-comment data rows after the metadata: (line number, fields before the ``;``)."""
    rows = []
    for i in range(start, len(lines)):
        text = lines[i].strip()
        if not text or text.startswith("~"):
            continue
        fields, _, rest = text.partition(";")
        if rest.strip():
            raise InputFileError(f"text after ';': {rest.strip()!r} (one link per line)", path=path,
                                 line=i + 1)
        rows.append((i + 1, fields.split()))
    return rows


def _value(path: Path, line: int, field: str, token: str, whole: bool = False) -> float:
    try:
        value = float(token)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InputFileError(f"{field} {token!r} is not a number", path=path, line=line, field=field)
    if whole and not value.is_integer():
        raise InputFileError(f"{field} {token!r} is not a whole number", path=path, line=line,
                             field=field)
    return value


def _link_row(path: Path, line: int, fields: list[str], n_nodes: int) -> list[float]:
    if len(fields) != len(_LINK_FIELDS):
        raise InputFileError(f"link row has {len(fields)} values, expected {len(_LINK_FIELDS)} "
                             f"({' '.join(_LINK_FIELDS)}) followed by ';'", path=path, line=line)
    values = []
    for name, token in zip(_LINK_FIELDS, fields):
        whole = name in ("init_node", "term_node", "link_type")
        values.append(_value(path, line, name, token, whole))
    for name, value in zip(_LINK_FIELDS[:2], values[:2]):
        if not 1 <= value <= n_nodes:
            raise InputFileError(f"{name} {value:g} is not a node: nodes are numbered 1 to "
                                 f"{n_nodes} (<NUMBER OF NODES>)", path=path, line=line, field=name)
    if values[2] <= 0:
        raise InputFileError(f"capacity must be > 0, got {values[2]:g}", path=path, line=line,
                             field="capacity")
    for k in (3, 4, 5, 6, 7):
        if values[k] < 0:
            raise InputFileError(f"{_LINK_FIELDS[k]} must be >= 0, got {values[k]:g}", path=path,
                                 line=line, field=_LINK_FIELDS[k])
    return values


def _link_ids(init: np.ndarray, term: np.ndarray) -> list[str]:
    """``"<init>-<term>"``, with ``":k"`` on every occurrence of a repeated pair."""
    base = [f"{a}-{b}" for a, b in zip(init, term)]
    counts = pd.Series(base).value_counts()
    repeated = set(counts.index[counts > 1])
    seen: dict[str, int] = {}
    out = []
    for key in base:
        if key in repeated:
            seen[key] = seen.get(key, 0) + 1
            key = f"{key}:{seen[key]}"
        out.append(key)
    return out


def _read_net(path: Path) -> tuple[dict[str, int], np.ndarray]:
    """Header values and the link matrix (one row of the ten TNTP fields per link)."""
    lines = _lines(path)
    meta, start = _metadata(path, lines)
    head = {key: _meta_count(path, meta, key) for key in
            ("NUMBER OF ZONES", "NUMBER OF NODES", "FIRST THRU NODE", "NUMBER OF LINKS")}
    if head["NUMBER OF ZONES"] > head["NUMBER OF NODES"]:
        raise InputFileError(f"<NUMBER OF ZONES> {head['NUMBER OF ZONES']} exceeds <NUMBER OF NODES> "
                             f"{head['NUMBER OF NODES']}: zones are the first nodes", path=path,
                             line=meta["NUMBER OF ZONES"][1], field="NUMBER OF ZONES")
    rows = _data_rows(path, lines, start)
    links = np.array([_link_row(path, line, fields, head["NUMBER OF NODES"]) for line, fields in rows],
                     dtype=np.float64).reshape(len(rows), len(_LINK_FIELDS))
    if len(rows) != head["NUMBER OF LINKS"]:
        raise InputFileError(f"the file has {len(rows)} link rows but <NUMBER OF LINKS> says "
                             f"{head['NUMBER OF LINKS']}", path=path,
                             line=meta["NUMBER OF LINKS"][1], field="NUMBER OF LINKS")
    return head, links


# ---------------------------------------------------------------------------- node file


def _read_nodes(path: Path, n_nodes: int) -> np.ndarray:
    """Coordinates of nodes 1..n_nodes as an (n_nodes, 2) array, NaN where the file has none."""
    lines = _lines(path)
    xy = np.full((n_nodes, 2), np.nan)
    header_done = False
    for i, raw in enumerate(lines):
        text = raw.split(";", 1)[0].strip()
        if not text or text.startswith("~") or text.startswith("<"):
            continue
        fields = text.split()
        if not header_done:
            header_done = True
            if not re.fullmatch(_NUMBER, fields[0]):  # a header such as "Node X Y ;"
                continue
        if len(fields) != 3:
            raise InputFileError(f"node row has {len(fields)} values, expected 3 (node X Y)",
                                 path=path, line=i + 1)
        node = _value(path, i + 1, "node", fields[0], whole=True)
        if not 1 <= node <= n_nodes:
            raise InputFileError(f"node {node:g} is not in the network (nodes 1 to {n_nodes})",
                                 path=path, line=i + 1, field="node")
        if not np.isnan(xy[int(node) - 1, 0]):
            raise InputFileError(f"node {node:g} has coordinates twice", path=path, line=i + 1,
                                 field="node")
        xy[int(node) - 1] = [_value(path, i + 1, "X", fields[1]), _value(path, i + 1, "Y", fields[2])]
    return xy


# ---------------------------------------------------------------------------- trips file


_Pairs = tuple[list[int], list[str], list[str], list[int], list[int]]


def _trip_pairs(path: Path, lines: list[str], start: int) -> _Pairs:
    """Origin, destination text, flow text, line number and origin line of every pair."""
    origins: list[int] = []
    dests: list[str] = []
    flows: list[str] = []
    where: list[int] = []
    origin_lines: list[int] = []
    origin, origin_line = None, 0
    for i in range(start, len(lines)):
        text = lines[i].strip()
        if not text or text.startswith("~"):
            continue
        match = _ORIGIN.fullmatch(text)
        if match:
            origin, origin_line = int(match.group(1)), i + 1
            continue
        found = _PAIR.findall(text)
        if _PAIR.sub("", text).strip() or origin is None:
            _bad_trip_line(path, i + 1, text, origin)
        origins.extend([origin] * len(found))
        dests.extend(d for d, _ in found)
        flows.extend(f for _, f in found)
        where.extend([i + 1] * len(found))
        origin_lines.extend([origin_line] * len(found))
    return origins, dests, flows, where, origin_lines


def _trip_arrays(lines: list[str], start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Origins, destinations and flows of a well-formed trip table, parsed block by block;
    None when some text is not ``destination : flow;`` (the slow path then names the line)."""
    body = _COMMENT_LINE.sub("", "\n".join(lines[start:]))
    parts = _ORIGIN_LINE.split(body)
    if parts[0].strip() or "_" in body:
        return None
    counts: list[int] = []
    dests: list[str] = []
    flows: list[str] = []
    for block in parts[2::2]:
        tokens = block.replace(":", " : ").replace(";", " ; ").split()
        n = len(tokens) // 4
        if len(tokens) != 4 * n or tokens[1::4].count(":") != n or tokens[3::4].count(";") != n:
            return None
        counts.append(n)
        dests += tokens[0::4]
        flows += tokens[2::4]
    try:
        d = np.array([int(t) for t in dests], dtype=np.int64)
        q = np.array([float(t) for t in flows], dtype=np.float64)
    except ValueError:
        return None
    if not np.isfinite(q).all():
        return None
    return np.repeat(np.array(parts[1::2], dtype=np.int64), counts), d, q


def _trip_faults(arrays: tuple[np.ndarray, np.ndarray, np.ndarray], n_zones: int) -> bool:
    """Whether any demand is negative, involves an unknown zone, or repeats a pair."""
    o, d, q = arrays
    bad = (o < 1) | (o > n_zones) | (d < 1) | (d > n_zones) | ~(q >= 0)
    return bool(bad.any()) or bool(pd.Series(o * (n_zones + 1) + d).duplicated().any())


def _bad_trip_line(path: Path, line: int, text: str, origin: int | None) -> NoReturn:
    """Raise the error that says what is wrong with one line of a trip table."""
    if origin is None:
        raise InputFileError("demand before the first 'Origin <zone>' line", path=path, line=line,
                             field="origin")
    if text.lower().startswith("origin"):
        raise InputFileError(f"{text!r} is not 'Origin <zone number>'", path=path, line=line,
                             field="origin")
    for dest, flow in _TOKEN_PAIR.findall(text):
        if not re.fullmatch(r"\d+", dest):
            raise InputFileError(f"destination {dest!r} is not a zone number", path=path, line=line,
                                 field="destination")
        if not re.fullmatch(_NUMBER, flow):
            raise InputFileError(f"flow {flow!r} to destination {dest} is not a number", path=path,
                                 line=line, field="flow")
    raise InputFileError(f"cannot read {text!r}: expected 'destination : flow;' pairs", path=path,
                         line=line, field="flow")


def _read_trips(path: Path, n_zones: int) -> tuple[pd.DataFrame, float, float | None]:
    """Non-zero demand (origin, destination, trips), the sum of all flows and the header total."""
    lines = _lines(path)
    meta, start = _metadata(path, lines)
    zones = _meta_count(path, meta, "NUMBER OF ZONES")
    if zones != n_zones:
        raise InputFileError(f"<NUMBER OF ZONES> is {zones} but the network file says {n_zones}",
                             path=path, line=meta["NUMBER OF ZONES"][1], field="NUMBER OF ZONES")
    fast = _trip_arrays(lines, start)
    if fast is None or _trip_faults(fast, n_zones):
        # Slow path, only for a faulty file: find the line and field of the first fault.
        origins, dests, flows, where, origin_lines = _trip_pairs(path, lines, start)
        fast = (np.array(origins, dtype=np.int64), np.array(dests, dtype=np.int64),
                np.array(flows, dtype=float))
        _check_trips(path, *fast, where, origin_lines, n_zones)
    o, d, q = fast
    total = _meta_number(path, meta, "TOTAL OD FLOW") if "TOTAL OD FLOW" in meta else None
    if total is not None:
        _check_total(path, meta, q, total)
    keep = q != 0
    ids = [f"{a}-{b}" for a, b in zip(o[keep], d[keep])]
    table = pd.DataFrame({"id": ids, "origin": o[keep].astype(str), "destination": d[keep].astype(str),
                          "trips_vph": q[keep]})
    return table, float(q.sum()), total


def _check_trips(path: Path, o: np.ndarray, d: np.ndarray, q: np.ndarray, where: list[int],
                 origin_lines: list[int], n_zones: int) -> None:
    checks = (
        ((o < 1) | (o > n_zones), "origin", origin_lines,
         lambda k: f"origin {o[k]} is not a zone (zones 1 to {n_zones})"),
        ((d < 1) | (d > n_zones), "destination", where,
         lambda k: f"destination {d[k]} is not a zone (zones 1 to {n_zones})"),
        (q < 0, "flow", where, lambda k: f"demand from {o[k]} to {d[k]} is negative ({q[k]:g})"),
    )
    for bad, field, lines, message in checks:
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise InputFileError(message(k), path=path, line=lines[k], field=field)
    key = pd.Series(o * (n_zones + 1) + d)
    dup = key.duplicated().to_numpy()
    if dup.any():
        k = int(np.flatnonzero(dup)[0])
        raise InputFileError(f"demand from {o[k]} to {d[k]} is given twice", path=path, line=where[k],
                             field="destination")


def _check_total(path: Path, meta: dict[str, tuple[str, int]], q: np.ndarray, total: float) -> None:
    """The flows must add up to <TOTAL OD FLOW> within 1e-6 relative or the printed rounding."""
    text, line = meta["TOTAL OD FLOW"]
    decimals = len(text.split(".", 1)[1]) if "." in text and "e" not in text.lower() else 0
    tolerance = max(1e-6 * abs(total), 0.5 * 10.0 ** -decimals)
    found = float(q.sum())
    if abs(found - total) > tolerance:
        raise InputFileError(f"the demand adds up to {found:.10g} but <TOTAL OD FLOW> says {text} "
                             f"(tolerance {tolerance:.3g})", path=path, line=line,
                             field="TOTAL OD FLOW")


# ---------------------------------------------------------------------------- assembly


def _units(length_unit: str, time_unit: str, speed_unit: str | None) -> tuple[float, float, float, str]:
    """Metres per length unit, seconds per time unit, m/s per speed unit, and the speed unit."""
    if length_unit not in LENGTH_UNITS:
        raise ValueError(f"length_unit {length_unit!r} is not one of {', '.join(LENGTH_UNITS)}")
    if time_unit not in TIME_UNITS:
        raise ValueError(f"time_unit {time_unit!r} is not one of {', '.join(TIME_UNITS)}")
    speed = speed_unit or f"{length_unit}/{time_unit}"
    speed = _SPEED_ALIASES.get(speed, speed)
    dist, _, per = speed.partition("/")
    if dist not in LENGTH_UNITS or per not in TIME_UNITS:
        raise ValueError(f"speed_unit {speed_unit!r} is not '<length>/<time>' with a length in "
                         f"{', '.join(LENGTH_UNITS)} and a time in {', '.join(TIME_UNITS)}")
    return LENGTH_UNITS[length_unit], TIME_UNITS[time_unit], LENGTH_UNITS[dist] / TIME_UNITS[per], speed


def _tables(links: np.ndarray, head: dict[str, int], xy: np.ndarray | None,
            factors: tuple[float, float, float, str]) -> dict[str, pd.DataFrame]:
    """The node, link and zone tables (with geometry where coordinates are known)."""
    metres, seconds, mps, _ = factors
    n_nodes, n_zones = head["NUMBER OF NODES"], head["NUMBER OF ZONES"]
    init, term = links[:, 0].astype(np.int64), links[:, 1].astype(np.int64)
    points = np.full(n_nodes, None, dtype=object)
    segments = np.full(len(links), None, dtype=object)
    if xy is not None:
        known = ~np.isnan(xy[:, 0])
        points[known] = shapely.points(xy[known])
        both = known[init - 1] & known[term - 1]
        ends = np.stack([xy[init[both] - 1], xy[term[both] - 1]], axis=1)
        segments[both] = shapely.linestrings(ends) if both.any() else []
    nodes = [str(k) for k in range(1, n_nodes + 1)]
    node = make_table("node", {"id": nodes}, geometry=points)
    link = make_table("link", pd.DataFrame({
        "id": _link_ids(init, term), "from_node": init.astype(str), "to_node": term.astype(str),
        "capacity_vph": links[:, 2], "length_m": links[:, 3] * metres,
        "free_flow_time_s": links[:, 4] * seconds, "bpr_alpha": links[:, 5], "bpr_beta": links[:, 6],
        "speed_limit_mps": links[:, 7] * mps, "toll": links[:, 8], "link_type": links[:, 9].astype(np.int64),
        "tntp_index": np.arange(1, len(links) + 1),
    }), geometry=segments)
    zone = make_table("zone", {"id": nodes[:n_zones], "centroid_node": nodes[:n_zones]},
                      geometry=points[:n_zones])
    return {"node": node, "link": link, "zone": zone}


def read_tntp(
    net_path: str | PathLike[str],
    trips_path: str | PathLike[str] | None = None,
    *,
    node_path: str | PathLike[str] | None = None,
    crs: Any = None,
    length_unit: str = "mi",
    time_unit: str = "min",
    speed_unit: str | None = None,
    name: str | None = None,
) -> Network:
    """Read a TNTP traffic problem (network, optional trips and node coordinates).

    Parameters
    ----------
    net_path : str or PathLike
        The network file (``*_net.tntp``).
    trips_path : str or PathLike, optional
        The trip table (``*_trips.tntp``); without it the ``trips`` table is empty.
    node_path : str or PathLike, optional
        Node coordinates (``*_node.tntp``: ``node X Y ;`` rows); without it nodes and links have
        no geometry.
    crs : optional
        CRS of the node coordinates (the files do not state it; SiouxFalls' are longitude and
        latitude, ChicagoSketch's Illinois State Plane feet per its README).
    length_unit : {"mi", "km", "ft", "m"}
        Unit of the ``length`` column (SiouxFalls, ChicagoSketch, EasternMassachusetts: miles;
        Anaheim: feet, per the problems' READMEs).
    time_unit : {"min", "h", "s"}
        Unit of ``free_flow_time`` (minutes in most problems; hours in EasternMassachusetts).
    speed_unit : str, optional
        Unit of ``speed`` as ``"<length>/<time>"`` (or ``"mph"``, ``"kph"``); default
        ``length_unit`` per ``time_unit``. A speed of 0 means unknown.
    name : str, optional
        Network name (default: the network file name without ``_net.tntp``).

    Returns
    -------
    Network
        Tables ``node``, ``link``, ``zone`` and ``trips`` (non-zero demand only, veh/h);
        ``settings["traffic"]`` holds ``first_thru_node``, ``source_format`` (``"tntp"``), the
        units and ``total_od_flow`` (the header's total, or the sum of the demand).

    Raises
    ------
    InputFileError
        A header count does not match the data, the demand does not add up to <TOTAL OD FLOW>
        (within 1e-6 relative or half a unit of its last printed digit), a link refers to a node
        above <NUMBER OF NODES>, a capacity is not > 0, a value is not a number, or demand is
        negative or involves an unknown zone. The message names the file, line and field.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "toy_net.tntp").write_text(
    ...     "<NUMBER OF ZONES> 2\\n<NUMBER OF NODES> 3\\n<FIRST THRU NODE> 1\\n"
    ...     "<NUMBER OF LINKS> 2\\n<END OF METADATA>\\n"
    ...     "~ init term capacity length fft b power speed toll type ;\\n"
    ...     "1 3 1000 0.5 1.5 0.15 4 0 0 1 ;\\n3 2 1000 0.5 1.5 0.15 4 0 0 1 ;\\n")
    >>> _ = (folder / "toy_trips.tntp").write_text(
    ...     "<NUMBER OF ZONES> 2\\n<TOTAL OD FLOW> 300.0\\n<END OF METADATA>\\n"
    ...     "Origin 1\\n 1 : 0.0; 2 : 300.0;\\n")
    >>> net = read_tntp(folder / "toy_net.tntp", folder / "toy_trips.tntp")
    >>> net.name, list(net.link.index), float(net.link.loc["1-3", "free_flow_time_s"])
    ('toy', ['1-3', '3-2'], 90.0)
    >>> net.trips[["origin", "destination", "trips_vph"]].values.tolist()
    [['1', '2', 300.0]]
    """
    net_path = Path(net_path)
    factors = _units(length_unit, time_unit, speed_unit)
    head, links = _read_net(net_path)
    xy = _read_nodes(Path(node_path), head["NUMBER OF NODES"]) if node_path is not None else None
    try:
        tables = _tables(links, head, xy, factors)
    except SchemaError as exc:
        raise InputFileError(str(exc), path=net_path) from None
    total = None
    if trips_path is not None:
        trips, found, total = _read_trips(Path(trips_path), head["NUMBER OF ZONES"])
        tables["trips"] = make_table("trips", trips)
        total = found if total is None else total
    settings = {"first_thru_node": head["FIRST THRU NODE"], "source_format": "tntp",
                "length_unit": length_unit, "time_unit": time_unit, "speed_unit": factors[3],
                "total_od_flow": total}
    stem = net_path.name.removesuffix(".tntp").removesuffix("_net")
    return Network(tables, crs=crs, settings={"traffic": settings}, name=name or stem)
