"""Bush-based user equilibrium: Algorithm B (Dial 2006) with Newton flow shifts (Numba).

Every origin keeps a bush: an acyclic set of links that carries its flow (``xo[r, a]``). One
outer iteration visits the origins in turn (Gauss-Seidel: link costs change as soon as flow
moves); for each it (1) drops unused bush links that are not on the bush's shortest-path tree
and adds every link that shortens the bush's longest path to its head (which keeps the bush
acyclic), then (2) sweeps the nodes in reverse topological order, moving flow from the longest
used path to the shortest path between the node and the two paths' last common node by a
Newton step bounded by the flow on the longest segment. The relative gap is measured after each
outer iteration with a full all-or-nothing pass; the method converges linearly, to gaps of
1e-10 and below where Frank-Wolfe methods stall.

Starting from given origin flows (a solved base case) re-solves a changed network quickly: a
closed link's cost is infinite, so its flow is shifted off at the first sweep.

References
----------
Dial, R. B. (2006). A path-based user-equilibrium traffic assignment algorithm that obviates
path storage and enumeration. Transportation Research Part B 40(10): 917-936.
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit

from twin.solvers.traffic.costs import link_cost
from twin.solvers.traffic.frank_wolfe import CONVERGED, MAX_ITERATIONS, UNREACHABLE, _gap
from twin.solvers.traffic.paths import all_or_nothing, shortest_path_tree

#: Origin flows below this (veh/h) count as zero: the round-off residue a shift leaves on the
#: links downstream of the segment's bottleneck must not look like a used path.
FLOW_EPS = 1e-9


@njit(cache=True)
def _topological_order(origin, bush, out_indptr, out_links, to_node, indeg, order, rank):
    """Kahn's order of the nodes the bush reaches from ``origin``; returns their number."""
    n = indeg.shape[0]
    for v in range(n):
        indeg[v] = 0
        rank[v] = -1
    for a in range(bush.shape[0]):
        if bush[a]:
            indeg[to_node[a]] += 1
    order[0] = origin
    rank[origin] = 0
    head = 0
    tail = 1
    while head < tail:
        u = order[head]
        head += 1
        for k in range(out_indptr[u], out_indptr[u + 1]):
            a = out_links[k]
            if bush[a]:
                v = to_node[a]
                indeg[v] -= 1
                if indeg[v] == 0:
                    rank[v] = tail
                    order[tail] = v
                    tail += 1
    return tail


@njit(cache=True)
def _labels(order, count, bush, flow, cost, in_indptr, in_links, from_node, used_only,
            lmin, pmin, lmax, pmax):
    """Shortest and longest path costs to each bush node (longest over used links if asked)."""
    for v in range(lmin.shape[0]):
        lmin[v] = np.inf
        lmax[v] = np.inf
        pmin[v] = -1
        pmax[v] = -1
    lmin[order[0]] = 0.0
    lmax[order[0]] = 0.0
    for idx in range(1, count):
        j = order[idx]
        best = np.inf
        worst = -np.inf
        for k in range(in_indptr[j], in_indptr[j + 1]):
            a = in_links[k]
            if not bush[a]:
                continue
            i = from_node[a]
            v = lmin[i] + cost[a]
            if v < best or pmin[j] < 0:
                best = v
                pmin[j] = a
            if used_only and flow[a] <= FLOW_EPS:
                continue
            w = lmax[i] + cost[a]
            if w > worst or pmax[j] < 0:
                worst = w
                pmax[j] = a
        lmin[j] = best
        if pmax[j] < 0:
            lmax[j] = best
            pmax[j] = pmin[j]
        else:
            lmax[j] = worst


