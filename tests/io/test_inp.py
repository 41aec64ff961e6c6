"""EPANET .inp reader and writer: unit conversions, EPANET's parsing rules, read -> write -> read
round trips of every test network, and the errors raised for broken files."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely

import twin
from twin.errors import InputFileError, NetworkError
from twin.io.inp import read_inp, write_inp
from twin.io.inp_controls import time_seconds
from twin.io.inp_sections import parse_hours, tokenize
from twin.units import FOOT, INCH, US_GALLON, epanet_units

WATER = Path(__file__).resolve().parents[1] / "data" / "water"
FILES = sorted(p.name for p in WATER.glob("*.inp"))
TABLES = ("junction", "reservoir", "tank", "pipe", "pump", "valve", "demand", "pattern", "curve", "control", "rule")
RTOL = 1e-12
PSI = FOOT / 0.4333  # m of head per psi, EPANET's convention
GPM = US_GALLON / 60.0

SMALL = """[TITLE]
small test network

[JUNCTIONS]
;ID  Elev  Demand  Pattern
 J1  10    5       P1
 J2  12
[RESERVOIRS]
 R1  100
[TANKS]
 T1  50  3  1  6  20  0  ;
[PIPES]
 P1  R1  J1  1000  12  100
 P2  J1  J2  500   8   110  0.5  CV
 P3  J2  T1  500   8   110  Closed
[PATTERNS]
 P1  1.0  1.5  0.5
[OPTIONS]
 Units  GPM
[END]
"""


def _write(tmp_path: Path, text: str, name: str = "net.inp") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _replace(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


# ============================================================================ units and values


def test_public_api():
    assert twin.io.read_inp is read_inp and twin.io.write_inp is write_inp


def test_net1_values_in_si():
    net = read_inp(WATER / "Net1.inp")
    assert net.name == "Net1" and net.crs is None
    assert read_inp(WATER / "Net1.inp", crs="EPSG:3857", name="n1").crs.to_epsg() == 3857
    j10 = net.junction.loc["10"]
    assert j10.elevation_m == pytest.approx(710 * FOOT, rel=1e-15)
    pipe = net.pipe.loc["10"]
    assert pipe.length_m == pytest.approx(10530 * FOOT) and pipe.diameter_m == pytest.approx(18 * INCH)
    assert pipe.roughness == 100 and pipe.initial_status == "OPEN"
    assert net.demand.loc["11#1", "base_demand_m3s"] == pytest.approx(150 * GPM, rel=1e-15)
    assert net.demand.loc["11#1", "pattern"] is None  # the default pattern stays a setting
    assert net.settings["water"]["default_pattern"] == "1"
    tank = net.tank.loc["2"]
    assert tank.diameter_m == pytest.approx(50.5 * FOOT) and tank.initial_level_m == pytest.approx(120 * FOOT)
    curve = net.curve[net.curve.curve == "1"]
    assert list(curve.curve_type) == ["HEAD"]
    assert curve.x.iloc[0] == pytest.approx(1500 * GPM) and curve.y.iloc[0] == pytest.approx(250 * FOOT)
    ctl = net.control.loc["1"]
    assert (ctl.link, ctl.status, ctl.condition, ctl.node) == ("9", "OPEN", "BELOW", "2")
    assert ctl.threshold == pytest.approx(110 * FOOT)  # tank level, not a pressure
    water = net.settings["water"]
    assert water["duration_s"] == 24 * 3600 and water["pattern_timestep_s"] == 7200
    assert water["quality_timestep_s"] == 300 and water["rule_timestep_s"] == 360
    assert water["global_bulk"] == -0.5 and water["global_wall"] == pytest.approx(-FOOT)
    assert water["quality_parameter"] == "CHEMICAL" and water["quality_chemical"] == "Chlorine"
    assert net.junction.loc["10"].initial_quality == 0.5
    assert net.junction.geometry.loc["10"].equals(shapely.Point(20, 70))
    json.dumps(dict(water))  # plain JSON values


def test_io_inp_demands_pumps_valves_controls():
    net = read_inp(WATER / "io.inp")
    # [DEMANDS] replace the [JUNCTIONS] demand; j3 keeps its own; every category is a row
    d = net.demand
    assert list(d.index) == ["j1#1", "j1#2", "j2#1", "j2#2", "j3#1", "j4#1"]
    assert d.loc["j2#2", "base_demand_m3s"] == pytest.approx(75 * GPM)
    assert list(d.pattern) == ["pattern2"] * 4 + ["pattern1", "pattern2"]
    pump1, pump2 = net.pump.loc["pump1"], net.pump.loc["pump2"]
    assert (pump1.head_curve, pump1.speed, pump1.speed_pattern) == ("curve1", 1.2, "pattern1")
    assert pump2.power_kw == pytest.approx(22.3 * 0.7457)
    v = net.valve
    assert v.loc["v1", "setting"] == 3.52  # TCV: a loss coefficient
    assert v.loc["v2", "setting"] == pytest.approx(2.51 * PSI)  # PSV: psi -> m of head
    assert (v.loc["v3", "valve_type"], v.loc["v3", "curve"], v.loc["v3", "setting"]) == ("GPV", "GPVCurve", 0.0)
    types = net.curve.groupby("curve")["curve_type"].first()
    assert types["curve1"] == "HEAD" and types["GPVCurve"] == "HEADLOSS"
    c = net.control
    assert c.loc["1", "time_s"] == 12240 and c.loc["1", "setting"] == 0.82 and c.loc["1", "condition"] == "TIME"
    assert c.loc["2", "setting"] == pytest.approx(2.61 * PSI) and c.loc["2", "threshold"] == pytest.approx(5.01 * FOOT)
    assert list(c.time_s.iloc[2:]) == [5 * 3600, 17 * 3600, 20 * 3600, 22 * 3600]
    assert list(c.condition.iloc[2:]) == ["CLOCKTIME"] * 4
    water = net.settings["water"]
    assert water["demand_model"] == "PDA" and water["required_pressure_m"] == pytest.approx(20 * PSI)
    assert water["rule_timestep_s"] == 3600 and water["start_clocktime_s"] == 0
    assert net.pipe.geometry.loc["p1"].equals(shapely.LineString([(1, 0), (15, 5), (20, 5), (26, 0)]))


def test_si_file_units_and_categories(tmp_path: Path):
    text = """[JUNCTIONS]
