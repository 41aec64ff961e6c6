"""Fast-decoupled AC power flow (XB and BX), as MATPOWER's ``makeB`` and ``fdpf``.

``B'`` (angle equations, non-reference buses) and ``B''`` (magnitude equations, PQ buses) are
constant and factored once; each iteration is one P half-step and one Q half-step, two
triangular solves each.

References
----------
Stott, B. and Alsac, O. (1974). Fast decoupled load flow. IEEE Trans. PAS-93(3).
van Amerongen, R. A. M. (1989). A general-purpose version of the fast decoupled load flow.
IEEE Trans. Power Syst. 4(2).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from twin.solvers.grid.branches import admittances
from twin.solvers.grid.newton import CONVERGED, DIVERGED, MAX_ITERATIONS, NewtonResult
from twin.solvers.grid.ybus import make_ybus

__all__ = ["decoupled_matrices", "fast_decoupled"]


def decoupled_matrices(case: Any, variant: str) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """``B'`` and ``B''`` of a case (full size, p.u.) for ``variant`` ``"fdxb"`` or ``"fdbx"``.

    XB neglects resistance in ``B'``; BX neglects it in ``B''``. Both drop shunts and taps from
    ``B'`` and phase shifts from ``B''`` (MATPOWER ``makeB``).
    """
    r, x, g, b, ratio, shift = case.pi
    on = case.branch_on
    f, t = case.f[on], case.t[on]
    r, x, b, ratio, shift = r[on], x[on], b[on], ratio[on], shift[on]
    zero = np.zeros(len(f))
    r_p = zero if variant == "fdxb" else r
    ys = 1.0 / (r_p + 1j * x)
    bp = -make_ybus(case.n_bus, f, t, ys, -ys, -ys, ys, np.zeros(case.n_bus)).imag
    r_pp = r if variant == "fdxb" else zero
    y = admittances(r_pp, x, zero, b, ratio, zero)
    ysh = np.where(case.energised, case.ysh, 0.0)
    bpp = -make_ybus(case.n_bus, f, t, *y, 1j * ysh.imag).imag
    return sp.csr_matrix(bp), sp.csr_matrix(bpp)


def fast_decoupled(case: Any, sbus: np.ndarray, v0: np.ndarray, *, variant: str = "fdxb", tol: float = 1e-8,
                   max_iteration: int = 30, factors: tuple[Any, Any] | None = None) -> NewtonResult:
    """Solve the AC power flow by the fast-decoupled method.

    Parameters
    ----------
    case : PowerFlowCase
        Prepared case.
    sbus : ndarray of complex
        Specified injections (p.u.).
    v0 : ndarray of complex
        Initial voltages (set points at PV/REF buses).
    variant : {"fdxb", "fdbx"}
        XB or BX scheme.
    tol : float
        Tolerance on the largest P and Q mismatch divided by the voltage magnitude (p.u.), as MATPOWER.
    max_iteration : int
        Limit on P-Q iteration pairs.
    factors : tuple, optional
        Precomputed ``(splu(B'_reduced), splu(B''_reduced))`` to reuse.

    Returns
    -------
    NewtonResult
    """
    pvpq = np.flatnonzero((case.kind == 0) | (case.kind == 1))
    pq = np.flatnonzero(case.kind == 0)
    if factors is None:
        bp, bpp = decoupled_matrices(case, variant)
        factors = (splu(bp[pvpq][:, pvpq].tocsc()), splu(bpp[pq][:, pq].tocsc()) if len(pq) else None)
    lu_p, lu_q = factors
    v = np.array(v0, dtype=complex)
    va, vm = np.angle(v), np.abs(v)

    def mismatch() -> tuple[np.ndarray, np.ndarray, float]:
        mis = (v * np.conj(case.ybus @ v) - sbus) / np.where(vm > 0, vm, 1.0)
        p, q = mis.real[pvpq], mis.imag[pq]
        return p, q, max(np.abs(p).max(initial=0.0), np.abs(q).max(initial=0.0))

    p, q, norm = mismatch()
    it = 0
    while norm >= tol and it < max_iteration:
        it += 1
        va[pvpq] -= lu_p.solve(p)
        v = vm * np.exp(1j * va)
        p, q, norm = mismatch()
        if norm < tol:
            break
        if lu_q is not None:
            vm[pq] -= lu_q.solve(q)
        v = vm * np.exp(1j * va)
        p, q, norm = mismatch()
        if not np.isfinite(norm):
            return NewtonResult(v, DIVERGED, it, norm)
    return NewtonResult(v, CONVERGED if norm < tol else MAX_ITERATIONS, it, norm)