@njit(cache=True)
def _add_shortcuts(origin, bush, added, cost, through, from_node, to_node, rank, lmax):
    """Add every link (i, j) with lmax[i] + c < lmax[j]; returns how many (listed in ``added``)."""
    count = 0
    for a in range(bush.shape[0]):
        if bush[a] or not cost[a] < np.inf:
            continue
        i = from_node[a]
        j = to_node[a]
        if rank[i] < 0 or j == origin or not (i == origin or through[i]):
            continue
        if lmax[i] + cost[a] < lmax[j]:
            bush[a] = True
            added[count] = a
            count += 1
    return count


@njit(cache=True)
def _update_bush(origin, bush, flow, cost, through, star, work, added):
    """Drop unused links off the shortest-path tree, then add links that shorten longest paths.

    Shortcuts are first judged by the longest *used* path labels (they add more links); if that
    closes a cycle the additions are undone and the longest path over all bush links, which
    is a topological potential of the bush, decides instead.
    """
    out_indptr, out_links, in_indptr, in_links, from_node, to_node = star
    indeg, order, rank, lmin, pmin, lmax, pmax = work
    count = _topological_order(origin, bush, out_indptr, out_links, to_node, indeg, order, rank)
    _labels(order, count, bush, flow, cost, in_indptr, in_links, from_node, False, lmin, pmin, lmax, pmax)
    for a in range(bush.shape[0]):
        if bush[a] and flow[a] <= FLOW_EPS and pmin[to_node[a]] != a:
            bush[a] = False
            flow[a] = 0.0  # round-off residue; link flows are re-summed after the iteration
    count = _topological_order(origin, bush, out_indptr, out_links, to_node, indeg, order, rank)
    _labels(order, count, bush, flow, cost, in_indptr, in_links, from_node, True, lmin, pmin, lmax, pmax)
    n_added = _add_shortcuts(origin, bush, added, cost, through, from_node, to_node, rank, lmax)
    if n_added == 0:
        return 0
    _topological_order(origin, bush, out_indptr, out_links, to_node, indeg, order, rank)
    acyclic = True
    for a in range(bush.shape[0]):
        if bush[a] and rank[to_node[a]] < 0:
            acyclic = False
            break
    if acyclic:
        return n_added
    for k in range(n_added):
        bush[added[k]] = False
    count = _topological_order(origin, bush, out_indptr, out_links, to_node, indeg, order, rank)
    _labels(order, count, bush, flow, cost, in_indptr, in_links, from_node, False, lmin, pmin, lmax, pmax)
    return _add_shortcuts(origin, bush, added, cost, through, from_node, to_node, rank, lmax)


@njit(cache=True)
def _set_cost(a, x, t0, cap, alpha, beta, const, cost, deriv):
    r = x[a] / cap[a]
    b = beta[a]
    cost[a] = t0[a] * (1.0 + alpha[a] * r ** b) + const[a]
    if b == 0.0 or x[a] <= 0.0:
        deriv[a] = t0[a] * alpha[a] / cap[a] if b == 1.0 else 0.0
    else:
        deriv[a] = t0[a] * alpha[a] * b * r ** (b - 1.0) / cap[a]


@njit(cache=True)
def _divergence(j, pmin, pmax, from_node, rank):
    """Last common node of the shortest and the longest bush path into ``j``."""
    u = from_node[pmin[j]]
    v = from_node[pmax[j]]
    while u != v:
        if rank[u] > rank[v]:
            u = from_node[pmin[u]]
        else:
            v = from_node[pmax[v]]
    return u


