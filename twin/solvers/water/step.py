"""EPANET's EPS time logic in Numba: one call solves a whole run (or a stretch of it).

The per-period work of :class:`twin.solvers.water.eps.Engine` (demands and reservoir heads from
patterns, pump speed patterns, simple controls, the GGA solve, the next time step from hydraulic,
pattern, report, stop, tank and control events, and the explicit tank update) as ``@njit``
functions over the model's arrays, so that a run without rule-based controls is a single kernel
call (:func:`run_to`): no Python and no Numba dispatch per time step.

The clock lives in an int64 array ``clk`` (indices ``HTIME`` ... ``DURATION``) and the demand
multiplier in ``fclk[0]``; ``eps`` is the :data:`Eps` namedtuple of pattern and tank arrays.
Everything is in internal units (ft, cfs, s).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from twin.solvers.water.constants import (
    CLOSED, CONST_HP, FCV, ILL_CONDITIONED, MISSING, OPEN, PIPE, PUMP, QZERO, UNBALANCED, GPV,
)
from twin.solvers.water.gga import hydsolve
from twin.solvers.water.headloss import interp

Eps = namedtuple("Eps", [
    "demand_node", "demand_base", "demand_pattern", "pattern_indptr", "pattern_values", "pat_len",
    "head_pattern", "reservoir_index", "speed_pattern", "speed_links", "tank_index", "tank_vmin",
    "tank_vmax", "vcurve", "c_time", "held"])
Rec = namedtuple("Rec", ["time", "iters", "head", "flow", "status", "setting", "demand", "requested",
                         "delivered", "emitter", "volume"])

HTIME, RTIME, STOP_AT, HALTED, HSTEP, PSTEP, PSTART, RSTEP, TSTART, DURATION, RSTART, MAXIT, NSOLVES = range(13)
LOWLEVEL, HILEVEL, TIMER, TIMEOFDAY = 0, 1, 2, 3
SEC_PER_DAY = 86400
#: record modes of :func:`run_to`
REC_NONE, REC_REPORT, REC_ALL = 0, 1, 2


def new_rec(cap: int, nn: int, nl: int, nj: int) -> Rec:
    """Empty record buffers for ``cap`` solves."""
    return Rec(time=np.zeros(cap, np.int64), iters=np.zeros(cap, np.int64), head=np.zeros((cap, nn)),
               flow=np.zeros((cap, nl)), status=np.zeros((cap, nl), np.int64), setting=np.zeros((cap, nl)),
               demand=np.zeros((cap, nn)), requested=np.zeros((cap, nj)), delivered=np.zeros((cap, nj)),
               emitter=np.zeros((cap, nj)), volume=np.zeros((cap, nn)))


@njit(cache=True, error_model="numpy", inline="always")
def _round(x: float) -> int:
    """EPANET's ROUND: half away from zero, then truncate."""
    if x >= 0.0:
        return int(x + 0.5)
    return int(x - 0.5)


@njit(cache=True, error_model="numpy", inline="always")
def _mult(eps, pat: int, period: int) -> float:
    if pat < 0:
        return 1.0
    return eps.pattern_values[eps.pattern_indptr[pat] + period % eps.pat_len[pat]]


@njit(cache=True, error_model="numpy")
def tank_volume(net, eps, i: int, h: float) -> float:
    """Volume (ft3) of tank node ``i`` at head ``h``: cylinder or volume curve."""
    if eps.vcurve[i, 0] < 0:
        return eps.tank_vmin[i] + (h - net.thmin[i]) * net.tarea[i]
    return interp(net.cx, net.cy, eps.vcurve[i, 0], eps.vcurve[i, 1], h - net.el[i])


@njit(cache=True, error_model="numpy")
def tank_grade(net, eps, i: int, v: float) -> float:
    """Head (ft) of tank node ``i`` holding volume ``v``."""
    if eps.vcurve[i, 0] < 0:
        return net.thmin[i] + (v - eps.tank_vmin[i]) / net.tarea[i]
    return net.el[i] + interp(net.cy, net.cx, eps.vcurve[i, 0], eps.vcurve[i, 1], v)


