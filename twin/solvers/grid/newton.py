"""Newton-Raphson AC power flow in polar coordinates (MATPOWER ``newtonpf`` semantics).

The Jacobian is assembled straight into CSR by Numba kernels that walk the rows of ``Ybus``:
its pattern is computed once per topology (:class:`JacobianPattern`) and only its values are
refilled each iteration. Unknowns are ordered by bus: voltage angles of every non-reference bus,
then voltage magnitudes of every PQ bus; the equations follow the same order (P rows, then Q rows).
The convergence test is MATPOWER's: the infinity norm of the mismatch in p.u. below ``tol``.

References
----------
Tinney, W. F. and Hart, C. E. (1967). Power flow solution by Newton's method. IEEE Trans. PAS-86(11).
Zimmerman, R. D., Murillo-Sanchez, C. E. and Thomas, R. J. (2011). MATPOWER. IEEE Trans. Power Syst. 26(1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from numba import njit
from scipy.sparse.linalg import splu

from twin.solvers.grid.sparse_lu import SymbolicLU, _refactor, fill_reducing_order
from twin.solvers.grid.sparse_lu import _solve as _lu_solve_kernel

__all__ = ["JacobianPattern", "NewtonResult", "jacobian", "mismatch", "newton_raphson", "unknown_positions"]

#: Status codes returned by the solver.
CONVERGED, MAX_ITERATIONS, SINGULAR, DIVERGED = 0, 1, 2, 3


@dataclass(frozen=True)
class NewtonResult:
    """Outcome of a Newton-Raphson solve: complex voltages (p.u.), status, iterations, max mismatch (p.u.)."""

    v: np.ndarray
    status: int
    iterations: int
    max_mismatch: float

    @property
    def converged(self) -> bool:
        """Whether the mismatch fell below the tolerance."""
        return self.status == CONVERGED


def unknown_positions(kind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of each bus's angle and magnitude among the unknowns (-1 where fixed).

    ``kind`` is 0 for PQ, 1 for PV and 2 for reference buses (3: not solved, e.g. de-energised).

    Examples
    --------
    >>> va, vm = unknown_positions(np.array([2, 0, 1, 0]))
    >>> va.tolist(), vm.tolist()
    ([-1, 0, 1, 2], [-1, 0, -1, 1])
    """
    va = np.full(len(kind), -1, dtype=np.int64)
    vm = np.full(len(kind), -1, dtype=np.int64)
    non_ref = (kind == 0) | (kind == 1)
    va[non_ref] = np.arange(int(non_ref.sum()))
    vm[kind == 0] = np.arange(int((kind == 0).sum()))
    return va, vm


@njit(cache=True)
def _pattern(indptr, indices, va_pos, vm_pos, n_va, n_vm):  # pragma: no cover - numba
    n = n_va + n_vm
    counts = np.zeros(n + 1, dtype=np.int64)
    for i in range(len(indptr) - 1):
        m = 0
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            m += (va_pos[j] >= 0) + (vm_pos[j] >= 0)
        if va_pos[i] >= 0:
            counts[va_pos[i] + 1] = m
        if vm_pos[i] >= 0:
            counts[n_va + vm_pos[i] + 1] = m
    jp = np.cumsum(counts)
    ji = np.empty(jp[-1], dtype=np.int64)
    for i in range(len(indptr) - 1):
        for row in (va_pos[i], n_va + vm_pos[i] if vm_pos[i] >= 0 else -1):
            if row < 0:
                continue
            p = jp[row]
            for k in range(indptr[i], indptr[i + 1]):
                if va_pos[indices[k]] >= 0:
                    ji[p] = va_pos[indices[k]]
                    p += 1
            for k in range(indptr[i], indptr[i + 1]):
                if vm_pos[indices[k]] >= 0:
                    ji[p] = n_va + vm_pos[indices[k]]
                    p += 1
    return jp, ji


@njit(cache=True)
def _fill(indptr, indices, data, v, va_pos, vm_pos, n_va, jp, kind, out):  # pragma: no cover - numba
    """Jacobian values in the pattern's CSR order (:func:`_fill_mapped` with no map)."""
    _fill_mapped(indptr, indices, data, v, va_pos, vm_pos, n_va, jp, kind, np.arange(len(out)), out)


