"""Reference converter: a twin Network's water layer to an EPANET project (owa-epanet toolkit).

Used only by the tests, as an independent reference: it builds the EPANET model element by
element through the toolkit API (``epanet.toolkit``), never through an .inp file, so it shares
no code with ``twin.io``. Units: the project is created in LPS with the network's headloss
formula; twin's SI values are converted on the way in (m3/s -> L/s) and out.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import numpy as np
import pandas as pd
from epanet import toolkit as en

from twin.model import Network

_HEADLOSS = {"H-W": en.HW, "D-W": en.DW, "C-M": en.CM}
_VALVES = {"PRV": en.PRV, "PSV": en.PSV, "PBV": en.PBV, "FCV": en.FCV, "TCV": en.TCV, "GPV": en.GPV,
           "PCV": en.PCV}
_CONDITIONS = {"BELOW": en.LOWLEVEL, "ABOVE": en.HILEVEL, "TIME": en.TIMER, "CLOCKTIME": en.TIMEOFDAY}
_LPS = 1000.0  # L/s per m3/s


def _doubles(values: list) -> object:
    """A C array of doubles for the toolkit calls that take one."""
    arr = en.doubleArray(len(values))
    for i, v in enumerate(values):
        arr[i] = float(v)
    return arr


def _setting(settings: dict, *names: str, default: float) -> float:
    for n in names:
        if n in settings and settings[n] is not None:
            return float(settings[n])
    return default


@dataclass
class EpanetProject:
    """An open EPANET project built from a Network; close it with :meth:`close`."""

    ph: object
    nodes: list
    links: list
    junctions: list
    tanks: list

    def close(self) -> None:
        en.deleteproject(self.ph)

    def __enter__(self) -> "EpanetProject":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def build_project(net: Network) -> EpanetProject:
    """Create an EPANET project holding the network's water layer."""
    settings = dict(net.settings.get("water", {}))
    ph = en.createproject()
    tmp = tempfile.mkdtemp(prefix="twin-epanet-")
    en.init(ph, os.path.join(tmp, "ref.rpt"), "", en.LPS, _HEADLOSS[settings.get("headloss", "H-W")])
    _times(ph, settings)
    patterns = _patterns(ph, net)
    curves = _curves(ph, net)
    _nodes(ph, net, patterns, settings)
    _links(ph, net, patterns, curves)
    _controls(ph, net)
    return EpanetProject(ph, _ids(net, ("junction", "reservoir", "tank")), _ids(net, ("pipe", "pump", "valve")),
                         list(net.junction.index), list(net.tank.index))


def _ids(net: Network, kinds: tuple) -> list:
    return [i for k in kinds for i in net.table(k).index]


def _times(ph: object, s: dict) -> None:
    en.settimeparam(ph, en.DURATION, int(_setting(s, "duration_s", default=0.0)))
    en.settimeparam(ph, en.HYDSTEP, int(_setting(s, "hydraulic_timestep_s", default=3600.0)))
    en.settimeparam(ph, en.PATTERNSTEP, int(_setting(s, "pattern_timestep_s", default=3600.0)))
    en.settimeparam(ph, en.PATTERNSTART, int(_setting(s, "pattern_start_s", default=0.0)))
    en.settimeparam(ph, en.REPORTSTEP, int(_setting(s, "report_timestep_s", default=3600.0)))
    en.settimeparam(ph, en.REPORTSTART, int(_setting(s, "report_start_s", default=0.0)))
    en.settimeparam(ph, en.STARTTIME, int(_setting(s, "start_clocktime_s", default=0.0)))
    en.setoption(ph, en.TRIALS, _setting(s, "trials", default=200.0))
    en.setoption(ph, en.ACCURACY, _setting(s, "accuracy", default=0.001))
    en.setoption(ph, en.DEMANDMULT, _setting(s, "demand_multiplier", default=1.0))


def _patterns(ph: object, net: Network) -> dict:
    out = {}
    for name, rows in net.pattern.groupby("pattern", sort=False):
        en.addpattern(ph, name)
        idx = en.getpatternindex(ph, name)
        values = rows.sort_values("period").multiplier.astype(float).tolist()
        en.setpattern(ph, idx, _doubles(values), len(values))
        out[name] = idx
    return out


