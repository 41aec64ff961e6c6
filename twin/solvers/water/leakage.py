"""EPANET 2.3 pipe leakage (FAVAD), as node outflows at the pipes' end junctions.

A pipe of length ``L`` with leak area ``A0`` (mm² per 100 m) and expansion ``m`` (mm² per m of
pressure head) leaks ``Q = Co (L/100) (A0 + m p) sqrt(p)`` at pressure head ``p``, with the orifice
coefficient ``Co = 0.6 sqrt(2g)``. As in EPANET 2.3 (``leakage.c``) the pipe's leakage is
given to its end junctions (half to each, all of it to the junction when the other end is a tank
or reservoir) and each junction's sum is modelled as two emitters in its own pressure: a fixed
area one ``q_fa = c_fa sqrt(p)`` and a variable area one ``q_va = c_va p^1.5``, whose flows are
unknowns of the GGA like emitter flows. Internal units: ft, cfs.

Examples
--------
>>> q, g = leak_loss(4.0, 2.0, 0.5)   # h = 4 q^2
>>> round(q, 12), round(g, 12)
(1.0, 4.0)
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from twin.solvers.water.constants import CBIG, QTOL, RQTOL

#: EPANET 2.3's orifice coefficient 0.6 sqrt(2 g) in ft^0.5/s with mm² of leak area as ft² (cfs per
#: mm² per ft^0.5); measured against the toolkit to 2e-7
C_ORIFICE = 0.6 * math.sqrt(2.0 * 32.2) * 1.0e-6 / 0.3048 ** 2
#: m of pressure head per ft
M_PER_FT = 0.3048


def node_coefficients(nj: int, n1: np.ndarray, n2: np.ndarray, length_m: np.ndarray, area: np.ndarray,
                      expansion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-junction fixed-area and variable-area leak coefficients (cfs per ft^0.5, per ft^1.5).

    ``area`` (mm² per 100 m) and ``expansion`` (mm² per m) per link, 0 where a link does not leak.

    >>> cfa, cva = node_coefficients(1, np.array([1]), np.array([0]), np.array([100.0]),
    ...                              np.array([1.0]), np.array([0.0]))
    >>> math.isclose(cfa[0], C_ORIFICE), float(cva[0])
    (True, 0.0)
    """
    cfa = np.zeros(nj)
    cva = np.zeros(nj)
    for k in np.flatnonzero((np.nan_to_num(area) > 0) | (np.nan_to_num(expansion) > 0)):
        a, m = float(np.nan_to_num(area[k])), float(np.nan_to_num(expansion[k]))
        base = C_ORIFICE * float(length_m[k]) / 100.0
        ends = [int(n) for n in (n1[k], n2[k]) if n < nj]
        for n in ends:
            cfa[n] += base * a / len(ends)
            cva[n] += base * m * M_PER_FT / len(ends)
    return cfa, cva


@njit(cache=True, error_model="numpy")
def leak_loss(c: float, n: float, q: float) -> tuple[float, float]:
    """Head loss and gradient of ``h = c q^n`` (linear below ``RQTOL``; a barrier below 0 flow)."""
    if q <= 0.0:
        return CBIG * q, CBIG
    g = n * c * q ** (n - 1.0)
    if g < RQTOL:
        return RQTOL * q, RQTOL
    return g * q / n, g


@njit(cache=True, error_model="numpy")
def _loss_coeffs(cfa: float, cva: float) -> tuple[float, float]:
    """Coefficients of the inverted laws ``p = a q_fa^2`` and ``p = b q_va^(2/3)``."""
    a = 1.0 / (cfa * cfa) if cfa > 0.0 else 0.0
    b = 1.0 / cva ** (2.0 / 3.0) if cva > 0.0 else 0.0
    return a, b


@njit(cache=True, error_model="numpy")
def leak_coeffs(net, st, w) -> None:
    """Add each leaking junction's two virtual leak links to the diagonal, rhs and flow balance."""
    iperm, el, diag, rhs, xflow = net.iperm, net.el, w.diag, w.rhs, w.xflow
    lcfa, lcva, qfa, qva = net.lcfa, net.lcva, st.qfa, st.qva
    for i in net.leak_nodes:
        a, b = _loss_coeffs(lcfa[i], lcva[i])
        r = iperm[i]
        if a > 0.0:
            h, g = leak_loss(a, 2.0, qfa[i])
            diag[r] += 1.0 / g
            rhs[r] += (h + el[i]) / g
            xflow[i] -= qfa[i]
        if b > 0.0:
            h, g = leak_loss(b, 2.0 / 3.0, qva[i])
            diag[r] += 1.0 / g
            rhs[r] += (h + el[i]) / g
            xflow[i] -= qva[i]


@njit(cache=True, error_model="numpy")
def new_leak_flows(net, st) -> tuple[float, float]:
    """Update the leak flows from the new heads; returns (sum |dq|, sum |q|)."""
    head, el = st.head, net.el
    lcfa, lcva, qfa, qva = net.lcfa, net.lcva, st.qfa, st.qva
    dqsum = 0.0
    qsum = 0.0
    for i in net.leak_nodes:
        a, b = _loss_coeffs(lcfa[i], lcva[i])
        p = head[i] - el[i]
        if a > 0.0:
            h, g = leak_loss(a, 2.0, qfa[i])
            dq = (h - p) / g
            qfa[i] -= dq
            dqsum += abs(dq)
            qsum += abs(qfa[i])
        if b > 0.0:
            h, g = leak_loss(b, 2.0 / 3.0, qva[i])
            dq = (h - p) / g
            qva[i] -= dq
            dqsum += abs(dq)
            qsum += abs(qva[i])
    return dqsum, qsum


@njit(cache=True, error_model="numpy")
def leak_converged(net, st) -> bool:
    """True when every junction's leak flow is within QTOL of its FAVAD value at its pressure."""
    head, el = st.head, net.el
    for i in net.leak_nodes:
        p = max(head[i] - el[i], 0.0)
        q = net.lcfa[i] * math.sqrt(p) + net.lcva[i] * p ** 1.5
        if abs(q - st.qfa[i] - st.qva[i]) > QTOL:
            return False
    return True


@njit(cache=True, error_model="numpy")
def init_leak_flows(net, st) -> None:
    """Leak flows at a pressure head of 1 ft (a start for the Newton iteration)."""
    for i in net.leak_nodes:
        st.qfa[i] = net.lcfa[i]
        st.qva[i] = net.lcva[i]