J1 5 1.5
J2 6
[RESERVOIRS]
R1 50
[PIPES]
P1 R1 J1 100 250 0.1
P2 J1 J2 100 150 0.2 0 CV
[VALVES]
V1 J1 J2 150 PRV 30 0
V2 J2 J1 150 FCV 36 0
[DEMANDS]
J1 2 ;domestic
J1 3.5 ;industry
[EMITTERS]
J2 0.5
[OPTIONS]
UNITS CMH
HEADLOSS D-W
EMITTER EXPONENT 0.6
[END]
"""
    net = read_inp(_write(tmp_path, text))
    assert net.pipe.loc["P1", "diameter_m"] == pytest.approx(0.25)
    assert net.pipe.loc["P1", "roughness"] == pytest.approx(0.1e-3)  # D-W roughness in mm
    assert net.pipe.loc["P2", "initial_status"] == "CV"
    assert net.valve.loc["V1", "setting"] == 30.0  # SI pressure is already m of head
    assert net.valve.loc["V2", "setting"] == pytest.approx(0.01)  # 36 m3/h
    assert list(net.demand.category) == ["domestic", "industry", None]
    assert list(net.demand.base_demand_m3s) == pytest.approx([2 / 3600, 3.5 / 3600, 0.0])
    assert net.junction.loc["J2", "emitter_coefficient"] == pytest.approx(0.5 / 3600)
    assert net.settings["water"]["pressure_units"] == "METERS"


def test_pressure_units_kpa(tmp_path: Path):
    text = "[JUNCTIONS]\nJ1 0\nJ2 0\n[RESERVOIRS]\nR1 50\n[PIPES]\nP1 R1 J1 10 100 100\n" \
           "[VALVES]\nV1 J1 J2 100 PRV 300\n[OPTIONS]\nUNITS LPS\nPRESSURE KPA\n[END]\n"
    net = read_inp(_write(tmp_path, text))
    assert net.valve.loc["V1", "setting"] == pytest.approx(300 / (0.4333 * 6.895) * FOOT)


def test_curve_type_from_comment_and_use():
    net = read_inp(WATER / "Anytown_multipointcurves.inp")
    types = net.curve.groupby("curve")["curve_type"].first()
    assert types["2"] == "HEAD" and types["E1"] == "EFFICIENCY" and types["VCUR1"] == "VOLUME"
    e1 = net.curve[net.curve.curve == "E1"]
    assert e1.y.iloc[2] == 65.0  # efficiency stays in percent
    vcur = net.curve[net.curve.curve == "VCUR1"]
    assert vcur.x.iloc[1] == pytest.approx(11 * FOOT) and vcur.y.iloc[1] == pytest.approx(226.19 * FOOT**3)
    micro = read_inp(WATER / "MICROPOLIS_v1.inp")
    assert micro.curve.groupby("curve")["curve_type"].first()["5"] == "HEAD"  # unused, typed by its comment


def test_status_section_rules():
    micro = read_inp(WATER / "MICROPOLIS_v1.inp")
    assert micro.pump.loc["HSP#2", "initial_status"] == "CLOSED" and micro.pump.loc["HSP#2", "speed"] == 0.0
    assert micro.valve.loc["V1", "initial_status"] == "OPEN"
    net3 = read_inp(WATER / "Net3.inp")
    assert net3.pump.loc["10", "initial_status"] == "CLOSED"


def test_rules_in_si():
    micro = read_inp(WATER / "MICROPOLIS_v1.inp")
    rule = micro.rule
    first = rule[rule.rule == "1"]
    assert list(first.keyword) == ["IF", "AND", "AND", "THEN", "AND", "AND"]
    assert first.iloc[0][["object", "attribute", "relation", "value"]].tolist() == ["SYSTEM", "CLOCKTIME", ">=",
                                                                                   "21600"]
    assert float(first.iloc[2]["value"]) == pytest.approx(97 * FOOT)
    assert first.iloc[3][["object", "object_id", "attribute", "value"]].tolist() == ["PUMP", "HSP#1", "STATUS",
                                                                                    "OPEN"]


def test_priority_row(tmp_path: Path):
    text = SMALL.replace("[OPTIONS]", "[RULES]\nRULE r1\nIF TANK T1 LEVEL ABOVE 5\nTHEN PIPE P3 STATUS IS OPEN\n"
                                      "ELSE PIPE P3 STATUS IS CLOSED\nPRIORITY 3\n[OPTIONS]")
    rule = read_inp(_write(tmp_path, text)).rule
    assert list(rule.keyword) == ["IF", "THEN", "ELSE", "PRIORITY"] and rule.value.iloc[-1] == "3"
    assert list(rule.index) == ["r1#0", "r1#1", "r1#2", "r1#3"]


def test_time_parsing_like_epanet():
    assert parse_hours("12", "am") == 0 and parse_hours("12", "pm") == 12 and parse_hours("6", "AM") == 6
    assert parse_hours("1:30:30") == pytest.approx(1.5083333333333333)
    assert parse_hours("2", "days") == 48 and parse_hours("30", "MIN") == 0.5 and parse_hours("13", "pm") is None
    assert time_seconds("1:05", "", truncate=True) == 3899  # EPANET truncates this to whole seconds
    assert tokenize('A "b c" ; d') == (["A", "b c"], 'A "b c"', "d")


def test_control_time_formats():
    net = read_inp(WATER / "features.inp")
    c = net.control
    assert list(c.time_s.dropna()) == [6.5 * 3600, 6 * 3600, 13.5 * 3600, 5400, 2 * 86400, 3600]
    assert list(c.condition) == ["BELOW", "ABOVE", "TIME", "CLOCKTIME", "CLOCKTIME", "TIME", "TIME", "ABOVE", "TIME"]
    assert c.loc["3", "setting"] == pytest.approx(250 / (0.4333 * 6.895) * FOOT)  # PRV, kPa -> m
    assert c.loc["8", "threshold"] == pytest.approx(300 / (0.4333 * 6.895) * FOOT)  # junction pressure
    assert c.loc["8", "setting"] == pytest.approx(0.004)  # FCV, 4 L/s


def test_extra_sections():
    net = read_inp(WATER / "features.inp")
    water = net.settings["water"]
    assert water["sources"][1] == {"node": "J3", "type": "MASS", "strength": 100.0, "pattern": None}
    assert water["labels"][0] == {"x": 5.0, "y": 5.0, "text": "Pump station", "anchor": "J1"}
    assert water["statistic"] == "AVERAGE" and water["start_clocktime_s"] == 6 * 3600
    assert water["unbalanced"] == "CONTINUE" and water["unbalanced_trials"] == 5
    assert net.tank.loc["T1", "mixing_model"] == "2COMP" and net.tank.loc["T1", "mixing_fraction"] == 0.3
    assert net.tank.loc["T1", "bulk_coeff"] == -0.4 and net.tank.loc["T1", "overflow"]
    assert net.pipe.loc["P1", "tag"] == "Main" and net.pipe.loc["P2", "tag"] is None
    assert net.pipe.loc["P2", "initial_status"] == "CLOSED"  # [STATUS] overrides [PIPES]
    assert net.valve.loc["V2", "setting"] == pytest.approx(0.0035)  # [STATUS] sets the FCV to 3.5 L/s
    assert net.valve.loc["V3", "initial_status"] == "OPEN"
    assert net.pump.loc["PU2", "initial_status"] == "CLOSED"
    assert net.pump.loc["PU1", "efficiency_curve"] == "EF1" and net.pump.loc["PU2", "price_pattern"] == "PAT1"
    assert net.junction.loc["J4"].geometry is None and net.pipe.loc["P6"].geometry is None
    types = net.curve.groupby("curve")["curve_type"].first().to_dict()
    assert types == {"PC1": "HEAD", "VOL1": "VOLUME", "HL1": "HEADLOSS", "EF1": "EFFICIENCY", "VC1": "VALVE",
                     "GEN1": "GENERIC"}


def test_disabled_control_round_trip(tmp_path: Path):
    net = read_inp(WATER / "Net1.inp")
    net = net.set("control", "2", enabled=False)
    write_inp(net, tmp_path / "net1.inp")
    assert ";DISABLED: LINK 9 CLOSED IF NODE 2 ABOVE 140" in (tmp_path / "net1.inp").read_text()
    again = read_inp(tmp_path / "net1.inp")
    assert list(again.control.enabled) == [True, False]
    assert again.control.loc["2", "threshold"] == pytest.approx(net.control.loc["2", "threshold"], rel=RTOL)


def test_unit_factors():
    from twin.units import FLOW_UNITS, PRESSURE_UNITS, unit_system

    assert FLOW_UNITS["GPM"] == pytest.approx(3.785411784e-3 / 60, rel=1e-15)
    assert FLOW_UNITS["CFS"] == pytest.approx(0.3048**3, rel=1e-15)
    assert FLOW_UNITS["AFD"] == pytest.approx(43560 * 0.3048**3 / 86400, rel=1e-15)
    assert FLOW_UNITS["IMGD"] == pytest.approx(4.54609e3 / 86400, rel=1e-15)
    assert FLOW_UNITS["MLD"] == pytest.approx(1000 / 86400) and FLOW_UNITS["CMS"] == 1.0
    assert PRESSURE_UNITS["PSI"] == pytest.approx(0.3048 / 0.4333, rel=1e-15) and PRESSURE_UNITS["METERS"] == 1
    assert [unit_system(u) for u in ("CFS", "GPM", "MGD", "IMGD", "AFD")] == ["US"] * 5
    assert [unit_system(u) for u in ("LPS", "LPM", "MLD", "CMH", "CMD", "CMS")] == ["SI"] * 6
    us = epanet_units("CFS")
    assert (us.diameter, us.volume, us.power) == (INCH, 0.3048**3, 0.7457)
    assert us.dw_roughness == pytest.approx(0.3048e-3, rel=1e-15)
    with pytest.raises(ValueError, match="flow units"):
        epanet_units("GPH")


# ============================================================================ round trips


def _same_geometry(a: pd.Series, b: pd.Series) -> bool:
    return all((g is None and h is None) or (g is not None and h is not None and shapely.equals_exact(g, h, 0.0))
               for g, h in zip(a, b))


def _same_settings(a: Any, b: Any) -> bool:
    if isinstance(a, dict) or hasattr(a, "keys"):
        return set(a) == set(b) and all(_same_settings(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same_settings(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=RTOL, abs_tol=0.0) or a == b
    return type(a) is type(b) and a == b


def _assert_same_network(a: twin.Network, b: twin.Network, rtol: float = RTOL, check_index: bool = True) -> None:
    for kind in TABLES:
        x, y = a.tables[kind], b.tables[kind]
        if not check_index:
            x, y = x.reset_index(drop=True), y.reset_index(drop=True)
        pd.testing.assert_frame_equal(pd.DataFrame(x.drop(columns="geometry", errors="ignore")),
                                      pd.DataFrame(y.drop(columns="geometry", errors="ignore")),
                                      rtol=rtol, check_exact=False, obj=kind)
        if "geometry" in x:
            assert _same_geometry(x.geometry, y.geometry), kind


@pytest.mark.parametrize("name", FILES)
def test_round_trip(name: str, tmp_path: Path):
    first = read_inp(WATER / name)
    write_inp(first, tmp_path / name)
    second = read_inp(tmp_path / name)
    _assert_same_network(first, second)
    assert _same_settings(dict(first.settings["water"]), dict(second.settings["water"]))


@pytest.mark.parametrize("name,units", [("Net3.inp", "LPS"), ("L-TOWN.inp", "GPM"), ("MICROPOLIS_v1.inp", "CMD"),
                                        ("io.inp", "MLD"), ("features.inp", "CFS")])
def test_round_trip_other_units(name: str, units: str, tmp_path: Path):
    first = read_inp(WATER / name)
    write_inp(first, tmp_path / name, flow_units=units)
    second = read_inp(tmp_path / name)
    water = second.settings["water"]
    assert water["flow_units"] == units
    before = first.settings["water"]
    kept = before["pressure_units"] != epanet_units(before["flow_units"]).pressure_units  # a chosen unit stays
    assert water["pressure_units"] == (before["pressure_units"] if kept else epanet_units(units).pressure_units)
    _assert_same_network(first, second, rtol=1e-9)


def test_write_hand_built_network(small_city: twin.Network, tmp_path: Path):
    write_inp(small_city, tmp_path / "city.inp")
    again = read_inp(tmp_path / "city.inp")
    assert again.settings["water"]["flow_units"] == "LPS"
    for kind in ("junction", "reservoir", "tank", "pipe", "pump"):
        cols = [c for c in small_city.tables[kind].columns if c != "geometry"]
        pd.testing.assert_frame_equal(pd.DataFrame(small_city.tables[kind][cols]),
                                      pd.DataFrame(again.tables[kind][cols]), rtol=RTOL, check_exact=False)
    demand = again.demand.set_index("junction")
    assert demand.loc["J2", "base_demand_m3s"] == pytest.approx(0.004) and demand.loc["J2", "pattern"] == "D"
    assert list(again.pattern.multiplier) == [0.5, 1.0, 1.5]


def test_write_rejects_bad_ids(small_city: twin.Network, tmp_path: Path):
    bad = small_city.replace(tables={**small_city.tables,
                                     "junction": small_city.junction.rename(index={"J1": "J 1"})})
    with pytest.raises(NetworkError):
        write_inp(bad, tmp_path / "bad.inp")


# ============================================================================ broken files


BROKEN = [
    ("negative diameter", " P2  J1  J2  500   8 ", " P2  J1  J2  500   -8 ", 14, "PIPES", "diameter"),
    ("unknown node", " P3  J2  T1 ", " P3  J2  T9 ", 15, "PIPES", "'T9'"),
    ("too few fields", " P1  R1  J1  1000  12  100", " P1  R1  J1  1000", 13, "PIPES", "too few fields"),
    ("not a number", " J2  12", " J2  twelve", 7, "JUNCTIONS", "'twelve'"),
    ("missing pattern", " J1  10    5       P1", " J1  10    5       P9", 6, "JUNCTIONS", "pattern 'P9'"),
    ("missing curve", "[PATTERNS]", "[PUMPS]\n PU1 R1 J1 HEAD C9\n[PATTERNS]", 17, "PUMPS", "curve 'C9'"),
    ("unknown section", "[PATTERNS]", "[PIPEZ]\n[PATTERNS]", 16, "[PIPEZ]", "unknown section"),
    ("duplicate id", " J2  12", " J1  12", 7, "JUNCTIONS", "already used"),
    ("bad tank levels", " T1  50  3  1  6 ", " T1  50  9  1  6 ", 11, "TANKS", "levels"),
    ("bad option", " Units  GPM", " Units  GPM\n Flux 3", 20, "OPTIONS", "unknown option"),
    ("bad flow units", " Units  GPM", " Units  GPH", 19, "OPTIONS", "GPH"),
    ("bad control", "[OPTIONS]", "[CONTROLS]\nLINK P9 OPEN AT TIME 2\n[OPTIONS]", 19, "CONTROLS", "'P9'"),
    ("control on a CV", "[OPTIONS]", "[CONTROLS]\nLINK P2 CLOSED AT TIME 2\n[OPTIONS]", 19, "CONTROLS",
     "check valve"),
    ("bad rule", "[OPTIONS]", "[RULES]\nRULE 1\nTHEN PIPE P3 STATUS IS OPEN\n[OPTIONS]", 20, "RULES", "misplaced"),
    ("bad time", "[OPTIONS]", "[TIMES]\nDuration 5 fortnights\n[OPTIONS]", 19, "TIMES", "invalid time"),
    ("bad status", "[OPTIONS]", "[STATUS]\nP2 CLOSED\n[OPTIONS]", 19, "STATUS", "check valve"),
    ("bad demand", "[OPTIONS]", "[DEMANDS]\nJ1 x\n[OPTIONS]", 19, "DEMANDS", "'x'"),
    ("bad curve point", "[OPTIONS]", "[CURVES]\nC1 1\n[OPTIONS]", 19, "CURVES", "too few fields"),
    ("bad coordinate", "[OPTIONS]", "[COORDINATES]\nJ1 1 north\n[OPTIONS]", 19, "COORDINATES", "'north'"),
    ("pump without curve", "[PATTERNS]", "[PUMPS]\n PU1 R1 J1 SPEED 1\n[PATTERNS]", 17, "PUMPS", "HEAD curve"),
    ("unknown valve type", "[PATTERNS]", "[VALVES]\n V1 J1 J2 8 XYZ 5\n[PATTERNS]", 17, "VALVES", "'XYZ'"),
]


@pytest.mark.parametrize("case,old,new,line,section,words", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_file(case: str, old: str, new: str, line: int, section: str, words: str, tmp_path: Path):
    path = _write(tmp_path, _replace(SMALL, old, new))
    with pytest.raises(InputFileError) as info:
        read_inp(path)
    err = info.value
    assert (err.path, err.line, err.field) == (str(path), line, section), str(err)
    message = str(err)
    assert message.startswith(f"{path}:{line}: [{section}]") and words in message


def test_small_file_reads(tmp_path: Path):
    net = read_inp(_write(tmp_path, SMALL))
    assert list(net.pipe.initial_status) == ["OPEN", "CV", "CLOSED"]
    assert net.pipe.loc["P2", "minor_loss"] == 0.5
    assert net.settings["water"]["title"] == ["small test network"]


def test_missing_file(tmp_path: Path):
    with pytest.raises(InputFileError, match="cannot read"):
        read_inp(tmp_path / "nope.inp")


def test_tank_volume_curve(tmp_path: Path):
    text = SMALL.replace(" T1  50  3  1  6  20  0  ;", " T1  50  3  1  6  20  0  V1").replace(
        "[OPTIONS]", "[CURVES]\nV1 0 0\nV1 10 100\n[OPTIONS]")
    net = read_inp(_write(tmp_path, text))
    assert net.tank.loc["T1", "volume_curve"] == "V1"
    assert np.allclose(net.curve.y, [0.0, 100 * FOOT**3])