@njit(cache=True, nogil=True)
def _fill_mapped(indptr, indices, data, v, va_pos, vm_pos, n_va, jp, kind, dest, out):  # pragma: no cover - numba
    """Jacobian values: the value of the pattern's CSR entry ``p`` goes to ``out[dest[p]]`` (e.g.
    straight into a symbolic LU's permuted column order, :attr:`SymbolicLU.dest`).

    An unknown of the pattern whose bus ``kind`` fixes it (angle at REF / de-energised buses,
    magnitude at PV / REF / de-energised buses) is pinned: its row is an identity row and its
    column is zero elsewhere, so one pattern serves every set of bus kinds.
    """
    unit_v = np.empty(len(v), dtype=np.complex128)
    for i in range(len(v)):
        a = abs(v[i])
        unit_v[i] = v[i] / a if a > 0 else 0j
    for i in range(len(indptr) - 1):
        if va_pos[i] < 0:
            continue
        vi = v[i]
        ra = kind[i] <= 1
        pq_row = vm_pos[i] >= 0
        rm = pq_row and kind[i] == 0
        cur = 0j
        if ra:
            for k in range(indptr[i], indptr[i + 1]):
                cur += data[k] * v[indices[k]]
        p = jp[va_pos[i]]
        q = jp[n_va + vm_pos[i]] if pq_row else 0
        for k in range(indptr[i], indptr[i + 1]):  # d/dVa
            j = indices[k]
            if va_pos[j] < 0:
                continue
            if kind[j] > 1 or not ra:
                out[dest[p]] = 1.0 if j == i and kind[j] > 1 else 0.0
                p += 1
                if pq_row:
                    out[dest[q]] = 0.0
                    q += 1
                continue
            if j == i:
                ds = 1j * vi * np.conj(cur - data[k] * vi)
            else:
                ds = -1j * vi * np.conj(data[k] * v[j])
            out[dest[p]] = ds.real
            p += 1
            if pq_row:
                out[dest[q]] = ds.imag if rm else 0.0
                q += 1
        for k in range(indptr[i], indptr[i + 1]):  # d/dVm
            j = indices[k]
            if vm_pos[j] < 0:
                continue
            if kind[j] != 0 or not ra:
                out[dest[p]] = 0.0
                p += 1
                if pq_row:
                    out[dest[q]] = 1.0 if j == i and kind[j] != 0 else 0.0
                    q += 1
                continue
            unit = unit_v[j]
            ds = vi * np.conj(data[k] * unit)
            if j == i:
                ds += np.conj(cur) * unit
            out[dest[p]] = ds.real
            p += 1
            if pq_row:
                out[dest[q]] = ds.imag if rm else 0.0
                q += 1


@dataclass(frozen=True, eq=False)
class JacobianPattern:
    """CSR pattern of the Jacobian for one ``Ybus`` pattern and one set of bus kinds.

    It also remembers the symbolic LU of the Jacobian (ordering, pivot sequence, fill pattern:
    :class:`~twin.solvers.grid.sparse_lu.SymbolicLU`) once the first solve has computed it, so
    that later solves with the same pattern (iterations, time steps, outages that leave explicit
    zeros) only refactor numerically.
    """

    indptr: np.ndarray
    indices: np.ndarray
    va_pos: np.ndarray
    vm_pos: np.ndarray
    n_va: int
    n_vm: int
    kind: np.ndarray | None = None
    lu: list = field(default_factory=list, repr=False)
    #: a fill-reducing bus ordering to use for the symbolic LU (e.g. from the DC start's factors)
    order: list = field(default_factory=list, repr=False)

    @classmethod
    def build(cls, ybus: sp.csr_matrix, kind: np.ndarray, *, full: bool = False) -> "JacobianPattern":
        """Pattern for ``ybus`` (CSR, sorted, full diagonal) and bus kinds (0 PQ, 1 PV, 2 REF, 3 off).

        With ``full``, every bus has an angle and a magnitude unknown; those that ``kind`` fixes
        are pinned (identity rows), so the pattern and its symbolic LU serve any later bus kinds
        (generator outages, de-energised islands) on the same ``Ybus`` pattern.
        """
        kind = np.asarray(kind, dtype=np.int64)
        va_pos, vm_pos = unknown_positions(np.zeros_like(kind) if full else kind)
        n_va, n_vm = int((va_pos >= 0).sum()), int((vm_pos >= 0).sum())
        jp, ji = _pattern(ybus.indptr.astype(np.int64), ybus.indices.astype(np.int64), va_pos, vm_pos, n_va, n_vm)
        return cls(jp, ji, va_pos, vm_pos, n_va, n_vm, kind)

    @property
    def size(self) -> int:
        """Number of unknowns."""
        return self.n_va + self.n_vm


