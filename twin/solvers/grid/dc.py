"""DC power flow and linear sensitivities (PTDF, LODF), as MATPOWER's ``makeBdc``/``dcpf``/``makePTDF``.

The DC model keeps only series reactances (divided by the tap ratio), phase-shifter injections
and shunt conductances; voltage magnitudes are 1 p.u.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

__all__ = ["dc_matrices", "dc_power_flow", "dc_voltages", "lodf", "ptdf"]


def dc_matrices(n_bus: int, f: np.ndarray, t: np.ndarray, x: np.ndarray, ratio: np.ndarray,
                shift_degree: np.ndarray, on: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """``Bbus``, ``Bf`` and the phase-shift injections ``Pfinj`` of the DC model (p.u.).

    Examples
    --------
    >>> bbus, bf, pfinj = dc_matrices(2, np.array([0]), np.array([1]), np.array([0.1]), np.array([1.0]),
    ...                               np.array([0.0]), np.array([True]))
    >>> bbus.toarray().tolist()
    [[10.0, -10.0], [-10.0, 10.0]]
    """
    b = np.where(on, 1.0 / np.where(on, x * ratio, 1.0), 0.0)
    nl = len(f)
    rows = np.concatenate([np.arange(nl), np.arange(nl)])
    bf = sp.csr_matrix((np.concatenate([b, -b]), (rows, np.concatenate([f, t]))), shape=(nl, n_bus))
    cft = sp.csr_matrix((np.concatenate([np.ones(nl), -np.ones(nl)]), (rows, np.concatenate([f, t]))),
                        shape=(nl, n_bus))
    bbus = (cft.T @ bf).tocsr()
    pfinj = b * (-np.deg2rad(shift_degree))
    return bbus, bf, pfinj


def dc_power_flow(bbus: sp.csr_matrix, pbus: np.ndarray, va_ref: np.ndarray, kind: np.ndarray,
                  order_out: list | None = None) -> np.ndarray:
    """Voltage angles (rad) solving ``Bbus @ Va = Pbus`` with the reference angles fixed.

    ``kind`` is 0 PQ, 1 PV, 2 REF, 3 not solved (angle 0). ``order_out`` (a list) receives the
    buses in the elimination order of the factorization's minimum-degree ordering (solved buses,
    then the others): a fill-reducing bus ordering for the Newton Jacobian, at no extra cost.

    Examples
    --------
    >>> bbus = sp.csr_matrix(np.array([[10.0, -10.0], [-10.0, 10.0]]))
    >>> dc_power_flow(bbus, np.array([0.5, -0.5]), np.zeros(2), np.array([2, 0])).round(3).tolist()
    [0.0, -0.05]
    """
    va = np.where(kind == 2, va_ref, 0.0)
    solve = (kind == 0) | (kind == 1)
    if not solve.any():
        return va
    ref = kind == 2
    rhs = pbus[solve] - bbus[solve][:, ref] @ va[ref]
    # Bbus is symmetric: a symmetric ordering with diagonal pivots keeps the fill low
    lu = splu(bbus[solve][:, solve].tocsc(), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.1,
              options={"SymmetricMode": True})
    va[solve] = lu.solve(rhs)
    if order_out is not None:
        order_out.append(np.concatenate([np.flatnonzero(solve)[np.argsort(lu.perm_c)], np.flatnonzero(~solve)]))
    return va


def dc_voltages(case: Any, sbus: np.ndarray, order_out: list | None = None) -> np.ndarray:
    """DC solution of a :class:`~twin.solvers.grid.build.PowerFlowCase` as complex voltages (set
    point magnitudes at PV/REF buses, 1 elsewhere, 0 where de-energised); ``order_out`` as in
    :func:`dc_power_flow`."""
    va, _, _ = dc_solution(case, sbus, order_out)
    vm = np.where((case.kind == 1) | (case.kind == 2), case.vm_set, 1.0)
    v = vm * np.exp(1j * va)
    v[~case.energised] = 0.0
    return v


def dc_solution(case: Any, sbus: np.ndarray, order_out: list | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DC angles (rad), from-end branch flows (p.u.) and bus injections (p.u.) of a case."""
    r, x, g, b, ratio, shift = case.pi
    on = case.branch_on
    bbus, bf, pfinj = dc_matrices(case.n_bus, case.f, case.t, x, ratio, shift, on)
    pbusinj = np.zeros(case.n_bus)
    np.add.at(pbusinj, case.f, pfinj)
    np.add.at(pbusinj, case.t, -pfinj)
    pbus = sbus.real - pbusinj - np.where(case.energised, case.ysh.real, 0.0)
    va = dc_power_flow(bbus, pbus, case.va_set, case.kind, order_out)
    flows = np.where(on, bf @ va + pfinj, 0.0)
    return va, flows, pbus


