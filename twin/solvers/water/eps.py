"""Extended-period simulation with EPANET's time logic (``hydraul.c``): demands and patterns,
simple controls, the next time step (hydraulic, pattern, report, tank fill/drain, control and
rule events) and the explicit tank update.

:class:`Engine` is the stepping core: ``solve()`` solves the current time (EPANET ``runH``),
``advance()`` finds the next event time and updates tanks (EPANET ``nextH``); ``run_to()`` does
both for every event up to a time in one Numba call (:mod:`twin.solvers.water.step`) when the
network has no rule-based controls (rules are Python and take the per-step path). Everything is
in internal units (ft, cfs, s); :mod:`twin.water.simulation` converts at the boundary.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from twin.solvers.water import constants as C
from twin.solvers.water import step as S
from twin.solvers.water.gga import init_link_flow
from twin.solvers.water.leakage import init_leak_flows
from twin.solvers.water.model import Model, State, Work

SEC_PER_DAY = 86400


def _round(x: float) -> int:
    """EPANET's ROUND: half away from zero, then truncate."""
    return int(x + 0.5) if x >= 0.0 else int(x - 0.5)


class Engine:
    """One running hydraulic simulation over a :class:`Model` (mutable state, internal units).

    Examples
    --------
    >>> import twin
    >>> from twin.water.simulation import build_engine
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
                        eflow=np.where(net.ke[:nj] > 0, 1.0, 0.0), ndem=np.zeros(nn),
                        qfa=np.zeros(nj), qva=np.zeros(nj))
        init_leak_flows(net, self.st)
        self.w = Work(P=np.zeros(nl), Y=np.zeros(nl), diag=np.zeros(nj), rhs=np.zeros(nj),
                      lx=np.zeros(max(len(net.rowind), 1)), work=np.zeros(nj), xflow=np.zeros(nn))
        self.volume = model.tank_v0.copy()
        # per-engine copy of the shared arrays with this engine's own held-link mask
        self.eps = eps_arrays(model)._replace(held=np.zeros(nl, np.bool_))
        t = model.times
        self.clk = np.zeros(13, np.int64)
        c = self.clk
        c[S.HSTEP] = max(t["hydraulic_timestep_s"], 1)
        c[S.PSTEP] = max(t["pattern_timestep_s"], 1)
        c[S.PSTART] = t["pattern_start_s"]
        c[S.RSTEP] = max(t["report_timestep_s"], 1)
        c[S.RSTART] = t["report_start_s"]
        c[S.TSTART] = t["start_clocktime_s"]
        c[S.DURATION] = t["duration_s"]
        c[S.RTIME] = c[S.RSTEP]
        c[S.STOP_AT] = -1
        self.fclk = np.array([model.dmult], float)
        self.rules = rules
        self.link_dmult = None
        _init_flows(net, self.st)
        self.c_enabled0 = np.asarray(net.c_enabled, np.bool_).copy()
        self.held: dict[int, int] = {}
        #: (entry point of the compiled ``step.run_to`` overload or None, the last call's argument objects)
        self._run_to_ep: tuple = (None, ())

    # ------------------------------------------------------------------ clock
    def _clock(i: int, doc: str) -> property:  # noqa: N805 - property factory
        def get(self: "Engine") -> int:
            return int(self.clk[i])

        def set_(self: "Engine", v: int) -> None:
            self.clk[i] = int(v)
        return property(get, set_, doc=doc)

    htime = _clock(S.HTIME, "Current hydraulic time (s).")
    rtime = _clock(S.RTIME, "Next reporting time (s).")
    stop_at = _clock(S.STOP_AT, "A time the next step must not pass (s; -1 none).")
    duration = _clock(S.DURATION, "Simulated duration (s).")
    hstep = _clock(S.HSTEP, "Hydraulic time step (s).")
    pstep = _clock(S.PSTEP, "Pattern time step (s).")
    pstart = _clock(S.PSTART, "Pattern start (s).")
    rstep = _clock(S.RSTEP, "Report time step (s).")
    tstart = _clock(S.TSTART, "Clock time of the start (s after midnight).")
    del _clock

    @property
    def halted(self) -> bool:
        """Whether an unbalanced solve halted the run (``UNBALANCED STOP``)."""
        return bool(self.clk[S.HALTED])

    @halted.setter
    def halted(self, v: bool) -> None:
        self.clk[S.HALTED] = int(bool(v))

    @property
    def dmult(self) -> float:
        """Demand multiplier of every junction demand."""
        return float(self.fclk[0])

    @dmult.setter
    def dmult(self, v: float) -> None:
        self.fclk[0] = float(v)

    @property
    def has_rules(self) -> bool:
        """Whether rule-based controls take part (the per-step Python path)."""
        return self.rules is not None and self.rules.n_rules > 0

    # ------------------------------------------------------------------ holds
    def hold(self, k: int, status: int | None) -> None:
        """Hold link ``k`` at ``C.CLOSED`` / ``C.OPEN`` against its controls and rules; None releases.

        While held, the simple controls acting on ``k`` are disabled and rules skip it; on release
        the controls are enabled again as they were built and the link keeps its current status.
        """
        net = self.m.net
        mask = np.asarray(net.c_link) == k
        if status is None:
            self.held.pop(k, None)
            self.eps.held[k] = False
            net.c_enabled[mask] = self.c_enabled0[mask]
            return
        if status not in (C.OPEN, C.CLOSED):
            raise ValueError(f"hold status must be OPEN ({C.OPEN}) or CLOSED ({C.CLOSED}), not {status!r}")
        self.held[k] = int(status)
        self.eps.held[k] = True      # the speed pattern of a held pump no longer acts on it
        net.c_enabled[mask] = False
        self.set_status(k, status == C.OPEN)

    # ------------------------------------------------------------------ per period
    def demands(self) -> None:
        """Demands, reservoir heads and pump speeds of the current pattern period."""
        S.demands(self.m.net, self.eps, self.st, self.clk, self.dmult)

    def set_setting(self, k: int, value: float) -> None:
        """EPANET ``setlinksetting``: pump speed (0 closes) or valve setting (internal units)."""
        S.set_setting(self.m.net, self.st, int(k), float(value))

    def set_status(self, k: int, is_open: bool) -> None:
        """EPANET ``setlinkstatus``: open or close link ``k``."""
        S.set_status(self.m.net, self.st, int(k), bool(is_open))

    def tank_volume(self, i: int, h: float) -> float:
        """Volume (ft3) of tank node ``i`` at head ``h``."""
        return float(S.tank_volume(self.m.net, self.eps, int(i), float(h)))

    def tank_grade(self, i: int, v: float) -> float:
        """Head (ft) of tank node ``i`` at volume ``v``."""
        return float(S.tank_grade(self.m.net, self.eps, int(i), float(v)))

    def controls(self) -> int:
        """Apply time, clock-time and tank-level simple controls (EPANET ``controls``)."""
        return int(S.controls(self.m.net, self.eps, self.st, self.clk))

    def solve(self) -> tuple[int, int, float, int]:
        """Solve the current time (EPANET ``runH``); returns the kernel's status tuple."""
        return S.solve_period(self.m.net, self.eps, self.st, self.w, self.clk, self.fclk)

    # ------------------------------------------------------------------ time steps
    def advance(self) -> int:
        """Find the next time step, update tanks and the clock (EPANET ``nextH``); 0 at the end."""
        if not self.has_rules:
            return int(S.advance(self.m.net, self.eps, self.st, self.clk, self.volume))
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
        """Length of the next step: hydraulic, pattern, report, tank, control and rule events."""
        tstep = int(S.event_timestep(self.m.net, self.eps, self.st, self.clk, self.volume))
        if self.has_rules:
            return self.rules.rule_timestep(self, tstep)
        self.tank_levels(tstep)
        return tstep

    def tank_levels(self, dt: int) -> None:
        """Explicit Euler update of tank volumes and heads over ``dt`` seconds."""
        S.tank_levels(self.m.net, self.eps, self.st, self.volume, int(dt))

    def run_to(self, to: int, solved: bool, mode: int, rec: S.Rec | None,
               nrec: int = 0) -> tuple[int, int, int, bool, bool, int, int]:
        """Solve every event before ``to`` in one kernel call (no rules); see :func:`step.run_to`."""
        if rec is None:
            rec = _EMPTY_REC
        net, eps, st, w, clk, fclk, volume = self.m.net, self.eps, self.st, self.w, self.clk, self.fclk, self.volume
        ep, a = self._run_to_ep
        if (a and a[0] is net and a[1] is eps and a[2] is st and a[3] is w and a[4] is clk and a[5] is fclk
                and a[6] is volume and a[7] is rec):
            # the same argument objects as the last call: call the compiled overload's entry point
            # directly (the dispatcher types every namedtuple field on each call, ~15 us); it is
            # looked up on the second such call, so a one-call run does not pay for the look-up
            if ep is None:
                ep = _entry_point(S.run_to, (net, eps, st, w, clk, fclk, volume, int(to), bool(solved),
                                             int(mode), rec, int(nrec)))
                self._run_to_ep = (ep or S.run_to, a)
            return (ep or S.run_to)(net, eps, st, w, clk, fclk, volume, int(to), bool(solved), int(mode), rec,
                                    int(nrec))
        self._run_to_ep = (None, (net, eps, st, w, clk, fclk, volume, rec))
        return S.run_to(net, eps, st, w, clk, fclk, volume, int(to), bool(solved), int(mode), rec, int(nrec))

    def run(self) -> int:
        """Solve the whole run without recording (benchmarks); returns the number of solves."""
        if self.has_rules:
            n = 0
            while True:
                self.solve()
                n += 1
                if self.advance() <= 0:
                    return n
        if not self.run_to(self.duration, False, S.REC_NONE, None)[4]:
            self.solve()
        return int(self.clk[S.NSOLVES])

    def clock(self) -> float:
        """Time of day (s) of the current time."""
        return float((self.htime + self.tstart) % SEC_PER_DAY)

    @staticmethod
    def is_nan(x: float) -> bool:
        """True for NaN (helper for rule values)."""
        return math.isnan(x)