def jacobian(ybus: sp.csr_matrix, v: np.ndarray, pattern: JacobianPattern, kind: np.ndarray | None = None
             ) -> sp.csr_matrix:
    """Power-flow Jacobian ``d[P; Q]/d[Va; Vm]`` at voltages ``v`` (CSR).

    Examples
    --------
    >>> y = sp.csr_matrix(np.array([[-10j, 10j], [10j, -10j]]))
    >>> pat = JacobianPattern.build(y, np.array([2, 0]))
    >>> jacobian(y, np.ones(2, complex), pat).toarray().round(6).tolist()
    [[10.0, 0.0], [0.0, 10.0]]
    """
    data = np.empty(len(pattern.indices))
    _fill(ybus.indptr.astype(np.int64), ybus.indices.astype(np.int64), ybus.data, v, pattern.va_pos,
          pattern.vm_pos, pattern.n_va, pattern.indptr, _kinds(pattern, kind), data)
    return sp.csr_matrix((data, pattern.indices, pattern.indptr), shape=(pattern.size, pattern.size))


def _kinds(pattern: JacobianPattern, kind: np.ndarray | None) -> np.ndarray:
    """Bus kinds that decide the pinned unknowns (default: the pattern's own)."""
    if kind is None:
        kind = pattern.kind if pattern.kind is not None else np.where(pattern.va_pos < 0, 2, np.where(
            pattern.vm_pos < 0, 1, 0))
    return np.ascontiguousarray(kind, dtype=np.int64)


def mismatch(ybus: sp.csr_matrix, v: np.ndarray, sbus: np.ndarray, pattern: JacobianPattern,
             kind: np.ndarray | None = None) -> np.ndarray:
    """Mismatch vector ``[dP(non-ref); dQ(PQ)]`` in p.u. (injection computed minus specified; 0 if pinned)."""
    kind = _kinds(pattern, kind)
    mis = v * np.conj(ybus @ v) - sbus
    out = np.zeros(pattern.size)
    va, vm = pattern.va_pos, pattern.vm_pos
    sa, sm = (va >= 0) & (kind <= 1), (vm >= 0) & (kind == 0)
    out[va[sa]] = mis.real[sa]
    out[pattern.n_va + vm[sm]] = mis.imag[sm]
    return out


def _lu_solve(jac: sp.csr_matrix, rhs: np.ndarray) -> np.ndarray | None:
    """Solve ``jac x = rhs`` with SuperLU, factoring the CSR arrays as the CSC of the transpose."""
    jt = sp.csc_matrix((jac.data, jac.indices, jac.indptr), shape=jac.shape)
    try:
        return splu(jt, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.1,
                    options={"SymmetricMode": True}).solve(rhs, trans="T")
    except RuntimeError:  # exactly singular
        return None


@njit(cache=True)
def _mismatch_into(indptr, indices, data, v, sbus, va_pos, vm_pos, n_va, kind, out):  # pragma: no cover - numba
    """``out`` = [dP(non-ref); dQ(PQ)] (0 at pinned unknowns); returns its infinity norm (NaN-propagating)."""
    norm = 0.0
    for i in range(len(indptr) - 1):
        if va_pos[i] < 0:
            continue
        if kind[i] > 1:
            out[va_pos[i]] = 0.0
            if vm_pos[i] >= 0:
                out[n_va + vm_pos[i]] = 0.0
            continue
        cur = 0j
        for k in range(indptr[i], indptr[i + 1]):
            cur += data[k] * v[indices[k]]
        mis = v[i] * np.conj(cur) - sbus[i]
        out[va_pos[i]] = mis.real
        a = abs(mis.real)
        if a > norm or a != a:
            norm = a
        if vm_pos[i] >= 0 and kind[i] != 0:
            out[n_va + vm_pos[i]] = 0.0
        elif vm_pos[i] >= 0:
            out[n_va + vm_pos[i]] = mis.imag
            a = abs(mis.imag)
            if a > norm or a != a:
                norm = a
    return norm


@njit(cache=True)
def _apply_step(v, dx, va_pos, vm_pos, n_va, kind):  # pragma: no cover - numba
    """Polar update ``x -= dx`` of the unpinned unknowns; False when the step is not finite."""
    for k in range(len(dx)):
        if not np.isfinite(dx[k]):
            return False
    for i in range(len(v)):
        a = va_pos[i] if kind[i] <= 1 else -1
        m = vm_pos[i] if kind[i] == 0 else -1
        if a < 0 and m < 0:
            continue
        va = np.angle(v[i])
        vm = abs(v[i])
        if a >= 0:
            va -= dx[a]
        if m >= 0:
            vm -= dx[n_va + m]
        v[i] = vm * (np.cos(va) + 1j * np.sin(va))
    return True


