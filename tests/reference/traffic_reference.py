"""Slow, obviously-correct references for the traffic kernels (SciPy and plain NumPy)."""

from __future__ import annotations

import numpy as np
import scipy.integrate
import scipy.optimize
import scipy.sparse
from scipy.sparse.csgraph import dijkstra


def shortest_paths(origin: int, cost: np.ndarray, tail: np.ndarray, head: np.ndarray, through: np.ndarray,
                   n: int) -> tuple[np.ndarray, np.ndarray]:
    """SciPy Dijkstra from ``origin``; links leaving non-through nodes (except the origin) and
    links with infinite cost are dropped. Parallel links keep the cheapest. Returns (dist, pred node)."""
    keep = np.isfinite(cost) & (through[tail] | (tail == origin))
    best: dict[tuple[int, int], float] = {}
    for a in np.flatnonzero(keep):
        key = (int(tail[a]), int(head[a]))
        best[key] = min(best.get(key, np.inf), float(cost[a]))
    rows = np.array([k[0] for k in best], dtype=int)
    cols = np.array([k[1] for k in best], dtype=int)
    vals = np.array(list(best.values()))
    # csgraph treats explicit zeros as missing edges; shift zero costs to a tiny positive number
    vals = np.where(vals == 0.0, 1e-300, vals)
    graph = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(n, n))
    dist, pred = dijkstra(graph, indices=origin, return_predecessors=True)
    return dist, pred


def all_or_nothing(cost: np.ndarray, tail: np.ndarray, head: np.ndarray, through: np.ndarray, n: int,
                   demand: np.ndarray, zone_node: np.ndarray) -> tuple[np.ndarray, float]:
    """Brute force: trace every OD pair's path back node by node and add its demand to each link."""
    link_of = {}
    for a in range(len(cost)):
        key = (int(tail[a]), int(head[a]))
        if np.isfinite(cost[a]) and (key not in link_of or cost[a] < cost[link_of[key]]):
            link_of[key] = a
    flow = np.zeros(len(cost))
    sptt = 0.0
    for o in range(demand.shape[0]):
        if demand[o].sum() == 0:
            continue
        dist, pred = shortest_paths(int(zone_node[o]), cost, tail, head, through, n)
        for d in range(demand.shape[1]):
            q = demand[o, d]
            if q == 0:
                continue
            v = int(zone_node[d])
            sptt += q * dist[v]
            while v != zone_node[o]:
                u = int(pred[v])
                flow[link_of[(u, v)]] += q
                v = u
    return flow, sptt


def beckmann_quadrature(x, t0, cap, alpha, beta, const) -> float:
    """Beckmann objective by numerical integration of each link's cost function."""
    total = 0.0
    for a in range(len(x)):
        f = lambda w, a=a: t0[a] * (1 + alpha[a] * (w / cap[a]) ** beta[a]) + const[a]
        total += scipy.integrate.quad(f, 0.0, x[a], epsabs=0, epsrel=1e-12)[0]
    return total


def beckmann_closed_form(x, t0, cap, alpha, beta, const=0.0) -> float:
    """Beckmann objective of BPR links in closed form (the way the best-known objectives are stated)."""
    x = np.asarray(x, float)
    return float(np.sum(t0 * x * (1 + alpha / (beta + 1) * (x / cap) ** beta) + np.asarray(const) * x))


def line_search(x, d, t0, cap, alpha, beta, const) -> float:
    """Step in [0, 1] minimising the Beckmann objective along ``x + step d`` (SciPy bounded Brent)."""
    res = scipy.optimize.minimize_scalar(lambda s: beckmann_closed_form(x + s * d, t0, cap, alpha, beta, const),
                                         bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-12})
    return float(res.x)


def relative_gap(x, cost, sptt) -> float:
    """(TSTT - SPTT) / TSTT."""
    tstt = float(np.dot(x, cost))
    return (tstt - sptt) / tstt