@njit(cache=True)
def _shift(j, top, pmin, pmax, flow, x, links, cost, deriv):
    """Newton flow shift from the longest to the shortest segment top -> j; returns the cost gap."""
    t0, cap, alpha, beta, const, from_node = links
    cmin = 0.0
    cmax = 0.0
    dsum = 0.0
    bound = np.inf
    v = j
    while v != top:
        a = pmin[v]
        cmin += cost[a]
        dsum += deriv[a]
        v = from_node[a]
    v = j
    while v != top:
        a = pmax[v]
        cmax += cost[a]
        dsum += deriv[a]
        bound = min(bound, flow[a])
        v = from_node[a]
    diff = cmax - cmin
    if not diff > 0.0 or not bound > FLOW_EPS:
        return 0.0
    delta = diff / dsum if dsum > 0.0 else bound
    delta = min(delta, bound)
    v = j
    while v != top:
        a = pmax[v]
        take = delta if flow[a] - delta > FLOW_EPS else flow[a]
        flow[a] -= take
        x[a] = x[a] - take if x[a] > take else 0.0
        _set_cost(a, x, t0, cap, alpha, beta, const, cost, deriv)
        v = from_node[a]
    v = j
    while v != top:
        a = pmin[v]
        flow[a] += delta
        x[a] += delta
        _set_cost(a, x, t0, cap, alpha, beta, const, cost, deriv)
        v = from_node[a]
    return diff


@njit(cache=True)
def _equilibrate(bush, flow, x, cost, deriv, links, star, work, order, rank, count, passes, tol):
    """Sweeps of Newton shifts over one bush (in its topological ``order``); returns the largest
    path-cost spread of the last sweep."""
    out_indptr, out_links, in_indptr, in_links, from_node, to_node = star
    lmin, pmin, lmax, pmax = work[3], work[4], work[5], work[6]
    spread = 0.0
    for _ in range(passes):
        _labels(order, count, bush, flow, cost, in_indptr, in_links, from_node, True, lmin, pmin, lmax, pmax)
        spread = 0.0
        for idx in range(count - 1, 0, -1):
            j = order[idx]
            if not lmax[j] - lmin[j] > tol:
                continue
            top = _divergence(j, pmin, pmax, from_node, rank)
            spread = max(spread, _shift(j, top, pmin, pmax, flow, x, links, cost, deriv))
        if spread <= tol:
            break
    return spread


@njit(cache=True)
def initial_bushes(origins, demand, zone_node, cost, out_indptr, out_links, from_node, to_node, through,
                   xo, bush):
    """Shortest-path-tree bushes at ``cost`` loaded all-or-nothing; returns the first bad OD or -1."""
    n = through.shape[0]
    dist = np.empty(n)
    pred = np.empty(n, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    heap = np.empty(n, dtype=np.int64)
    pos = np.empty(n, dtype=np.int64)
    vol = np.zeros(n)
    for r in range(origins.shape[0]):
        o = origins[r]
        settled = shortest_path_tree(zone_node[o], cost, out_indptr, out_links, to_node, through,
                                     dist, pred, order, heap, pos)
        for d in range(demand.shape[1]):
            if demand[o, d] > 0.0:
                if not dist[zone_node[d]] < np.inf:
                    return r * demand.shape[1] + d
                vol[zone_node[d]] += demand[o, d]
        for i in range(settled - 1, 0, -1):
            v = order[i]
            a = pred[v]
            bush[r, a] = True
            if vol[v] != 0.0:
                xo[r, a] += vol[v]
                vol[from_node[a]] += vol[v]
                vol[v] = 0.0
        vol[order[0]] = 0.0
    return -1


@njit(cache=True)
def bush_iteration(origins, zone_node, xo, bush, x, cost, deriv, t0, cap, alpha, beta, const, through,
                   out_indptr, out_links, in_indptr, in_links, from_node, to_node, passes, rounds, tol):
    """One outer iteration of Algorithm B: update and equilibrate every bush, then ``rounds``
    more equilibration rounds over all bushes; returns the largest spread of the last round."""
    n = through.shape[0]
    work = (np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64),
            np.empty(n), np.empty(n, dtype=np.int64), np.empty(n), np.empty(n, dtype=np.int64))
    star = (out_indptr, out_links, in_indptr, in_links, from_node, to_node)
    links = (t0, cap, alpha, beta, const, from_node)
    added = np.empty(x.shape[0], dtype=np.int64)
    n_orig = origins.shape[0]
    orders = np.empty((n_orig, n), dtype=np.int64)  # topological orders, kept over the rounds
    ranks = np.empty((n_orig, n), dtype=np.int64)
    counts = np.empty(n_orig, dtype=np.int64)
    for a in range(x.shape[0]):
        _set_cost(a, x, t0, cap, alpha, beta, const, cost, deriv)
    for r in range(n_orig):
        origin = zone_node[origins[r]]
        _update_bush(origin, bush[r], xo[r], cost, through, star, work, added)
        counts[r] = _topological_order(origin, bush[r], out_indptr, out_links, to_node, work[0], orders[r], ranks[r])
        _equilibrate(bush[r], xo[r], x, cost, deriv, links, star, work, orders[r], ranks[r], counts[r], passes, tol)
    spread = 0.0
    for _ in range(rounds):
        spread = 0.0
        for r in range(n_orig):
            s = _equilibrate(bush[r], xo[r], x, cost, deriv, links, star, work, orders[r], ranks[r], counts[r],
                             passes, tol)
            spread = max(spread, s)
        if spread <= tol:
            break
    for a in range(x.shape[0]):
        total = 0.0
        for r in range(origins.shape[0]):
            total += xo[r, a]
        x[a] = total
    return spread


