"""Convert SI water arrays to EPANET's internal units and build the kernels' namedtuples.

The twin tables hold exact SI values. EPANET reads a file in its own units and divides by its
own (partly rounded) constants, so to reproduce EPANET to round-off each SI value is first
converted back to the file's units (exact factors from :mod:`twin.units`) and then to ft / cfs
with EPANET's constants (:mod:`twin.solvers.water.constants`). Results go back the same way.
"""

from __future__ import annotations

import math
from collections import namedtuple
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from twin.solvers.water import constants as C
from twin.solvers.water.leakage import node_coefficients
from twin.solvers.water.pumps import constant_power, fit_pump
from twin.solvers.water.sparse import symbolic
from twin.units import epanet_units

Net = namedtuple("Net", [
    "nj", "n1", "n2", "ltype", "diam", "r", "km", "rough", "ptype", "ph0", "pr", "pn", "phmax", "pq0",
    "clo", "chi", "cx", "cy", "el", "tarea", "thmin", "thmax", "ke", "fopt", "iopt", "valves",
    "c_link", "c_node", "c_type", "c_grade", "c_status", "c_setting", "c_enabled",
    "perm", "iperm", "colptr", "rowind", "rowptr", "rowcols", "rowpos", "slot", "upd", "lcfa", "lcva", "leak_nodes",
    "overflow", "npre", "hr", "ia", "ib"])
State = namedtuple("State", ["head", "flow", "status", "setting", "dflow", "dfull", "eflow", "ndem", "qfa",
                             "qva"])
Work = namedtuple("Work", ["P", "Y", "diag", "rhs", "lx", "work", "xflow"])

LOWLEVEL, HILEVEL, TIMER, TIMEOFDAY = 0, 1, 2, 3
_CONDITIONS = {"BELOW": LOWLEVEL, "ABOVE": HILEVEL, "TIME": TIMER, "CLOCKTIME": TIMEOFDAY}


@dataclass(frozen=True)
class Factors:
    """Internal (ft, cfs, ft3, hp) value of one SI unit of each quantity: ``internal = si * f``."""

    flow: float
    length: float
    diameter: float
    pressure: float
    volume: float
    power: float
    roughness_dw: float
    #: ft of fluid per m of head in the emitter law (EPANET 2.3: psi with specific gravity in US
    #: units, m without it in SI units, whatever the PRESSURE option)
    emitter_pressure: float = 1.0 / C.MPERFT

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "Factors":
        """EPANET's conversion for a file with these ``flow_units`` / ``pressure_units``."""
        u = epanet_units(settings.get("flow_units", "GPM"), settings.get("pressure_units"))
        us = u.system == "US"
        sg = float(settings.get("specific_gravity", 1.0) or 1.0)
        # EPANET scales pressures in PSI, KPA and BAR by the specific gravity, heads in METERS
        # and FEET not (measured with the 2.3.5 toolkit: a PRV set to 20 m keeps 20 m of head
        # at specific gravity 2)
        pcf = {"PSI": C.PSIPERFT * sg, "KPA": 6.895 * C.PSIPERFT * sg, "BAR": 0.068948 * C.PSIPERFT * sg,
               "METERS": C.MPERFT, "FEET": 1.0}[u.pressure_units]
        elev = 1.0 if us else C.MPERFT
        return cls(flow=1.0 / u.flow / C.FLOW_PER_CFS[u.flow_units],
                   length=1.0 / u.length / elev,
                   diameter=1.0 / u.diameter / (12.0 if us else 1000.0 * C.MPERFT),
                   pressure=1.0 / u.pressure / pcf,
                   volume=1.0 / u.volume / (1.0 if us else C.M3PERFT3),
                   power=1.0 / u.power / (1.0 if us else C.KWPERHP),
                   roughness_dw=1.0 / u.dw_roughness / (1000.0 * elev),
                   emitter_pressure=1.0 / C.MPERFT / (sg if us else 1.0))


