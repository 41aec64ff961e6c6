"""Dijkstra and all-or-nothing kernels against SciPy and a brute-force path tracer."""

from __future__ import annotations

import numpy as np
import pytest

from tests.reference import traffic_reference as ref
from twin.solvers.traffic.paths import active_origins, all_or_nothing, node_to_node_costs, shortest_path_tree


def csr_star(tail: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(tail, kind="stable").astype(np.int64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail, minlength=n), out=indptr[1:])
    return indptr, order


def random_graph(seed: int, n: int = 40, m: int = 160, zones: int = 0):
    rng = np.random.default_rng(seed)
    tail = rng.integers(0, n, m)
    head = rng.integers(0, n, m)
    keep = tail != head
    tail, head = tail[keep].astype(np.int64), head[keep].astype(np.int64)
    ring = np.arange(zones, n, dtype=np.int64)  # a ring over the through nodes keeps all reachable
    zone = np.arange(zones, dtype=np.int64)  # and connectors both ways between zone z and node zones + z
    tail = np.concatenate([tail, ring, zone, zone + zones])
    head = np.concatenate([head, zones + (ring - zones + 1) % (n - zones), zone + zones, zone])
    cost = rng.uniform(0.5, 10.0, len(tail))
    return tail, head, cost


def tree(origin, cost, tail, head, through, n):
    indptr, links = csr_star(tail, n)
    dist, pred, order, heap, pos = np.empty(n), *(np.empty(n, np.int64) for _ in range(4))
    settled = shortest_path_tree(origin, cost, indptr, links, head, through, dist, pred, order, heap, pos)
    return dist, pred, order[:settled]


@pytest.mark.parametrize("seed", range(6))
def test_dijkstra_matches_scipy(seed):
    n = 40
    tail, head, cost = random_graph(seed, n)
    rng = np.random.default_rng(100 + seed)
    cost[rng.random(len(cost)) < 0.1] = np.inf  # closed links
    cost[rng.random(len(cost)) < 0.05] = 0.0  # zero-cost connectors
    through = rng.random(n) > 0.2
    for origin in (0, 7, 19):
        dist, pred, order = tree(origin, cost, tail, head, through, n)
        expected, _ = ref.shortest_paths(origin, cost, tail, head, through, n)
        np.testing.assert_allclose(dist, expected, rtol=1e-12, atol=1e-250)
        assert np.all(np.diff(dist[order]) >= 0)  # settled nearest first
        reached = np.isfinite(dist) & (np.arange(n) != origin)
        assert np.all(pred[reached] >= 0) and pred[origin] == -1
        np.testing.assert_allclose(dist[head[pred[reached]]], dist[reached])
        np.testing.assert_allclose(dist[tail[pred[reached]]] + cost[pred[reached]], dist[reached])


def test_first_through_node_rule_blocks_paths_through_zones():
    # 0 -> 1 -> 2 is short but node 1 is a zone that may not be passed through; 0 -> 3 -> 2 is long
    tail = np.array([0, 1, 0, 3], np.int64)
    head = np.array([1, 2, 3, 2], np.int64)
    cost = np.array([1.0, 1.0, 5.0, 5.0])
    through = np.array([True, False, True, True])
    dist, _, _ = tree(0, cost, tail, head, through, 4)
    assert dist[2] == 10.0 and dist[1] == 1.0
    dist, _, _ = tree(1, cost, tail, head, through, 4)  # a zone may still start a path
    assert dist[2] == 1.0


@pytest.mark.parametrize("seed", range(4))
def test_all_or_nothing_matches_brute_force(seed):
    n, zones = 40, 8
    tail, head, cost = random_graph(seed, n, zones=zones)
    rng = np.random.default_rng(seed)
    through = np.ones(n, bool)
    through[:zones] = rng.random(zones) > 0.5
    demand = rng.uniform(0, 100, (zones, zones)) * (rng.random((zones, zones)) < 0.7)
    np.fill_diagonal(demand, 0.0)
    demand[3] = 0.0  # an origin without trips
    zone_node = np.arange(zones, dtype=np.int64)
    indptr, links = csr_star(tail, n)
    expected, sptt_ref = ref.all_or_nothing(cost, tail, head, through, n, demand, zone_node)
    for threads in (1, 2, 3):
        flow = np.empty(len(cost))
        sptt, bo, bd = all_or_nothing(cost, demand, zone_node, active_origins(demand), indptr, links, tail, head,
                                      through, flow, threads)
        assert (bo, bd) == (-1, -1)
        np.testing.assert_allclose(flow, expected, rtol=1e-12, atol=1e-9)
        assert sptt == pytest.approx(sptt_ref, rel=1e-12)


def test_all_or_nothing_reports_unreachable_pair():
    tail = np.array([0, 1], np.int64)
    head = np.array([1, 0], np.int64)
    demand = np.array([[0.0, 5.0, 2.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    indptr, links = csr_star(tail, 3)
    flow = np.empty(2)
    _, bo, bd = all_or_nothing(np.ones(2), demand, np.arange(3, dtype=np.int64), active_origins(demand), indptr,
                               links, tail, head, np.ones(3, bool), flow, 2)
    assert (bo, bd) == (0, 2)


def test_node_to_node_costs_matches_scipy():
    n = 30
    tail, head, cost = random_graph(11, n)
    indptr, links = csr_star(tail, n)
    src = np.array([0, 4, 9, 29], np.int64)
    dst = np.arange(n, dtype=np.int64)
    out = np.empty((len(src), n))
    node_to_node_costs(cost, src, dst, indptr, links, head, np.ones(n, bool), out, 2)
    for i, s in enumerate(src):
        np.testing.assert_allclose(out[i], ref.shortest_paths(int(s), cost, tail, head, np.ones(n, bool), n)[0])