@njit(cache=True, error_model="numpy")
def set_setting(net, st, k: int, value: float) -> None:
    """EPANET ``setlinksetting``: pump speed (0 closes) or valve setting (internal units)."""
    t = net.ltype[k]
    if t == PUMP:
        st.setting[k] = value
        if value > 0.0 and st.status[k] <= CLOSED:
            if net.ptype[k] == CONST_HP:
                st.flow[k] = net.pq0[k]
            st.status[k] = OPEN
        if value == 0.0 and st.status[k] > CLOSED:
            st.status[k] = CLOSED
    elif t == FCV:
        st.setting[k] = value
        st.status[k] = 4  # ACTIVE
    else:
        if st.setting[k] == MISSING and st.status[k] <= CLOSED:
            st.status[k] = OPEN
        st.setting[k] = value


@njit(cache=True, error_model="numpy")
def set_status(net, st, k: int, is_open: bool) -> None:
    """EPANET ``setlinkstatus``: open or close link ``k``."""
    t = net.ltype[k]
    if is_open:
        if t == PUMP:
            st.setting[k] = 1.0
            if st.status[k] == CLOSED and net.ptype[k] == CONST_HP:
                st.flow[k] = net.pq0[k]
        if t > PUMP and t != GPV:
            st.setting[k] = MISSING
        st.status[k] = OPEN
    else:
        if t == PUMP:
            st.setting[k] = 0.0
        if t > PUMP and t != GPV:
            st.setting[k] = MISSING
        st.status[k] = CLOSED


@njit(cache=True, error_model="numpy")
def demands(net, eps, st, clk, dmult: float) -> None:
    """Demands, reservoir heads and pump speeds of the current pattern period."""
    # namedtuple fields are read into locals once: a field read inside a loop costs a
    # reference-count round trip per access in Numba
    period = (clk[HTIME] + clk[PSTART]) // clk[PSTEP]
    nj = net.nj
    dfull, dflow = st.dfull, st.dflow
    dnode, dbase, dpat = eps.demand_node, eps.demand_base, eps.demand_pattern
    pv, pind, plen = eps.pattern_values, eps.pattern_indptr, eps.pat_len
    for i in range(nj):
        dfull[i] = 0.0
    for d in range(dnode.size):
        n = dnode[d]
        if n < nj:
            p = dpat[d]
            mult = 1.0 if p < 0 else pv[pind[p] + period % plen[p]]
            dfull[n] += dbase[d] * mult * dmult
    for i in range(nj):
        dflow[i] = dfull[i]
    for i in eps.reservoir_index:
        p = eps.head_pattern[i]
        if p >= 0:
            st.head[i] = net.el[i] * _mult(eps, p, period)
    held = eps.held
    for k in eps.speed_links:
        if held[k]:
            continue    # a held link keeps its held status (and speed) against its speed pattern
        set_setting(net, st, k, _mult(eps, eps.speed_pattern[k], period))


@njit(cache=True, error_model="numpy")
def _apply_control(net, st, c: int, k: int) -> int:
    s1 = CLOSED if st.status[k] <= CLOSED else OPEN
    s2 = net.c_status[c]
    k1 = st.setting[k]
    k2 = net.c_setting[c] if net.ltype[k] > PIPE else k1
    if net.ltype[k] == PUMP and s1 == CLOSED and s2 == OPEN and net.ptype[k] == CONST_HP:
        st.flow[k] = net.pq0[k]
    if s1 != s2 or k1 != k2:
        st.status[k] = s2
        st.setting[k] = k2
        return 1
    return 0