@njit(cache=True)
def _newton_kernel(yp, yi, yx, sbus, v, va_pos, vm_pos, n_va, kind, jp, f, dx, prow, qcol, dest, bp, bi, bx,
                   lp, li, lx, up, ui, ux, ud, work, yw, tol, it, max_it):  # pragma: no cover - numba
    """Newton iterations with refactorization on a fixed symbolic LU.

    Returns (status, iterations, norm); status -1 asks the caller for a new analysis (a pivot failed).
    """
    norm = _mismatch_into(yp, yi, yx, v, sbus, va_pos, vm_pos, n_va, kind, f)
    while norm >= tol and it < max_it:
        _fill_mapped(yp, yi, yx, v, va_pos, vm_pos, n_va, jp, kind, dest, bx)
        if _refactor(len(ud), bp, bi, bx, lp, li, lx, up, ui, ux, ud, work) >= 0:
            return -1, it, norm
        it += 1
        _lu_solve_kernel(len(ud), lp, li, lx, up, ui, ux, ud, prow, qcol, f, yw, dx)
        if not _apply_step(v, dx, va_pos, vm_pos, n_va, kind):
            return SINGULAR, it, norm
        norm = _mismatch_into(yp, yi, yx, v, sbus, va_pos, vm_pos, n_va, kind, f)
        if not np.isfinite(norm):
            return DIVERGED, it, norm
    return (CONVERGED if norm < tol else MAX_ITERATIONS), it, norm


def newton_raphson(ybus: sp.csr_matrix, sbus: np.ndarray, v0: np.ndarray, kind: np.ndarray, *,
                   tol: float = 1e-8, max_iteration: int = 10, pattern: JacobianPattern | None = None
                   ) -> NewtonResult:
    """Solve the AC power flow by Newton-Raphson (polar), as MATPOWER's ``newtonpf``.

    The iterations run in one Numba kernel: mismatch, Jacobian values, numeric LU refactorization
    on the symbolic analysis kept in ``pattern`` (computed at the first iteration of the first
    solve with this pattern), triangular solves, voltage update.

    Parameters
    ----------
    ybus : scipy.sparse.csr_matrix
        Bus admittance matrix (p.u.), sorted indices and full diagonal (:func:`make_ybus`).
    sbus : ndarray of complex
        Specified complex injection at each bus (p.u.).
    v0 : ndarray of complex
        Initial voltages; magnitudes at PV and REF buses are the set points (p.u.).
    kind : ndarray of int
        0 PQ, 1 PV, 2 REF, 3 not solved (kept at ``v0``; must have no branch to a solved bus).
    tol : float
        Convergence tolerance on the infinity norm of the mismatch (p.u.).
    max_iteration : int
        Maximum number of Newton iterations.
    pattern : JacobianPattern, optional
        Precomputed Jacobian pattern for this ``ybus`` pattern and ``kind`` (reused across calls,
        with its symbolic LU). A ``full`` pattern (:meth:`JacobianPattern.build`) accepts any
        ``kind``: the unknowns it fixes are pinned.

    Returns
    -------
    NewtonResult

    Examples
    --------
    >>> y = sp.csr_matrix(np.array([[-10j, 10j], [10j, -10j]]))
    >>> res = newton_raphson(y, np.array([0, -0.5 + 0j]), np.ones(2, complex), np.array([2, 0]))
    >>> res.converged, round(float(abs(res.v[1])), 4)
    (True, 0.9987)
    """
    pattern = pattern or JacobianPattern.build(ybus, kind)
    kind = np.ascontiguousarray(kind, dtype=np.int64)
    v = np.array(v0, dtype=complex)
    yp, yi = ybus.indptr.astype(np.int64), ybus.indices.astype(np.int64)
    yx = np.ascontiguousarray(ybus.data, dtype=complex)
    sbus = np.ascontiguousarray(sbus, dtype=complex)
    n = pattern.size
    f, dx = np.empty(n), np.empty(n)
    it = 0
    fresh = 0  # 1: a bus-ordered analysis, 2: a SuperLU analysis was just computed
    while True:
        lu = pattern.lu[0] if pattern.lu else None
        if lu is not None:
            status, it, norm = _newton_kernel(
                yp, yi, yx, sbus, v, pattern.va_pos, pattern.vm_pos, pattern.n_va, kind, pattern.indptr, f, dx,
                lu.prow, lu.qcol, lu.dest, lu.bp, lu.bi, lu.bx, lu.lp, lu.li, lu.lx, lu.up, lu.ui, lu.ux, lu.ud,
                lu.work, lu.y, tol, it, max_iteration)
            if status >= 0:
                return NewtonResult(v, int(status), int(it), float(norm))
            if fresh == 2:  # a pivot of the new analysis failed at once: one SuperLU step with fresh pivoting
                return _superlu_steps(ybus, sbus, v, pattern, kind, tol, max_iteration, it)
        else:
            norm = _mismatch_into(yp, yi, yx, v, sbus, pattern.va_pos, pattern.vm_pos, pattern.n_va, kind, f)
            if not (norm >= tol and it < max_iteration):
                return NewtonResult(v, CONVERGED if norm < tol else MAX_ITERATIONS, it, float(norm))
        new = _bus_ordered_lu(ybus, pattern) if fresh == 0 else None
        fresh = 1
        if new is None:
            new = SymbolicLU.analyse(jacobian(ybus, v, pattern, kind))
            fresh = 2
            if new is None:
                return NewtonResult(v, SINGULAR, it + 1, float(norm))
        pattern.lu[:] = [new]


