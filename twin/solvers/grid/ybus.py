"""Bus admittance matrix and branch flows from the branch admittance terms."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["branch_flows", "make_ybus"]


def make_ybus(n_bus: int, f: np.ndarray, t: np.ndarray, yff: np.ndarray, yft: np.ndarray, ytf: np.ndarray,
              ytt: np.ndarray, ysh: np.ndarray) -> sp.csr_matrix:
    """Bus admittance matrix (CSR, sorted indices, every diagonal entry stored).

    Parameters
    ----------
    n_bus : int
        Number of buses.
    f, t : ndarray of int
        From and to bus of each (in-service) branch.
    yff, yft, ytf, ytt : ndarray of complex
        Branch admittance terms (p.u.), see :func:`~twin.solvers.grid.branches.admittances`.
    ysh : ndarray of complex
        Shunt admittance at each bus (p.u.).

    Returns
    -------
    scipy.sparse.csr_matrix
        ``Ybus`` with ``I = Ybus @ V``.

    Examples
    --------
    >>> y = make_ybus(2, np.array([0]), np.array([1]), np.array([-10j]), np.array([10j]),
    ...               np.array([10j]), np.array([-10j]), np.zeros(2, complex))
    >>> y.toarray()[0].tolist()
    [-10j, 10j]
    """
    diag = np.arange(n_bus)
    rows = np.concatenate([f, f, t, t, diag])
    cols = np.concatenate([f, t, f, t, diag])
    vals = np.concatenate([yff, yft, ytf, ytt, np.asarray(ysh, complex)])
    ybus = sp.coo_matrix((vals, (rows, cols)), shape=(n_bus, n_bus)).tocsr()
    ybus.sum_duplicates()
    ybus.sort_indices()
    return ybus


def branch_flows(v: np.ndarray, f: np.ndarray, t: np.ndarray, yff: np.ndarray, yft: np.ndarray, ytf: np.ndarray,
                 ytt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Complex power entering each branch at its from and to ends (p.u.).

    Examples
    --------
    >>> sf, st = branch_flows(np.array([1.0, 0.99 + 0j]), np.array([0]), np.array([1]), np.array([-10j]),
    ...                       np.array([10j]), np.array([10j]), np.array([-10j]))
    >>> round(float(sf[0].imag), 3)
    0.1
    """
    vf, vt = v[..., f], v[..., t]
    sf = vf * np.conj(yff * vf + yft * vt)
    st = vt * np.conj(ytf * vf + ytt * vt)
    return sf, st
