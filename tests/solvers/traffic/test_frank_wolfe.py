"""Frank-Wolfe family on networks with a known equilibrium."""

from __future__ import annotations

import numpy as np
import pytest

from twin.solvers.traffic import frank_wolfe as fw
from twin.solvers.traffic.paths import active_origins

METHODS = {"fw": fw.FW, "cfw": fw.CFW, "bfw": fw.BFW}


def star(tail, head, n):
    order = np.argsort(tail, kind="stable").astype(np.int64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail, minlength=n), out=indptr[1:])
    return indptr, order


def solve(method, tail, head, t0, cap, alpha, beta, demand, zone_node, n, rgap=1e-10, max_iter=2000, x=None,
          through=None):
    tail, head = np.asarray(tail, np.int64), np.asarray(head, np.int64)
    indptr, order = star(tail, head, n)
    m = len(tail)
    warm = x is not None
    x = np.zeros(m) if x is None else x
    gaps, aecs = np.zeros(max_iter + 1), np.zeros(max_iter + 1)
    through = np.ones(n, bool) if through is None else through
    status, it, _, _ = fw.solve_frank_wolfe(method, x, warm, *(np.asarray(v, float) for v in (t0, cap, alpha, beta)),
                                            np.zeros(m), demand, np.asarray(zone_node, np.int64),
                                            active_origins(demand), indptr, order, tail, head, through,
                                            rgap, max_iter, gaps, aecs)
    return status, it, x, gaps[:it + 1], aecs[:it + 1]


@pytest.mark.parametrize("method", METHODS)
def test_two_parallel_routes_meet_wardrop(method):
    # linear BPR (beta=1): t = t0 + t0*alpha/c*x; equal times give x1 = (a2 - a1 + b2 D) / (b1 + b2)
    t0, cap, alpha = np.array([60.0, 90.0]), np.array([1000.0, 2000.0]), np.array([1.0, 1.0])
    demand = np.array([[0.0, 3000.0], [0.0, 0.0]])
    status, it, x, gaps, _ = solve(METHODS[method], [0, 0], [1, 1], t0, cap, alpha, [1.0, 1.0], demand, [0, 1], 2)
    a, b = t0, t0 * alpha / cap
    x1 = (a[1] - a[0] + b[1] * 3000.0) / (b[0] + b[1])
    assert status == fw.CONVERGED
    np.testing.assert_allclose(x, [x1, 3000.0 - x1], rtol=1e-8)


def braess():
    # Braess: 0 -> 1 -> 3, 0 -> 2 -> 3 and 0 -> 1 -> 2 -> 3 with linear costs (BPR with beta = 1):
    # t01 = t23 = 1 + 10 x, t13 = t02 = 50 + x, t12 = 10 + x; at 6 trips the equilibrium uses all
    # three paths with f1 = f2 = 27/13 on the outer paths (cost 111 - 9 f1)
    tail, head = [0, 0, 1, 2, 1], [1, 2, 3, 3, 2]
    t0 = [1.0, 50.0, 50.0, 1.0, 10.0]
    cap = [0.1, 50.0, 50.0, 0.1, 10.0]
    alpha = [1.0, 1.0, 1.0, 1.0, 1.0]
    beta = [1.0, 1.0, 1.0, 1.0, 1.0]
    demand = np.zeros((4, 4))
    demand[0, 3] = 6.0
    return tail, head, t0, cap, alpha, beta, demand, [0, 1, 2, 3], 4


@pytest.mark.parametrize("method", METHODS)
def test_braess_equilibrium_has_equal_used_path_costs(method):
    tail, head, t0, cap, alpha, beta, demand, zones, n = braess()
    rgap = 1e-6 if method == "fw" else 1e-12
    status, it, x, gaps, aecs = solve(METHODS[method], *braess(), rgap=rgap, max_iter=5000)
    assert status == fw.CONVERGED and gaps[-1] <= rgap
    f = 27.0 / 13.0
    np.testing.assert_allclose(x, [6 - f, f, f, 6 - f, 6 - 2 * f], rtol=1e-4 if method == "fw" else 1e-7)
    t = np.asarray(t0) * (1 + np.asarray(alpha) * (x / np.asarray(cap)))
    assert aecs[-1] == pytest.approx(gaps[-1] * float(x @ t) / 6.0, rel=1e-6)


def test_bfw_needs_fewer_iterations_than_fw():
    iters = {name: solve(m, *braess(), rgap=1e-8, max_iter=5000)[1] for name, m in METHODS.items()}
    assert iters["bfw"] <= iters["cfw"] <= iters["fw"]


def test_warm_start_from_solution_converges_at_once():
    _, _, x, _, _ = solve(fw.BFW, *braess(), rgap=1e-10)
    status, it, x2, gaps, _ = solve(fw.BFW, *braess(), rgap=1e-9, x=x.copy())
    assert status == fw.CONVERGED and it == 0
    np.testing.assert_array_equal(x, x2)


def test_max_iterations_status():
    status, it, _, gaps, _ = solve(fw.FW, *braess(), rgap=0.0, max_iter=3)
    assert status == fw.MAX_ITERATIONS and it == 3 and len(gaps) == 4