def ptdf(bbus: sp.csr_matrix, bf: sp.csr_matrix, kind: np.ndarray, buses: np.ndarray | None = None) -> np.ndarray:
    """Power transfer distribution factors: flow change on each branch per p.u. injected at a bus
    and withdrawn at the island's reference (dense, branches x ``buses``).

    Examples
    --------
    >>> bbus, bf, _ = dc_matrices(3, np.array([0, 1, 0]), np.array([1, 2, 2]), np.ones(3), np.ones(3),
    ...                           np.zeros(3), np.ones(3, bool))
    >>> ptdf(bbus, bf, np.array([2, 0, 0]))[:, 2].round(3).tolist()
    [-0.333, -0.333, -0.667]
    """
    n = bbus.shape[0]
    buses = np.arange(n) if buses is None else np.asarray(buses)
    solve = np.flatnonzero((kind == 0) | (kind == 1))
    pos = np.full(n, -1)
    pos[solve] = np.arange(len(solve))
    lu = splu(bbus[solve][:, solve].tocsc())
    rhs = np.zeros((len(solve), len(buses)))
    ok = pos[buses] >= 0
    rhs[pos[buses[ok]], np.flatnonzero(ok)] = 1.0
    theta = np.zeros((n, len(buses)))
    theta[solve] = lu.solve(rhs)
    return np.asarray(bf @ theta)


def lodf(ptdf_branch: np.ndarray, f: np.ndarray, t: np.ndarray, outaged: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Line outage distribution factors for the outage of each branch in ``outaged``.

    Parameters
    ----------
    ptdf_branch : ndarray
        PTDF over all buses (branches x buses).
    f, t : ndarray of int
        Branch ends.
    outaged : ndarray of int
        Branches whose outage is studied.

    Returns
    -------
    lodf : ndarray
        ``lodf[l, k]``: change of flow on branch l per p.u. flowing on outaged branch k before the
        outage (column k = ``outaged[k]``; its own row is -1).
    bridge : ndarray of bool
        Outages that split an island (``PTDF_kk`` = 1): their LODF column is not defined (NaN).

    Examples
    --------
    >>> bbus, bf, _ = dc_matrices(3, np.array([0, 1, 0]), np.array([1, 2, 2]), np.ones(3), np.ones(3),
    ...                           np.zeros(3), np.ones(3, bool))
    >>> p = ptdf(bbus, bf, np.array([2, 0, 0]))
    >>> lodf(p, np.array([0, 1, 0]), np.array([1, 2, 2]), np.array([2]))[0][:, 0].round(3).tolist()
    [1.0, 1.0, -1.0]
    """
    transfer = ptdf_branch[:, f[outaged]] - ptdf_branch[:, t[outaged]]  # flow per p.u. from f_k to t_k
    own = transfer[outaged, np.arange(len(outaged))]
    bridge = np.abs(1.0 - own) < 1e-8
    with np.errstate(divide="ignore", invalid="ignore"):
        out = transfer / np.where(bridge, np.nan, 1.0 - own)
    out[outaged, np.arange(len(outaged))] = -1.0
    out[:, bridge] = np.nan
    return out, bridge