@dataclass
class Model:
    """Everything a run needs, in internal units: the kernel ``net`` plus EPS data."""

    net: Any
    factors: Factors
    n_nodes: int
    n_junctions: int
    tank_index: np.ndarray        # node indices of tanks (area > 0)
    reservoir_index: np.ndarray
    head0: np.ndarray             # initial heads of fixed-grade nodes (ft)
    tank_vmin: np.ndarray         # per node (ft3), tanks only
    tank_vmax: np.ndarray
    tank_v0: np.ndarray
    vcurve: np.ndarray            # per node: (lo, hi) into curve arrays, or -1
    head_pattern: np.ndarray      # per node pattern index or -1
    demand_node: np.ndarray
    demand_base: np.ndarray       # cfs
    demand_pattern: np.ndarray
    pattern_indptr: np.ndarray
    pattern_values: np.ndarray
    speed_pattern: np.ndarray     # per link
    status0: np.ndarray
    setting0: np.ndarray
    c_time: np.ndarray            # control times (s)
    dmult: float
    times: dict


def _curves(w: Any, f: Factors, kinds: dict[int, tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Curve points in internal units, scaled per curve by the (x, y) factors of its use."""
    cx = np.array(w.curve_x, float)
    cy = np.array(w.curve_y, float)
    for c, (fx, fy) in kinds.items():
        lo, hi = w.curve_indptr[c], w.curve_indptr[c + 1]
        cx[lo:hi] *= fx
        cy[lo:hi] *= fy
    return cx, cy


def build_model(w: Any, settings: Mapping[str, Any], controls: list[dict] = (),
                leak: tuple[np.ndarray, np.ndarray] | None = None,
                overflow: np.ndarray | None = None) -> Model:
    """Build the internal-unit :class:`Model` of compiled water arrays ``w`` and their settings.

    ``controls`` lists simple controls as dicts with ``link`` and ``node`` as indices (node -1
    for time controls), ``condition``, ``threshold`` (m), ``time_s``, ``status``, ``setting`` (SI)
    and ``enabled``. ``leak`` gives each link's EPANET 2.3 leak area (mm² per 100 m) and
    expansion (mm² per m of head), NaN or 0 where it does not leak. ``overflow`` flags, per node,
    the tanks that may overflow (EPANET 2.2 ``[TANKS]`` Overflow YES): a full one keeps its level
    and spills its net inflow instead of closing the links that fill it.

    Raises
    ------
    ValueError
        A pump curve cannot be fitted (the message names the pump), or an unknown control.
    """
    f = Factors.from_settings(settings)
    nj, nn, nl = int(w.n_junctions), len(w.node_ids), len(w.link_ids)
    kind = np.asarray(w.link_kind)
    vt = np.asarray(w.valve_type)
    ltype = np.where(kind == 0, C.PIPE, np.where(kind == 1, C.PUMP, 0)).astype(np.int64)
    for name, code in C.VALVE_CODES.items():
        ltype[(kind == 2) & (vt == ("PRV", "PSV", "PBV", "FCV", "TCV", "GPV", "PCV").index(name))] = code
    st0 = np.asarray(w.initial_status)
    ltype[(kind == 0) & (st0 == 2)] = C.CVPIPE
    usage = {}
    for k in np.flatnonzero(kind == 1):
        if w.pump_head_curve[k] >= 0:
            usage[int(w.pump_head_curve[k])] = (f.flow, f.length)
    for k in np.flatnonzero(ltype == C.GPV):
        if w.valve_curve[k] >= 0:
            usage[int(w.valve_curve[k])] = (f.flow, f.length)
    for i in range(nn):
        if w.tank_volume_curve[i] >= 0:
            usage[int(w.tank_volume_curve[i])] = (f.length, f.volume)
    cx, cy = _curves(w, f, usage)
    links = _link_arrays(w, f, ltype, cx, cy, settings)
    nodes = _node_arrays(w, f, cx, cy, settings)
    ctrl = _control_arrays(w, f, ltype, links, nodes["el"], list(controls))
    sym = symbolic(nj, np.asarray(w.start_node), np.asarray(w.end_node))
    fopt, iopt = _options(settings, f)
    if leak is None:
        lcfa, lcva = np.zeros(nj), np.zeros(nj)
    else:
        lcfa, lcva = node_coefficients(nj, np.asarray(w.start_node), np.asarray(w.end_node),
                                       np.nan_to_num(np.asarray(w.length_m, float)) * (ltype <= C.PIPE),
                                       np.asarray(leak[0], float), np.asarray(leak[1], float))
    net = Net(nj=nj, n1=np.asarray(w.start_node, np.int64), n2=np.asarray(w.end_node, np.int64),
              ltype=ltype, **{k: links[k] for k in ("diam", "r", "km", "rough", "ptype", "ph0", "pr", "pn",
                                                   "phmax", "pq0", "clo", "chi")},
              cx=cx, cy=cy, el=nodes["el"], tarea=nodes["tarea"], thmin=nodes["thmin"], thmax=nodes["thmax"],
              ke=nodes["ke"], fopt=fopt, iopt=iopt, valves=np.flatnonzero(kind == 2).astype(np.int64),
              **{k: ctrl[k] for k in ("c_link", "c_node", "c_type", "c_grade", "c_status", "c_setting",
                                      "c_enabled")},
              perm=sym.perm, iperm=sym.iperm, colptr=sym.colptr, rowind=sym.rowind, rowptr=sym.rowptr,
              rowcols=sym.rowcols, rowpos=sym.rowpos, slot=sym.slot, upd=sym.upd, lcfa=lcfa, lcva=lcva,
              leak_nodes=np.flatnonzero((lcfa > 0) | (lcva > 0)).astype(np.int64),
              overflow=_overflow(overflow, nn, nodes["tarea"]), **_link_constants(nj, ltype, links["r"], fopt[0],
                                                                                np.asarray(w.start_node, np.int64),
                                                                                np.asarray(w.end_node, np.int64),
                                                                                sym.iperm))
    return Model(net=net, factors=f, n_nodes=nn, n_junctions=nj, tank_index=nodes["tanks"],
                 reservoir_index=nodes["reservoirs"], head0=nodes["head0"], tank_vmin=nodes["vmin"],
                 tank_vmax=nodes["vmax"], tank_v0=nodes["v0"], vcurve=nodes["vcurve"],
                 head_pattern=np.asarray(w.head_pattern, np.int64),
                 demand_node=np.asarray(w.demand_node, np.int64),
                 demand_base=np.asarray(w.base_demand_m3s, float) * f.flow,
                 demand_pattern=_demand_patterns(w, settings),
                 pattern_indptr=np.asarray(w.pattern_indptr, np.int64),
                 pattern_values=np.asarray(w.pattern_values, float),
                 speed_pattern=np.asarray(w.pump_speed_pattern, np.int64),
                 status0=links["status"], setting0=links["setting"], c_time=ctrl["c_time"],
                 dmult=float(settings.get("demand_multiplier", 1.0)), times=_times(settings))


def _link_constants(nj: int, ltype: np.ndarray, r: np.ndarray, hexp: float, n1: np.ndarray, n2: np.ndarray,
                    iperm: np.ndarray) -> dict[str, Any]:
    """Per-model constants of the assembly loop (:func:`twin.solvers.water.gga.assemble`).

    ``npre``: length of the leading run of pipes (CV pipes included) in the link order, which
    the assembly handles in a loop without type dispatch; ``hr = hexp * r`` (the factor of the
    Hazen-Williams / Chezy-Manning gradient ``hexp r |q|^(hexp-1)``, same rounding as evaluating
    it left to right per iteration); ``ia`` / ``ib``: matrix row of each link's start / end node
    (``-1`` for a fixed-grade node).
    """
    notpipe = np.flatnonzero(ltype > C.PIPE)
    npre = int(notpipe[0]) if notpipe.size else len(ltype)
    ia = np.full(len(n1), -1, np.int64)
    ib = np.full(len(n2), -1, np.int64)
    ia[n1 < nj] = iperm[n1[n1 < nj]]
    ib[n2 < nj] = iperm[n2[n2 < nj]]
    return dict(npre=npre, hr=np.ascontiguousarray(hexp * r), ia=ia, ib=ib)


def _overflow(flags: np.ndarray | None, nn: int, tarea: np.ndarray) -> np.ndarray:
    """Per-node overflow flags (tanks only; all False when not given)."""
    out = np.zeros(nn, np.bool_)
    if flags is not None:
        out[:] = np.asarray(flags, np.bool_)
    return out & (tarea > 0.0)


def _demand_patterns(w: Any, settings: Mapping[str, Any]) -> np.ndarray:
    pat = np.asarray(w.demand_pattern, np.int64).copy()
    ids = list(w.pattern_ids)
    dflt = settings.get("default_pattern") or "1"
    pat[pat < 0] = ids.index(dflt) if dflt in ids else -1
    return pat


def _times(s: Mapping[str, Any]) -> dict:
    keys = ("duration_s", "hydraulic_timestep_s", "pattern_timestep_s", "pattern_start_s",
            "report_timestep_s", "report_start_s", "start_clocktime_s", "rule_timestep_s")
    return {k: int(round(float(s.get(k, 0) or 0))) for k in keys}


def _options(s: Mapping[str, Any], f: Factors) -> tuple[np.ndarray, np.ndarray]:
    form = {"H-W": 0, "D-W": 1, "C-M": 2}[str(s.get("headloss", "H-W")).upper()]
    hexp = C.HW_EXP if form == 0 else 2.0
    visc = float(s.get("viscosity", 1.0) or 1.0)
    visc = visc * C.VISCOS if visc > 1.0e-3 else visc * f.length * f.length
    gamma = float(s.get("emitter_exponent", 0.5) or 0.5)
    pda = 1 if str(s.get("demand_model", "DDA")).upper() == "PDA" else 0
    pmin = float(s.get("minimum_pressure_m", 0.0) or 0.0) * f.pressure
    preq = float(s.get("required_pressure_m", 0.0) or 0.0) * f.pressure
    pexp = float(s.get("pressure_exponent", 0.5) or 0.5)
    fopt = np.array([hexp, visc, float(s.get("accuracy", 0.001)), float(s.get("damp_limit", 0.0) or 0.0),
                     1.0 / gamma, pmin, preq, pexp,
                     float(s.get("head_error_m", 0.0) or 0.0) * f.length,
                     float(s.get("flow_change_m3s", 0.0) or 0.0) * f.flow])
    unbalanced = str(s.get("unbalanced", "STOP")).upper()
    extra = -1 if unbalanced == "STOP" else int(s.get("unbalanced_trials", 0) or 0)
    backflow = 1 if _flag(s.get("emitter_backflow", True)) else 0
    iopt = np.array([form, int(s.get("trials", 200)), extra, int(s.get("check_frequency", 2)),
                     int(s.get("max_check", 10)), pda, backflow], np.int64)
    return fopt, iopt


def _flag(value: Any) -> bool:
    """A YES/NO-like setting as a bool (``"NO"``, ``"FALSE"``, ``0`` and ``False`` are false)."""
    if isinstance(value, str):
        return value.strip().upper() not in ("NO", "FALSE", "0", "")
    return bool(value)


def _link_arrays(w: Any, f: Factors, ltype: np.ndarray, cx: np.ndarray, cy: np.ndarray,
                 s: Mapping[str, Any]) -> dict[str, np.ndarray]:
    nl = len(ltype)
    form = str(s.get("headloss", "H-W")).upper()
    diam = np.nan_to_num(np.asarray(w.diameter_m, float)) * f.diameter
    length = np.nan_to_num(np.asarray(w.length_m, float)) * f.length
    rough = np.nan_to_num(np.asarray(w.roughness, float))
    r = np.full(nl, C.CSMALL)
    pipe = ltype <= C.PIPE
    d, L, e = diam[pipe], length[pipe], rough[pipe]
    if form == "H-W":
        r[pipe] = 4.727 * L / e ** C.HW_EXP / d ** 4.871
    elif form == "D-W":
        rough = rough * f.roughness_dw
        r[pipe] = L / 2.0 / 32.2 / d / (math.pi * d * d / 4.0) ** 2
    else:
        r[pipe] = (4.0 * e / (1.49 * math.pi * d * d)) ** 2 * (d / 4.0) ** -1.333 * L
    km = np.asarray(w.minor_loss, float).copy()
    has_d = diam > 0
    km[has_d] = 0.02517 * km[has_d] / diam[has_d] ** 4
    km[~has_d] = 0.0
    out = dict(diam=diam, r=r, km=km, rough=rough)
    out.update(_pump_arrays(w, f, ltype, cx, cy))
    out.update(_initial_status(w, f, ltype))
    return out


def _pump_arrays(w: Any, f: Factors, ltype: np.ndarray, cx: np.ndarray, cy: np.ndarray) -> dict:
    nl = len(ltype)
    a = {k: np.zeros(nl) for k in ("ph0", "pr", "pn", "phmax", "pq0")}
    ptype = np.full(nl, -1, np.int64)
    clo = np.full(nl, -1, np.int64)
    chi = np.full(nl, -1, np.int64)
    for k in np.flatnonzero(ltype == C.PUMP):
        c = int(w.pump_head_curve[k])
        if c >= 0:
            lo, hi = int(w.curve_indptr[c]), int(w.curve_indptr[c + 1])
            fit = fit_pump(list(cx[lo:hi]), list(cy[lo:hi]))
            if fit is None:
                raise ValueError(f"pump {w.link_ids[k]!r}: head curve {w.curve_ids[c]!r} cannot be fitted "
                                 "(EPANET error 227: heads must fall as flow rises)")
            clo[k], chi[k] = lo, hi
        else:
            hp = float(w.pump_power_kw[k]) * f.power
            if not hp > 0:
                raise ValueError(f"pump {w.link_ids[k]!r} has neither a head curve nor a power")
            fit = constant_power(hp)
        ptype[k] = fit.ptype
        a["ph0"][k], a["pr"][k], a["pn"][k], a["phmax"][k], a["pq0"][k] = fit.h0, fit.r, fit.n, fit.hmax, fit.q0
    for k in np.flatnonzero((ltype == C.GPV) | (ltype == C.PCV)):
        c = int(w.valve_curve[k])
        if c >= 0:
            clo[k], chi[k] = int(w.curve_indptr[c]), int(w.curve_indptr[c + 1])
    return dict(ptype=ptype, clo=clo, chi=chi, **a)


def valve_setting(ltype: int, value: float, f: Factors) -> float:
    """A valve setting (SI) in internal units: pressures to ft, FCV flow to cfs, others as is."""
    if ltype in (C.PRV, C.PSV, C.PBV):
        return value * f.pressure
    if ltype == C.FCV:
        return value * f.flow
    return value


def _initial_status(w: Any, f: Factors, ltype: np.ndarray) -> dict:
    st0 = np.asarray(w.initial_status)
    status = np.where(st0 == 0, C.CLOSED, C.OPEN).astype(np.int64)
    setting = np.zeros(len(ltype))
    for k in range(len(ltype)):
        t = ltype[k]
        if t == C.PUMP:
            setting[k] = float(w.setting[k])
        elif t >= C.PRV:
            if st0[k] == 3:
                setting[k] = valve_setting(t, float(w.setting[k]), f)
                status[k] = C.ACTIVE
            else:
                setting[k] = C.MISSING
    return dict(status=status, setting=setting)


def _node_arrays(w: Any, f: Factors, cx: np.ndarray, cy: np.ndarray, s: Mapping[str, Any]) -> dict:
    nn, nj = len(w.node_ids), int(w.n_junctions)
    nkind = np.asarray(w.node_kind)
    el = np.asarray(w.elevation_m, float) * f.length
    tanks = np.flatnonzero(nkind == 2).astype(np.int64)
    res = np.flatnonzero(nkind == 1).astype(np.int64)
    tarea, thmin, thmax = np.zeros(nn), np.zeros(nn), np.zeros(nn)
    vmin, vmax, v0 = np.zeros(nn), np.zeros(nn), np.zeros(nn)
    head0 = el.copy()
    vcurve = np.full((nn, 2), -1, np.int64)
    for i in tanks:
        d = float(w.tank_diameter_m[i]) * f.length
        c = int(w.tank_volume_curve[i])
        tarea[i] = math.pi * d * d / 4.0
        thmin[i] = el[i] + float(w.tank_min_level_m[i]) * f.length
        thmax[i] = el[i] + float(w.tank_max_level_m[i]) * f.length
        head0[i] = el[i] + float(w.tank_initial_level_m[i]) * f.length
        if c >= 0:
            vcurve[i] = (int(w.curve_indptr[c]), int(w.curve_indptr[c + 1]))
            if tarea[i] <= 0.0:
                tarea[i] = 1.0
            vmin[i] = _interp(cx, cy, vcurve[i], thmin[i] - el[i])
        else:
            vm = float(w.tank_min_volume_m3[i]) * f.volume
            vmin[i] = vm if vm > 0.0 else tarea[i] * (thmin[i] - el[i])
    for i in tanks:
        vmax[i] = tank_volume(i, thmax[i], el, tarea, thmin, vmin, vcurve, cx, cy)
        v0[i] = tank_volume(i, head0[i], el, tarea, thmin, vmin, vcurve, cx, cy)
    ke = np.zeros(nn)
    gamma = float(s.get("emitter_exponent", 0.5) or 0.5)
    qexp = 1.0 / gamma
    kes = np.asarray(w.emitter_coefficient, float)
    for i in np.flatnonzero(kes[:nj] > 0):
        # K (SI, per m of head) -> per internal units: h_ft = Ke q_cfs^qexp with q = K p^gamma
        kq = kes[i] * f.flow / f.emitter_pressure ** gamma    # cfs per ft^gamma
        ke[i] = 1.0 / kq ** qexp
    return dict(el=el, tanks=tanks, reservoirs=res, tarea=tarea, thmin=thmin, thmax=thmax, vmin=vmin,
                vmax=vmax, v0=v0, head0=head0, vcurve=vcurve, ke=ke)


def _interp(cx: np.ndarray, cy: np.ndarray, rng: np.ndarray, x: float) -> float:
    from twin.solvers.water.headloss import interp
    return float(interp(cx, cy, int(rng[0]), int(rng[1]), float(x)))


def tank_volume(i: int, h: float, el: np.ndarray, tarea: np.ndarray, thmin: np.ndarray, vmin: np.ndarray,
                vcurve: np.ndarray, cx: np.ndarray, cy: np.ndarray) -> float:
    """Volume (ft3) of tank node ``i`` at head ``h`` (ft): cylinder or volume curve."""
    if vcurve[i, 0] < 0:
        return vmin[i] + (h - thmin[i]) * tarea[i]
    return _interp(cx, cy, vcurve[i], h - el[i])


def tank_grade(i: int, v: float, el: np.ndarray, tarea: np.ndarray, thmin: np.ndarray, vmin: np.ndarray,
               vcurve: np.ndarray, cx: np.ndarray, cy: np.ndarray) -> float:
    """Head (ft) of tank node ``i`` holding volume ``v`` (ft3)."""
    if vcurve[i, 0] < 0:
        return thmin[i] + (v - vmin[i]) / tarea[i]
    return el[i] + _interp(cy, cx, vcurve[i], v)


def _control_arrays(w: Any, f: Factors, ltype: np.ndarray, links: dict, el: np.ndarray,
                    rows: list[dict]) -> dict:
    n = len(rows)
    out = dict(c_link=np.full(n, -1, np.int64), c_node=np.full(n, -1, np.int64), c_type=np.zeros(n, np.int64),
               c_grade=np.zeros(n), c_status=np.zeros(n, np.int64), c_setting=np.zeros(n),
               c_enabled=np.ones(n, np.bool_), c_time=np.zeros(n, np.int64))
    nj = int(w.n_junctions)
    for c, row in enumerate(rows):
        k = int(row["link"])
        t = int(ltype[k])
        out["c_link"][c] = k
        cond = str(row["condition"]).upper()
        if cond not in _CONDITIONS:
            raise ValueError(f"control {c}: unknown condition {cond!r}")
        out["c_type"][c] = _CONDITIONS[cond]
        out["c_enabled"][c] = bool(row.get("enabled", True))
        node = row.get("node")
        if node is not None and node >= 0:
            out["c_node"][c] = node
            thr = float(row["threshold"])
            out["c_grade"][c] = el[node] + thr * (f.pressure if node < nj else f.length)
        if cond in ("TIME", "CLOCKTIME"):
            out["c_time"][c] = int(round(float(row["time_s"])))
        out["c_status"][c], out["c_setting"][c] = _control_action(t, row.get("status"), row.get("setting"),
                                                                  float(links["setting"][k]), f)
    return out


def _control_action(t: int, status: Any, setting: Any, kc: float, f: Factors) -> tuple[int, float]:
    """EPANET's (status, setting) pair of a control action on a link of type ``t``."""
    word = str(status).upper() if isinstance(status, str) and status else ""
    if word == "OPEN":
        return C.OPEN, (1.0 if t == C.PUMP else kc if t == C.GPV else C.MISSING)
    if word == "CLOSED":
        return C.CLOSED, (0.0 if t == C.PUMP else kc if t == C.GPV else C.MISSING)
    value = float(setting) if setting is not None and not (isinstance(setting, float) and math.isnan(setting)) \
        else C.MISSING
    if t in (C.PUMP, C.PIPE, C.CVPIPE):
        return (C.CLOSED if value == 0.0 else C.OPEN), value
    return C.ACTIVE, valve_setting(t, value, f)
