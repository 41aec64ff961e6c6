"""Sparse symmetric positive definite solve: minimum-degree ordering and symbolic factorization
once per topology, numeric LDL^T factorization and solve in Numba every iteration.

The matrix is the junction x junction GGA matrix. Parallel links share one off-diagonal slot.
:func:`symbolic` returns a :class:`Symbolic` whose ``slot`` maps each link to the position of its
off-diagonal entry in the factor's value array (``-1`` for links touching a fixed-grade node),
so assembly writes straight into the factor storage and the numeric factorization runs in place.

References
----------
George, A. and Liu, J. W. H. (1989). The evolution of the minimum degree ordering algorithm.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
from numba import njit, uint64


@dataclass(frozen=True)
class Symbolic:
    """Ordering and factor pattern of one topology (all arrays int64, read-only by convention).

    ``perm[k]`` is the junction eliminated k-th and ``iperm`` its inverse; column ``k`` of the unit
    lower factor holds rows ``rowind[colptr[k]:colptr[k+1]]`` (sorted, all > k); ``rowcols`` /
    ``rowpos`` list for each row the columns with a nonzero in that row and their value positions;
    ``upd`` is the value position each update of :func:`ldl_factor_mapped` lands on, in update order.
    """

    n: int
    perm: np.ndarray
    iperm: np.ndarray
    colptr: np.ndarray
    rowind: np.ndarray
    rowptr: np.ndarray
    rowcols: np.ndarray
    rowpos: np.ndarray
    slot: np.ndarray
    upd: np.ndarray

    @property
    def nnz(self) -> int:
        """Number of strictly lower nonzeros of the factor (fill included)."""
        return int(self.colptr[-1])


def minimum_degree(n: int, adj: list[set[int]]) -> tuple[np.ndarray, list[list[int]]]:
    """Minimum-degree elimination order and, per eliminated node, its neighbours at elimination.

    ``adj`` is consumed. Ties are broken by node index, so the order is deterministic.

    Examples
    --------
    >>> order, cols = minimum_degree(3, [{1}, {0, 2}, {1}])
    >>> order.tolist(), cols[0]
    ([0, 1, 2], [1])
    """
    heap = [(len(a), i) for i, a in enumerate(adj)]
    heapq.heapify(heap)
    done = np.zeros(n, bool)
    order: list[int] = []
    cols: list[list[int]] = []
    while heap:
        deg, v = heapq.heappop(heap)
        if done[v] or deg != len(adj[v]):
            continue
        done[v] = True
        nbrs = adj[v]
        order.append(v)
        cols.append(list(nbrs))
        for u in nbrs:
            au = adj[u]
            au.discard(v)
            au |= nbrs
            au.discard(u)
            heapq.heappush(heap, (len(au), u))
        adj[v] = set()
    return np.asarray(order, np.int64), cols


def symbolic(n: int, start: np.ndarray, end: np.ndarray) -> Symbolic:
    """Ordering and symbolic factorization of the ``n`` x ``n`` matrix of links ``start``-``end``.

    Links with an end ``>= n`` (a fixed-grade node) get ``slot = -1``.

    Examples
    --------
    >>> s = symbolic(3, np.array([0, 1, 1]), np.array([1, 2, 3]))
    >>> s.nnz, s.slot.tolist()
    (2, [0, 1, -1])
    """
    adj: list[set[int]] = [set() for _ in range(n)]
    inner = (start < n) & (end < n) & (start != end)
    for a, b in zip(start[inner].tolist(), end[inner].tolist()):
        adj[a].add(b)
        adj[b].add(a)
    order, cols = minimum_degree(n, adj)
    iperm = np.empty(n, np.int64)
    iperm[order] = np.arange(n)
    counts = np.array([len(c) for c in cols], np.int64)
    colptr = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=colptr[1:])
    rowind = np.empty(colptr[-1], np.int64)
    for k, c in enumerate(cols):
        rowind[colptr[k]:colptr[k + 1]] = np.sort(iperm[np.asarray(c, np.int64)]) if c else []
    rowptr, rowcols, rowpos = _row_lists(n, colptr, rowind)
    slot = _slots(n, start, end, iperm, colptr, rowind)
    upd = _update_targets(n, colptr, rowind, rowptr, rowcols, rowpos)
    return Symbolic(n, order, iperm, colptr, rowind, rowptr, rowcols, rowpos, slot, upd)


def _row_lists(n: int, colptr: np.ndarray, rowind: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cols = np.repeat(np.arange(n, dtype=np.int64), np.diff(colptr))
    order = np.lexsort((cols, rowind))
    rowptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(rowind, minlength=n), out=rowptr[1:])
    return rowptr, cols[order].astype(np.int64), order.astype(np.int64)


def _slots(n: int, start: np.ndarray, end: np.ndarray, iperm: np.ndarray, colptr: np.ndarray,
           rowind: np.ndarray) -> np.ndarray:
    slot = np.full(len(start), -1, np.int64)
    for k in range(len(start)):
        a, b = int(start[k]), int(end[k])
        if a >= n or b >= n or a == b:
            continue
        i, j = int(iperm[a]), int(iperm[b])
        lo, hi = (i, j) if i < j else (j, i)
        rows = rowind[colptr[lo]:colptr[lo + 1]]
        slot[k] = colptr[lo] + int(np.searchsorted(rows, hi))
    return slot


@njit(cache=True)
def _update_targets(n: int, colptr: np.ndarray, rowind: np.ndarray, rowptr: np.ndarray, rowcols: np.ndarray,
                    rowpos: np.ndarray) -> np.ndarray:
    """Value position of each update ``L[i, j] -= L[i, k] * s`` of the factorization, in the order
    :func:`ldl_factor` applies them (the factor pattern is closed, so row ``i`` is in column ``j``)."""
    total = 0
    for j in range(n):
        for t in range(rowptr[j], rowptr[j + 1]):
            total += colptr[rowcols[t] + 1] - rowpos[t] - 1
    upd = np.empty(total, np.int64)
    pos = np.full(n, -1, np.int64)
    u = 0
    for j in range(n):
        for q in range(colptr[j], colptr[j + 1]):
            pos[rowind[q]] = q
        for t in range(rowptr[j], rowptr[j + 1]):
            for q in range(rowpos[t] + 1, colptr[rowcols[t] + 1]):
                upd[u] = pos[rowind[q]]
                u += 1
        for q in range(colptr[j], colptr[j + 1]):
            pos[rowind[q]] = -1
    return upd


@njit(cache=True, error_model="numpy")
def ldl_factor(n: int, colptr: np.ndarray, rowind: np.ndarray, rowptr: np.ndarray, rowcols: np.ndarray,
               rowpos: np.ndarray, diag: np.ndarray, lx: np.ndarray, work: np.ndarray) -> int:
    """In-place left-looking LDL^T factorization (permuted order).

    On entry ``diag`` holds A's diagonal and ``lx`` A's strictly lower entries in factor layout;
    on exit ``diag`` is D and ``lx`` the unit lower factor. ``work`` (length n) must be zero and is
    left zero. Returns -1, or the column whose pivot is not positive (matrix not SPD).
    """
    for j in range(n):
        d = diag[j]
        for q in range(colptr[j], colptr[j + 1]):
            work[rowind[q]] = lx[q]
        for t in range(rowptr[j], rowptr[j + 1]):
            k = rowcols[t]
            p = rowpos[t]
            ljk = lx[p]
            s = ljk * diag[k]
            d -= ljk * s
            for q in range(p + 1, colptr[k + 1]):
                work[rowind[q]] -= lx[q] * s
        if not d > 0.0:
            for q in range(colptr[j], colptr[j + 1]):
                work[rowind[q]] = 0.0
            return j
        diag[j] = d
        for q in range(colptr[j], colptr[j + 1]):
            i = rowind[q]
            lx[q] = work[i] / d
            work[i] = 0.0
    return -1


@njit(cache=True, error_model="numpy")
def ldl_factor_mapped(n: int, colptr: np.ndarray, rowptr: np.ndarray, rowcols: np.ndarray, rowpos: np.ndarray,
                      upd: np.ndarray, diag: np.ndarray, lx: np.ndarray) -> int:
    """:func:`ldl_factor` with the updates applied straight to their value positions ``upd``
    (:attr:`Symbolic.upd`) instead of through a dense work vector: the same operations in the
    same order, so the same bits. On a non-positive pivot column ``j`` is returned with
    ``lx``'s column ``j`` partly updated.

    Indices are cast to unsigned, which drops Numba's negative-index wraparound on each access.
    """
    one = uint64(1)
    u = uint64(0)
    c0 = uint64(colptr[0])
    r0 = uint64(rowptr[0])
    for j in range(n):
        d = diag[j]
        r1 = uint64(rowptr[j + 1])
        for t in range(r0, r1):
            k = uint64(rowcols[t])
            p = uint64(rowpos[t])
            ljk = lx[p]
            s = ljk * diag[k]
            d -= ljk * s
            for q in range(p + one, uint64(colptr[k + one])):
                lx[uint64(upd[u])] -= lx[q] * s
                u += one
        r0 = r1
        c1 = uint64(colptr[j + 1])
        if not d > 0.0:
            return j
        diag[j] = d
        for q in range(c0, c1):
            lx[q] = lx[q] / d
        c0 = c1
    return -1


@njit(cache=True, error_model="numpy")
def ldl_solve(n: int, colptr: np.ndarray, rowind: np.ndarray, diag: np.ndarray, lx: np.ndarray,
              b: np.ndarray) -> None:
    """Solve ``L D L^T x = b`` in place (``b`` in permuted order); unsigned indices as in
    :func:`ldl_factor_mapped`."""
    c0 = uint64(colptr[0])
    for j in range(n):
        c1 = uint64(colptr[j + 1])
        bj = b[j]
        if bj != 0.0:
            for q in range(c0, c1):
                b[uint64(rowind[q])] -= lx[q] * bj
        c0 = c1
    for j in range(n):
        b[j] /= diag[j]
    c1 = uint64(colptr[n])
    for j in range(n - 1, -1, -1):
        c0 = uint64(colptr[j])
        s = b[j]
        for q in range(c0, c1):
            s -= lx[q] * b[uint64(rowind[q])]
        b[j] = s
        c1 = c0