def _bus_ordered_lu(ybus: sp.csr_matrix, pattern: JacobianPattern) -> SymbolicLU | None:
    """Symbolic LU of the Jacobian from a minimum-degree ordering of the bus graph (each bus's
    angle, then magnitude), with diagonal pivots: the ordering works on the n x n ``Ybus``
    pattern instead of the ~2n x 2n Jacobian, and no numeric factorization is needed."""
    n = ybus.shape[0]
    if n < 2:
        return None
    if pattern.order and len(pattern.order[0]) == n:
        return _ordered_by_bus(pattern, np.asarray(pattern.order[0], dtype=np.int64))
    order = fill_reducing_order(ybus)
    return None if order is None else _ordered_by_bus(pattern, order)


def _ordered_by_bus(pattern: JacobianPattern, bus_order: np.ndarray) -> SymbolicLU | None:
    """Symbolic LU of the Jacobian with the unknowns of each bus (angle, magnitude) in ``bus_order``."""
    va, vm = pattern.va_pos[bus_order], pattern.vm_pos[bus_order]
    rows = np.stack([va, np.where(vm >= 0, pattern.n_va + vm, -1)], axis=1).ravel()
    order = rows[rows >= 0]
    a = sp.csr_matrix((np.ones(len(pattern.indices)), pattern.indices, pattern.indptr),
                      shape=(pattern.size, pattern.size))
    return SymbolicLU.ordered(a, order)


def _superlu_steps(ybus: sp.csr_matrix, sbus: np.ndarray, v: np.ndarray, pattern: JacobianPattern,
                   kind: np.ndarray, tol: float, max_iteration: int, it: int) -> NewtonResult:
    """Newton iterations factoring each Jacobian afresh with SuperLU (fallback)."""
    f = mismatch(ybus, v, sbus, pattern, kind)
    norm = float(np.max(np.abs(f))) if f.size else 0.0
    while norm >= tol and it < max_iteration:
        it += 1
        dx = _lu_solve(jacobian(ybus, v, pattern, kind), f)
        if dx is None or not np.all(np.isfinite(dx)):
            return NewtonResult(v, SINGULAR, it, norm)
        v = _update(v, dx, pattern, kind)
        f = mismatch(ybus, v, sbus, pattern, kind)
        norm = float(np.max(np.abs(f))) if f.size else 0.0
        if not np.isfinite(norm):
            return NewtonResult(v, DIVERGED, it, norm)
    return NewtonResult(v, CONVERGED if norm < tol else MAX_ITERATIONS, it, norm)


def _update(v: np.ndarray, dx: np.ndarray, pattern: JacobianPattern, kind: np.ndarray) -> np.ndarray:
    """Apply a Newton step ``x -= dx`` to the polar voltages (pinned unknowns stay)."""
    va, vm = np.angle(v), np.abs(v)
    sel_a, sel_m = (pattern.va_pos >= 0) & (kind <= 1), (pattern.vm_pos >= 0) & (kind == 0)
    va[sel_a] -= dx[pattern.va_pos[sel_a]]
    vm[sel_m] -= dx[pattern.n_va + pattern.vm_pos[sel_m]]
    return vm * np.exp(1j * va)
