"""Rule-based controls (EPANET ``rules.c``): premises, THEN/ELSE actions and priorities.

Supported premises: ``SYSTEM TIME`` / ``CLOCKTIME`` (with EPANET's interval test for ``=``),
node ``LEVEL`` / ``PRESSURE`` / ``HEAD`` / ``DEMAND``, link ``STATUS`` / ``FLOW`` / ``SETTING``;
actions set a link ``STATUS`` (OPEN / CLOSED) or ``SETTING``. Premises combine left to right
with AND / OR as EPANET does; when two fired rules act on one link the higher priority wins.
Values are compared in the file's units with EPANET's tolerance 1e-3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twin.solvers.water import constants as C

SEC_PER_DAY = 86400
_REL = {"=": "EQ", "IS": "EQ", "<>": "NE", "NOT": "NE", "<": "LT", "BELOW": "LT", "<=": "LE",
        ">": "GT", "ABOVE": "GT", ">=": "GE"}
TOL = 1.0e-3


@dataclass
class Premise:
    """One IF / AND / OR clause."""

    logop: str
    kind: str          # "time", "clock", "node", "link"
    index: int
    attribute: str
    relop: str
    value: Any


@dataclass
class Action:
    """One THEN / ELSE clause."""

    link: int
    status: int | None   # C.OPEN / C.CLOSED or None
    setting: float | None


@dataclass
class Rule:
    """A compiled rule."""

    rule_id: str
    priority: float = 0.0
    premises: list = field(default_factory=list)
    then: list = field(default_factory=list)
    orelse: list = field(default_factory=list)


class Rules:
    """Compiled rules of a network; evaluated every rule time step during the EPS."""

    def __init__(self, rules: list[Rule], rulestep: int, elev_ucf: float, press_ucf: float, flow_ucf: float) -> None:
        self.rules = rules
        self.rulestep = max(int(rulestep), 1)
        self.ucf = {"LEVEL": elev_ucf, "HEAD": elev_ucf, "GRADE": elev_ucf, "PRESSURE": press_ucf,
                    "DEMAND": flow_ucf, "FLOW": flow_ucf}

    @property
    def n_rules(self) -> int:
        """Number of rules."""
        return len(self.rules)

    def rule_timestep(self, eng: Any, tstep: int) -> int:
        """Advance tanks in rule steps until a rule fires (EPANET ``ruletimestep``)."""
        tnow = eng.htime
        tmax = tnow + tstep
        dt = min(self.rulestep, tstep)
        dt1 = min(self.rulestep - tnow % self.rulestep, tstep)
        if dt1 == 0:
            dt1 = dt
        while True:
            eng.htime += dt1
            eng.tank_levels(dt1)
            if self.check(eng, dt1):
                break
            dt = min(dt, tmax - eng.htime)
            dt1 = dt
            if dt <= 0:
                break
        step = eng.htime - tnow
        eng.htime = tnow
        return step

    def check(self, eng: Any, dt: int) -> int:
        """Evaluate every rule at ``eng.htime``; apply the winning actions; count the changes."""
        actions: dict[int, tuple[float, Action]] = {}
        for rule in self.rules:
            fired = self._premises(eng, rule, dt)
            for a in (rule.then if fired else rule.orelse):
                if a.link not in actions or rule.priority > actions[a.link][0]:
                    actions[a.link] = (rule.priority, a)
        count = 0
        held = getattr(eng, "held", {})
        for k, (_, a) in actions.items():
            if k in held:
                continue
            s, v = eng.st.status[k], eng.st.setting[k]
            if a.status == C.OPEN and s <= C.CLOSED:
                eng.set_status(k, True)
            elif a.status == C.CLOSED and s > C.CLOSED:
                eng.set_status(k, False)
            elif a.setting is not None and abs(a.setting - v) > TOL:
                eng.set_setting(k, a.setting)
            else:
                continue
            count += 1
        return count

    def _premises(self, eng: Any, rule: Rule, dt: int) -> bool:
        result = True
        for p in rule.premises:
            if p.logop == "OR":
                if not result:
                    result = self._premise(eng, p, dt)
            else:
                if not result:
                    return False
                result = self._premise(eng, p, dt)
        return result

    def _premise(self, eng: Any, p: Premise, dt: int) -> bool:
        if p.kind in ("time", "clock"):
            return _check_time(eng, p, dt)
        x = self._value(eng, p)
        if p.attribute == "STATUS":
            is_open = x > C.CLOSED
            want = p.value == C.OPEN
            return (is_open == want) if p.relop == "EQ" else (is_open != want)
        v = p.value
        return {"EQ": abs(x - v) <= TOL, "NE": abs(x - v) >= TOL, "LT": x <= v + TOL, "LE": x <= v - TOL,
                "GT": x >= v - TOL, "GE": x >= v + TOL}[p.relop]

    def _value(self, eng: Any, p: Premise) -> float:
        st, net = eng.st, eng.m.net
        i = p.index
        if p.kind == "node":
            if p.attribute in ("LEVEL", "PRESSURE"):
                return (st.head[i] - net.el[i]) * self.ucf[p.attribute]
            if p.attribute in ("HEAD", "GRADE"):
                return st.head[i] * self.ucf["HEAD"]
            return st.ndem[i] * self.ucf["DEMAND"]
        if p.attribute == "STATUS":
            return float(st.status[i])
        if p.attribute == "FLOW":
            return st.flow[i] * self.ucf["FLOW"]
        return st.setting[i]


def _check_time(eng: Any, p: Premise, dt: int) -> bool:
    if p.kind == "time":
        t1, t2 = eng.htime - dt, eng.htime
    else:
        t1 = (eng.htime - dt + eng.tstart) % SEC_PER_DAY
        t2 = (eng.htime + eng.tstart) % SEC_PER_DAY
    x = int(p.value)
    r = p.relop
    if r == "LT":
        return t2 < x
    if r == "LE":
        return t2 <= x
    if r == "GT":
        return t2 > x
    if r == "GE":
        return t2 >= x
    inside = (x >= t1 or x <= t2) if t2 < t1 else (t1 <= x <= t2)
    return inside if r == "EQ" else not inside


def build_rules(table: Any, node_pos: dict, link_pos: dict, model: Any, settings: dict | None = None) -> Rules:
    """Compile the rule table (one row per clause, values in SI) against node and link positions.

    Raises
    ------
    ValueError
        A clause names an unknown asset or attribute (the message names the rule).
    """
    from twin.solvers.water.model import valve_setting
    from twin.units import epanet_units

    s = settings or {}
    u = epanet_units(s.get("flow_units", "GPM"), s.get("pressure_units"))
    f = model.factors
    elev = 1.0 / (f.length * u.length)      # internal ft -> file length units
    press = 1.0 / (f.pressure * u.pressure)
    flow = 1.0 / (f.flow * u.flow)
    rules: dict[str, Rule] = {}
    for _, row in (table.iterrows() if len(table) else []):
        rid = str(row["rule"])
        rule = rules.setdefault(rid, Rule(rid))
        _clause(rule, row, node_pos, link_pos, model, u, valve_setting)
    step = model.times.get("rule_timestep_s") or max(model.times.get("hydraulic_timestep_s", 3600) // 10, 1)
    return Rules(list(rules.values()), step, elev, press, flow)


def _clause(rule: Rule, row: Any, node_pos: dict, link_pos: dict, model: Any, u: Any, valve_setting: Any) -> None:
    kw = str(row["keyword"]).upper()
    if kw == "PRIORITY":
        rule.priority = float(row["value"])
        return
    obj = str(row.get("object") or "").upper()
    attr = str(row.get("attribute") or "").upper()
    oid = row.get("object_id")
    value = row.get("value")
    if kw == "THEN" or (kw == "AND" and rule.then and not rule.orelse) or kw == "ELSE" or \
            (kw == "AND" and rule.orelse):
        target = rule.orelse if kw == "ELSE" or (kw == "AND" and rule.orelse) else rule.then
        if oid not in link_pos:
            raise ValueError(f"rule {rule.rule_id!r}: unknown link {oid!r}")
        k = link_pos[oid]
        word = str(value).upper()
        if attr == "STATUS":
            target.append(Action(k, C.OPEN if word == "OPEN" else C.CLOSED, None))
        else:
            target.append(Action(k, None, valve_setting(int(model.net.ltype[k]), float(value), model.factors)))
        return
    relop = _REL.get(str(row.get("relation") or "").upper())
    if relop is None:
        raise ValueError(f"rule {rule.rule_id!r}: unknown relation {row.get('relation')!r}")
    logop = "OR" if kw == "OR" else "AND"
    if obj == "SYSTEM":
        kind = "time" if attr == "TIME" else "clock"
        rule.premises.append(Premise(logop, kind, -1, attr, relop, float(value)))
        return
    if obj in ("NODE", "JUNCTION", "TANK", "RESERVOIR"):
        if oid not in node_pos:
            raise ValueError(f"rule {rule.rule_id!r}: unknown node {oid!r}")
        v = float(value) / (u.length if attr in ("LEVEL", "HEAD", "GRADE") else
                            u.pressure if attr == "PRESSURE" else u.flow)
        rule.premises.append(Premise(logop, "node", node_pos[oid], attr, relop, v))
        return
    if oid not in link_pos:
        raise ValueError(f"rule {rule.rule_id!r}: unknown link {oid!r}")
    v: Any = (C.OPEN if str(value).upper() == "OPEN" else C.CLOSED) if attr == "STATUS" else float(value)
    if attr == "FLOW":
        v = v / u.flow
    rule.premises.append(Premise(logop, "link", link_pos[oid], attr, relop, v))
