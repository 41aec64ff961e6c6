"""BPR link costs, their derivative, the Beckmann objective and the exact line search.

``t(x) = t0 (1 + alpha (x / c) ** beta)`` seconds at flow ``x`` veh/h and capacity ``c`` veh/h;
a generalised-cost constant ``k`` (toll and distance weights, seconds) is added to every link,
so the link cost is ``t(x) + k``. Closed links carry an infinite constant.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def bpr_time(x, t0, cap, alpha, beta, out):
    """BPR travel time (s) of every link at flows ``x`` (veh/h), written to ``out``."""
    for a in range(x.shape[0]):
        out[a] = t0[a] * (1.0 + alpha[a] * (x[a] / cap[a]) ** beta[a])
    return out


@njit(cache=True)
def link_cost(x, t0, cap, alpha, beta, const, out):
    """Generalised link cost ``t(x) + const`` (s), written to ``out``."""
    for a in range(x.shape[0]):
        out[a] = t0[a] * (1.0 + alpha[a] * (x[a] / cap[a]) ** beta[a]) + const[a]
    return out


@njit(cache=True)
def bpr_derivative(x, t0, cap, alpha, beta, out):
    """Derivative ``dt/dx`` (s per veh/h) of every link's BPR time, written to ``out``."""
    for a in range(x.shape[0]):
        b = beta[a]
        if b == 0.0 or x[a] <= 0.0:
            out[a] = 0.0 if b != 1.0 else t0[a] * alpha[a] / cap[a]
        else:
            out[a] = t0[a] * alpha[a] * b * (x[a] / cap[a]) ** (b - 1.0) / cap[a]
    return out


@njit(cache=True)
def beckmann(x, t0, cap, alpha, beta, const):
    """Beckmann objective ``sum_a int_0^x_a (t_a(w) + k_a) dw`` (veh s/h) over open links."""
    z = 0.0
    for a in range(x.shape[0]):
        if x[a] == 0.0:
            continue
        z += t0[a] * x[a] * (1.0 + alpha[a] / (beta[a] + 1.0) * (x[a] / cap[a]) ** beta[a]) + const[a] * x[a]
    return z


@njit(cache=True)
def _slope(step, x, d, t0, cap, alpha, beta, const):
    """Directional derivative of the Beckmann objective at ``x + step d`` along ``d``."""
    g = 0.0
    h = 0.0
    for a in range(x.shape[0]):
        da = d[a]
        if da == 0.0:
            continue
        xa = x[a] + step * da
        if xa < 0.0:
            xa = 0.0
        r = xa / cap[a]
        b = beta[a]
        g += (t0[a] * (1.0 + alpha[a] * r ** b) + const[a]) * da
        if b > 0.0 and xa > 0.0:
            h += t0[a] * alpha[a] * b * r ** (b - 1.0) / cap[a] * da * da
    return g, h


@njit(cache=True)
def line_search(x, d, t0, cap, alpha, beta, const, tol):
    """Exact step in [0, 1] minimising the Beckmann objective along ``x + step d``.

    Safeguarded Newton on the (monotone) directional derivative, falling back to bisection,
    until the bracket is narrower than ``tol``.
    """
    g1, _ = _slope(1.0, x, d, t0, cap, alpha, beta, const)
    if g1 <= 0.0:
        return 1.0
    g0, h0 = _slope(0.0, x, d, t0, cap, alpha, beta, const)
    if g0 >= 0.0:
        return 0.0
    lo = 0.0
    hi = 1.0
    step = 0.5
    if h0 > 0.0:
        step = min(max(-g0 / h0, 0.0), 1.0)
    for _ in range(100):
        g, h = _slope(step, x, d, t0, cap, alpha, beta, const)
        if g == 0.0:
            return step
        if g < 0.0:
            lo = step
        else:
            hi = step
        if hi - lo < tol:
            break
        nxt = step - g / h if h > 0.0 else 0.5 * (lo + hi)
        if not (lo < nxt < hi):
            nxt = 0.5 * (lo + hi)
        if abs(nxt - step) < tol:
            return nxt
        step = nxt
    return 0.5 * (lo + hi)
