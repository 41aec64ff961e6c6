"""Frank-Wolfe, conjugate and bi-conjugate Frank-Wolfe for static user equilibrium (Numba).

The whole iteration (costs, all-or-nothing loading, direction, exact line search) runs in
compiled code. The relative gap ``(TSTT - SPTT) / TSTT`` and the average excess cost
``(TSTT - SPTT) / total demand`` are computed from one consistent pair ``(x, t(x))`` before
every step, so ``gaps[k]`` belongs to the k-th iterate.

References
----------
LeBlanc, Morlok & Pierskalla (1975), Transportation Research 9(5).
Mitradjieva & Lindberg (2013), "The stiff is moving - conjugate direction Frank-Wolfe methods
with applications to traffic assignment", Transportation Science 47(2): 280-293.
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit

from twin.solvers.traffic.costs import bpr_derivative, line_search, link_cost
from twin.solvers.traffic.paths import all_or_nothing

FW = 0
CFW = 1
BFW = 2
#: Kernel status codes.
CONVERGED = 0
MAX_ITERATIONS = 1
UNREACHABLE = 2


@njit(cache=True)
def _conjugate_point(x, y, s1, hess, out):
    """CFW: the point ``a s1 + (1 - a) y`` whose direction is H-conjugate to ``s1 - x``."""
    num = 0.0
    den = 0.0
    for a in range(x.shape[0]):
        p = s1[a] - x[a]
        num += p * hess[a] * (y[a] - x[a])
        den += p * hess[a] * (y[a] - s1[a])
    w = num / den if den != 0.0 else 0.0
    w = min(max(w, 0.0), 0.99999)
    for a in range(x.shape[0]):
        out[a] = w * s1[a] + (1.0 - w) * y[a]


@njit(cache=True)
def _biconjugate_point(x, y, s1, s2, tau, hess, out):
    """BFW: ``b0 y + b1 s1 + b2 s2`` whose direction is H-conjugate to the last two directions."""
    d2hq = 0.0
    d2hp2 = 0.0
    p1hq = 0.0
    p1hp1 = 0.0
    p1hp2 = 0.0
    for a in range(x.shape[0]):
        h = hess[a]
        p1 = s1[a] - x[a]
        p2 = s2[a] - x[a]
        q = y[a] - x[a]
        d2 = tau * p1 + (1.0 - tau) * p2
        d2hq += d2 * h * q
        d2hp2 += d2 * h * p2
        p1hq += p1 * h * q
        p1hp1 += p1 * h * p1
        p1hp2 += p1 * h * p2
    mu = -d2hq / d2hp2 if d2hp2 != 0.0 else 0.0
    mu = max(mu, 0.0)
    nu = -(p1hq + mu * p1hp2) / p1hp1 if p1hp1 != 0.0 else 0.0
    nu = max(nu, 0.0)
    b0 = 1.0 / (1.0 + mu + nu)
    for a in range(x.shape[0]):
        out[a] = b0 * (y[a] + nu * s1[a] + mu * s2[a])


@njit(cache=True)
def _direction_point(method, n_dirs, x, y, s1, s2, tau, cost, hess, out):
    """Target point of the next step; falls back to FW (returns 0 directions) if not descent."""
    if method == FW or n_dirs == 0:
        out[:] = y
        return 0
    if method == CFW or n_dirs == 1:
        _conjugate_point(x, y, s1, hess, out)
    else:
        _biconjugate_point(x, y, s1, s2, tau, hess, out)
    slope = 0.0
    for a in range(x.shape[0]):
        slope += cost[a] * (out[a] - x[a])
    if not slope < 0.0:
        out[:] = y
        return 0
    return n_dirs


@njit(cache=True)
def _gap(x, cost, sptt, total):
    """Relative gap and average excess cost (s) of flows ``x`` at costs ``cost``."""
    tstt = 0.0
    for a in range(x.shape[0]):
        if x[a] != 0.0:
            tstt += x[a] * cost[a]
    if not tstt < np.inf:  # flow left on a closed link (warm start): not yet feasible
        return np.inf, np.inf
    excess = max(tstt - sptt, 0.0)
    return (excess / tstt if tstt > 0.0 else 0.0), (excess / total if total > 0.0 else 0.0)


@njit(cache=True)
def _advance(method, n_dirs, tau, x, y, s1, s2, cost, t0, cap, alpha, beta, const, step_tol,
             hess, snew, d):
    """One step: direction, exact line search, update of ``x`` and ``cost``; returns (n_dirs, tau)."""
    m = x.shape[0]
    if method != FW:
        bpr_derivative(x, t0, cap, alpha, beta, hess)
    n_dirs = _direction_point(method, n_dirs, x, y, s1, s2, tau, cost, hess, snew)
    for a in range(m):
        d[a] = snew[a] - x[a]
    tau = line_search(x, d, t0, cap, alpha, beta, const, step_tol)
    for a in range(m):
        v = x[a] + tau * d[a]
        x[a] = v if v > 0.0 else 0.0
        s2[a] = s1[a]
        s1[a] = snew[a]
    link_cost(x, t0, cap, alpha, beta, const, cost)
    return (n_dirs + 1 if tau < 1.0 - 1e-12 else 0), tau


def solve_frank_wolfe(method: int, x: np.ndarray, warm: bool, t0: np.ndarray, cap: np.ndarray,
                      alpha: np.ndarray, beta: np.ndarray, const: np.ndarray, demand: np.ndarray,
                      zone_node: np.ndarray, origins: np.ndarray, out_indptr: np.ndarray,
                      out_links: np.ndarray, from_node: np.ndarray, to_node: np.ndarray,
                      through: np.ndarray, rgap_target: float, max_iter: int, gaps: np.ndarray,
                      aecs: np.ndarray, step_tol: float = 1e-12) -> tuple[int, int, int, int]:
    """Solve for user-equilibrium link flows ``x`` (veh/h, in place).

    ``method`` is FW, CFW or BFW; with ``warm`` False, ``x`` starts from all-or-nothing at
    free-flow cost. ``gaps`` and ``aecs`` (length ``max_iter + 1``) receive the relative gap and
    the average excess cost (s) of every iterate. Returns ``(status, iterations, bad_origin,
    bad_destination)``; status is CONVERGED, MAX_ITERATIONS or UNREACHABLE. The loop is in
    Python around two compiled calls per iteration (a parallel all-or-nothing load and a serial
    step), so that every kernel can be cached.
    """
    m = t0.shape[0]
    star = (zone_node, origins, out_indptr, out_links, from_node, to_node, through)
    threads = get_num_threads()
    cost, y, s1, s2, snew, hess, d = (np.zeros(m) for _ in range(7))
    total = float(demand[origins].sum())
    if not warm:
        cost[:] = t0 + const
        _, bo, bd = all_or_nothing(cost, demand, *star, x, threads)
        if bo >= 0:
            return UNREACHABLE, 0, bo, bd
    link_cost(x, t0, cap, alpha, beta, const, cost)
    n_dirs, tau = 0, 0.0
    for k in range(max_iter + 1):
        sptt, bo, bd = all_or_nothing(cost, demand, *star, y, threads)
        if bo >= 0:
            return UNREACHABLE, k, bo, bd
        gaps[k], aecs[k] = _gap(x, cost, sptt, total)
        if gaps[k] <= rgap_target:
            return CONVERGED, k, -1, -1
        if k == max_iter:
            break
        n_dirs, tau = _advance(method, n_dirs, tau, x, y, s1, s2, cost, t0, cap, alpha, beta, const,
                               step_tol, hess, snew, d)
    return MAX_ITERATIONS, max_iter, -1, -1
