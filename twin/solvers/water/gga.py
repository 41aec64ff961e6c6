"""The Global Gradient Algorithm for one hydraulic period (EPANET's ``hydsolve``).

One call solves heads and flows for fixed tank levels and demands: link coefficients, assembly
of the junction matrix (links, emitters, pressure-driven demands, active valves), an in-place
LDL^T solve over a symbolic factorization computed once per topology, the flow update with
EPANET's relaxation, its convergence test, and its status-check schedule (valves every
iteration or below DAMPLIMIT, CVs / pumps / tank links every CHECKFREQ iterations up to
MAXCHECK and after convergence, junction pressure controls after convergence).

``net`` and ``st`` are the namedtuples built by :mod:`twin.solvers.water.model`.

References
----------
Todini, E. and Pilati, S. (1988). A gradient algorithm for the analysis of pipe networks.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from twin.solvers.water.constants import (
    ACTIVE, BIG, CBIG, CLOSED, CONST_HP, CVPIPE, FCV, GPV, ILL_CONDITIONED, MISSING, OK, OPEN, PBV,
    PCV, PIPE, PRV, PSV, PUMP, QZERO, TCV, UNBALANCED, XFCV, XHEAD, XPRESSURE, TEMPCLOSED, RQTOL,
)
from twin.solvers.water.headloss import (
    closed_link, gpv_coeff, pbv_coeff, pcv_coeff, pipe_dw, pipe_hw, pump_coeff, tcv_coeff, valve_coeff,
)
from twin.solvers.water.leakage import leak_coeffs, leak_converged, new_leak_flows
from twin.solvers.water.pda import demand_coeffs, new_demand_flows, pda_converged
from twin.solvers.water.sparse import ldl_factor_mapped, ldl_solve
from twin.solvers.water.status import (
    cv_status, fcv_status, prv_status, psv_status, pump_status, tank_status,
)

HW, DW, CM = 0, 1, 2


@njit(cache=True, error_model="numpy")
def coeff(k: int, t: int, q: float, s: int, setting: float, r: float, km: float, rough: float, diam: float,
          ptype: int, ph0: float, pr: float, pn: float, clo: int, chi: int, cx: np.ndarray, cy: np.ndarray,
          form: int, hexp: float, viscos: float) -> tuple[float, float]:
    """``(P, Y)`` of one link of type ``t`` for flow ``q``, status ``s`` and ``setting``."""
    if t <= PIPE:
        if s <= CLOSED:
            return closed_link(q)
        if form == DW:
            return pipe_dw(q, r, km, rough, diam, viscos)
        return pipe_hw(q, r, km, hexp)
    if t == PUMP:
        return pump_coeff(q, s, setting, ptype, ph0, pr, pn, cx, cy, clo, chi)
    if t == PBV:
        return pbv_coeff(q, km, setting, s)
    if t == TCV:
        return tcv_coeff(q, km, setting, diam, s)
    if t == GPV:
        return gpv_coeff(q, km, s, cx, cy, clo, chi)
    if t == PCV:
        return pcv_coeff(q, km, setting, s, cx, cy, clo, chi)
    if setting == MISSING:
        return valve_coeff(q, km, s)
    return 0.0, 0.0


def link_coeff(net, st, k: int) -> tuple[float, float]:
    """``(P, Y)`` of link ``k`` for the current flow, status and setting (Python-level helper)."""
    return coeff(k, net.ltype[k], st.flow[k], st.status[k], st.setting[k], net.r[k], net.km[k], net.rough[k],
                 net.diam[k], net.ptype[k], net.ph0[k], net.pr[k], net.pn[k], net.clo[k], net.chi[k], net.cx,
                 net.cy, net.iopt[0], net.fopt[0], net.fopt[1])


@njit(cache=True, error_model="numpy", inline="always")
def _add_rhs(net, w, n: int, v: float) -> None:
    if n < net.nj:
        w.rhs[net.iperm[n]] += v


@njit(cache=True, error_model="numpy", inline="always")
def _add_diag(net, w, n: int, p: float, f: float) -> None:
    if n < net.nj:
        r = net.iperm[n]
        w.diag[r] += p
        w.rhs[r] += f


@njit(cache=True, error_model="numpy", inline="always")
def _valve_matrix(net, st, w, k: int) -> None:
    """Matrix terms of a PRV, PSV or FCV with a setting (EPANET ``valvecoeffs``)."""
    t = net.ltype[k]
    n1 = net.n1[k]
    n2 = net.n2[k]
    s = st.status[k]
    q = st.flow[k]
    if t == PRV and s == ACTIVE:
        hset = net.el[n2] + st.setting[k]
        w.P[k] = 0.0
        w.Y[k] = q + w.xflow[n2]
        _add_diag(net, w, n2, CBIG, hset * CBIG)
        if w.xflow[n2] < 0.0:
            _add_rhs(net, w, n1, w.xflow[n2])
        return
    if t == PSV and s == ACTIVE:
        hset = net.el[n1] + st.setting[k]
        w.P[k] = 0.0
        w.Y[k] = q - w.xflow[n1]
        _add_diag(net, w, n1, CBIG, hset * CBIG)
        if w.xflow[n1] > 0.0:
            _add_rhs(net, w, n2, w.xflow[n1])
        return
    if t == FCV and s == ACTIVE:
        qs = st.setting[k]
        w.xflow[n1] -= qs
        w.xflow[n2] += qs
        w.Y[k] = q - qs
        _add_rhs(net, w, n1, -qs)
        _add_rhs(net, w, n2, qs)
        w.P[k] = 1.0 / CBIG
        if net.slot[k] >= 0:
            w.lx[net.slot[k]] -= w.P[k]
        _add_diag(net, w, n1, w.P[k], 0.0)
        _add_diag(net, w, n2, w.P[k], 0.0)
        return
    p, y = valve_coeff(q, net.km[k], s)
    w.P[k] = p
    w.Y[k] = y
    # EPANET adds no fixed-grade head term for these valves (hydcoeffs.c prvcoeff/fcvcoeff)
    if net.slot[k] >= 0:
        w.lx[net.slot[k]] -= p
    _add_diag(net, w, n1, p, y - q)
    _add_diag(net, w, n2, p, q - y)


@njit(cache=True, error_model="numpy")
def emitter_loss(ke: float, q: float, qexp: float) -> tuple[float, float]:
    """Head loss and gradient of an emitter ``h = ke q^qexp`` (linear below ``RQTOL``)."""
    ke = max(ke, 1.0e-6)
    hgrad = qexp * ke * abs(q) ** (qexp - 1.0)
    if hgrad < RQTOL:
        hgrad = RQTOL
        return hgrad * q, hgrad
    return hgrad * q / qexp, hgrad


@njit(cache=True, error_model="numpy")
def lower_barrier(q: float) -> tuple[float, float]:
    """Head loss and gradient of EPANET 2.3's barrier against flows below zero (``addlowerbarrier``).

    A smooth ``min(0, 1e9 q)``: about ``1e9 q`` for ``q < 0`` and vanishing for ``q > 0``.

    Examples
    --------
    >>> h, g = lower_barrier(-1.0e-3)
    >>> round(h / 1.0e6, 6), round(g / 1.0e9, 6)
    (-1.0, 1.0)
    """
    a = 1.0e9 * q
    b = math.sqrt(a * a + 1.0e-6)
    return (a - b) / 2.0, 1.0e9 / 2.0 * (1.0 - a / b)


@njit(cache=True, error_model="numpy")
def emitter_terms(ke: float, q: float, qexp: float, backflow: bool) -> tuple[float, float]:
    """Head loss and gradient of an emitter; without ``backflow`` a barrier keeps ``q >= 0``."""
    hloss, hgrad = emitter_loss(ke, q, qexp)
    if not backflow:
        h, g = lower_barrier(q)
        hloss += h
        hgrad += g
    return hloss, hgrad


@njit(cache=True, error_model="numpy")
def _pipe_terms(npre, form, hexp, viscos, n1, n2, ia, ib, flow, status, hr, r, km, rough, diam, slot, head,
                P, Y, lx, diag, rhs, xflow) -> None:
    """:func:`_link_terms` for the leading run of pipes ``0 <= k < npre``: no type dispatch.

    The Hazen-Williams / Chezy-Manning law is :func:`pipe_hw` written out with the per-model
    ``hr = hexp r`` (the same product, so the same bits), and the matrix rows of the end nodes
    come from ``ia`` / ``ib`` (``-1``: fixed grade) instead of ``iperm`` and a node test.
    """
    e1 = hexp - 1.0
    for k in range(npre):
        q = flow[k]
        if status[k] <= CLOSED:
            p = 1.0 / CBIG       # closed_link
            y = q
        elif form == DW:
            p, y = pipe_dw(q, r[k], km[k], rough[k], diam[k], viscos)
        else:
            aq = abs(q)
            hgrad = hr[k] * aq ** e1
            if hgrad < RQTOL:
                hgrad = RQTOL
                hloss = hgrad * aq
            else:
                hloss = hgrad * aq / hexp
            m = km[k]
            if m > 0.0:
                hloss += m * aq * aq
                hgrad += 2.0 * m * aq
            if q < 0.0:
                hloss = -hloss
            p = 1.0 / hgrad
            y = hloss / hgrad
        P[k] = p
        Y[k] = y
        if p == 0.0:
            continue
        a = n1[k]
        b = n2[k]
        xflow[a] -= q
        xflow[b] += q
        sk = slot[k]
        if sk >= 0:
            lx[sk] -= p
        i = ia[k]
        j = ib[k]
        if i >= 0:
            diag[i] += p
            rhs[i] += y
        elif j >= 0:
            rhs[j] += p * head[a]
        if j >= 0:
            diag[j] += p
            rhs[j] -= y
        elif i >= 0:
            rhs[i] += p * head[b]


@njit(cache=True, error_model="numpy")
def _link_terms(k0, nj, n1, n2, ltype, flow, status, setting, r, km, rough, diam, ptype, ph0, pr, pn, clo, chi,
                cx, cy, form, hexp, viscos, slot, iperm, head, P, Y, lx, diag, rhs, xflow) -> None:
    """Link coefficients and their matrix terms (EPANET ``headlosscoeffs`` + ``linkcoeffs``), links ``k >= k0``."""
    for k in range(k0, n1.size):
        t = ltype[k]
        if t <= PIPE and status[k] > CLOSED:
            # pipes call the scalar laws directly: passing the curve arrays to ``coeff`` costs a
            # reference-count round trip per link
            if form == DW:
                p, y = pipe_dw(flow[k], r[k], km[k], rough[k], diam[k], viscos)
            else:
                p, y = pipe_hw(flow[k], r[k], km[k], hexp)
        else:
            p, y = coeff(k, t, flow[k], status[k], setting[k], r[k], km[k], rough[k], diam[k], ptype[k],
                         ph0[k], pr[k], pn[k], clo[k], chi[k], cx, cy, form, hexp, viscos)
        P[k] = p
        Y[k] = y
        if p == 0.0:
            continue
        a = n1[k]
        b = n2[k]
        q = flow[k]
        xflow[a] -= q
        xflow[b] += q
        if slot[k] >= 0:
            lx[slot[k]] -= p
        if a < nj:
            i = iperm[a]
            diag[i] += p
            rhs[i] += y
        elif b < nj:
            rhs[iperm[b]] += p * head[a]
        if b < nj:
            i = iperm[b]
            diag[i] += p
            rhs[i] -= y
        elif a < nj:
            rhs[iperm[a]] += p * head[b]


@njit(cache=True, error_model="numpy")
def assemble(net, st, w) -> None:
    """Compute link coefficients and assemble ``A H = F`` (EPANET ``matrixcoeffs``)."""
    nj = net.nj
    w.diag[:] = 0.0
    w.rhs[:] = 0.0
    w.lx[:] = 0.0
    w.xflow[:] = 0.0
    # links are assembled in their order (the sums into each matrix entry keep EPANET's order):
    # the leading run of pipes without type dispatch, then the rest
    npre = net.npre
    _pipe_terms(npre, net.iopt[0], net.fopt[0], net.fopt[1], net.n1, net.n2, net.ia, net.ib, st.flow, st.status,
                net.hr, net.r, net.km, net.rough, net.diam, net.slot, st.head, w.P, w.Y, w.lx, w.diag, w.rhs,
                w.xflow)
    _link_terms(npre, nj, net.n1, net.n2, net.ltype, st.flow, st.status, st.setting, net.r, net.km, net.rough,
                net.diam, net.ptype, net.ph0, net.pr, net.pn, net.clo, net.chi, net.cx, net.cy, net.iopt[0],
                net.fopt[0], net.fopt[1], net.slot, net.iperm, st.head, w.P, w.Y, w.lx, w.diag, w.rhs, w.xflow)
    # fields are read into locals once: a namedtuple field read inside a loop costs a
    # reference-count round trip per access in Numba
    qexp = net.fopt[4]
    backflow = net.iopt.size < 7 or net.iopt[6] != 0
    ke, el, iperm, eflow, dflow = net.ke, net.el, net.iperm, st.eflow, st.dflow
    diag, rhs, xflow = w.diag, w.rhs, w.xflow
    for i in range(nj):
        if ke[i] == 0.0:
            continue
        hloss, hgrad = emitter_terms(ke[i], eflow[i], qexp, backflow)
        r = iperm[i]
        diag[r] += 1.0 / hgrad
        rhs[r] += (hloss + el[i]) / hgrad
        xflow[i] -= eflow[i]
    if net.leak_nodes.size:
        leak_coeffs(net, st, w)
    if net.iopt[5] == 1:
        demand_coeffs(net, st, w)
    for i in range(nj):
        xflow[i] -= dflow[i]
        rhs[iperm[i]] += xflow[i]
    for k in net.valves:
        if st.setting[k] != MISSING and (net.ltype[k] == PRV or net.ltype[k] == PSV or net.ltype[k] == FCV):
            _valve_matrix(net, st, w, k)


@njit(cache=True, error_model="numpy")
def new_flows(net, st, w, relax: float) -> float:
    """Update link, emitter and demand flows from new heads; return the relative flow change."""
    nj = net.nj
    n1s, n2s, ltype, ptype, ke, el = net.n1, net.n2, net.ltype, net.ptype, net.ke, net.el
    head, flow, status, ndem, eflow = st.head, st.flow, st.status, st.ndem, st.eflow
    P, Y = w.P, w.Y
    nn = el.size
    for i in range(nj, nn):
        ndem[i] = 0.0
    dqsum = 0.0
    qsum = 0.0
    for k in range(n1s.size):
        n1 = n1s[k]
        n2 = n2s[k]
        dq = Y[k] - P[k] * (head[n1] - head[n2])
        dq *= relax
        if ltype[k] == PUMP and ptype[k] == CONST_HP and dq > flow[k]:
            dq = flow[k] / 2.0
        flow[k] -= dq
        qsum += abs(flow[k])
        dqsum += abs(dq)
        if status[k] > CLOSED:
            if n1 >= nj:
                ndem[n1] -= flow[k]
            if n2 >= nj:
                ndem[n2] += flow[k]
    qexp = net.fopt[4]
    backflow = net.iopt.size < 7 or net.iopt[6] != 0
    for i in range(nj):
        if ke[i] == 0.0:
            continue
        hloss, hgrad = emitter_terms(ke[i], eflow[i], qexp, backflow)
        dq = (hloss - (head[i] - el[i])) / hgrad
        eflow[i] -= dq
        dqsum += abs(dq)
        qsum += abs(eflow[i])
    if net.leak_nodes.size:
        a, b = new_leak_flows(net, st)
        dqsum += a
        qsum += b
    if net.iopt[5] == 1:
        a, b = new_demand_flows(net, st)
        dqsum += a
        qsum += b
    if qsum > net.fopt[2]:
        return dqsum / qsum
    return dqsum


@njit(cache=True, error_model="numpy")
def valve_status(net, st) -> bool:
    """Update PRV / PSV status from the new heads; True when any changed."""
    change = False
    for k in net.valves:
        t = net.ltype[k]
        if st.setting[k] == MISSING or (t != PRV and t != PSV):
            continue
        n1 = net.n1[k]
        n2 = net.n2[k]
        s = st.status[k]
        if t == PRV:
            st.status[k] = prv_status(s, st.flow[k], net.km[k], net.el[n2] + st.setting[k],
                                      st.head[n1], st.head[n2])
        else:
            st.status[k] = psv_status(s, st.flow[k], net.km[k], net.el[n1] + st.setting[k],
                                      st.head[n1], st.head[n2])
        if st.status[k] != s:
            change = True
    return change


@njit(cache=True, error_model="numpy")
def link_status(net, st) -> bool:
    """Check CVs, pumps, FCVs and links to full/empty tanks (EPANET ``linkstatus``)."""
    nj = net.nj
    n1s, n2s, ltype, ptype, phmax, tarea, thmin, thmax = (net.n1, net.n2, net.ltype, net.ptype, net.phmax,
                                                          net.tarea, net.thmin, net.thmax)
    overflow = net.overflow
    head, flow, status, setting = st.head, st.flow, st.status, st.setting
    change = False
    for k in range(n1s.size):
        n1 = n1s[k]
        n2 = n2s[k]
        t = ltype[k]
        s0 = status[k]
        if t == PIPE and s0 == OPEN and n1 < nj and n2 < nj:
            continue   # an open pipe between junctions: nothing to check
        dh = head[n1] - head[n2]
        if s0 == XHEAD or s0 == TEMPCLOSED:
            status[k] = OPEN
        if t == CVPIPE:
            status[k] = cv_status(status[k], dh, flow[k])
        if t == PUMP and status[k] >= OPEN and setting[k] > 0.0:
            status[k] = pump_status(ptype[k], phmax[k], setting[k], -dh, flow[k])
        if t == FCV and setting[k] != MISSING:
            status[k] = fcv_status(s0, flow[k], setting[k], head[n1], head[n2])
        if n1 >= nj and tarea[n1] > 0.0:
            # a tank that may overflow is never full: it spills what flows in
            hmax = BIG if overflow[n1] else thmax[n1]
            status[k] = tank_status(status[k], t, flow[k], head[n1], head[n2], thmin[n1], hmax, True)
        if n2 >= nj and tarea[n2] > 0.0:
            hmax = BIG if overflow[n2] else thmax[n2]
            status[k] = tank_status(status[k], t, -flow[k], head[n2], head[n1], thmin[n2], hmax, False)
        if status[k] != s0:
            change = True
    return change


@njit(cache=True, error_model="numpy", inline="always")
def init_link_flow(net, st, k: int) -> None:
    """EPANET ``initlinkflow``: QZERO if closed, design flow for pumps, 1 ft/s otherwise."""
    if st.status[k] == CLOSED:
        st.flow[k] = QZERO
    elif net.ltype[k] == PUMP:
        st.flow[k] = st.setting[k] * net.pq0[k]
    else:
        st.flow[k] = math.pi * net.diam[k] ** 2 / 4.0


@njit(cache=True, error_model="numpy")
def pressure_switch(net, st) -> bool:
    """Apply simple controls on junction pressure after convergence (EPANET ``pswitch``)."""
    any_change = False
    for c in range(net.c_link.size):
        k = net.c_link[c]
        n = net.c_node[c]
        if k < 0 or n < 0 or n >= net.nj or not net.c_enabled[c]:
            continue
        reset = False
        if net.c_type[c] == 0 and st.head[n] <= net.c_grade[c] + 0.0005:
            reset = True
        if net.c_type[c] == 1 and st.head[n] >= net.c_grade[c] - 0.0005:
            reset = True
        if not reset:
            continue
        t = net.ltype[k]
        s = st.status[k]
        change = False
        if t == PIPE and s != net.c_status[c]:
            change = True
        if t == PUMP and st.setting[k] != net.c_setting[c]:
            change = True
        if t >= PRV:
            if st.setting[k] != net.c_setting[c]:
                change = True
            elif st.setting[k] == MISSING and s != net.c_status[c]:
                change = True
        if change:
            st.status[k] = net.c_status[c]
            if t > PIPE:
                st.setting[k] = net.c_setting[c]
            if s != st.status[k]:
                init_link_flow(net, st, k)
            any_change = True
    return any_change


@njit(cache=True, error_model="numpy")
def bad_valve(net, st, n: int) -> bool:
    """Fix an active PRV/PSV/FCV at node ``n`` that makes the matrix singular; True if one was."""
    for k in net.valves:
        if net.n1[k] == n or net.n2[k] == n:
            t = net.ltype[k]
            if (t == PRV or t == PSV or t == FCV) and st.status[k] == ACTIVE:
                st.status[k] = XFCV if t == FCV else XPRESSURE
                return True
            return False
    return False


@njit(cache=True, error_model="numpy")
def hydsolve(net, st, w) -> tuple[int, int, float, int]:
    """Solve one period; returns ``(status, iterations, relative error, bad node or -1)``.

    ``status`` is ``OK``, ``UNBALANCED`` (trials exhausted) or ``ILL_CONDITIONED`` (singular
    matrix not caused by a control valve; the junction is returned).
    """
    maxiter = net.iopt[1]
    extra = net.iopt[2]
    checkfreq = net.iopt[3]
    maxcheck = net.iopt[4]
    damplimit = net.fopt[3]
    hacc = net.fopt[2]
    maxtrials = maxiter + extra if extra > 0 else maxiter
    nextcheck = checkfreq
    relax = 1.0
    relerr = 0.0
    it = 1
    # previous link, emitter and demand flows, kept when FLOWCHANGE is set
    prev = np.empty(st.flow.size + 2 * net.nj if net.fopt[9] > 0.0 else 0)
    while it <= maxtrials:
        assemble(net, st, w)
        bad = ldl_factor_mapped(net.nj, net.colptr, net.rowptr, net.rowcols, net.rowpos, net.upd, w.diag, w.lx)
        if bad >= 0:
            node = net.perm[bad]
            if bad_valve(net, st, node):
                continue
            return ILL_CONDITIONED, it, relerr, node
        ldl_solve(net.nj, net.colptr, net.rowind, w.diag, w.lx, w.rhs)
        _copy_heads(net.nj, net.iperm, w.rhs, st.head)
        if prev.size:
            _keep_flows(st, prev)
        relerr = new_flows(net, st, w, relax)
        relax = 1.0
        valve_change = False
        if damplimit > 0.0:
            if relerr <= damplimit:
                relax = 0.6
                valve_change = valve_status(net, st)
        else:
            valve_change = valve_status(net, st)
        if _converged(net, st, relerr, hacc) and _balanced(net, st, prev):
            if it > maxiter:
                break
            change = valve_change
            if link_status(net, st):
                change = True
            if pressure_switch(net, st):
                change = True
            if not change:
                break
            nextcheck = it + checkfreq
        elif it <= maxcheck and it == nextcheck:
            link_status(net, st)
            nextcheck += checkfreq
        it += 1
    if it > maxtrials:
        it = maxtrials
    _add(net.nj, st.dflow, st.eflow, st.ndem)
    for i in net.leak_nodes:
        st.ndem[i] += st.qfa[i] + st.qva[i]
    if relerr > hacc:
        return UNBALANCED, it, relerr, -1
    return OK, it, relerr, -1


@njit(cache=True, error_model="numpy")
def _converged(net, st, relerr: float, hacc: float) -> bool:
    if relerr > hacc:
        return False
    if net.leak_nodes.size and not leak_converged(net, st):
        return False
    if net.iopt[5] == 1:
        return pda_converged(net, st)
    return True


@njit(cache=True, error_model="numpy")
def _keep_flows(st, prev: np.ndarray) -> None:
    """Copy link, emitter and delivered demand flows into ``prev`` (that order)."""
    nl = st.flow.size
    nj = st.eflow.size
    prev[:nl] = st.flow
    prev[nl:nl + nj] = st.eflow
    prev[nl + nj:] = st.dflow


@njit(cache=True, error_model="numpy")
def max_flow_change(st, prev: np.ndarray) -> float:
    """Largest change of a link, emitter or demand flow since :func:`_keep_flows` (cfs)."""
    nl = st.flow.size
    nj = st.eflow.size
    dq = 0.0
    for k in range(nl):
        dq = max(dq, abs(st.flow[k] - prev[k]))
    for i in range(nj):
        dq = max(dq, abs(st.eflow[i] - prev[nl + i]), abs(st.dflow[i] - prev[nl + nj + i]))
    return dq


@njit(cache=True, error_model="numpy")
def max_head_error(net, st) -> float:
    """Largest ``|h1 - h2 - h(q)|`` over open links at the current heads and flows (ft).

    EPANET's ``checkhydbalance``: closed links and PRV / PSV / FCV with a setting are skipped.
    """
    err = 0.0
    for k in range(net.n1.size):
        if st.status[k] <= CLOSED:
            continue
        p, y = coeff(k, net.ltype[k], st.flow[k], st.status[k], st.setting[k], net.r[k], net.km[k],
                     net.rough[k], net.diam[k], net.ptype[k], net.ph0[k], net.pr[k], net.pn[k], net.clo[k],
                     net.chi[k], net.cx, net.cy, net.iopt[0], net.fopt[0], net.fopt[1])
        if p == 0.0:
            continue
        dh = st.head[net.n1[k]] - st.head[net.n2[k]]
        err = max(err, abs(dh - y / p))
    return err


@njit(cache=True, error_model="numpy")
def _balanced(net, st, prev: np.ndarray) -> bool:
    """EPANET 2.2's FLOWCHANGE and HEADERROR tests (``fopt[9]``, ``fopt[8]``; 0 = not used)."""
    if prev.size and max_flow_change(st, prev) > net.fopt[9]:
        return False
    if net.fopt[8] > 0.0 and max_head_error(net, st) > net.fopt[8]:
        return False
    return True


@njit(cache=True, error_model="numpy", inline="always")
def _copy_heads(nj: int, iperm: np.ndarray, rhs: np.ndarray, head: np.ndarray) -> None:
    for i in range(nj):
        head[i] = rhs[iperm[i]]


@njit(cache=True, error_model="numpy", inline="always")
def _add(n: int, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    for i in range(n):
        out[i] = a[i] + b[i]
