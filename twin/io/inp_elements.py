"""Parsers of the .inp sections that describe network elements, into row dictionaries in SI.

:class:`ElementReader` keeps the rows of each table while the sections are read in dependency
order (patterns and curves, then nodes, links, and the sections that modify them: [DEMANDS],
[STATUS], [EMITTERS], [QUALITY], [MIXING], [REACTIONS], [ENERGY], [LEAKAGE], [TAGS]).
Each method mirrors EPANET's own parser (``input3.c``) and raises :class:`InputFileError` where
EPANET reports an input error; it is stricter on a few malformed lines EPANET lets pass
(a junction without elevation, a pipe without length, diameter and roughness, a pump without
a curve or power, a coordinate that is not a number).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twin.io.inp_sections import InpFile, InpLine, SectionReader, id_range, keyword
from twin.io.inp_settings import emitter_factor, wall_factor
from twin.units import EpanetUnits

__all__ = ["CURVE_QUANTITIES", "ElementReader", "RawCurve"]

#: (x, y) quantity of each curve type, for unit conversion.
CURVE_QUANTITIES: dict[str, tuple[str, str]] = {
    "HEAD": ("flow", "length"), "EFFICIENCY": ("flow", "none"), "VOLUME": ("length", "volume"),
    "HEADLOSS": ("flow", "length"), "VALVE": ("none", "none"), "GENERIC": ("none", "none"),
}
_COMMENT_TYPES = {"PUMP": "HEAD", "HEAD": "HEAD", "EFFICIENCY": "EFFICIENCY", "EFFIC": "EFFICIENCY",
                  "VOLUME": "VOLUME", "HEADLOSS": "HEADLOSS", "VALVE": "VALVE", "GENERIC": "GENERIC"}
_VALVE_TYPES = ("PRV", "PSV", "PBV", "FCV", "TCV", "GPV", "PCV")
_MIXING = (("MIX", "MIXED"), ("2C", "2COMP"), ("FIFO", "FIFO"), ("LIFO", "LIFO"))
_MAXID = 31  # EPANET keeps at most 31 characters of a demand category name


@dataclass
class RawCurve:
    """A curve's points in file units, the type its comment announces and where it starts."""

    points: list[tuple[float, float]]
    comment_type: str | None
    line: int