def solve_bush(x: np.ndarray, xo: np.ndarray, bush: np.ndarray, warm: bool, t0: np.ndarray, cap: np.ndarray,
               alpha: np.ndarray, beta: np.ndarray, const: np.ndarray, demand: np.ndarray,
               zone_node: np.ndarray, origins: np.ndarray, out_indptr: np.ndarray, out_links: np.ndarray,
               in_indptr: np.ndarray, in_links: np.ndarray, from_node: np.ndarray, to_node: np.ndarray,
               through: np.ndarray, rgap_target: float, max_iter: int, gaps: np.ndarray, aecs: np.ndarray,
               passes: int = 1, rounds: int = 10, tol: float = 1e-12) -> tuple[int, int, int, int]:
    """Algorithm B to relative gap ``rgap_target``; ``x`` (link flows) and ``xo`` (origin flows,
    one row per entry of ``origins``) are written in place.

    With ``warm`` the bushes start as the links ``xo`` uses (a solved base case); otherwise as
    shortest-path trees at free-flow cost. Returns ``(status, iterations, bad_origin,
    bad_destination)`` with the status codes of :mod:`twin.solvers.traffic.frank_wolfe`.
    """
    m = t0.shape[0]
    star = (out_indptr, out_links, from_node, to_node, through)
    if warm:
        bush[:] = xo > FLOW_EPS
    else:
        xo[:] = 0.0
        bush[:] = False
        bad = initial_bushes(origins, demand, zone_node, t0 + const, *star, xo, bush)
        if bad >= 0:
            return UNREACHABLE, 0, int(origins[bad // demand.shape[1]]), bad % demand.shape[1]
    x[:] = xo.sum(axis=0)
    cost, deriv, y = np.empty(m), np.empty(m), np.empty(m)
    total = float(demand[origins].sum())
    threads = get_num_threads()
    for k in range(max_iter + 1):
        link_cost(x, t0, cap, alpha, beta, const, cost)
        sptt, bo, bd = all_or_nothing(cost, demand, zone_node, origins, *star[:2], from_node, to_node, through,
                                      y, threads)
        if bo >= 0:
            return UNREACHABLE, k, bo, bd
        gaps[k], aecs[k] = _gap(x, cost, sptt, total)
        if gaps[k] <= rgap_target:
            return CONVERGED, k, -1, -1
        if k == max_iter:
            break
        bush_iteration(origins, zone_node, xo, bush, x, cost, deriv, t0, cap, alpha, beta, const, through,
                       out_indptr, out_links, in_indptr, in_links, from_node, to_node, passes, rounds, tol)
    return MAX_ITERATIONS, max_iter, -1, -1
