"""Bus admittance matrix and branch flows from the branch admittance terms."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numba import njit

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


@njit(cache=True)
def _finite(x):  # pragma: no cover - numba
    """``numpy.nan_to_num`` of one value."""
    if x != x:
        return 0.0
    if x == np.inf:
        return 1.7976931348623157e308
    return x


@njit(cache=True, error_model="numpy")
def branch_loading(v, f, t, yff, yft, ytf, ytt, on, base_mva, kv_f, kv_t, a_f, a_t, c, rate, first_rated, out
                   ):  # pragma: no cover - numba
    """Loading (%) of every branch from the voltages, into ``out`` (0 where out of service).

    Rows below ``first_rated`` are loaded by current: ``max(I_f a_f, I_t a_t) c`` with
    ``I = |S| / (|V| kv)``; later rows by power: ``max(|S_f|, |S_t|) rate``. NaN gives 0.
    """
    for k in range(len(f)):
        if not on[k]:
            out[k] = 0.0
            continue
        vf, vt = v[f[k]], v[t[k]]
        af = abs(vf * np.conj(yff[k] * vf + yft[k] * vt)) * base_mva
        at = abs(vt * np.conj(ytf[k] * vf + ytt[k] * vt)) * base_mva
        if k >= first_rated:
            x = max(af, at) * rate[k]
        else:
            i_f = _finite(af / (abs(vf) * kv_f[k])) * a_f[k]
            i_t = _finite(at / (abs(vt) * kv_t[k])) * a_t[k]
            x = max(i_f, i_t) * c[k]
        out[k] = _finite(x)
