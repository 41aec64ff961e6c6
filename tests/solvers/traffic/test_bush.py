"""Algorithm B (bush-based): analytic equilibrium, conservation per origin, acyclic bushes, warm start."""

from __future__ import annotations

import numpy as np
import pytest

from tests.solvers.traffic.test_assignment import road
from tests.solvers.traffic.test_frank_wolfe import braess, star
from twin.errors import NetworkError
from twin.solvers.traffic import frank_wolfe as fw
from twin.solvers.traffic.bush import _topological_order, solve_bush
from twin.solvers.traffic.paths import active_origins
from twin.traffic import traffic_assignment


def grid(n_side: int = 5, seed: int = 0):
    """A two-way grid with random BPR links; every node is a zone with random demand."""
    rng = np.random.default_rng(seed)
    tail, head = [], []
    for i in range(n_side):
        for j in range(n_side):
            v = i * n_side + j
            for di, dj in ((0, 1), (1, 0)):
                if i + di < n_side and j + dj < n_side:
                    w = (i + di) * n_side + j + dj
                    tail += [v, w]
                    head += [w, v]
    m, n = len(tail), n_side * n_side
    demand = rng.uniform(0, 200, (n, n)) * (rng.random((n, n)) < 0.4)
    np.fill_diagonal(demand, 0.0)
    return (np.array(tail, np.int64), np.array(head, np.int64), rng.uniform(20, 60, m), rng.uniform(300, 900, m),
            np.full(m, 0.15), np.full(m, 4.0), demand, np.arange(n, dtype=np.int64), n)


def run(tail, head, t0, cap, alpha, beta, demand, zone_node, n, rgap=1e-12, max_iter=200, xo=None):
    tail, head = np.asarray(tail, np.int64), np.asarray(head, np.int64)
    out_indptr, out_links = star(tail, head, n)
    in_indptr, in_links = star(head, tail, n)
    origins = active_origins(demand)
    m = len(tail)
    warm = xo is not None
    xo = np.zeros((len(origins), m)) if xo is None else xo
    x, bush = np.zeros(m), np.zeros((len(origins), m), bool)
    gaps, aecs = np.zeros(max_iter + 1), np.zeros(max_iter + 1)
    status, it, _, _ = solve_bush(x, xo, bush, warm, *(np.asarray(v, float) for v in (t0, cap, alpha, beta)),
                                  np.zeros(m), demand, np.asarray(zone_node, np.int64), origins, out_indptr,
                                  out_links, in_indptr, in_links, tail, head, np.ones(n, bool), rgap, max_iter,
                                  gaps, aecs)
    return status, it, x, xo, bush, gaps[:it + 1], (out_indptr, out_links, head)


def test_braess_equilibrium():
    status, it, x, xo, _, gaps, _ = run(*braess())
    f = 27.0 / 13.0
    assert status == fw.CONVERGED
    np.testing.assert_allclose(x, [6 - f, f, f, 6 - f, 6 - 2 * f], rtol=1e-9)


def test_grid_conserves_flow_per_origin_on_acyclic_bushes():
    tail, head, t0, cap, alpha, beta, demand, zone_node, n = grid()
    status, it, x, xo, bush, gaps, (out_indptr, out_links, to_node) = run(*grid(), rgap=1e-11)
    assert status == fw.CONVERGED and gaps[-1] <= 1e-11
    np.testing.assert_allclose(x, xo.sum(axis=0), rtol=1e-12, atol=1e-9)
    origins = active_origins(demand)
    for r, o in enumerate(origins):
        balance = np.bincount(tail, xo[r], n) - np.bincount(head, xo[r], n)
        expected = -demand[o].copy()
        expected[o] += demand[o].sum()
        np.testing.assert_allclose(balance, expected, atol=1e-6)
        assert np.all(xo[r][~bush[r]] == 0.0)
        indeg, order, rank = (np.empty(n, np.int64) for _ in range(3))
        _topological_order(o, bush[r], out_indptr, out_links, to_node, indeg, order, rank)
        assert np.all(rank[head[bush[r]]] > rank[tail[bush[r]]])  # acyclic: every bush link goes forward
    # the equilibrium is unique in link flows: bi-conjugate Frank-Wolfe agrees
    from tests.solvers.traffic.test_frank_wolfe import solve
    _, _, xf, _, _ = solve(fw.BFW, tail, head, t0, cap, alpha, beta, demand, zone_node, n, rgap=1e-9, max_iter=5000)
    np.testing.assert_allclose(x, xf, atol=1e-3 * x.max())


def test_warm_start_from_solution_converges_at_once():
    _, _, x, xo, _, _, _ = run(*grid(seed=1), rgap=1e-11)
    status, it, x2, _, _, _, _ = run(*grid(seed=1), rgap=1e-10, xo=xo.copy())
    assert status == fw.CONVERGED and it == 0
    np.testing.assert_allclose(x2, x)


@pytest.fixture
def three_routes():
    return road([("A", "C", 1000.0, 30.0), ("C", "B", 1000.0, 30.0), ("A", "D", 2000.0, 45.0),
                 ("D", "B", 2000.0, 45.0), ("A", "E", 1500.0, 40.0), ("E", "B", 1500.0, 40.0),
                 ("B", "A", 1000.0, 100.0)],
                [("A", "B", 3000.0), ("B", "A", 100.0)])


def test_public_bush_matches_bfw_and_restarts_after_closure(three_routes):
    ds = traffic_assignment(three_routes, algorithm="bush", rgap=1e-12)
    ref = traffic_assignment(three_routes, algorithm="bfw", rgap=1e-10)
    np.testing.assert_allclose(ds.flow_vph, ref.flow_vph, rtol=1e-6)
    assert ds.origin_flow_vph.dims == ("origin", "link") and list(ds.origin.values) == ["A", "B"]
    np.testing.assert_allclose(ds.origin_flow_vph.sum("origin"), ds.flow_vph)
    closed = three_routes.set("link", "C-B", in_service=False)
    warm = traffic_assignment(closed, algorithm="bush", rgap=1e-12, warm_start=ds)
    cold = traffic_assignment(closed, algorithm="bush", rgap=1e-12)
    assert warm.attrs["warm_start"] == 1 and float(warm.flow_vph.sel(link="C-B")) == 0.0
    np.testing.assert_allclose(warm.flow_vph, cold.flow_vph, rtol=1e-8, atol=1e-8)


def test_bush_warm_start_with_other_trips_is_refused(three_routes):
    ds = traffic_assignment(three_routes, algorithm="bush")
    with pytest.raises(NetworkError, match="origin flows from zone 'A' do not carry"):
        traffic_assignment(three_routes.set("trips", "A>B", trips_vph=10.0), algorithm="bush", warm_start=ds)


def test_closure_that_cuts_the_only_path_is_named(three_routes):
    ds = traffic_assignment(three_routes, algorithm="bush")
    cut = three_routes.set("link", "B-A", in_service=False)
    with pytest.raises(NetworkError, match="zone 'A' receives"):
        traffic_assignment(cut, algorithm="bush", warm_start=ds)