@njit(cache=True, error_model="numpy")
def controls(net, eps, st, clk) -> int:
    """Apply time, clock-time and tank-level simple controls (EPANET ``controls``)."""
    nj = net.nj
    setsum = 0
    htime = clk[HTIME]
    for c in range(net.c_link.size):
        k = net.c_link[c]
        if not net.c_enabled[c] or k < 0:
            continue
        reset = False
        n = net.c_node[c]
        typ = net.c_type[c]
        if n >= nj and net.tarea[n] > 0.0:
            vplus = abs(st.ndem[n])
            v1 = tank_volume(net, eps, n, st.head[n])
            v2 = tank_volume(net, eps, n, net.c_grade[c])
            reset = (typ == LOWLEVEL and v1 <= v2 + vplus) or (typ == HILEVEL and v1 >= v2 - vplus)
        if typ == TIMER and eps.c_time[c] == htime:
            reset = True
        if typ == TIMEOFDAY and (htime + clk[TSTART]) % SEC_PER_DAY == eps.c_time[c]:
            reset = True
        if reset:
            setsum += _apply_control(net, st, c, k)
    return setsum


@njit(cache=True, error_model="numpy")
def solve_period(net, eps, st, w, clk, fclk) -> tuple[int, int, float, int]:
    """Demands, controls and the GGA solve of the current time (EPANET ``runH``)."""
    demands(net, eps, st, clk, fclk[0])
    return solve_with_demands(net, eps, st, w, clk)


@njit(cache=True, nogil=True, error_model="numpy")
def solve_with_demands(net, eps, st, w, clk) -> tuple[int, int, float, int]:
    """Controls and the GGA solve of the current time, the demands already set; counts the solve."""
    controls(net, eps, st, clk)
    res = hydsolve(net, st, w)
    clk[NSOLVES] += 1
    if res[1] > clk[MAXIT]:
        clk[MAXIT] = res[1]
    if res[0] == UNBALANCED and net.iopt[2] == -1:
        clk[HALTED] = 1
    return res


@njit(cache=True, error_model="numpy")
def tank_timestep(net, eps, st, volume, tstep: int) -> int:
    """Shorten ``tstep`` to the time a tank fills or empties."""
    for i in eps.tank_index:
        q = st.ndem[i]
        if abs(q) <= QZERO:
            continue
        h = st.head[i]
        if q > 0.0 and h < net.thmax[i]:
            v = eps.tank_vmax[i] - volume[i]
        elif q < 0.0 and h > net.thmin[i]:
            v = eps.tank_vmin[i] - volume[i]
        else:
            continue
        t = _round(v / q)
        if 0 < t < tstep:
            tstep = t
    return tstep


@njit(cache=True, error_model="numpy")
def control_timestep(net, eps, st, clk, volume, tstep: int) -> int:
    """Shorten ``tstep`` to the time a simple control fires."""
    nj = net.nj
    htime = clk[HTIME]
    for c in range(net.c_link.size):
        if not net.c_enabled[c]:
            continue
        t = 0
        n = net.c_node[c]
        typ = net.c_type[c]
        if n >= 0:
            if n < nj or net.tarea[n] <= 0.0:
                continue
            h = st.head[n]
            q = st.ndem[n]
            if abs(q) <= QZERO:
                continue
            g = net.c_grade[c]
            if (h < g and typ == HILEVEL and q > 0.0) or (h > g and typ == LOWLEVEL and q < 0.0):
                t = _round((tank_volume(net, eps, n, g) - volume[n]) / q)
        if typ == TIMER and eps.c_time[c] > htime:
            t = eps.c_time[c] - htime
        if typ == TIMEOFDAY:
            t1 = (htime + clk[TSTART]) % SEC_PER_DAY
            t2 = eps.c_time[c]
            t = t2 - t1 if t2 >= t1 else SEC_PER_DAY - t1 + t2
        if 0 < t < tstep:
            k = net.c_link[c]
            if (net.ltype[k] > PIPE and st.setting[k] != net.c_setting[c]) or st.status[k] != net.c_status[c]:
                tstep = t
    return tstep


@njit(cache=True, error_model="numpy")
def tank_levels(net, eps, st, volume, dt: int) -> None:
    """Explicit Euler update of tank volumes and heads over ``dt`` seconds."""
    for i in eps.tank_index:
        q = st.ndem[i]
        v = volume[i] + q * dt
        if v + q >= eps.tank_vmax[i]:
            v = eps.tank_vmax[i]
        elif v - q <= eps.tank_vmin[i]:
            v = eps.tank_vmin[i]
        volume[i] = v
        st.head[i] = tank_grade(net, eps, i, v)


