"""[CONTROLS] and [RULES] <-> the ``control`` and ``rule`` tables.

Simple controls become one ``control`` row per line (id ``"1"``, ``"2"``, ... in file order):
the action as ``status`` (OPEN/CLOSED) or ``setting`` (SI: m of head for PRV/PSV/PBV, m3/s
for FCV, as written for pumps, TCV, PCV), the condition ``TIME``/``CLOCKTIME`` (``time_s``,
EPANET's whole seconds; clock times modulo one day) or ``BELOW``/``ABOVE`` (``node`` and
``threshold``: m of pressure head for a junction, m of level for a tank or reservoir).
A comment line ``;DISABLED: LINK ...`` is read as a disabled control (``enabled`` False),
which is also how a disabled control is written (EPANET skips it).

Rules become one ``rule`` row per clause (id ``"<rule>#<clause>"``): ``keyword`` IF, AND, OR,
THEN, ELSE or PRIORITY, ``object``/``object_id``/``attribute``/``relation`` as written (words
spelled out in full, upper case) and ``value`` as text: OPEN/CLOSED/ACTIVE, or a number in SI
(m, m3/s, s for TIME, CLOCKTIME, FILLTIME and DRAINTIME).
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import pandas as pd

from twin.errors import NetworkError
from twin.io.inp_sections import (
    InpFile, InpLine, SectionReader, format_number, format_si, keyword, parse_hours, tokenize,
)
from twin.io.inp_settings import clock
from twin.units import EpanetUnits

__all__ = ["LinkInfo", "control_lines", "read_controls", "read_rules", "rule_lines", "setting_quantity", "time_seconds"]

#: link id -> (kind, valve type or pipe status): ("pipe", "CV"), ("valve", "PRV"), ("pump", "")
LinkInfo = dict[str, tuple[str, str]]

_OBJECTS = (("JUNC", "JUNCTION"), ("RESE", "RESERVOIR"), ("TANK", "TANK"), ("PIPE", "PIPE"), ("PUMP", "PUMP"),
            ("VALV", "VALVE"), ("NODE", "NODE"), ("LINK", "LINK"), ("SYST", "SYSTEM"))
_NODE_OBJECTS = ("JUNCTION", "RESERVOIR", "TANK", "NODE")
_VARIABLES = (("DEMA", "DEMAND"), ("HEAD", "HEAD"), ("GRAD", "GRADE"), ("LEVE", "LEVEL"), ("PRES", "PRESSURE"),
              ("FLOW", "FLOW"), ("STAT", "STATUS"), ("SETT", "SETTING"), ("POWE", "POWER"), ("TIME", "TIME"),
              ("CLOC", "CLOCKTIME"), ("FILL", "FILLTIME"), ("DRAI", "DRAINTIME"))
_NODE_VARIABLES = ("DEMAND", "HEAD", "GRADE", "LEVEL", "PRESSURE", "FILLTIME", "DRAINTIME")
_RELATIONS = ("=", "<>", "<=", ">=", "<", ">", "IS", "NOT", "BELOW", "ABOVE")
_STATUS = ("OPEN", "CLOSED", "ACTIVE")
_DISABLED = "DISABLED:"


def _match(word: str, table: Iterable[tuple[str, str]]) -> str | None:
    return next((name for stem, name in table if keyword(word, stem)), None)


def setting_quantity(kind: str, subtype: str) -> str:
    """The quantity of a link setting: pressure for PRV/PSV/PBV, flow for FCV, else none.

    Examples
    --------
    >>> setting_quantity("valve", "PRV"), setting_quantity("valve", "FCV"), setting_quantity("pump", "")
    ('pressure', 'flow', 'none')
    """
    if kind == "valve" and subtype in ("PRV", "PSV", "PBV"):
        return "pressure"
    return "flow" if kind == "valve" and subtype == "FCV" else "none"


# ============================================================================ controls


def read_controls(inp: InpFile, links: LinkInfo, nodes: dict[str, str], units: EpanetUnits) -> list[dict[str, Any]]:
    """[CONTROLS] as ``control`` rows (SI), in file order.

    Raises
    ------
    InputFileError
        A malformed control, an unknown link or node, a control on a check valve.

    Examples
    --------
    >>> from twin.io.inp_sections import read_sections
    >>> from twin.units import epanet_units
    >>> inp = read_sections("tests/data/water/Net1.inp")
    >>> rows = read_controls(inp, {"9": ("pump", "")}, {"2": "tank"}, epanet_units("GPM"))
    >>> rows[0]["condition"], round(rows[0]["threshold"], 3)  # 110 ft of tank level
    ('BELOW', 33.528)
    """
    sec = SectionReader(inp.path, "CONTROLS")
    rows: list[dict[str, Any]] = []
    for line in inp.lines("CONTROLS"):
        enabled = bool(line.tokens)
        if not enabled:
            if not line.comment.upper().startswith(_DISABLED):
                continue
            tokens, text, _ = tokenize(line.comment[len(_DISABLED):])
            line = InpLine(line.number, tokens, text, "")
        row = _control(sec, line, links, nodes, units)
        row["enabled"] = enabled
        row["id"] = str(len(rows) + 1)
        rows.append(row)
    return rows


def _control(sec: SectionReader, line: InpLine, links: LinkInfo, nodes: dict[str, str],
             units: EpanetUnits) -> dict[str, Any]:
    tok = line.tokens
    form = "LINK id OPEN|CLOSED|setting IF NODE id ABOVE|BELOW value, or ... AT TIME|CLOCKTIME time [units]"
    sec.need(line, 6, form)
    if not keyword(tok[0], "LINK") or tok[3].upper() not in ("IF", "AT"):
        raise sec.error(line, f"expected: {form}")
    if tok[1] not in links:
        raise sec.error(line, f"link {tok[1]!r} is not defined")
    kind, subtype = links[tok[1]]
    if kind == "pipe" and subtype == "CV":
        raise sec.error(line, f"link {tok[1]!r} is a check valve, which a control cannot operate")
    row: dict[str, Any] = {"link": tok[1], **_control_action(sec, line, kind, subtype, units)}
    if keyword(tok[4], "TIME") or keyword(tok[4], "CLOC"):
        seconds = time_seconds(tok[5], tok[6] if len(tok) > 6 else "", truncate=True)
        if seconds is None:
            raise sec.error(line, f"invalid time {' '.join(tok[5:7])!r}")
        clocktime = keyword(tok[4], "CLOC")
        row.update(condition="CLOCKTIME" if clocktime else "TIME", time_s=seconds % 86400 if clocktime else seconds)
        return row
    sec.need(line, 8, form)
    if tok[5] not in nodes:
        raise sec.error(line, f"node {tok[5]!r} is not defined")
    condition = "BELOW" if keyword(tok[6], "BELO") else ("ABOVE" if keyword(tok[6], "ABOV") else None)
    if condition is None:
        raise sec.error(line, f"expected BELOW or ABOVE, got {tok[6]!r}")
    value = sec.number(line, 7, "level or pressure")
    quantity = "pressure" if nodes[tok[5]] == "junction" else "length"
    row.update(condition=condition, node=tok[5], threshold=units.to_si(quantity, value))
    return row


def _control_action(sec: SectionReader, line: InpLine, kind: str, subtype: str,
                    units: EpanetUnits) -> dict[str, Any]:
    word = line.tokens[2]
    if keyword(word, "OPEN") or keyword(word, "CLOSED"):
        return {"status": "OPEN" if keyword(word, "OPEN") else "CLOSED"}
    if kind == "valve" and subtype == "GPV":
        raise sec.error(line, "a GPV can only be opened or closed by a control")
    value = sec.number(line, 2, "control setting")
    if kind in ("pipe", "pump") and value < 0:
        raise sec.error(line, f"a {kind} setting must be >= 0, got {word!r}")
    if kind == "pipe":
        return {"status": "CLOSED" if value == 0 else "OPEN"}
    return {"setting": units.to_si(setting_quantity(kind, subtype), value)}


def time_seconds(value: str, unit: str, *, truncate: bool) -> float | None:
    """Seconds of a control (``truncate``: EPANET's whole seconds) or rule time; None if invalid.

    Examples
    --------
    >>> time_seconds("1:05", "", truncate=True), time_seconds("6", "AM", truncate=False)
    (3899.0, 21600.0)
    """
    hours = parse_hours(value, unit)
    if hours is None or hours < 0:
        return None
    if truncate:
        return float(int(3600.0 * hours))
    if unit.upper().startswith("SEC") and ":" not in value:
        return float(value)
    return hours * 3600.0


def _time_text(seconds: float, truncate: bool) -> str:
    """A time text that :func:`time_seconds` (and EPANET) reads back as ``seconds``."""
    hours = seconds / 3600.0
    candidates = [clock(seconds)] if float(seconds).is_integer() else []
    candidates += [format_number(hours), format_number(math.nextafter(hours, math.inf)),
                   f"{format_number(seconds)} SEC"]
    for text in candidates:
        value, _, unit = text.partition(" ")
        if time_seconds(value, unit, truncate=truncate) == seconds:
            return text
    return candidates[-1]


def control_lines(control: pd.DataFrame, links: LinkInfo, nodes: dict[str, str], units: EpanetUnits) -> list[str]:
    """[CONTROLS] lines for the ``control`` table (disabled controls as ``;DISABLED:`` comments).

    Examples
    --------
    >>> from twin.model.tables import make_table
    >>> from twin.units import epanet_units
    >>> table = make_table("control", [{"id": "1", "link": "P1", "status": "OPEN", "condition": "TIME",
    ...                                 "time_s": 3600.0}])
    >>> control_lines(table, {"P1": ("pipe", "OPEN")}, {}, epanet_units("LPS"))
    ['LINK P1 OPEN AT TIME 1:00:00']
    """
    lines = []
    for cid, row in control.iterrows():
        if row.link not in links:
            raise NetworkError(f"control {cid!r}: link {row.link!r} is not a pipe, pump or valve")
        kind, subtype = links[row.link]
        if isinstance(row.setting, float) and not math.isnan(row.setting):
            action = format_si(row.setting, units.factor(setting_quantity(kind, subtype)))
        elif row.status in ("OPEN", "CLOSED"):
            action = row.status
        else:
            raise NetworkError(f"control {cid!r}: needs a status OPEN/CLOSED or a setting")
        text = f"LINK {row.link} {action} " + _condition_text(cid, row, nodes, units)
        lines.append(text if row.enabled else f";{_DISABLED} {text}")
    return lines


def _condition_text(cid: Any, row: pd.Series, nodes: dict[str, str], units: EpanetUnits) -> str:
    if row.condition in ("TIME", "CLOCKTIME"):
        return f"AT {row.condition} {_time_text(float(row.time_s), truncate=True)}"
    if row.condition in ("BELOW", "ABOVE") and row.node in nodes:
        quantity = "pressure" if nodes[row.node] == "junction" else "length"
        return f"IF NODE {row.node} {row.condition} {format_si(row.threshold, units.factor(quantity))}"
    raise NetworkError(f"control {cid!r}: condition must be TIME, CLOCKTIME, BELOW or ABOVE (with a known node)")


# ============================================================================ rules


def read_rules(inp: InpFile, links: LinkInfo, nodes: dict[str, str], units: EpanetUnits) -> list[dict[str, Any]]:
    """[RULES] as ``rule`` rows, one per clause, in file order.

    Raises
    ------
    InputFileError
        A malformed or misplaced clause, an unknown object, a rule without a label.

    Examples
    --------
    >>> from twin.units import epanet_units
    >>> lines = [["RULE", "R1"], ["IF", "TANK", "T1", "LEVEL", "BELOW", "10"], ["THEN", "PUMP", "P1", "STATUS",
    ...          "IS", "OPEN"]]
    >>> inp = InpFile("x.inp", {"RULES": [InpLine(i, t, "", "") for i, t in enumerate(lines, 1)]})
    >>> [r["value"] for r in read_rules(inp, {"P1": ("pump", "")}, {"T1": "tank"}, epanet_units("GPM"))]
    ['3.048', 'OPEN']
    """
    sec = SectionReader(inp.path, "RULES")
    rows: list[dict[str, Any]] = []
    rule, state, clause = None, "", 0
    for line in inp.data("RULES"):
        word = line.tokens[0].upper()
        if word == "RULE":
            if len(line.tokens) != 2:
                raise sec.error(line, "expected: RULE <id>")
            rule, state, clause = line.tokens[1], "RULE", 0
            continue
        allowed = {"IF": ("RULE",), "AND": ("IF", "THEN", "ELSE"), "OR": ("IF",), "THEN": ("IF",),
                   "ELSE": ("THEN",), "PRIORITY": ("THEN", "ELSE")}
        if word not in allowed:
            raise sec.error(line, f"unknown rule keyword {line.tokens[0]!r}")
        if state not in allowed[word] or rule is None:
            raise sec.error(line, f"misplaced {word} clause" + (f" in rule {rule!r}" if rule else ""))
        if word == "PRIORITY":
            row = {"value": format_number(sec.number(line, 1, "priority"))}
        elif word in ("IF", "OR") or (word == "AND" and state == "IF"):
            row = _premise(sec, line, links, nodes, units)
        else:
            row = _action(sec, line, links, units)
        state = word if word != "AND" and word != "OR" else state
        rows.append({"id": f"{rule}#{clause}", "rule": rule, "clause": clause, "keyword": word, **row})
        clause += 1
    return rows


def _premise(sec: SectionReader, line: InpLine, links: LinkInfo, nodes: dict[str, str],
             units: EpanetUnits) -> dict[str, Any]:
    tok = line.tokens
    if len(tok) not in (5, 6):
        raise sec.error(line, "expected: IF|AND|OR <object> <id> <attribute> <relation> <value>")
    obj = _match(tok[1], _OBJECTS)
    system = obj == "SYSTEM"
    m = 2 if system else 3
    attr = _match(tok[m], _VARIABLES)
    if obj is None or attr is None:
        raise sec.error(line, f"unknown object or attribute in {' '.join(tok[1:m + 1])!r}")
    relation = next((r for r in _RELATIONS if tok[m + 1].upper().startswith(r)), None)
    if relation is None:
        raise sec.error(line, f"unknown relation {tok[m + 1]!r}; expected one of {' '.join(_RELATIONS)}")
    subtype = ("", "")
    if system:
        if attr not in ("DEMAND", "TIME", "CLOCKTIME"):
            raise sec.error(line, f"SYSTEM has no attribute {attr}; expected DEMAND, TIME or CLOCKTIME")
    elif obj in _NODE_OBJECTS:
        if tok[2] not in nodes or attr not in _NODE_VARIABLES:
            raise sec.error(line, f"node {tok[2]!r} is not defined" if tok[2] not in nodes
                            else f"a node has no attribute {attr}")
        if attr in ("FILLTIME", "DRAINTIME") and nodes[tok[2]] == "junction":
            raise sec.error(line, f"{attr} applies to tanks, {tok[2]!r} is a junction")
        subtype = ("node", nodes[tok[2]])
    else:
        if tok[2] not in links or attr not in ("FLOW", "STATUS", "SETTING"):
            raise sec.error(line, f"link {tok[2]!r} is not defined" if tok[2] not in links
                            else f"a link has no attribute {attr}")
        subtype = links[tok[2]]
    value = _premise_value(sec, line, attr, subtype, units)
    return {"object": obj, "object_id": None if system else tok[2], "attribute": attr, "relation": relation,
            "value": value}


def _premise_value(sec: SectionReader, line: InpLine, attr: str, subtype: tuple[str, str],
                   units: EpanetUnits) -> str:
    tok = line.tokens
    if attr in ("TIME", "CLOCKTIME"):
        unit = tok[-1] if len(tok) == 6 else ""
        text = tok[-2] if len(tok) == 6 else tok[-1]
        seconds = time_seconds(text, unit, truncate=False)
        if seconds is None:
            raise sec.error(line, f"invalid time {' '.join(tok[-2:])!r}")
        return format_number(seconds)
    status = next((s for s in _STATUS if keyword(tok[-1], s)), None)
    if status is not None:
        return status
    value = sec.number(line, len(tok) - 1, "value")
    if attr in ("FILLTIME", "DRAINTIME"):
        return format_number(value * 3600.0)
    quantity = {"DEMAND": "flow", "FLOW": "flow", "HEAD": "length", "GRADE": "length", "LEVEL": "length",
                "PRESSURE": "pressure"}.get(attr)
    if attr == "SETTING":
        quantity = setting_quantity(*subtype)
    return format_number(units.to_si(quantity or "none", value))


def _action(sec: SectionReader, line: InpLine, links: LinkInfo, units: EpanetUnits) -> dict[str, Any]:
    tok = line.tokens
    if len(tok) != 6:
        raise sec.error(line, "expected: THEN|ELSE|AND <link object> <id> STATUS|SETTING IS <value>")
    obj = _match(tok[1], _OBJECTS)
    attr = _match(tok[3], _VARIABLES)
    if obj not in ("LINK", "PIPE", "PUMP", "VALVE") or attr not in ("STATUS", "SETTING"):
        raise sec.error(line, "an action sets the STATUS or SETTING of a LINK, PIPE, PUMP or VALVE")
    if tok[2] not in links:
        raise sec.error(line, f"link {tok[2]!r} is not defined")
    kind, subtype = links[tok[2]]
    if kind == "pipe" and subtype == "CV":
        raise sec.error(line, f"link {tok[2]!r} is a check valve, which a rule cannot operate")
    status = next((s for s in _STATUS if keyword(tok[5], s)), None)
    if status is None:
        number = sec.number(line, 5, "setting", minimum=0.0)
        if kind == "valve" and subtype == "GPV":
            raise sec.error(line, "a GPV has no numeric setting")
        if kind == "pipe":
            attr, status = "STATUS", ("CLOSED" if number == 0 else "OPEN")
    value = status or format_number(units.to_si(setting_quantity(kind, subtype), number))
    relation = "IS" if tok[4].upper() == "IS" else tok[4].upper()
    return {"object": obj, "object_id": tok[2], "attribute": attr, "relation": relation, "value": value}


def rule_lines(rule: pd.DataFrame, links: LinkInfo, nodes: dict[str, str], units: EpanetUnits) -> list[str]:
    """[RULES] lines for the ``rule`` table (values converted back to the file's units).

    Examples
    --------
    >>> from twin.model.tables import make_table
    >>> from twin.units import epanet_units
    >>> table = make_table("rule", [
    ...     {"id": "R1#0", "rule": "R1", "clause": 0, "keyword": "IF", "object": "SYSTEM", "attribute": "CLOCKTIME",
    ...      "relation": ">=", "value": "21600"},
    ...     {"id": "R1#1", "rule": "R1", "clause": 1, "keyword": "THEN", "object": "PIPE", "object_id": "P1",
    ...      "attribute": "STATUS", "relation": "IS", "value": "CLOSED"}])
    >>> rule_lines(table, {"P1": ("pipe", "OPEN")}, {}, epanet_units("LPS"))
    ['RULE R1', 'IF SYSTEM CLOCKTIME >= 6:00:00', 'THEN PIPE P1 STATUS IS CLOSED']
    """
    lines: list[str] = []
    for name, group in rule.groupby("rule", sort=False):
        lines += ["", f"RULE {name}"]
        for rid, row in group.sort_values("clause", kind="stable").iterrows():
            if row.keyword == "PRIORITY":
                lines.append(f"PRIORITY {row.value}")
                continue
            parts = [row.keyword, row.object] + ([] if row.object == "SYSTEM" else [row.object_id])
            parts += [row.attribute, row.relation, _value_text(rid, row, links, nodes, units)]
            lines.append(" ".join(str(p) for p in parts))
    return lines[1:]


def _value_text(rid: Any, row: pd.Series, links: LinkInfo, nodes: dict[str, str], units: EpanetUnits) -> str:
    value = str(row.value)
    if value.upper() in _STATUS:
        return value.upper()
    try:
        number = float(value)
    except ValueError:
        raise NetworkError(f"rule clause {rid!r}: value {value!r} is neither a status nor a number") from None
    attr = row.attribute
    if attr in ("TIME", "CLOCKTIME"):
        return _time_text(number, truncate=False)
    if attr in ("FILLTIME", "DRAINTIME"):
        return format_si(number, 3600.0)
    if attr == "SETTING":
        if row.object_id not in links:
            raise NetworkError(f"rule clause {rid!r}: link {row.object_id!r} is not defined")
        return format_si(number, units.factor(setting_quantity(*links[row.object_id])))
    quantity = {"DEMAND": "flow", "FLOW": "flow", "HEAD": "length", "GRADE": "length", "LEVEL": "length",
                "PRESSURE": "pressure"}.get(attr, "none")
    return format_si(number, units.factor(quantity))