_EMPTY_REC = S.new_rec(0, 0, 0, 0)


def _entry_point(dispatcher, args: tuple):
    """The compiled entry point of ``dispatcher`` for ``args``' types, or None.

    Calling it skips the dispatcher's type resolution (which, for namedtuples of arrays, types
    every field in Python on each call); it must only be called again with arguments of the same
    types, which :meth:`Engine.run_to` ensures by calling it with the same objects only.
    """
    try:
        from numba import typeof

        cres = dispatcher.overloads.get(tuple(typeof(a) for a in args))
    except Exception:  # noqa: BLE001 - any failure: keep using the dispatcher
        return None
    return None if cres is None else cres.entry_point


@njit(cache=True, error_model="numpy")
def _init_flows(net, st) -> None:
    for k in range(st.flow.size):
        if st.status[k] <= C.CLOSED:
            st.flow[k] = C.QZERO
        else:
            init_link_flow(net, st, k)


def eps_arrays(model: Model) -> S.Eps:
    """The :data:`~twin.solvers.water.step.Eps` arrays of ``model`` (patterns, tanks, control times).

    Built once per model and shared (read-only) by its engines.
    """
    cached = getattr(model, "_eps", None)
    if cached is None:
        cached = _eps_arrays(model)
        model._eps = cached  # type: ignore[attr-defined]
    return cached


def _eps_arrays(model: Model) -> S.Eps:
    m = model
    return S.Eps(demand_node=np.asarray(m.demand_node, np.int64), demand_base=np.asarray(m.demand_base, float),
                 demand_pattern=np.asarray(m.demand_pattern, np.int64),
                 pattern_indptr=np.asarray(m.pattern_indptr, np.int64),
                 pattern_values=np.asarray(m.pattern_values, float),
                 pat_len=np.diff(m.pattern_indptr).astype(np.int64),
                 head_pattern=np.asarray(m.head_pattern, np.int64),
                 reservoir_index=np.asarray(m.reservoir_index, np.int64),
                 speed_pattern=np.asarray(m.speed_pattern, np.int64),
                 speed_links=np.flatnonzero(np.asarray(m.speed_pattern) >= 0).astype(np.int64),
                 tank_index=np.asarray(m.tank_index, np.int64), tank_vmin=np.asarray(m.tank_vmin, float),
                 tank_vmax=np.asarray(m.tank_vmax, float), vcurve=np.asarray(m.vcurve, np.int64),
                 c_time=np.asarray(m.c_time, np.int64), held=np.zeros(len(m.net.n1), np.bool_))
