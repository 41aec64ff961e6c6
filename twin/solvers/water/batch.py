"""One variant of a batch of hydraulic runs in one GIL-free Numba call (``nogil=True``).

:func:`run_variant` resets a worker's state arrays in place to the network's initial state,
applies the variant (links held open or closed against their controls, a demand multiplier;
pipe leaks come in through the worker's ``net`` leak coefficients), runs the extended-period
simulation exactly as :func:`twin.solvers.water.step.run_to` followed by the final solve of
``HydraulicSimulation.finish`` does, and writes only the requested variables, already in SI
units, into preallocated output rows. The results are those of a fresh
:class:`~twin.solvers.water.eps.Engine` with the same changes, to the last bit.

The junction demands of every pattern period are the same for all variants with the same
demand multiplier: :func:`period_demands` computes them once and :func:`solve_shared` copies a
row instead of summing the demand entries per solve.

The GIL is released for the whole call, so :func:`twin.water.hydraulics_batch` runs variants
on threads that share the model's read-only arrays; each thread owns its state, work, clock,
held-link mask and control-enable arrays.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from twin.solvers.water.constants import CLOSED, ILL_CONDITIONED
from twin.solvers.water.leakage import init_leak_flows
from twin.solvers.water.step import (
    DURATION, HTIME, PSTART, PSTEP, STOP_AT, advance, demands, set_status, solve_period, solve_with_demands,
)


@njit(cache=True, nogil=True, error_model="numpy")
def reset(st, st0, volume, volume0, clk, clk0, fclk, dmult: float) -> None:
    """Copy the initial state ``st0`` (a fresh engine's) into ``st`` and the clock, in place."""
    st.head[:] = st0.head
    st.flow[:] = st0.flow
    st.status[:] = st0.status
    st.setting[:] = st0.setting
    st.dflow[:] = st0.dflow
    st.dfull[:] = st0.dfull
    st.eflow[:] = st0.eflow
    st.ndem[:] = st0.ndem
    st.qfa[:] = st0.qfa
    st.qva[:] = st0.qva
    volume[:] = volume0
    clk[:] = clk0
    fclk[0] = dmult


@njit(cache=True, nogil=True, error_model="numpy")
def hold(net, eps, st, k: int, is_open: bool) -> None:
    """``Engine.hold``: hold link ``k`` open or closed (its simple controls disabled)."""
    eps.held[k] = True
    c_link, c_enabled = net.c_link, net.c_enabled
    for c in range(c_link.size):
        if c_link[c] == k:
            c_enabled[c] = False
    set_status(net, st, k, is_open)


@njit(cache=True, nogil=True, error_model="numpy")
def period_demands(net, eps, st, clk, dmult: float, p0: int, out) -> None:
    """``out[p - p0]``: the junction demands :func:`~twin.solvers.water.step.demands` gives in
    pattern period ``p`` (for ``p0 <= p < p0 + len(out)``), computed once for every variant.

    Changes ``st`` (reset it afterwards); the clock is restored.
    """
    saved = clk[HTIME]
    for r in range(out.shape[0]):
        clk[HTIME] = (p0 + r) * clk[PSTEP] - clk[PSTART]
        demands(net, eps, st, clk, dmult)
        out[r, :] = st.dfull
    clk[HTIME] = saved


@njit(cache=True, nogil=True, error_model="numpy")
def solve_shared(net, eps, eps_nodem, st, w, clk, fclk, dem, p0: int) -> tuple[int, int, float, int]:
    """:func:`~twin.solvers.water.step.solve_period` with the junction demands taken from ``dem``.

    ``eps_nodem`` is ``eps`` without demand entries: :func:`demands` then sets only the reservoir
    heads and pump speeds, and the period's row of ``dem`` (from :func:`period_demands`, same
    demand multiplier) gives the demands it would have summed. Without ``dem`` rows this is
    ``solve_period``.
    """
    if dem.shape[0] == 0:
        return solve_period(net, eps, st, w, clk, fclk)
    demands(net, eps_nodem, st, clk, fclk[0])
    row = (clk[HTIME] + clk[PSTART]) // clk[PSTEP] - p0
    st.dfull[:] = dem[row]
    st.dflow[:] = dem[row]
    return solve_with_demands(net, eps, st, w, clk)


@njit(cache=True, nogil=True, error_model="numpy")
def run_variant(net, eps, st, w, clk, fclk, volume, st0, volume0, clk0, c_enabled0, dmult: float,
                close, open_, times, el, reservoirs, tanks, flen: float, fflow: float, status_table,
                o_head, o_press, o_flow, o_status, o_deliv, o_tank, o_minp,
                eps_nodem, dem, p0: int) -> tuple[int, int, int, int, int]:
    """Reset, apply the variant, run it to the end and write its output rows.

    ``close`` / ``open_``: link indices held closed / open. Outputs are ``(times, assets)`` rows
    (``o_minp``: per node), each of size 0 when not requested; rows of times not solved are left
    as they are (NaN from the caller). ``eps_nodem``, ``dem``, ``p0``: shared demands (see
    :func:`solve_shared`; ``dem`` with no rows computes them per solve).

    Returns ``(code, bad node, time of the last solve, solves, GGA iterations)``; ``code`` is
    ``ILL_CONDITIONED`` when a matrix was singular (the run stops there).
    """
    reset(st, st0, volume, volume0, clk, clk0, fclk, dmult)
    eps.held[:] = False
    net.c_enabled[:] = c_enabled0
    for k in close:
        hold(net, eps, st, k, False)
    for k in open_:
        hold(net, eps, st, k, True)
    if net.leak_nodes.size:
        init_leak_flows(net, st)
    flow, status = st.flow, st.status
    nl = flow.size
    nn = el.size
    nt = times.size
    want_head, want_press, want_flow = o_head.shape[0] > 0, o_press.shape[0] > 0, o_flow.shape[0] > 0
    want_status, want_deliv, want_tank = o_status.shape[0] > 0, o_deliv.shape[0] > 0, o_tank.shape[0] > 0
    want_min = o_minp.size > 0
    prow = np.empty(nn)
    dur = clk[DURATION]
    clk[STOP_AT] = dur
    j = 0            # next reporting time
    solves = 0
    iters = 0
    t = clk[HTIME]
    while True:
        t = clk[HTIME]
        code, it, err, node = solve_shared(net, eps, eps_nodem, st, w, clk, fclk, dem, p0)
        solves += 1
        iters += it
        if code == ILL_CONDITIONED:
            return code, node, t, solves, iters
        while j < nt and times[j] < t:
            j += 1
        if j < nt and times[j] == t:
            head = st.head
            if want_head:
                for i in range(nn):
                    o_head[j, i] = head[i] / flen
            if want_press or want_min:
                for i in range(nn):
                    prow[i] = (head[i] - el[i]) / flen
                for i in reservoirs:
                    prow[i] = 0.0
                if want_press:
                    o_press[j, :] = prow
                if want_min:
                    for i in range(nn):
                        p = prow[i]
                        if not np.isnan(p) and (np.isnan(o_minp[i]) or p < o_minp[i]):
                            o_minp[i] = p
            if want_flow:
                for k in range(nl):
                    o_flow[j, k] = (0.0 if status[k] <= CLOSED else flow[k]) / fflow
            if want_status:
                for k in range(nl):
                    o_status[j, k] = status_table[status[k]]
            if want_deliv:
                dflow = st.dflow
                for i in range(dflow.size):
                    o_deliv[j, i] = dflow[i] / fflow
            if want_tank:
                for m in range(tanks.size):
                    i = tanks[m]
                    o_tank[j, m] = (head[i] - el[i]) / flen
            j += 1
        if t >= dur:
            break
        if advance(net, eps, st, clk, volume) == 0:
            break
    return 0, -1, t, solves, iters
