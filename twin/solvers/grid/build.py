"""Turn compiled grid arrays into a per-unit power-flow case (internal buses, branches, injections).

The input is any object shaped like :class:`twin.model.compiled.grid.GridArrays` (duck typed:
this layer never imports :mod:`twin.model`). Two bus-kind conventions are supported:

* ``"pandapower"``: an in-service external grid or slack generator makes its bus the reference,
  any other in-service generator makes it PV; closed bus-bus switches fuse buses; an open bus-line
  or bus-transformer switch leaves that branch end on an auxiliary bus (so a line open at one end
  still carries its charging current, as pandapower models it);
* ``"matpower"``: the bus type of the source file decides (MATPOWER ``bustypes``): REF and PV
  buses keep their kind only with an in-service generator, a generator on a PQ bus injects its
  ``P + jQ``, ISOLATED buses are out of service.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from twin.errors import NetworkError
from twin.solvers.grid.branches import admittances, line_parameters, matpower_parameters, transformer_parameters
from twin.solvers.grid.topology import energised_buses, fuse_buses
from twin.solvers.grid.ybus import make_ybus

__all__ = ["BRANCH_KINDS", "PowerFlowCase", "build_case", "injection_steps", "injections", "with_outage"]

#: Element kinds that become branches, in the order they are stacked.
BRANCH_KINDS: tuple[str, ...] = ("line", "transformer", "branch")
_TYPE_CODES = {"PQ": 0, "PV": 1, "REF": 2, "ISOLATED": 3}


@dataclass(frozen=True, eq=False)
class PowerFlowCase:
    """A grid in per unit on internal buses (fused buses first, then auxiliary buses).

    Branch arrays stack lines, transformers and MATPOWER branches (``slices`` gives each kind's
    rows). ``kind`` is 0 PQ, 1 PV, 2 REF, 3 de-energised. Injections are in p.u. on ``base_mva``.
    ``pi`` holds the stacked pi parameters ``(r, x, g, b, ratio, shift_degree)`` of every branch.
    """

    base_mva: float
    n_bus: int
    bus_map: np.ndarray
    base_kv: np.ndarray
    f: np.ndarray
    t: np.ndarray
    y: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    branch_on: np.ndarray
    slices: Mapping[str, slice]
    ysh: np.ndarray
    kind: np.ndarray
    energised: np.ndarray
    island: np.ndarray
    vm_set: np.ndarray
    va_set: np.ndarray
    ybus: sp.csr_matrix
    elements: Mapping[str, dict[str, np.ndarray]]
    pi: tuple[np.ndarray, ...] = ()
    branch_ok: np.ndarray | None = None
    bus_ok: np.ndarray | None = None

    def sbus(self, load_scale: np.ndarray | None = None, sgen_scale: np.ndarray | None = None) -> np.ndarray:
        """Specified injections (p.u.), optionally with per-element multipliers of loads and sgens."""
        return injections(self, load_scale, sgen_scale)


def _bus_codes(bus_type: np.ndarray | None, n: int) -> np.ndarray:
    if bus_type is None:
        return np.zeros(n, dtype=np.int64)
    names, inverse = np.unique(np.asarray(bus_type).astype(str), return_inverse=True)
    return np.array([_TYPE_CODES.get(x.upper(), 0) for x in names], dtype=np.int64)[inverse.ravel()]


def _branch_ends(g: Any, bus_map: np.ndarray, n_fused: int, base_kv: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """From/to internal buses of every branch, with auxiliary buses for open line/trafo switches."""
    line, trafo, branch = g.line, g.transformer, g.branch
    f = np.concatenate([line.from_bus, trafo.hv_bus, branch.from_bus]).astype(np.int64)
    t = np.concatenate([line.to_bus, trafo.lv_bus, branch.to_bus]).astype(np.int64)
    offset = {1: 0, 2: len(line)}
    aux_kv = []
    fi, ti = bus_map[f], bus_map[t]
    n = n_fused
    for k in np.flatnonzero(~np.asarray(g.switch_closed, bool) & (np.asarray(g.switch_et) > 0)):
        row = offset[int(g.switch_et[k])] + int(g.switch_element[k])
        bus = int(g.switch_bus[k])
        ends = fi if bus == f[row] else ti
        if bus not in (f[row], t[row]):
            raise NetworkError(f"switch {g.switch_ids[k]!r}: bus {g.bus_ids[bus]!r} is not an end of its element")
        ends[row] = n
        aux_kv.append(base_kv[bus_map[bus]])
        n += 1
    return fi, ti, n, np.concatenate([base_kv, np.asarray(aux_kv, float)])


def _check_impedance(kind: str, ids: np.ndarray, r: np.ndarray, x: np.ndarray, on: np.ndarray) -> None:
    bad = on & ((r == 0) & (x == 0) | ~np.isfinite(r) | ~np.isfinite(x))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise NetworkError(f"{kind} {ids[i]!r}: zero or undefined series impedance (r={r[i]}, x={x[i]}); "
                           "use a closed bus-bus switch for a zero-impedance connection")


def _check_transformers(g: Any) -> None:
    tr = g.transformer
    bad = np.flatnonzero(tr.vkr_percent > tr.vk_percent)
    if len(bad):
        i = int(bad[0])
        raise NetworkError(f"transformer {tr.ids[i]!r}: vkr_percent={tr.vkr_percent[i]} exceeds "
                           f"vk_percent={tr.vk_percent[i]}; the resistive part of the short-circuit voltage "
                           "must not exceed the short-circuit voltage")
    bad = np.flatnonzero((tr.vk_percent <= 0) | (tr.sn_mva <= 0) | (tr.vn_hv_kv <= 0) | (tr.vn_lv_kv <= 0))
    if len(bad):
        i = int(bad[0])
        raise NetworkError(f"transformer {tr.ids[i]!r}: vk_percent, sn_mva, vn_hv_kv and vn_lv_kv must be > 0")


def _pi_parameters(g: Any, base_kv_bus: np.ndarray, side: np.ndarray) -> tuple[np.ndarray, ...]:
    """Stacked pi parameters r, x, g, b, ratio, shift of lines, transformers and branches."""
    ln, tr, br = g.line, g.transformer, g.branch
    lp = line_parameters(ln.length_km, ln.r_ohm_per_km, ln.x_ohm_per_km, ln.c_nf_per_km, ln.g_us_per_km,
                         ln.parallel, base_kv_bus[ln.from_bus], g.base_mva, g.f_hz)
    lp = (*lp, np.ones(len(ln)), np.zeros(len(ln)))
    _check_transformers(g)
    tap = (side, tr.tap_pos.astype(float), tr.tap_neutral.astype(float), tr.tap_step_percent,
           tr.tap_step_degree)
    tp = transformer_parameters(tr.sn_mva, tr.vn_hv_kv, tr.vn_lv_kv, tr.vk_percent, tr.vkr_percent, tr.pfe_kw,
                                tr.i0_percent, tr.shift_degree, tr.parallel, base_kv_bus[tr.hv_bus],
                                base_kv_bus[tr.lv_bus], g.base_mva, tap)
    bp = matpower_parameters(br.r_pu, br.x_pu, br.b_pu, br.tap_ratio, br.shift_degree)
    out = tuple(np.concatenate([a, b, c]).astype(float) for a, b, c in zip(lp, tp, bp))
    for kind, params, el in (("line", lp, ln), ("transformer", tp, tr), ("branch", bp, br)):
        _check_impedance(kind, el.ids, params[0], params[1], np.asarray(el.in_service, bool))
    return out


def build_case(g: Any, *, convention: str = "pandapower", bus_type: np.ndarray | None = None,
               tap_side: np.ndarray | None = None) -> PowerFlowCase:
    """Build the per-unit case of a compiled grid.

    Parameters
    ----------
    g : GridArrays
        Compiled grid (:func:`twin.model.compile_grid`).
    convention : {"pandapower", "matpower"}
        How bus kinds are decided (see the module docstring).
    bus_type : ndarray of str, optional
        Bus types of the source (``PQ``, ``PV``, ``REF``, ``ISOLATED``); needed for ``"matpower"``.
    tap_side : ndarray of int, optional
        Side of each transformer's tap changer: +1 HV, -1 LV, 0 none (default: HV where
        ``g.tap_side_hv``, else none).

    Returns
    -------
    PowerFlowCase
    """
    if tap_side is None:
        tap_side = np.where(np.asarray(g.tap_side_hv, bool), 1, 0)
    n0 = g.n_buses
    codes = _bus_codes(bus_type, n0)
    sw_bb = (np.asarray(g.switch_et) == 0) & np.asarray(g.switch_closed, bool)
    bus_map, n_fused = fuse_buses(n0, g.switch_bus[sw_bb], g.switch_element[sw_bb])
    base_kv = np.zeros(n_fused)
    base_kv[bus_map] = g.vn_kv
    r, x, gsh, bsh, ratio, shift = _pi_parameters(g, np.asarray(g.vn_kv, float), np.asarray(tap_side))
    f, t, n_bus, base_kv = _branch_ends(g, bus_map, n_fused, base_kv)
    bus_ok = np.ones(n_bus, dtype=bool)
    bus_ok[:n_fused] = False
    np.logical_or.at(bus_ok, bus_map, np.asarray(g.bus_in_service, bool) & (codes != 3))
    on = np.concatenate([np.asarray(getattr(g, k).in_service, bool) for k in BRANCH_KINDS])
    on &= bus_ok[f] & bus_ok[t]
    y: Any = tuple(np.where(on, a, 0.0) for a in admittances(np.where(on, r, 1.0), np.where(on, x, 1.0), gsh, bsh,
                                                          ratio, shift))
    elements, kind, vm_set, va_set = _sources(g, bus_map, n_bus, codes, convention)
    branch_ok = on.copy()
    energised, kind, island = energised_buses(n_bus, f[on], t[on], kind, bus_ok)
    ysh = _shunts(g, bus_map, n_bus)
    on &= energised[f]
    ybus = make_ybus(n_bus, f[on], t[on], y[0][on], y[1][on], y[2][on], y[3][on], np.where(energised, ysh, 0))
    n = np.cumsum([0] + [len(getattr(g, k)) for k in BRANCH_KINDS])
    slices = {k: slice(int(n[i]), int(n[i + 1])) for i, k in enumerate(BRANCH_KINDS)}
    return PowerFlowCase(g.base_mva, n_bus, bus_map, base_kv, f, t, y, on, slices, ysh, kind,
                         energised, island, vm_set, va_set, ybus, elements, (r, x, gsh, bsh, ratio, shift),
                         branch_ok, bus_ok)


def _sources(g: Any, bus_map: np.ndarray, n_bus: int, codes: np.ndarray, convention: str
             ) -> tuple[dict[str, dict[str, np.ndarray]], np.ndarray, np.ndarray, np.ndarray]:
    """Bus kinds, voltage set points and the injecting elements on internal buses."""
    kind = np.zeros(n_bus, dtype=np.int64)
    vm_set = np.full(n_bus, np.nan)
    va_set = np.zeros(n_bus)
    va_set[bus_map] = np.deg2rad(g.va_degree_init)
    gen, ext = g.generator, g.external_grid
    gbus = bus_map[gen.bus]
    gon = np.asarray(gen.in_service, bool)
    if convention == "matpower":
        itype = np.zeros(n_bus, dtype=np.int64)
        itype[bus_map] = codes
        gkind = np.where(itype[gbus] == 2, 2, np.where(itype[gbus] == 1, 1, 0))
    elif convention == "pandapower":
        gkind = np.where(np.asarray(gen.slack, bool), 2, 1)
    else:
        raise ValueError(f"unknown convention {convention!r}; use 'pandapower' or 'matpower'")
    gkind = np.where(gon, gkind, -1)
    ctrl = np.flatnonzero(gkind > 0)
    np.maximum.at(kind, gbus[ctrl], gkind[ctrl])
    last = ctrl[::-1][np.unique(gbus[ctrl[::-1]], return_index=True)[1]]  # MATPOWER: the last
    vm_set[gbus[last]] = np.asarray(gen.vm_pu, float)[last]  # generator at a bus sets its voltage
    xbus = bus_map[ext.bus]
    xon = np.asarray(ext.in_service, bool)
    kind[xbus[xon]] = 2
    vm_set[xbus[xon]] = ext.vm_pu[xon]
    va_set[xbus[xon]] = np.deg2rad(ext.va_degree[xon])
    elements = {
        "load": dict(bus=bus_map[g.load.bus], on=np.asarray(g.load.in_service, bool),
                     s=(g.load.p_mw + 1j * g.load.q_mvar) * g.load.scaling),
        "static_generator": dict(bus=bus_map[g.static_generator.bus],
                                 on=np.asarray(g.static_generator.in_service, bool),
                                 s=(g.static_generator.p_mw + 1j * g.static_generator.q_mvar)
                                 * g.static_generator.scaling),
        "generator": dict(bus=gbus, on=gon, kind=gkind, s=np.where(gkind == 0, gen.p_mw + 1j * gen.q_mvar,
                                                                   gen.p_mw + 0j),
                          qmin=_q_limit(gen.min_q_mvar, -1e9), qmax=_q_limit(gen.max_q_mvar, 1e9)),
        "external_grid": dict(bus=xbus, on=xon),
    }
    return elements, kind, vm_set, va_set


def _q_limit(q: np.ndarray, default: float) -> np.ndarray:
    """Reactive limits for sharing Q among a bus's generators: missing or beyond 1e9 Mvar is
    1e9 Mvar (pandapower's ``q_lim_default``), so infinite ranges still split evenly."""
    q = np.nan_to_num(np.asarray(q, float), nan=default, posinf=1e9, neginf=-1e9)
    return np.clip(q, -1e9, 1e9)


def _shunts(g: Any, bus_map: np.ndarray, n_bus: int) -> np.ndarray:
    sh = g.shunt
    on = np.asarray(sh.in_service, bool)
    ysh = np.zeros(n_bus, dtype=complex)
    np.add.at(ysh, bus_map[sh.bus[on]], (sh.p_mw[on] - 1j * sh.q_mvar[on]) * sh.step[on] / g.base_mva)
    return ysh


def injections(case: PowerFlowCase, load_scale: np.ndarray | None = None,
               sgen_scale: np.ndarray | None = None) -> np.ndarray:
    """Specified complex injection at each internal bus (p.u.): generators + sgens - loads.

    ``load_scale`` and ``sgen_scale`` multiply each element's power (profiles); None means 1.
    """
    sbus = np.zeros(case.n_bus, dtype=complex)
    for name, sign, scale in (("load", -1.0, load_scale), ("static_generator", 1.0, sgen_scale),
                              ("generator", 1.0, None)):
        el = case.elements[name]
        s = el["s"] if scale is None else el["s"] * scale
        on = el["on"]
        np.add.at(sbus, el["bus"][on], sign * s[on])
    sbus /= case.base_mva
    sbus[~case.energised] = 0.0
    return sbus


def injection_steps(case: PowerFlowCase, load_scale: np.ndarray | None, sgen_scale: np.ndarray | None,
                    n_steps: int) -> np.ndarray:
    """Specified injections (p.u.) of every step at once (steps x buses), as :func:`injections` per step.

    ``load_scale`` and ``sgen_scale`` are steps x elements multipliers (None: 1).
    """
    out = np.zeros((n_steps, case.n_bus), dtype=complex)
    for name, sign, scale in (("load", -1.0, load_scale), ("static_generator", 1.0, sgen_scale),
                              ("generator", 1.0, None)):
        el = case.elements[name]
        on = np.flatnonzero(el["on"])
        if not len(on):
            continue
        s = el["s"][on] * (1.0 if scale is None else np.asarray(scale, float)[:, on])
        incidence = sp.csr_matrix((np.full(len(on), sign), (np.arange(len(on)), el["bus"][on])),
                                  shape=(len(on), case.n_bus))
        out += (incidence.T @ np.atleast_2d(s).T).T
    out /= case.base_mva
    out[:, ~case.energised] = 0.0
    return out


def with_outage(case: PowerFlowCase, branches: Sequence[int] | np.ndarray = (),
                generators: Sequence[int] | np.ndarray = ()) -> PowerFlowCase:
    """The case with some branches (stacked rows) and generators out of service.

    Islands, bus kinds and ``Ybus`` are recomputed (a bus cut off from every source becomes
    de-energised); per-unit parameters and set points are reused. Cost: one ``Ybus`` assembly.

    Examples
    --------
    >>> import twin
    >>> from twin.grid.flow import prepare
    >>> g, case = prepare(twin.datasets.sample_city())
    >>> with_outage(case, [0]).branch_on[0]
    np.False_
    """
    ok = (case.branch_on if case.branch_ok is None else case.branch_ok).copy()
    bus_ok = case.energised if case.bus_ok is None else case.bus_ok
    ok[np.asarray(branches, dtype=np.int64)] = False
    gen = dict(case.elements["generator"])
    gen["on"] = gen["on"].copy()
    gen["on"][np.asarray(generators, dtype=np.int64)] = False
    ext = case.elements["external_grid"]
    kind = np.zeros(case.n_bus, dtype=np.int64)
    ctrl = gen["on"] & (gen["kind"] > 0)
    np.maximum.at(kind, gen["bus"][ctrl], gen["kind"][ctrl])
    kind[ext["bus"][ext["on"]]] = 2
    f, t = case.f[ok], case.t[ok]
    energised, kind, island = energised_buses(case.n_bus, f, t, kind, bus_ok)
    on = ok & energised[case.f]
    y = case.y
    ybus = make_ybus(case.n_bus, case.f[on], case.t[on], y[0][on], y[1][on], y[2][on], y[3][on],
                     np.where(energised, case.ysh, 0))
    return replace(case, branch_on=on, kind=kind, energised=energised, island=island, ybus=ybus,
                   elements={**case.elements, "generator": gen})
