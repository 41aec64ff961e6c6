"""twin's .inp reader against the EPANET 2.3 toolkit (owa-epanet), value by value.

Each test network is opened by both. EPANET returns values in the file's own units (flow
units, ft or m, in or mm, psi or m, hp or kW, ft3 or m3; D-W roughness in millifeet or mm),
which are converted to SI with :mod:`twin.units` - from the units EPANET itself reports - and
compared with twin's tables at a relative tolerance of 1e-6 (``RTOL``). Ids, types, statuses,
references and counts must match exactly.

Every network is checked twice: as the original file, and as the file twin writes from it
(so the writer is validated against EPANET too).

Known, documented differences that are not compared:
* a valve whose [STATUS] is OPEN or CLOSED has no setting in EPANET (its setting is ignored);
  twin keeps the setting of its [VALVES] line;
* the diameter and minimum volume EPANET derives for a tank with a volume curve;
* the type of a curve EPANET reports as GENERIC (EPANET types only the curves it uses).

One EPANET 2.3.5 defect is asserted as it is: the POWER of a constant-power pump in an SI file
(kW, per the EPANET manual) is divided by 0.7457 twice, so EPANET reports - and simulates - a
pump of ``P / 0.7457`` kW (15 kW -> 20.115 kW; measured: a 15 kW pump lifting 50 L/s gives
41.04 m, i.e. 20.12 kW of water power). twin keeps the file's kW; US files (hp) agree exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from twin.io.inp import read_inp, write_inp
from twin.io.inp_settings import emitter_factor
from twin.model.network import Network
from twin.units import EPANET_KW_PER_HP, EpanetUnits, epanet_units

en = pytest.importorskip("epanet.toolkit")

WATER = Path(__file__).resolve().parents[1] / "data" / "water"
FILES = sorted(p.name for p in WATER.glob("*.inp"))
#: Relative tolerance of every numeric comparison.
RTOL = 1e-6
FLOW_CODES = ("CFS", "GPM", "MGD", "IMGD", "AFD", "LPS", "LPM", "MLD", "CMH", "CMD", "CMS")
PRESSURE_CODES = ("PSI", "KPA", "METERS", "BAR", "FEET")
VALVES = {en.PRV: "PRV", en.PSV: "PSV", en.PBV: "PBV", en.FCV: "FCV", en.TCV: "TCV", en.GPV: "GPV", en.PCV: "PCV"}
CURVE_TYPES = {en.VOLUME_CURVE: "VOLUME", en.PUMP_CURVE: "HEAD", en.EFFIC_CURVE: "EFFICIENCY",
               en.HLOSS_CURVE: "HEADLOSS", en.VALVE_CURVE: "VALVE"}
MISSING = -1e10  # EPANET's "no value"


class Case:
    """One network read by twin and opened by EPANET, with EPANET's unit factors.

    With ``written``, twin writes the network it read and both read that file back: the
    checks then cover the writer too (EPANET must understand the file as twin's tables say).
    """

    def __init__(self, name: str, tmp: Path, written: bool = False) -> None:
        path = WATER / name
        if written:
            write_inp(read_inp(path), tmp / name)
            path = tmp / name
        self.net: Network = read_inp(path)
        self.ph = en.createproject()
        en.open(self.ph, str(path), str(tmp / "report.rpt"), "")
        self.units: EpanetUnits = epanet_units(FLOW_CODES[en.getflowunits(self.ph)],
                                               PRESSURE_CODES[int(en.getoption(self.ph, en.PRESS_UNITS))])
        self.water = dict(self.net.settings["water"])

    def node_id(self, index: int) -> str | None:
        return en.getnodeid(self.ph, index) if index > 0 else None

    def link_id(self, index: int) -> str | None:
        return en.getlinkid(self.ph, index) if index > 0 else None

    def pattern_id(self, index: int) -> str | None:
        return en.getpatternid(self.ph, int(index)) if index > 0 else None

    def curve_id(self, index: int) -> str | None:
        return en.getcurveid(self.ph, int(index)) if index > 0 else None

    def si(self, quantity: str, values: Any) -> np.ndarray:
        return np.asarray(values, dtype=float) * self.units.factor(quantity)


@pytest.fixture(scope="module", params=[(f, w) for f in FILES for w in ("original", "written")],
                ids=lambda p: f"{p[0]}-{p[1]}")
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Case]:
    name, origin = request.param
    c = Case(name, tmp_path_factory.mktemp("epanet"), written=origin == "written")
    yield c
    en.close(c.ph)
    en.deleteproject(c.ph)


def close(ours: Any, theirs: Any) -> None:
    np.testing.assert_allclose(np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float), rtol=RTOL, atol=0)


def _nodes(c: Case, code: int) -> list[int]:
    return [i for i in range(1, en.getcount(c.ph, en.NODECOUNT) + 1) if en.getnodetype(c.ph, i) == code]


def _links(c: Case, codes: tuple[int, ...]) -> list[int]:
    return [i for i in range(1, en.getcount(c.ph, en.LINKCOUNT) + 1) if en.getlinktype(c.ph, i) in codes]


def _node_values(c: Case, index: list[int], prop: int) -> list[float]:
    return [en.getnodevalue(c.ph, i, prop) for i in index]


def _link_values(c: Case, index: list[int], prop: int) -> list[float]:
    return [en.getlinkvalue(c.ph, i, prop) for i in index]


# ============================================================================ counts, units, settings


def test_counts_and_units(case: Case):
    c, net = case, case.net
    assert c.water["flow_units"] == c.units.flow_units and c.water["pressure_units"] == c.units.pressure_units
    assert len(_nodes(c, en.JUNCTION)) == len(net.junction)
    assert len(_nodes(c, en.RESERVOIR)) == len(net.reservoir)
    assert len(_nodes(c, en.TANK)) == len(net.tank)
    assert len(_links(c, (en.PIPE, en.CVPIPE))) == len(net.pipe)
    assert len(_links(c, (en.PUMP,))) == len(net.pump)
    assert len(_links(c, tuple(VALVES))) == len(net.valve)
    assert en.getcount(c.ph, en.PATCOUNT) == net.pattern["pattern"].nunique()
    assert en.getcount(c.ph, en.CURVECOUNT) == net.curve["curve"].nunique()
    assert en.getcount(c.ph, en.CONTROLCOUNT) == int(net.control["enabled"].sum())
    assert en.getcount(c.ph, en.RULECOUNT) == net.rule["rule"].nunique()


def test_options_and_times(case: Case):
    c, w = case, case.water
    ph, opt = case.ph, (lambda code: en.getoption(case.ph, code))
    assert ("H-W", "D-W", "C-M")[int(opt(en.HEADLOSSFORM))] == w["headloss"]
    close([w["trials"], w["accuracy"], w["demand_multiplier"], w["emitter_exponent"], w["specific_gravity"],
           w["check_frequency"], w["max_check"], w["damp_limit"], w["global_efficiency_pct"], w["global_price"],
           w["demand_charge"], w["bulk_order"], w["wall_order"], w["tank_order"], w["quality_tolerance"]],
          [opt(o) for o in (en.TRIALS, en.ACCURACY, en.DEMANDMULT, en.EMITEXPON, en.SP_GRAVITY, en.CHECKFREQ,
                            en.MAXCHECK, en.DAMPLIMIT, en.GLOBALEFFIC, en.GLOBALPRICE, en.DEMANDCHARGE,
                            en.BULKORDER, en.WALLORDER, en.TANKORDER, en.TOLERANCE)])
    assert c.pattern_id(int(opt(en.GLOBALPATTERN))) == w["global_price_pattern"]
    extra = -1 if w["unbalanced"] == "STOP" else w["unbalanced_trials"]
    assert int(opt(en.UNBALANCED)) == extra
    model, pmin, preq, pexp = en.getdemandmodel(ph)
    assert ("DDA", "PDA")[model] == w["demand_model"]
    close([w["minimum_pressure_m"], w["required_pressure_m"]], c.si("pressure", [pmin, preq]))
    close(w["pressure_exponent"], pexp)
    times = {"duration_s": en.DURATION, "hydraulic_timestep_s": en.HYDSTEP, "quality_timestep_s": en.QUALSTEP,
             "pattern_timestep_s": en.PATTERNSTEP, "pattern_start_s": en.PATTERNSTART,
             "report_timestep_s": en.REPORTSTEP, "report_start_s": en.REPORTSTART, "rule_timestep_s": en.RULESTEP,
             "start_clocktime_s": en.STARTTIME}
    assert {k: w[k] for k in times} == {k: en.gettimeparam(ph, p) for k, p in times.items()}
    statistic = ("NONE", "AVERAGE", "MINIMUM", "MAXIMUM", "RANGE")[en.gettimeparam(ph, en.STATISTIC)]
    assert statistic == w["statistic"]
    close([w["head_error_m"], w["flow_change_m3s"], w["limiting_potential"]],
          [c.si("length", opt(en.HEADERROR)), c.si("flow", opt(en.FLOWCHANGE)), opt(en.CONCENLIMIT)])
    close([w["viscosity"], w["diffusivity"]], [opt(en.SP_VISCOS), opt(en.SP_DIFFUS)])  # relative values
    assert bool(opt(en.EMITBACKFLOW)) == w["emitter_backflow"]
    qual_type, chem, units, trace = en.getqualinfo(ph)
    assert ("NONE", "CHEMICAL", "AGE", "TRACE")[qual_type] == w["quality_parameter"]
    assert c.node_id(trace) == w["trace_node"]
    if w["quality_parameter"] == "CHEMICAL":
        assert (chem, units) == (w["quality_chemical"], w["quality_units"])
    title = [t.strip() for t in en.gettitle(ph)]
    assert title == [t.strip()[: len(e)] for t, e in zip(w["title"] + ["", "", ""], title)]


# ============================================================================ nodes


def test_junctions(case: Case):
    c, j = case, case.net.junction
    index = _nodes(c, en.JUNCTION)
    assert [en.getnodeid(c.ph, i) for i in index] == list(j.index)
    close(j.elevation_m, c.si("length", _node_values(c, index, en.ELEVATION)))
    emitter = emitter_factor(c.water["emitter_exponent"], c.units)   # per psi (US) or m (SI), as EPANET
    close(j.emitter_coefficient, np.asarray(_node_values(c, index, en.EMITTER)) * emitter)
    close(j.initial_quality, _node_values(c, index, en.INITQUAL))


def test_demands(case: Case):
    c, d = case, case.net.demand
    base, patterns, names, ids = [], [], [], []
    for i in _nodes(c, en.JUNCTION):
        for k in range(1, en.getnumdemands(c.ph, i) + 1):
            ids.append(f"{en.getnodeid(c.ph, i)}#{k}")
            base.append(en.getbasedemand(c.ph, i, k))
            patterns.append(c.pattern_id(en.getdemandpattern(c.ph, i, k)))
            names.append(en.getdemandname(c.ph, i, k).strip() or None)  # EPANET keeps blanks of the comment
    assert ids == list(d.index)
    close(d.base_demand_m3s, c.si("flow", base))
    assert patterns == list(d.pattern)  # no pattern: EPANET applies its default pattern when it runs
    assert names == list(d.category)
    default = c.water["default_pattern"]
    expected = default if default in set(c.net.pattern["pattern"]) else None
    assert c.pattern_id(int(en.getoption(c.ph, en.DEMANDPATTERN))) == expected


def test_reservoirs(case: Case):
    c, r = case, case.net.reservoir
    index = _nodes(c, en.RESERVOIR)
    assert [en.getnodeid(c.ph, i) for i in index] == list(r.index)
    close(r.head_m, c.si("length", _node_values(c, index, en.ELEVATION)))
    assert [c.pattern_id(int(v)) for v in _node_values(c, index, en.PATTERN)] == list(r.head_pattern)
    close(r.initial_quality, _node_values(c, index, en.INITQUAL))


def test_tanks(case: Case):
    c, t = case, case.net.tank
    index = _nodes(c, en.TANK)
    assert [en.getnodeid(c.ph, i) for i in index] == list(t.index)
    for column, prop in (("elevation_m", en.ELEVATION), ("initial_level_m", en.TANKLEVEL),
                         ("min_level_m", en.MINLEVEL), ("max_level_m", en.MAXLEVEL)):
        close(t[column], c.si("length", _node_values(c, index, prop)))
    assert [c.curve_id(int(v)) for v in _node_values(c, index, en.VOLCURVE)] == list(t.volume_curve)
    assert [bool(v) for v in _node_values(c, index, en.CANOVERFLOW)] == list(t.overflow)
    plain = t.volume_curve.isna().to_numpy()
    cyl = [i for i, p in zip(index, plain) if p]
    close(t.diameter_m[plain], c.si("length", _node_values(c, cyl, en.TANKDIAM)))
    # EPANET's minimum volume is the file's, or the cylinder below the minimum level when that is 0
    implied = np.where(t.min_volume_m3 > 0, t.min_volume_m3, np.pi / 4 * t.diameter_m**2 * t.min_level_m)
    close(implied[plain], c.si("volume", _node_values(c, cyl, en.MINVOLUME)))
    close(t.initial_quality, _node_values(c, index, en.INITQUAL))


def test_sources_mixing_reactions(case: Case):
    c, net = case, case.net
    sources = {s["node"]: s for s in c.water["sources"]}
    for kind in ("junction", "reservoir", "tank"):
        for nid in net.tables[kind].index:
            i = en.getnodeindex(c.ph, nid)
            try:
                strength = en.getnodevalue(c.ph, i, en.SOURCEQUAL)
            except Exception:  # EPANET error 240: the node has no source
                assert nid not in sources
                continue
            src = sources[nid]
            kind_code = int(en.getnodevalue(c.ph, i, en.SOURCETYPE))
            assert ("CONCEN", "MASS", "SETPOINT", "FLOWPACED")[kind_code] == src["type"]
            assert c.pattern_id(int(en.getnodevalue(c.ph, i, en.SOURCEPAT))) == src["pattern"]
            close(src["strength"], strength)
    t = net.tank
    index = _nodes(c, en.TANK)
    models = ["MIXED", "2COMP", "FIFO", "LIFO"]
    ours = t["mixing_model"].fillna("MIXED") if "mixing_model" in t else ["MIXED"] * len(t)
    assert [models[int(v)] for v in _node_values(c, index, en.MIXMODEL)] == list(ours)
    fraction = t["mixing_fraction"].fillna(1.0) if "mixing_fraction" in t else np.ones(len(t))
    close(fraction, _node_values(c, index, en.MIXFRACTION))
    bulk = t["bulk_coeff"].fillna(c.water["global_bulk"]) if "bulk_coeff" in t else [c.water["global_bulk"]] * len(t)
    close(bulk, _node_values(c, index, en.TANK_KBULK))
    pipes = _links(c, (en.PIPE, en.CVPIPE))
    for column, prop in (("leak_area_mm2_per_100m", en.LEAK_AREA), ("leak_expansion_mm2_per_m", en.LEAK_EXPAN)):
        ours = net.pipe[column].fillna(0.0) if column in net.pipe else np.zeros(len(net.pipe))
        close(ours, np.asarray(_link_values(c, pipes, prop)) / c.units.length)  # per 100 ft / per ft of head


def test_coordinates(case: Case):
    c = case
    for kind in ("junction", "reservoir", "tank"):
        for nid, geom in c.net.tables[kind].geometry.items():
            if geom is None:
                continue
            assert en.getcoord(c.ph, en.getnodeindex(c.ph, nid)) == pytest.approx([geom.x, geom.y], rel=1e-12)
    for kind in ("pipe", "pump", "valve"):
        for lid, geom in c.net.tables[kind].geometry.items():
            if geom is None:
                continue
            i = en.getlinkindex(c.ph, lid)
            vertices = [en.getvertex(c.ph, i, k) for k in range(1, en.getvertexcount(c.ph, i) + 1)]
            inner = list(geom.coords)[1:-1]
            assert len(vertices) == len(inner), lid
            if inner:
                np.testing.assert_allclose(np.array(vertices, dtype=float), np.array(inner), rtol=1e-12)


# ============================================================================ links


def test_pipes(case: Case):
    c, p = case, case.net.pipe
    index = _links(c, (en.PIPE, en.CVPIPE))
    assert [en.getlinkid(c.ph, i) for i in index] == list(p.index)
    ends = [en.getlinknodes(c.ph, i) for i in index]
    assert [(c.node_id(a), c.node_id(b)) for a, b in ends] == list(zip(p.start_node, p.end_node))
    close(p.length_m, c.si("length", _link_values(c, index, en.LENGTH)))
    close(p.diameter_m, c.si("diameter", _link_values(c, index, en.DIAMETER)))
    rough = "dw_roughness" if c.water["headloss"] == "D-W" else "none"
    close(p.roughness, c.si(rough, _link_values(c, index, en.ROUGHNESS)))
    close(p.minor_loss, _link_values(c, index, en.MINORLOSS))
    status = ["CV" if en.getlinktype(c.ph, i) == en.CVPIPE else ("OPEN" if s else "CLOSED")
              for i, s in zip(index, _link_values(c, index, en.INITSTATUS))]
    assert status == list(p.initial_status)
    bulk = p.bulk_coeff.fillna(c.water["global_bulk"])
    close(bulk, _link_values(c, index, en.KBULK))
    wall_factor = c.units.length if c.water["wall_order"] == 1 else 1 / c.units.length**2
    wall = p.wall_coeff.fillna(c.water["global_wall"]) / wall_factor
    close(wall, _link_values(c, index, en.KWALL))


def test_pumps(case: Case):
    c, u = case, case.net.pump
    index = _links(c, (en.PUMP,))
    assert [en.getlinkid(c.ph, i) for i in index] == list(u.index)
    ends = [en.getlinknodes(c.ph, i) for i in index]
    assert [(c.node_id(a), c.node_id(b)) for a, b in ends] == list(zip(u.start_node, u.end_node))
    assert [c.curve_id(v) for v in _link_values(c, index, en.PUMP_HCURVE)] == list(u.head_curve)
    power = c.si("power", _link_values(c, index, en.PUMP_POWER))
    if c.units.system == "SI":
        power = power * EPANET_KW_PER_HP  # EPANET 2.3.5 converts the kW of an SI file to hp twice
    close(u.power_kw.fillna(0.0), power)
    close(u.speed, _link_values(c, index, en.INITSETTING))
    assert ["OPEN" if s else "CLOSED" for s in _link_values(c, index, en.INITSTATUS)] == list(u.initial_status)
    assert [c.pattern_id(v) for v in _link_values(c, index, en.LINKPATTERN)] == list(u.speed_pattern)
    assert [c.curve_id(v) for v in _link_values(c, index, en.PUMP_ECURVE)] == list(u.efficiency_curve)
    close(u.energy_price.fillna(0.0), _link_values(c, index, en.PUMP_ECOST))
    assert [c.pattern_id(v) for v in _link_values(c, index, en.PUMP_EPAT)] == list(u.price_pattern)


def test_valves(case: Case):
    c, v = case, case.net.valve
    index = _links(c, tuple(VALVES))
    assert [en.getlinkid(c.ph, i) for i in index] == list(v.index)
    ends = [en.getlinknodes(c.ph, i) for i in index]
    assert [(c.node_id(a), c.node_id(b)) for a, b in ends] == list(zip(v.start_node, v.end_node))
    assert [VALVES[en.getlinktype(c.ph, i)] for i in index] == list(v.valve_type)
    close(v.diameter_m, c.si("diameter", _link_values(c, index, en.DIAMETER)))
    close(v.minor_loss, _link_values(c, index, en.MINORLOSS))
    status = ["CLOSED", "OPEN", "ACTIVE"]
    assert [status[int(s)] for s in _link_values(c, index, en.INITSTATUS)] == list(v.initial_status)
    for i, (vid, row) in zip(index, v.iterrows()):
        if row.valve_type == "GPV":
            assert c.curve_id(en.getlinkvalue(c.ph, i, en.GPV_CURVE)) == row.curve
        elif row.initial_status == "ACTIVE":
            quantity = {"PRV": "pressure", "PSV": "pressure", "PBV": "pressure", "FCV": "flow"}.get(row.valve_type,
                                                                                                "none")
            close(row.setting, c.si(quantity, en.getlinkvalue(c.ph, i, en.INITSETTING)))


# ============================================================================ patterns and curves


def test_patterns(case: Case):
    c, table = case, case.net.pattern
    ids = [en.getpatternid(c.ph, k) for k in range(1, en.getcount(c.ph, en.PATCOUNT) + 1)]
    assert ids == list(dict.fromkeys(table["pattern"]))
    values = [en.getpatternvalue(c.ph, k, p) for k, pid in enumerate(ids, start=1)
              for p in range(1, en.getpatternlen(c.ph, k) + 1)]
    assert len(values) == len(table)
    close(table.sort_values(["pattern", "period"], key=lambda s: s.map({p: i for i, p in enumerate(ids)})
                            if s.name == "pattern" else s).multiplier, values)


def test_curves(case: Case):
    c, table = case, case.net.curve
    n = en.getcount(c.ph, en.CURVECOUNT)
    ids = [en.getcurveid(c.ph, k) for k in range(1, n + 1)]
    assert ids == list(dict.fromkeys(table["curve"]))
    en.openH(c.ph)  # EPANET types the pump curves when it opens the hydraulics
    try:
        for k, cid in enumerate(ids, start=1):
            rows = table[table.curve == cid].sort_values("point")
            kind = rows.curve_type.iloc[0]
            epanet_kind = CURVE_TYPES.get(en.getcurvetype(c.ph, k))
            assert epanet_kind in (None, kind), cid
            points = [en.getcurvevalue(c.ph, k, p) for p in range(1, en.getcurvelen(c.ph, k) + 1)]
            qx, qy = {"HEAD": ("flow", "length"), "EFFICIENCY": ("flow", "none"), "VOLUME": ("length", "volume"),
                      "HEADLOSS": ("flow", "length")}.get(kind, ("none", "none"))
            close(rows.x, c.si(qx, [x for x, _ in points]))
            close(rows.y, c.si(qy, [y for _, y in points]))
    finally:
        en.closeH(c.ph)


# ============================================================================ controls and rules


def test_controls(case: Case):
    c, table = case, case.net.control[case.net.control.enabled]
    kinds = {en.LOWLEVEL: "BELOW", en.HILEVEL: "ABOVE", en.TIMER: "TIME", en.TIMEOFDAY: "CLOCKTIME"}
    for k, (cid, row) in enumerate(table.iterrows(), start=1):
        ctype, link, setting, node, level = en.getcontrol(c.ph, k)
        assert (kinds[ctype], c.link_id(link)) == (row.condition, row.link), cid
        kind, sub = _link_kind(c, link)
        if row.status is not None:
            if kind == "pump":
                assert setting == (1.0 if row.status == "OPEN" else 0.0)
            elif sub != en.GPV:
                assert (setting > 0) == (row.status == "OPEN") and abs(setting) == -MISSING
        else:
            quantity = {en.PRV: "pressure", en.PSV: "pressure", en.PBV: "pressure", en.FCV: "flow"}.get(sub, "none")
            close(row.setting, c.si(quantity, setting))
        if row.condition in ("TIME", "CLOCKTIME"):
            assert (node, level) == (0, row.time_s)
        else:
            assert c.node_id(node) == row.node
            quantity = "pressure" if en.getnodetype(c.ph, node) == en.JUNCTION else "length"
            close(row.threshold, c.si(quantity, level))


def _link_kind(c: Case, index: int) -> tuple[str, int]:
    code = en.getlinktype(c.ph, index)
    return ("pump" if code == en.PUMP else ("valve" if code in VALVES else "pipe")), code


PREMISE_VARIABLES = ("DEMAND", "HEAD", "GRADE", "LEVEL", "PRESSURE", "FLOW", "STATUS", "SETTING", "POWER",
                     "TIME", "CLOCKTIME", "FILLTIME", "DRAINTIME")
RELATIONS = {"=": 0, "IS": 0, "<>": 1, "NOT": 1, "<=": 2, ">=": 3, "<": 4, "BELOW": 4, ">": 5, "ABOVE": 5}
STATUS = {"OPEN": en.R_IS_OPEN, "CLOSED": en.R_IS_CLOSED, "ACTIVE": en.R_IS_ACTIVE}


def test_rules(case: Case):
    c, table = case, case.net.rule
    for r, (name, clauses) in enumerate(table.groupby("rule", sort=False), start=1):
        assert en.getruleID(c.ph, r) == name
        part = _parts(list(clauses.keyword))
        premises, then, other = (clauses[part == head] for head in ("IF", "THEN", "ELSE"))
        priority = clauses[clauses.keyword == "PRIORITY"]
        n_premises, n_then, n_else, prio = en.getrule(c.ph, r)
        assert (n_premises, n_then, n_else) == (len(premises), len(then), len(other)), name
        assert prio == (float(priority.value.iloc[0]) if len(priority) else 0.0)
        for p, (_, row) in enumerate(premises.iterrows(), start=1):
            _check_premise(c, row, en.getpremise(c.ph, r, p))
        for getter, rows in ((en.getthenaction, then), (en.getelseaction, other)):
            for a, (_, row) in enumerate(rows.iterrows(), start=1):
                _check_action(c, row, getter(c.ph, r, a))


def _parts(keywords: list[str]) -> np.ndarray:
    """The part of a rule each clause belongs to: IF (premises), THEN, ELSE or PRIORITY."""
    part, out = "", []
    for kw in keywords:
        part = kw if kw in ("IF", "THEN", "ELSE", "PRIORITY") else part
        out.append(part)
    return np.array(out)


def _check_premise(c: Case, row: Any, premise: list[Any]) -> None:
    logop, obj, index, variable, relop, status, value = premise
    assert logop == (3 if row.keyword == "OR" else 2)  # EPANET codes: 2 AND (and IF), 3 OR
    expected_obj = en.R_SYSTEM if row.object == "SYSTEM" else (
        en.R_NODE if row.object in ("JUNCTION", "RESERVOIR", "TANK", "NODE") else en.R_LINK)
    assert obj == expected_obj and PREMISE_VARIABLES[variable] == row.attribute and relop == RELATIONS[row.relation]
    if obj == en.R_NODE:
        assert c.node_id(index) == row.object_id
    elif obj == en.R_LINK:
        assert c.link_id(index) == row.object_id
    if row.value in STATUS:
        assert status == STATUS[row.value]
        return
    quantity = {"DEMAND": "flow", "FLOW": "flow", "HEAD": "length", "GRADE": "length", "LEVEL": "length",
                "PRESSURE": "pressure"}.get(row.attribute, "none")
    if row.attribute == "SETTING":
        quantity = {en.PRV: "pressure", en.PSV: "pressure", en.PBV: "pressure", en.FCV: "flow"}.get(
            en.getlinktype(c.ph, index), "none")
    close(float(row.value), c.si(quantity, value))


def _check_action(c: Case, row: Any, action: list[Any]) -> None:
    link, status, setting = action
    assert c.link_id(link) == row.object_id
    if row.value in STATUS:
        assert (status, setting) == (STATUS[row.value], MISSING)
        return
    quantity = {en.PRV: "pressure", en.PSV: "pressure", en.PBV: "pressure", en.FCV: "flow"}.get(
        en.getlinktype(c.ph, link), "none")
    close(float(row.value), c.si(quantity, setting))
