"""Numba kernels of the N-1 analysis: DC screening and AC outage solves without the GIL.

Every kernel is ``nogil``: :mod:`twin.grid.contingency` runs them on a thread pool, each worker
with its own work arrays (:class:`Workspace`), over outages that share the base case's ``Ybus``
pattern, Jacobian pattern and symbolic LU.

* :func:`dc_screen` - post-outage DC flows of branch outages (LODF, one sparse solve of
  ``Bbus theta = e_f - e_t`` per outage on the base ``Bbus`` factors) and generator outages
  (a PTDF column), reduced to the largest loading at once (no dense PTDF matrix).
* :func:`solve_outage` - one AC Newton-Raphson solve of an outage from the base voltages: the
  outaged branch's four ``Ybus`` terms are subtracted in a work copy of the values (and restored
  after), iterations refactor numerically on the fixed symbolic LU, and the loading / voltage /
  unserved-load metrics are computed in the same call.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from twin.solvers.grid.newton import _fill_mapped, _mismatch_into
from twin.solvers.grid.sparse_lu import _refactor
from twin.solvers.grid.sparse_lu import _solve as _lu_solve
from twin.solvers.grid.ybus import branch_loading

__all__ = ["Workspace", "dc_screen", "solve_outage"]


class Workspace:
    """Per-thread work arrays of :func:`solve_outage` for one Jacobian pattern and its symbolic LU."""

    def __init__(self, ybus_data: np.ndarray, n_bus: int, n_branch: int, pattern: object) -> None:
        lu = pattern.lu[0]  # type: ignore[attr-defined]
        n = pattern.size  # type: ignore[attr-defined]
        self.yx = np.ascontiguousarray(ybus_data, dtype=np.complex128).copy()
        self.v = np.empty(n_bus, dtype=np.complex128)
        self.v_prev = np.empty(n_bus, dtype=np.complex128)
        self.f, self.dx = np.empty(n), np.empty(n)
        self.bx, self.lx, self.ux = np.empty(len(lu.bi)), np.empty(len(lu.li)), np.empty(len(lu.ui))
        self.ud, self.work, self.y = np.empty(n), np.zeros(n), np.empty(n)
        self.load = np.empty(n_branch)
        self.on = np.empty(n_branch, dtype=np.bool_)


@njit(cache=True, nogil=True, error_model="numpy")
def _polar(v, va, vm):  # pragma: no cover - numba
    for i in range(len(v)):
        va[i] = np.angle(v[i])
        vm[i] = abs(v[i])


@njit(cache=True, nogil=True, error_model="numpy")
def _undo_step(v, v_prev, va, vm, yp, yi, yx, sbus, va_pos, vm_pos, n_va, kind, f):  # pragma: no cover - numba
    """Back to the voltages before a rejected chord step; their mismatch norm (``f`` refilled)."""
    for k in range(len(v)):
        v[k] = v_prev[k]
    _polar(v, va, vm)
    return _mismatch_into(yp, yi, yx, v, sbus, va_pos, vm_pos, n_va, kind, f)


@njit(cache=True, nogil=True, error_model="numpy")
def _step(v, va, vm, dx, va_pos, vm_pos, n_va, kind):  # pragma: no cover - numba
    """As :func:`~twin.solvers.grid.newton._apply_step` on kept polar coordinates (no atan2 / abs)."""
    for k in range(len(dx)):
        if not np.isfinite(dx[k]):
            return False
    for i in range(len(v)):
        a = va_pos[i] if kind[i] <= 1 else -1
        m = vm_pos[i] if kind[i] == 0 else -1
        if a < 0 and m < 0:
            continue
        if a >= 0:
            va[i] -= dx[a]
        if m >= 0:
            vm[i] -= dx[n_va + m]
        v[i] = vm[i] * (np.cos(va[i]) + 1j * np.sin(va[i]))
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def _newton(yp, yi, yx, sbus, v, v_prev, va_pos, vm_pos, n_va, kind, jp, f, dx, prow, qcol, dest, bp, bi,
            bx, lp, li, lx, up, ui, ux, ud, work, yw, tol, max_it, reuse):  # pragma: no cover - numba
    """Newton-Raphson on a fixed symbolic LU; returns (status, Newton steps, norm).

    With ``reuse``, a step after a full Newton step solves with the last factors (a chord step)
    as long as each such step cuts the mismatch at least tenfold; a chord step that does not is
    undone and followed by a full step. Status: 0 converged, 1 iteration limit, 2 singular,
    3 diverged, -1 a pivot of the symbolic LU is unusable.
    """
    va, vm = np.empty(len(v)), np.empty(len(v))
    _polar(v, va, vm)
    norm = _mismatch_into(yp, yi, yx, v, sbus, va_pos, vm_pos, n_va, kind, f)
    steps = 0
    factors = 0
    fresh = False  # factors are those of the current point's Jacobian's predecessor
    have = False
    while norm >= tol and factors < max_it and steps < 3 * max_it:
        chord = reuse and have and fresh
        if not chord:
            _fill_mapped(yp, yi, yx, v, va_pos, vm_pos, n_va, jp, kind, dest, bx)
            if _refactor(len(ud), bp, bi, bx, lp, li, lx, up, ui, ux, ud, work) >= 0:
                return -1, steps, norm, factors
            have = True
            factors += 1
        else:
            for k in range(len(v)):
                v_prev[k] = v[k]
        _lu_solve(len(ud), lp, li, lx, up, ui, ux, ud, prow, qcol, f, yw, dx)
        if not _step(v, va, vm, dx, va_pos, vm_pos, n_va, kind):
            if chord:
                fresh = False
                norm = _undo_step(v, v_prev, va, vm, yp, yi, yx, sbus, va_pos, vm_pos, n_va, kind, f)
                continue
            return 2, steps + 1, norm, factors
        new = _mismatch_into(yp, yi, yx, v, sbus, va_pos, vm_pos, n_va, kind, f)
        if chord and not (new < 0.1 * norm):  # slow chord step: undo it, refactor next
            fresh = False
            norm = _undo_step(v, v_prev, va, vm, yp, yi, yx, sbus, va_pos, vm_pos, n_va, kind, f)
            continue
        steps += 1
        fresh = True
        norm = new
        if not np.isfinite(norm):
            return 3, steps, norm, factors
    return (0 if norm < tol else 1), steps, norm, factors


@njit(cache=True, nogil=True, error_model="numpy")
def solve_outage(row, pos, y4, yp, yi, yx_base, yx, sbus, v_base, v, v_prev, kind, energised, va_pos, vm_pos,
                 n_va, jp, f, dx, prow, qcol, dest, bp, bi, bx, lp, li, lx, up, ui, ux, ud, work, yw, tol,
                 max_it, reuse, bf, bt, yff, yft, ytf, ytt, ok, on, base_mva, kv_f, kv_t, a_f, a_t, c, rate,
                 first_rated, load, bus_map, vmin, vmax, ld_bus, ld_p, limit, out_f, out_i
                 ):  # pragma: no cover - numba
    """AC solve of one outage and its metrics.

    ``row``: the outaged branch (-1 for none: a generator outage, whose ``sbus`` / ``kind`` /
    ``energised`` the caller has changed). ``yx`` must equal ``yx_base`` on entry and does on
    exit. Writes ``out_f`` = (max loading %, min vm, max vm, unserved MW, mismatch) and
    ``out_i`` = (status, iterations, worst branch or -1, overloads, voltage violations).
    """
    if row >= 0:
        for m in range(4):
            p = pos[m, row]
            if p >= 0:
                yx[p] -= y4[m, row]
    for k in range(len(v)):
        v[k] = v_base[k]
    status, it, norm, nfac = _newton(yp, yi, yx, sbus, v, v_prev, va_pos, vm_pos, n_va, kind, jp, f, dx, prow,
                               qcol, dest, bp, bi, bx, lp, li, lx, up, ui, ux, ud, work, yw, tol, max_it, reuse)
    if row >= 0:
        for m in range(4):
            p = pos[m, row]
            if p >= 0:
                yx[p] = yx_base[p]
    out_i[0], out_i[1], out_i[5] = status, it, nfac
    out_f[4] = norm
    if status != 0:
        return
    for k in range(len(v)):
        if not energised[k]:
            v[k] = 0.0
    for k in range(len(bf)):
        on[k] = ok[k] and k != row and energised[bf[k]]
    branch_loading(v, bf, bt, yff, yft, ytf, ytt, on, base_mva, kv_f, kv_t, a_f, a_t, c, rate, first_rated, load)
    best, worst, over = 0.0, -1, 0
    for k in range(len(load)):
        if load[k] > best or (worst < 0 and k == 0):
            best, worst = load[k], k
        if load[k] > limit:
            over += 1
    if len(load) == 0 or best <= 0.0:
        worst = -1
    out_f[0] = max(best, 0.0) if len(load) else 0.0
    lo, hi, viol, lit = np.inf, -np.inf, 0, 0
    for b in range(len(bus_map)):
        if not energised[bus_map[b]]:
            continue
        vm = abs(v[bus_map[b]])
        lit += 1
        lo, hi = min(lo, vm), max(hi, vm)
        if vm < vmin[b] - 1e-9 or vm > vmax[b] + 1e-9:
            viol += 1
    out_f[1], out_f[2] = (lo, hi) if lit else (np.nan, np.nan)
    dark = 0.0
    for k in range(len(ld_bus)):
        if not energised[ld_bus[k]]:
            dark += ld_p[k]
    out_f[3] = dark
    out_i[2], out_i[3], out_i[4] = worst, over, viol


@njit(cache=True)
def _max_rated(x, scale):  # pragma: no cover - numba
    """max |x| * scale over rated rows (scale NaN where unrated); NaN when none is rated."""
    best, any_rated = 0.0, False
    for k in range(len(x)):
        s = scale[k]
        if s == s:
            a = abs(x[k]) * s
            if not any_rated or a > best or a != a:
                best = a
            any_rated = True
    return best if any_rated else np.nan


@njit(cache=True, nogil=True, error_model="numpy")
def dc_screen(jobs, n_red, red, lp, li, lx, up, ui, ux, ud, prow, qcol, bf, bt, b, flows, scale, gen_bus, gen_p,
              loading, bridge):  # pragma: no cover - numba
    """Largest post-outage DC loading of each job into ``loading`` (and ``bridge`` for branches).

    ``jobs[j] = (branch row, generator or -1)``. The reduced ``Bbus`` (buses ``red[bus] >= 0``,
    references removed) is factored as ``L U`` with permutations ``prow`` / ``qcol``; ``b`` is
    each branch's DC susceptance (0 when out), ``flows`` the base DC flows (p.u.), ``scale`` is
    ``100 base_mva / rating`` (NaN where unrated) and ``gen_p`` each generator's MW / base_mva.
    """
    rhs = np.zeros(n_red)
    yw = np.empty(n_red)
    th = np.empty(n_red)
    post = np.empty(len(bf))
    for j in range(len(jobs)):
        k, gi = jobs[j, 0], jobs[j, 1]
        for i in range(n_red):
            rhs[i] = 0.0
        if k >= 0:
            if red[bf[k]] >= 0:
                rhs[red[bf[k]]] += 1.0
            if red[bt[k]] >= 0:
                rhs[red[bt[k]]] -= 1.0
        elif red[gen_bus[gi]] >= 0:
            rhs[red[gen_bus[gi]]] = 1.0
        _lu_solve(n_red, lp, li, lx, up, ui, ux, ud, prow, qcol, rhs, yw, th)
        if k >= 0:
            tf = th[red[bf[k]]] if red[bf[k]] >= 0 else 0.0
            tt = th[red[bt[k]]] if red[bt[k]] >= 0 else 0.0
            own = b[k] * (tf - tt)
            isb = abs(1.0 - own) < 1e-8
            bridge[j] = isb
            fk = flows[k] / (1.0 - own)
            for m in range(len(bf)):
                if isb:
                    post[m] = flows[m]
                else:
                    a = th[red[bf[m]]] if red[bf[m]] >= 0 else 0.0
                    z = th[red[bt[m]]] if red[bt[m]] >= 0 else 0.0
                    post[m] = flows[m] + b[m] * (a - z) * fk
            post[k] = 0.0
        else:
            for m in range(len(bf)):
                a = th[red[bf[m]]] if red[bf[m]] >= 0 else 0.0
                z = th[red[bt[m]]] if red[bt[m]] >= 0 else 0.0
                post[m] = flows[m] - b[m] * (a - z) * gen_p[gi]
        loading[j] = _max_rated(post, scale)