@njit(cache=True, error_model="numpy")
def event_timestep(net, eps, st, clk, volume) -> int:
    """Next step length from hydraulic, pattern, report, stop, tank and control events."""
    htime = clk[HTIME]
    tstep = clk[HSTEP]
    n = (htime + clk[PSTART]) // clk[PSTEP] + 1
    t = n * clk[PSTEP] - htime
    if 0 < t < tstep:
        tstep = t
    t = clk[RTIME] - htime
    if 0 < t < tstep:
        tstep = t
    t = clk[STOP_AT] - htime
    if 0 < t < tstep:
        tstep = t
    tstep = tank_timestep(net, eps, st, volume, tstep)
    return control_timestep(net, eps, st, clk, volume, tstep)


@njit(cache=True, error_model="numpy")
def advance(net, eps, st, clk, volume) -> int:
    """Next time step, tank update and clock (EPANET ``nextH``) without rules; 0 at the end."""
    if clk[HALTED]:
        clk[HTIME] = clk[DURATION]
    dt = 0
    if clk[HTIME] < clk[DURATION]:
        dt = event_timestep(net, eps, st, clk, volume)
        tank_levels(net, eps, st, volume, dt)
        clk[HTIME] += dt
        if clk[HTIME] >= clk[RTIME]:
            clk[RTIME] += clk[RSTEP]
    else:
        clk[HTIME] += 1
    return dt


@njit(cache=True, error_model="numpy")
def record(net, st, volume, rec, r: int, t: int, it: int) -> None:
    """Store the solved state of time ``t`` in row ``r`` of the buffers (closed links' flow 0)."""
    rec.time[r] = t
    rec.iters[r] = it
    rec.head[r, :] = st.head
    for k in range(st.flow.size):
        rec.flow[r, k] = 0.0 if st.status[k] <= CLOSED else st.flow[k]
    rec.status[r, :] = st.status
    rec.setting[r, :] = st.setting
    rec.demand[r, :] = st.ndem
    rec.requested[r, :] = st.dfull
    rec.delivered[r, :] = st.dflow
    for i in range(st.eflow.size):
        rec.emitter[r, i] = st.eflow[i] + st.qfa[i] + st.qva[i]
    rec.volume[r, :] = volume


@njit(cache=True, error_model="numpy")
def is_report_time(clk, t: int) -> bool:
    """Whether ``t`` is a reporting time."""
    return t >= clk[RSTART] and (t - clk[RSTART]) % clk[RSTEP] == 0


@njit(cache=True, error_model="numpy")
def run_to(net, eps, st, w, clk, fclk, volume, to: int, solved: bool, mode: int, rec,
           nrec: int) -> tuple[int, int, int, bool, bool, int, int]:
    """Solve every event before ``to`` and stop there (what ``HydraulicSimulation.advance`` does).

    Returns ``(code, iterations, rows recorded, solved, finished, bad node, solves)``; it stops
    early with ``code = -1`` when the record buffers are full (grow them and call again) and with
    ``ILL_CONDITIONED`` (the bad node given) when a matrix is singular.
    """
    cap = rec.time.size
    finished = False
    solves = 0
    while clk[HTIME] < to:
        if not solved:
            t = clk[HTIME]
            want = mode == REC_ALL or (mode == REC_REPORT and is_report_time(clk, t))
            if want and nrec >= cap:
                return -1, 0, nrec, solved, finished, -1, solves
            code, it, err, node = solve_period(net, eps, st, w, clk, fclk)
            if code == ILL_CONDITIONED:
                return code, it, nrec, solved, finished, node, solves
            solves += 1
            if want:
                record(net, st, volume, rec, nrec, t, it)
                nrec += 1
        clk[STOP_AT] = to
        dt = advance(net, eps, st, clk, volume)
        solved = False
        if dt == 0:
            finished = True
            break
    return 0, 0, nrec, solved, finished, -1, solves