def _curves(ph: object, net: Network) -> dict:
    scale = {"HEAD": (_LPS, 1.0), "EFFICIENCY": (_LPS, 1.0), "HEADLOSS": (_LPS, 1.0)}
    out = {}
    for name, rows in net.curve.groupby("curve", sort=False):
        rows = rows.sort_values("point")
        kind = rows.curve_type.iloc[0] or "GENERIC"
        sx, sy = scale.get(kind, (1.0, 1.0))
        en.addcurve(ph, name)
        idx = en.getcurveindex(ph, name)
        x = (rows.x.astype(float) * sx).tolist()
        y = (rows.y.astype(float) * sy).tolist()
        en.setcurve(ph, idx, _doubles(x), _doubles(y), len(x))
        out[name] = idx
    return out


def _nodes(ph: object, net: Network, patterns: dict, settings: dict) -> None:
    default = settings.get("default_pattern")
    demands = net.demand.groupby("junction", sort=False)
    groups = {j: g for j, g in demands}
    for jid, j in net.junction.iterrows():
        idx = en.addnode(ph, jid, en.JUNCTION)
        en.setjuncdata(ph, idx, float(j.elevation_m), 0.0, "")
        if j.geometry is not None:
            en.setcoord(ph, idx, j.geometry.x, j.geometry.y)
        rows = groups.get(jid)
        if rows is None:
            continue
        for k, d in enumerate(rows.itertuples()):
            pat = d.pattern if isinstance(d.pattern, str) else (default if default in patterns else "")
            q = float(d.base_demand_m3s) * _LPS
            name = d.category if isinstance(d.category, str) else ""
            if k == 0 and en.getnumdemands(ph, idx) >= 1:
                en.setbasedemand(ph, idx, 1, q)
                en.setdemandpattern(ph, idx, 1, patterns.get(pat, 0))
                en.setdemandname(ph, idx, 1, name)
            else:
                en.adddemand(ph, idx, q, pat, name)
    for rid, r in net.reservoir.iterrows():
        idx = en.addnode(ph, rid, en.RESERVOIR)
        en.setnodevalue(ph, idx, en.ELEVATION, float(r.head_m))
        if isinstance(r.head_pattern, str):
            en.setnodevalue(ph, idx, en.PATTERN, patterns[r.head_pattern])
    for tid, t in net.tank.iterrows():
        idx = en.addnode(ph, tid, en.TANK)
        curve = t.volume_curve if isinstance(t.volume_curve, str) else ""
        en.settankdata(ph, idx, float(t.elevation_m), float(t.initial_level_m), float(t.min_level_m),
                       float(t.max_level_m), float(t.diameter_m), float(t.min_volume_m3), curve)
        en.setnodevalue(ph, idx, en.CANOVERFLOW, 1.0 if t.overflow else 0.0)


def _links(ph: object, net: Network, patterns: dict, curves: dict) -> None:
    for pid, p in net.pipe.iterrows():
        kind = en.CVPIPE if p.initial_status == "CV" else en.PIPE
        idx = en.addlink(ph, pid, kind, p.start_node, p.end_node)
        en.setpipedata(ph, idx, float(p.length_m), float(p.diameter_m) * 1000.0, float(p.roughness),
                       float(p.minor_loss))
        if p.initial_status == "CLOSED":
            en.setlinkvalue(ph, idx, en.INITSTATUS, 0.0)
    for pid, p in net.pump.iterrows():
        idx = en.addlink(ph, pid, en.PUMP, p.start_node, p.end_node)
        if isinstance(p.head_curve, str):
            en.setlinkvalue(ph, idx, en.PUMP_HCURVE, curves[p.head_curve])
        elif p.power_kw is not None and not np.isnan(p.power_kw):
            en.setlinkvalue(ph, idx, en.PUMP_POWER, float(p.power_kw))
        en.setlinkvalue(ph, idx, en.INITSETTING, float(p.speed))
        if isinstance(p.speed_pattern, str):
            en.setlinkvalue(ph, idx, en.LINKPATTERN, patterns[p.speed_pattern])
        if p.initial_status == "CLOSED":
            en.setlinkvalue(ph, idx, en.INITSTATUS, 0.0)
    for vid, v in net.valve.iterrows():
        idx = en.addlink(ph, vid, _VALVES[v.valve_type], v.start_node, v.end_node)
        en.setlinkvalue(ph, idx, en.DIAMETER, float(v.diameter_m) * 1000.0)
        en.setlinkvalue(ph, idx, en.MINORLOSS, float(v.minor_loss))
        setting = float(v.setting) * (_LPS if v.valve_type == "FCV" else 1.0)
        if v.valve_type == "GPV":
            setting = float(curves[v.curve])
        en.setlinkvalue(ph, idx, en.INITSETTING, setting)
        if v.initial_status in ("OPEN", "CLOSED"):
            en.setlinkvalue(ph, idx, en.INITSTATUS, 1.0 if v.initial_status == "OPEN" else 0.0)