@dataclass
class ElementReader:
    """Rows of the water tables, filled section by section (see module docstring)."""

    inp: InpFile
    units: EpanetUnits
    settings: dict[str, Any]
    patterns: dict[str, list[float]]
    curves: dict[str, RawCurve]
    nodes: dict[str, str] = field(default_factory=dict)            # id -> junction/reservoir/tank
    links: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (kind, CV/type)
    rows: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {
        k: {} for k in ("junction", "reservoir", "tank", "pipe", "pump", "valve")})
    demands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    curve_use: dict[str, tuple[str, int]] = field(default_factory=dict)
    tank_lines: dict[str, InpLine] = field(default_factory=dict)

    # ------------------------------------------------------------------ helpers
    def section(self, name: str) -> SectionReader:
        """A :class:`SectionReader` for one section of this file."""
        return SectionReader(self.inp.path, name)

    def _pattern(self, sec: SectionReader, line: InpLine, index: int) -> str | None:
        if index >= len(line.tokens):
            return None
        pid = line.tokens[index]
        if pid not in self.patterns:
            raise sec.error(line, f"pattern {pid!r} is not defined in [PATTERNS]")
        return pid

    def _curve(self, sec: SectionReader, line: InpLine, index: int, kind: str) -> str:
        cid = line.tokens[index]
        if cid not in self.curves:
            raise sec.error(line, f"curve {cid!r} is not defined in [CURVES]")
        used = self.curve_use.get(cid)
        if used is not None and used[0] != kind:
            raise sec.error(line, f"curve {cid!r} is used as a {kind} curve here and as a {used[0]} curve on "
                                  f"line {used[1]}")
        self.curve_use.setdefault(cid, (kind, line.number))
        return cid

    def _new_id(self, sec: SectionReader, line: InpLine, table: dict[str, Any], what: str) -> str:
        aid = line.tokens[0]
        if aid in table:
            raise sec.error(line, f"{what} id {aid!r} is already used by another {what}")
        return aid

    def _node(self, sec: SectionReader, line: InpLine, index: int) -> str:
        nid = line.tokens[index]
        if nid not in self.nodes:
            raise sec.error(line, f"node {nid!r} is not defined")
        return nid

    def _ends(self, sec: SectionReader, line: InpLine) -> tuple[str, str]:
        a, b = self._node(sec, line, 1), self._node(sec, line, 2)
        if a == b:
            raise sec.error(line, f"link {line.tokens[0]!r} starts and ends at the same node {a!r}")
        return a, b

    # ------------------------------------------------------------------ nodes
    def read_nodes(self) -> None:
        """[JUNCTIONS], [RESERVOIRS], [TANKS]."""
        for name, parse in (("JUNCTIONS", self._junction), ("RESERVOIRS", self._reservoir),
                            ("TANKS", self._tank)):
            sec = self.section(name)
            for line in self.inp.data(name):
                parse(sec, line)

    def _junction(self, sec: SectionReader, line: InpLine) -> None:
        sec.need(line, 2, "id elevation [demand] [pattern]")
        jid = self._new_id(sec, line, self.nodes, "node")
        u = self.units
        elevation = sec.number(line, 1, "elevation")
        demand = sec.number(line, 2, "demand") if len(line.tokens) > 2 else 0.0
        self.nodes[jid] = "junction"
        self.rows["junction"][jid] = {"id": jid, "elevation_m": u.to_si("length", elevation),
                                      "emitter_coefficient": 0.0, "initial_quality": 0.0}
        self.demands[jid] = [{"junction": jid, "base_demand_m3s": u.to_si("flow", demand),
                              "pattern": self._pattern(sec, line, 3), "category": None, "primary": True}]

    def _reservoir(self, sec: SectionReader, line: InpLine) -> None:
        sec.need(line, 2, "id head [pattern]")
        rid = self._new_id(sec, line, self.nodes, "node")
        head = sec.number(line, 1, "head")
        self.nodes[rid] = "reservoir"
        self.rows["reservoir"][rid] = {"id": rid, "head_m": self.units.to_si("length", head),
                                       "head_pattern": self._pattern(sec, line, 2), "initial_quality": 0.0}

    def _tank(self, sec: SectionReader, line: InpLine) -> None:
        form = "id elevation initlevel minlevel maxlevel diameter [minvolume] [volumecurve] [overflow]"
        sec.need(line, 6, form)
        tid = self._new_id(sec, line, self.nodes, "node")
        tok, u = line.tokens, self.units
        values = [sec.number(line, i, what, minimum=0.0) for i, what in
                  ((2, "initial level"), (3, "minimum level"), (4, "maximum level"), (5, "diameter"))]
        init, low, high, diameter = values
        minvol = sec.number(line, 6, "minimum volume", minimum=0.0) if len(tok) > 6 else 0.0
        curve = None
        if len(tok) > 7 and tok[7] != "*":
            curve = self._curve(sec, line, 7, "VOLUME")
        overflow = False
        if len(tok) > 8:
            if tok[8].upper() not in ("YES", "NO"):
                raise sec.error(line, f"overflow must be YES or NO, got {tok[8]!r}")
            overflow = tok[8].upper() == "YES"
        if diameter == 0:
            raise sec.error(line, f"tank {tid!r}: diameter must be > 0, also with a volume curve (EPANET "
                                  "treats a tank of diameter 0 as a reservoir)")
        if init > high or low > high or init < low:
            raise sec.error(line, f"tank {tid!r}: levels must satisfy minimum <= initial <= maximum")
        self.nodes[tid] = "tank"
        self.tank_lines[tid] = line
        self.rows["tank"][tid] = {
            "id": tid, "elevation_m": u.to_si("length", sec.number(line, 1, "elevation")),
            "initial_level_m": u.to_si("length", init), "min_level_m": u.to_si("length", low),
            "max_level_m": u.to_si("length", high), "diameter_m": u.to_si("length", diameter),
            "min_volume_m3": u.to_si("volume", minvol), "volume_curve": curve, "overflow": overflow,
            "initial_quality": 0.0}

    # ------------------------------------------------------------------ links
    def read_links(self) -> None:
        """[PIPES], [PUMPS], [VALVES]."""
        for name, parse in (("PIPES", self._pipe), ("PUMPS", self._pump), ("VALVES", self._valve)):
            sec = self.section(name)
            for line in self.inp.data(name):
                parse(sec, line)

    def _pipe(self, sec: SectionReader, line: InpLine) -> None:
        sec.need(line, 6, "id node1 node2 length diameter roughness [minorloss] [OPEN|CLOSED|CV]")
        pid = self._new_id(sec, line, self.links, "link")
        start, end = self._ends(sec, line)
        tok, u = line.tokens, self.units
        length = sec.number(line, 3, "length", positive=True)
        diameter = sec.number(line, 4, "diameter", positive=True)
        rough = sec.number(line, 5, "roughness", positive=True)
        minor, status = 0.0, "OPEN"
        if len(tok) > 6:
            status_at = 7 if len(tok) > 7 else (6 if to_status(tok[6]) else None)
            if status_at == 7 or status_at is None:
                minor = sec.number(line, 6, "minor loss coefficient", minimum=0.0)
            if status_at is not None:
                status = to_status(tok[status_at]) or ""
                if status not in ("OPEN", "CLOSED", "CV"):
                    raise sec.error(line, f"pipe status must be OPEN, CLOSED or CV, got {tok[status_at]!r}")
        if self.settings["headloss"] == "D-W":
            rough = u.to_si("dw_roughness", rough)
        self.links[pid] = ("pipe", status)
        self.rows["pipe"][pid] = {"id": pid, "start_node": start, "end_node": end,
                                  "length_m": u.to_si("length", length), "diameter_m": u.to_si("diameter", diameter),
                                  "roughness": rough, "minor_loss": minor, "initial_status": status,
                                  "bulk_coeff": None, "wall_coeff": None}

    def _pump(self, sec: SectionReader, line: InpLine) -> None:
        sec.need(line, 5, "id node1 node2 HEAD curve | POWER value [SPEED value] [PATTERN id]")
        pid = self._new_id(sec, line, self.links, "link")
        start, end = self._ends(sec, line)
        tok = line.tokens
        row: dict[str, Any] = {"id": pid, "start_node": start, "end_node": end, "head_curve": None,
                               "power_kw": None, "speed": 1.0, "speed_pattern": None, "initial_status": "OPEN",
                               "efficiency_curve": None, "energy_price": None, "price_pattern": None}
        if len(tok) % 2 == 0:
            raise sec.error(line, f"keyword {tok[-1]!r} has no value")
        for m in range(4, len(tok), 2):
            word = tok[m - 1]
            if keyword(word, "POWE"):
                row["power_kw"] = self.units.to_si("power", sec.number(line, m, "power", positive=True))
            elif keyword(word, "HEAD"):
                row["head_curve"] = self._curve(sec, line, m, "HEAD")
            elif keyword(word, "PATT"):
                row["speed_pattern"] = self._pattern(sec, line, m)
            elif keyword(word, "SPEE"):
                row["speed"] = sec.number(line, m, "speed", minimum=0.0)
            else:
                raise sec.error(line, f"unknown pump keyword {word!r}; expected HEAD, POWER, SPEED or PATTERN")
        if row["head_curve"] is None and row["power_kw"] is None:
            raise sec.error(line, f"pump {pid!r} needs a HEAD curve or a POWER")
        self.links[pid] = ("pump", "")
        self.rows["pump"][pid] = row

    def _valve(self, sec: SectionReader, line: InpLine) -> None:
        sec.need(line, 5, "id node1 node2 diameter type [setting] [minorloss] [curve (PCV)]")
        vid = self._new_id(sec, line, self.links, "link")
        start, end = self._ends(sec, line)
        tok, u = line.tokens, self.units
        vtype = next((t for t in _VALVE_TYPES if tok[4].upper().startswith(t)), None)
        if vtype is None:
            raise sec.error(line, f"unknown valve type {tok[4]!r}; expected one of {', '.join(_VALVE_TYPES)}")
        if vtype in ("PRV", "PSV", "FCV") and (self.nodes[start] != "junction" or self.nodes[end] != "junction"):
            raise sec.error(line, f"a {vtype} cannot be connected to a tank or reservoir")
        diameter = sec.number(line, 3, "diameter", positive=True)
        setting, curve = 0.0, None
        if len(tok) > 5 and vtype == "GPV":
            curve = self._curve(sec, line, 5, "HEADLOSS")
        elif len(tok) > 5:
            setting = sec.number(line, 5, "setting")
        minor = sec.number(line, 6, "minor loss coefficient", minimum=0.0) if len(tok) > 6 else 0.0
        if len(tok) > 7 and vtype == "PCV":
            curve = self._curve(sec, line, 7, "VALVE")
            setting = min(setting, 100.0)
        quantity = "pressure" if vtype in ("PRV", "PSV", "PBV") else ("flow" if vtype == "FCV" else "none")
        self.links[vid] = ("valve", vtype)
        self.rows["valve"][vid] = {"id": vid, "start_node": start, "end_node": end,
                                   "diameter_m": u.to_si("diameter", diameter), "valve_type": vtype,
                                   "setting": u.to_si(quantity, setting), "curve": curve, "minor_loss": minor,
                                   "initial_status": "OPEN" if vtype == "GPV" else "ACTIVE"}

    # ------------------------------------------------------------------ modifiers
    def read_demands(self) -> None:
        """[DEMANDS]: the first line for a junction replaces its [JUNCTIONS] demand, later lines add."""
        sec = self.section("DEMANDS")
        for line in self.inp.data("DEMANDS"):
            sec.need(line, 2, "junction demand [pattern] [;category]")
            base = sec.number(line, 1, "demand")
            nid = self._node(sec, line, 0)
            if self.nodes[nid] != "junction":
                continue  # EPANET ignores demands on tanks and reservoirs
            row = {"junction": nid, "base_demand_m3s": self.units.to_si("flow", base),
                   "pattern": self._pattern(sec, line, 2), "category": line.comment[:_MAXID] or None,
                   "primary": False}
            rows = self.demands[nid]
            if rows and rows[0]["primary"]:
                rows[0] = row
            else:
                rows.append(row)

    def read_status(self) -> None:
        """[STATUS]: initial status of pipes, pumps and valves, or a pump speed / valve setting."""
        sec = self.section("STATUS")
        for line in self.inp.data("STATUS"):
            sec.need(line, 2, "link OPEN|CLOSED|value, or link1 link2 OPEN|CLOSED|value")
            word = line.tokens[-1]
            status = "OPEN" if keyword(word, "OPEN") else ("CLOSED" if keyword(word, "CLOSED") else None)
            value = None if status else sec.number(line, len(line.tokens) - 1, "status or setting", minimum=0.0)
            if len(line.tokens) == 2:
                lid = line.tokens[0]
                if lid not in self.links:
                    raise sec.error(line, f"link {lid!r} is not defined")
                kind, sub = self.links[lid]
                if kind == "pipe" and sub == "CV":
                    raise sec.error(line, f"the status of check valve {lid!r} cannot be changed")
                if sub == "GPV" and status is None:
                    raise sec.error(line, f"GPV {lid!r} takes OPEN or CLOSED, not a setting")
                targets = [lid]
            else:
                ids = list(self.links)
                targets = [i for i, ok in zip(ids, id_range(ids, line.tokens[0], line.tokens[1])) if ok]
            for lid in targets:
                self._change_status(lid, status, value)

    def _change_status(self, lid: str, status: str | None, value: float | None) -> None:
        kind, sub = self.links[lid]
        row = self.rows[kind][lid]
        if kind == "pipe" or sub == "GPV":
            if status is not None and sub != "CV":
                row["initial_status"] = status
                if kind == "pipe":
                    self.links[lid] = ("pipe", status)
        elif kind == "pump":
            speed = value if status is None else (1.0 if status == "OPEN" else 0.0)
            row["speed"] = speed
            row["initial_status"] = status or ("CLOSED" if speed == 0 else "OPEN")
        else:
            row["initial_status"] = status or "ACTIVE"
            if value is not None:
                quantity = "pressure" if sub in ("PRV", "PSV", "PBV") else ("flow" if sub == "FCV" else "none")
                row["setting"] = self.units.to_si(quantity, value)

    def read_emitters(self) -> None:
        """[EMITTERS]: junction emitter coefficients, in m3/s per m**exponent (see :func:`emitter_factor`)."""
        sec = self.section("EMITTERS")
        factor = emitter_factor(self.settings["emitter_exponent"], self.units)
        for line in self.inp.data("EMITTERS"):
            sec.need(line, 2, "junction coefficient")
            nid = self._node(sec, line, 0)
            value = sec.number(line, 1, "emitter coefficient", minimum=0.0)
            if self.nodes[nid] == "junction":
                self.rows["junction"][nid]["emitter_coefficient"] = value * factor

    def read_quality(self) -> None:
        """[QUALITY]: initial quality of a node or of a range of node ids."""
        sec = self.section("QUALITY")
        for line in self.inp.data("QUALITY"):
            tok = line.tokens
            if len(tok) < 2:
                continue
            value = sec.number(line, len(tok) - 1, "initial quality", minimum=0.0)
            if len(tok) == 2:
                targets = [self._node(sec, line, 0)]
            else:
                ids = list(self.nodes)
                targets = [i for i, ok in zip(ids, id_range(ids, tok[0], tok[1])) if ok]
            for nid in targets:
                self.rows[self.nodes[nid]][nid]["initial_quality"] = value

    def read_mixing(self) -> None:
        """[MIXING]: tank mixing model (extra tank columns ``mixing_model``, ``mixing_fraction``)."""
        sec = self.section("MIXING")
        for line in self.inp.data("MIXING"):
            tok = line.tokens
            if len(tok) < 2:
                continue
            nid = self._node(sec, line, 0)
            model = next((name for stem, name in _MIXING if keyword(tok[1], stem)), None)
            if model is None:
                raise sec.error(line, f"unknown mixing model {tok[1]!r}; expected MIXED, 2COMP, FIFO or LIFO")
            fraction = 1.0
            if model == "2COMP" and len(tok) == 3:
                fraction = sec.number(line, 2, "mixing fraction") or 1.0
            if self.nodes[nid] == "tank":
                self.rows["tank"][nid].update(mixing_model=model, mixing_fraction=fraction)

    def read_reactions(self) -> None:
        """[REACTIONS] BULK/WALL/TANK lines: per pipe and per tank reaction coefficients."""
        sec = self.section("REACTIONS")
        wall = wall_factor(self.settings["wall_order"], self.units)
        for line in self.inp.data("REACTIONS"):
            tok = line.tokens
            kind = next((k for k in ("BULK", "WALL", "TANK") if keyword(tok[0], k)), None)
            if kind is None or len(tok) < 3:
                continue
            value = sec.number(line, len(tok) - 1, "reaction coefficient")
            table = "tank" if kind == "TANK" else "pipe"
            pool = self.rows[table]
            ids = [tok[1]] if len(tok) == 3 else \
                [i for i, ok in zip(pool, id_range(list(pool), tok[1], tok[2])) if ok]
            for aid in ids:
                if aid in pool:
                    pool[aid]["wall_coeff" if kind == "WALL" else "bulk_coeff"] = \
                        value * wall if kind == "WALL" else value

    def read_pump_energy(self) -> None:
        """[ENERGY] PUMP lines: efficiency curve, energy price and price pattern of a pump."""
        sec = self.section("ENERGY")
        for line in self.inp.data("ENERGY"):
            tok = line.tokens
            if not keyword(tok[0], "PUMP"):
                continue
            sec.need(line, 4, "PUMP id PRICE|PATTERN|EFFIC value")
            if self.links.get(tok[1], ("",))[0] != "pump":
                raise sec.error(line, f"pump {tok[1]!r} is not defined")
            row, n = self.rows["pump"][tok[1]], len(tok)
            if keyword(tok[n - 2], "PRIC"):
                row["energy_price"] = sec.number(line, n - 1, "price", minimum=0.0)
            elif keyword(tok[n - 2], "PATT"):
                row["price_pattern"] = self._pattern(sec, line, n - 1)
            elif keyword(tok[n - 2], "EFFI"):
                row["efficiency_curve"] = self._curve(sec, line, n - 1, "EFFICIENCY")
            else:
                raise sec.error(line, f"unknown pump energy parameter {tok[n - 2]!r}")

    def read_leakage(self) -> None:
        """[LEAKAGE] (EPANET 2.3): pipe leak area (mm2 per 100 m) and expansion (mm2 per m of head)."""
        sec = self.section("LEAKAGE")
        for line in self.inp.data("LEAKAGE"):
            sec.need(line, 3, "pipe leak_area leak_expansion")
            if line.tokens[0] not in self.links:
                raise sec.error(line, f"link {line.tokens[0]!r} is not defined")
            area = sec.number(line, 1, "leak area", minimum=0.0)
            expansion = sec.number(line, 2, "leak expansion", minimum=0.0)
            row = self.rows["pipe"].get(line.tokens[0])
            if row is not None:
                row.update(leak_area_mm2_per_100m=area / self.units.length,
                           leak_expansion_mm2_per_m=expansion / self.units.length)

    def read_tags(self) -> None:
        """[TAGS]: a ``tag`` column on the tables of tagged nodes and links (unknown ids ignored)."""
        sec = self.section("TAGS")
        for line in self.inp.data("TAGS"):
            sec.need(line, 3, "NODE|LINK id tag")
            tok = line.tokens
            if keyword(tok[0], "NODE"):
                kind = self.nodes.get(tok[1])
            elif keyword(tok[0], "LINK"):
                kind = self.links[tok[1]][0] if tok[1] in self.links else None
            else:
                raise sec.error(line, f"expected NODE or LINK, got {tok[0]!r}")
            if kind is not None:
                self.rows[kind][tok[1]]["tag"] = tok[2]


