"""Extended-period simulation with EPANET's time logic (``hydraul.c``): demands and patterns,
simple controls, the next time step (hydraulic, pattern, report, tank fill/drain, control and
rule events) and the explicit tank update.

:class:`Engine` is the stepping core: ``solve()`` solves the current time (EPANET ``runH``),
``advance()`` finds the next event time and updates tanks (EPANET ``nextH``). Everything is in
internal units (ft, cfs, s); :mod:`twin.hydraulics` converts at the boundary.
"""

from __future__ import annotations

import math

import numpy as np

from twin.solvers.water import constants as C
from twin.solvers.water.gga import hydsolve, init_link_flow
from twin.solvers.water.model import HILEVEL, LOWLEVEL, TIMEOFDAY, TIMER, Model, State, Work, tank_grade, tank_volume

SEC_PER_DAY = 86400


def _round(x: float) -> int:
    """EPANET's ROUND: half away from zero, then truncate."""
    return int(x + 0.5) if x >= 0.0 else int(x - 0.5)


class Engine:
    """One running hydraulic simulation over a :class:`Model` (mutable state, internal units).

    Examples
    --------
    >>> import twin
    >>> from twin.hydraulics import build_engine
    >>> eng = build_engine(twin.datasets.sample_city())
    >>> eng.solve()[0]   # status code 0: converged
    0
    """

    def __init__(self, model: Model, rules: object | None = None) -> None:
        self.m = model
        net = model.net
        nn, nl, nj = model.n_nodes, len(net.n1), model.n_junctions
        self.st = State(head=model.head0.copy(), flow=np.zeros(nl), status=model.status0.copy(),
                        setting=model.setting0.copy(), dflow=np.zeros(nj), dfull=np.zeros(nj),
                        eflow=np.where(net.ke[:nj] > 0, 1.0, 0.0), ndem=np.zeros(nn))
        self.w = Work(P=np.zeros(nl), Y=np.zeros(nl), diag=np.zeros(nj), rhs=np.zeros(nj),
                      lx=np.zeros(max(len(net.rowind), 1)), work=np.zeros(nj), xflow=np.zeros(nn))
        self.volume = model.tank_v0.copy()
        t = model.times
        self.hstep = max(t["hydraulic_timestep_s"], 1)
        self.pstep = max(t["pattern_timestep_s"], 1)
        self.pstart = t["pattern_start_s"]
        self.rstep = max(t["report_timestep_s"], 1)
        self.tstart = t["start_clocktime_s"]
        self.duration = t["duration_s"]
        self.htime = 0
        self.rtime = self.rstep
        self.stop_at = -1
        self.halted = False
        self.rules = rules
        self.dmult = model.dmult
        self.link_dmult = None
        for k in range(nl):
            if self.st.status[k] <= C.CLOSED:
                self.st.flow[k] = C.QZERO
            else:
                init_link_flow(net, self.st, k)
        self.pat_len = np.diff(model.pattern_indptr)

    # ------------------------------------------------------------------ per period
    def _multiplier(self, pat: np.ndarray, period: int) -> np.ndarray:
        out = np.ones(len(pat))
        has = pat >= 0
        p = pat[has]
        out[has] = self.m.pattern_values[self.m.pattern_indptr[p] + period % self.pat_len[p]]
        return out

    def demands(self) -> None:
        """Demands, reservoir heads and pump speeds of the current pattern period."""
        m, st = self.m, self.st
        period = (self.htime + self.pstart) // self.pstep
        d = m.demand_base * self._multiplier(m.demand_pattern, period) * self.dmult
        st.dfull[:] = np.bincount(m.demand_node, weights=d, minlength=m.n_junctions)[:m.n_junctions]
        st.dflow[:] = st.dfull
        for i in m.reservoir_index:
            if m.head_pattern[i] >= 0:
                st.head[i] = m.net.el[i] * self._multiplier(m.head_pattern[i:i + 1], period)[0]
        for k in np.flatnonzero(m.speed_pattern >= 0):
            self.set_setting(int(k), float(self._multiplier(m.speed_pattern[k:k + 1], period)[0]))

    def set_setting(self, k: int, value: float) -> None:
        """EPANET ``setlinksetting``: pump speed (0 closes) or valve setting (internal units)."""
        st, t = self.st, self.m.net.ltype[k]
        if t == C.PUMP:
            st.setting[k] = value
            if value > 0 and st.status[k] <= C.CLOSED:
                self._reset_pump_flow(k)
                st.status[k] = C.OPEN
            if value == 0 and st.status[k] > C.CLOSED:
                st.status[k] = C.CLOSED
        elif t == C.FCV:
            st.setting[k] = value
            st.status[k] = C.ACTIVE
        else:
            if st.setting[k] == C.MISSING and st.status[k] <= C.CLOSED:
                st.status[k] = C.OPEN
            st.setting[k] = value

    def set_status(self, k: int, is_open: bool) -> None:
        """EPANET ``setlinkstatus``: open or close link ``k``."""
        st, t = self.st, self.m.net.ltype[k]
        if is_open:
            if t == C.PUMP:
                st.setting[k] = 1.0
                if st.status[k] == C.CLOSED:
                    self._reset_pump_flow(k)
            if t > C.PUMP and t != C.GPV:
                st.setting[k] = C.MISSING
            st.status[k] = C.OPEN
        else:
            if t == C.PUMP:
                st.setting[k] = 0.0
            if t > C.PUMP and t != C.GPV:
                st.setting[k] = C.MISSING
            st.status[k] = C.CLOSED

    def _reset_pump_flow(self, k: int) -> None:
        if self.m.net.ptype[k] == C.CONST_HP:
            self.st.flow[k] = self.m.net.pq0[k]

    def tank_volume(self, i: int, h: float) -> float:
        """Volume (ft3) of tank node ``i`` at head ``h``."""
        n = self.m.net
        return tank_volume(i, h, n.el, n.tarea, n.thmin, self.m.tank_vmin, self.m.vcurve, n.cx, n.cy)

    def tank_grade(self, i: int, v: float) -> float:
        """Head (ft) of tank node ``i`` at volume ``v``."""
        n = self.m.net
        return tank_grade(i, v, n.el, n.tarea, n.thmin, self.m.tank_vmin, self.m.vcurve, n.cx, n.cy)

    def controls(self) -> int:
        """Apply time, clock-time and tank-level simple controls (EPANET ``controls``)."""
        net, st, nj = self.m.net, self.st, self.m.n_junctions
        setsum = 0
        for c in range(len(net.c_link)):
            k = net.c_link[c]
            if not net.c_enabled[c] or k < 0:
                continue
            reset = False
            n = net.c_node[c]
            typ = net.c_type[c]
            if n >= nj and net.tarea[n] > 0:
                vplus = abs(st.ndem[n])
                v1 = self.tank_volume(n, st.head[n])
                v2 = self.tank_volume(n, net.c_grade[c])
                reset = (typ == LOWLEVEL and v1 <= v2 + vplus) or (typ == HILEVEL and v1 >= v2 - vplus)
            if typ == TIMER and self.m.c_time[c] == self.htime:
                reset = True
            if typ == TIMEOFDAY and (self.htime + self.tstart) % SEC_PER_DAY == self.m.c_time[c]:
                reset = True
            if reset:
                setsum += self._apply_control(c, k)
        return setsum

    def _apply_control(self, c: int, k: int) -> int:
        net, st = self.m.net, self.st
        s1 = C.CLOSED if st.status[k] <= C.CLOSED else C.OPEN
        s2 = int(net.c_status[c])
        k1 = st.setting[k]
        k2 = net.c_setting[c] if net.ltype[k] > C.PIPE else k1
        if net.ltype[k] == C.PUMP and s1 == C.CLOSED and s2 == C.OPEN:
            self._reset_pump_flow(k)
        if s1 != s2 or k1 != k2:
            st.status[k] = s2
            st.setting[k] = k2
            return 1
        return 0

    def solve(self) -> tuple[int, int, float, int]:
        """Solve the current time (EPANET ``runH``); returns the kernel's status tuple."""
        self.demands()
        self.controls()
        res = hydsolve(self.m.net, self.st, self.w)
        if res[0] == C.UNBALANCED and self.m.net.iopt[2] == -1:
            self.halted = True
        return res

    # ------------------------------------------------------------------ time steps
    def advance(self) -> int:
        """Find the next time step, update tanks and the clock (EPANET ``nextH``); 0 at the end."""
        if self.halted:
            self.htime = self.duration
        dt = 0
        if self.htime < self.duration:
            dt = self.timestep()
            self.htime += dt
            if self.htime >= self.rtime:
                self.rtime += self.rstep
        else:
            self.htime += 1
        return dt

    def timestep(self) -> int:
        """Length of the next step: hydraulic, pattern, report, tank and control events."""
        tstep = self.hstep
        n = (self.htime + self.pstart) // self.pstep + 1
        t = n * self.pstep - self.htime
        if 0 < t < tstep:
            tstep = t
        t = self.rtime - self.htime
        if 0 < t < tstep:
            tstep = t
        t = self.stop_at - self.htime
        if 0 < t < tstep:
            tstep = t
        tstep = self._tank_timestep(tstep)
        tstep = self._control_timestep(tstep)
        if self.rules is not None and self.rules.n_rules > 0:
            return self.rules.rule_timestep(self, tstep)
        self.tank_levels(tstep)
        return tstep

    def _tank_timestep(self, tstep: int) -> int:
        st, net = self.st, self.m.net
        for i in self.m.tank_index:
            q = st.ndem[i]
            if abs(q) <= C.QZERO:
                continue
            h = st.head[i]
            if q > 0.0 and h < net.thmax[i]:
                v = self.m.tank_vmax[i] - self.volume[i]
            elif q < 0.0 and h > net.thmin[i]:
                v = self.m.tank_vmin[i] - self.volume[i]
            else:
                continue
            t = _round(v / q)
            if 0 < t < tstep:
                tstep = t
        return tstep

    def _control_timestep(self, tstep: int) -> int:
        net, st, nj = self.m.net, self.st, self.m.n_junctions
        for c in range(len(net.c_link)):
            if not net.c_enabled[c]:
                continue
            t = 0
            n = net.c_node[c]
            typ = net.c_type[c]
            if n >= 0:
                if n < nj or net.tarea[n] <= 0:
                    continue
                h, q = st.head[n], st.ndem[n]
                if abs(q) <= C.QZERO:
                    continue
                g = net.c_grade[c]
                if (h < g and typ == HILEVEL and q > 0.0) or (h > g and typ == LOWLEVEL and q < 0.0):
                    t = _round((self.tank_volume(n, g) - self.volume[n]) / q)
            if typ == TIMER and self.m.c_time[c] > self.htime:
                t = int(self.m.c_time[c] - self.htime)
            if typ == TIMEOFDAY:
                t1 = (self.htime + self.tstart) % SEC_PER_DAY
                t2 = int(self.m.c_time[c])
                t = t2 - t1 if t2 >= t1 else SEC_PER_DAY - t1 + t2
            if 0 < t < tstep:
                k = net.c_link[c]
                if (net.ltype[k] > C.PIPE and st.setting[k] != net.c_setting[c]) or st.status[k] != net.c_status[c]:
                    tstep = t
        return tstep

    def tank_levels(self, dt: int) -> None:
        """Explicit Euler update of tank volumes and heads over ``dt`` seconds."""
        st = self.st
        for i in self.m.tank_index:
            q = st.ndem[i]
            v = self.volume[i] + q * dt
            if v + q >= self.m.tank_vmax[i]:
                v = self.m.tank_vmax[i]
            elif v - q <= self.m.tank_vmin[i]:
                v = self.m.tank_vmin[i]
            self.volume[i] = v
            st.head[i] = self.tank_grade(i, v)

    def clock(self) -> float:
        """Time of day (s) of the current time."""
        return float((self.htime + self.tstart) % SEC_PER_DAY)

    @staticmethod
    def is_nan(x: float) -> bool:
        """True for NaN (helper for rule values)."""
        return math.isnan(x)