def _controls(ph: object, net: Network) -> None:
    kinds = {**{i: "pipe" for i in net.pipe.index}, **{i: "pump" for i in net.pump.index},
             **{i: "valve" for i in net.valve.index}}
    for _, c in net.control.iterrows():
        if not c.enabled:
            continue
        link = en.getlinkindex(ph, c.link)
        kind = kinds[c.link]
        if isinstance(c.status, str) and c.status in ("OPEN", "CLOSED"):
            is_open = c.status == "OPEN"
            value = (1.0 if is_open else 0.0) if kind != "valve" else (en.SET_OPEN if is_open else en.SET_CLOSED)
        else:
            value = float(c.setting)
        node, level = 0, 0.0
        if c.condition in ("BELOW", "ABOVE"):
            node, level = en.getnodeindex(ph, c.node), float(c.threshold)
        else:
            level = float(c.time_s)
        en.addcontrol(ph, _CONDITIONS[c.condition], link, value, node, level)


def run_eps(net: Network, report_step_s: float | None = None) -> dict[str, pd.DataFrame]:
    """Run EPANET's hydraulics over the network's duration.

    Returns
    -------
    dict of DataFrame
        ``pressure``, ``head``, ``demand`` (time x junction; m, m, m3/s), ``tank_level``
        (time x tank, m above the bottom), ``flow`` (time x link, m3/s), ``status``
        (time x link: EPANET status code) at every report time (seconds from the start).
    """
    with build_project(net) as proj:
        ph = proj.ph
        step = int(report_step_s or en.gettimeparam(ph, en.REPORTSTEP))
        rows = {k: [] for k in ("pressure", "head", "demand", "tank_level", "flow", "status")}
        times = []
        jx = [en.getnodeindex(ph, j) for j in proj.junctions]
        tx = [en.getnodeindex(ph, t) for t in proj.tanks]
        lx = [en.getlinkindex(ph, link) for link in proj.links]
        en.openH(ph)
        en.initH(ph, en.NOSAVE)
        while True:
            t = en.runH(ph)
            if t % step == 0:
                times.append(t)
                rows["pressure"].append([en.getnodevalue(ph, i, en.PRESSURE) for i in jx])
                rows["head"].append([en.getnodevalue(ph, i, en.HEAD) for i in jx])
                rows["demand"].append([en.getnodevalue(ph, i, en.DEMAND) / _LPS for i in jx])
                rows["tank_level"].append([en.getnodevalue(ph, i, en.HEAD) - en.getnodevalue(ph, i, en.ELEVATION)
                                           for i in tx])
                rows["flow"].append([en.getlinkvalue(ph, i, en.FLOW) / _LPS for i in lx])
                rows["status"].append([en.getlinkvalue(ph, i, en.STATUS) for i in lx])
            if en.nextH(ph) <= 0:
                break
        en.closeH(ph)
        cols = {"pressure": proj.junctions, "head": proj.junctions, "demand": proj.junctions,
                "tank_level": proj.tanks, "flow": proj.links, "status": proj.links}
        index = pd.Index(times, name="time_s")
        return {k: pd.DataFrame(np.array(v, dtype=float).reshape(len(times), -1), index=index, columns=cols[k])
                for k, v in rows.items()}