def to_status(token: str) -> str | None:
    """OPEN, CLOSED or CV when the token spells one (EPANET's prefix match), else None.

    Examples
    --------
    >>> to_status("Open"), to_status("cv"), to_status("0.5")
    ('OPEN', 'CV', None)
    """
    for stem in ("CV", "CLOSED", "OPEN"):
        if keyword(token, stem):
            return stem
    return None


def read_patterns(inp: InpFile) -> dict[str, list[float]]:
    """[PATTERNS]: multipliers of each pattern (lines of one pattern are appended in order).

    Examples
    --------
    >>> from twin.io.inp_sections import read_sections
    >>> read_patterns(read_sections("tests/data/water/Net1.inp"))["1"][:3]
    [1.0, 1.2, 1.4]
    """
    sec = SectionReader(inp.path, "PATTERNS")
    out: dict[str, list[float]] = {}
    for line in inp.data("PATTERNS"):
        sec.need(line, 2, "id multiplier [multiplier ...]")
        out.setdefault(line.tokens[0], []).extend(
            sec.number(line, i, "multiplier") for i in range(1, len(line.tokens)))
    return out


def read_curves(inp: InpFile) -> dict[str, RawCurve]:
    """[CURVES]: points in file units and the type named by the comment line above each curve
    (``;PUMP:``, ``;EFFICIENCY:``, ``;VOLUME:``, ``;HEADLOSS:``, ``;VALVE:``, ``;GENERIC:``).

    Examples
    --------
    >>> from twin.io.inp_sections import read_sections
    >>> curve = read_curves(read_sections("tests/data/water/Net1.inp"))["1"]
    >>> curve.points, curve.comment_type
    ([(1500.0, 250.0)], 'HEAD')
    """
    sec = SectionReader(inp.path, "CURVES")
    out: dict[str, RawCurve] = {}
    pending: str | None = None
    for line in inp.lines("CURVES"):
        if not line.tokens:
            pending = line.comment
            continue
        sec.need(line, 3, "id x y")
        point = (sec.number(line, 1, "x value"), sec.number(line, 2, "y value"))
        curve = out.get(line.tokens[0])
        if curve is None:
            word = (pending or "").partition(":")[0].strip().upper() if pending and ":" in pending else ""
            curve = out[line.tokens[0]] = RawCurve([], _COMMENT_TYPES.get(word), line.number)
        curve.points.append(point)
        pending = None
    return out
