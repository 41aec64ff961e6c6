"""Shortest paths and all-or-nothing loading over CSR arrays (Numba kernels).

Dijkstra's algorithm on the forward star, one tree per origin, with TNTP's first-through-node
rule: a node whose ``through`` flag is False can start or end a path but is never passed through.
Links with a non-finite cost are closed. :func:`shortest_path_tree` (full trees, reverse searches,
crews' travel times) uses an indexed binary heap with decrease-key; all-or-nothing loading uses a
lazy binary heap over CSR-ordered costs that stops once the origin's destinations are settled
(about 12 % faster on ChicagoSketch). It pushes each origin's demand back up its tree in reverse
settle order;
origins are split into fixed chunks, each with its own flow buffer, run by compiled code that
releases the GIL on a small pool of Python threads. (Numba's ``prange`` is not used: with the
OpenMP layer its idle workers spin, which on a shared machine made two threads slower than one.)
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

#: Fixed number of origin chunks (results do not depend on the number of threads).
CHUNKS = 16
#: Below this much work (origins x (nodes + links)) a load runs on the calling thread.
PARALLEL_WORK = 200_000
_POOL: dict[int, ThreadPoolExecutor] = {}


def _pool(n_threads: int) -> ThreadPoolExecutor:
    """A lazily created pool of ``n_threads`` worker threads (idle workers block on a queue)."""
    if n_threads not in _POOL:
        for old in list(_POOL):
            _POOL.pop(old).shutdown(wait=False)
        _POOL[n_threads] = ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="twin-traffic")
    return _POOL[n_threads]


@njit(cache=True)
def _sift_up(heap, pos, dist, i):
    node = heap[i]
    key = dist[node]
    while i > 0:
        parent = (i - 1) >> 1
        pnode = heap[parent]
        if dist[pnode] <= key:
            break
        heap[i] = pnode
        pos[pnode] = i
        i = parent
    heap[i] = node
    pos[node] = i


@njit(cache=True)
def _sift_down(heap, pos, dist, size, i):
    node = heap[i]
    key = dist[node]
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        right = child + 1
        if right < size and dist[heap[right]] < dist[heap[child]]:
            child = right
        cnode = heap[child]
        if dist[cnode] >= key:
            break
        heap[i] = cnode
        pos[cnode] = i
        i = child
    heap[i] = node
    pos[node] = i


@njit(cache=True)
def shortest_path_tree(origin, cost, out_indptr, out_links, to_node, through,
                       dist, pred, order, heap, pos):
    """One shortest-path tree from ``origin``; returns the number of settled nodes.

    ``dist`` (cost to each node, inf if unreachable), ``pred`` (the tree link into each node,
    -1 for the origin and unreached nodes) and ``order`` (settled nodes, nearest first) are
    written in place; ``heap`` and ``pos`` are int64 work arrays of length n_nodes.
    """
    n = dist.shape[0]
    for v in range(n):
        dist[v] = np.inf
        pred[v] = -1
        pos[v] = -1
    dist[origin] = 0.0
    heap[0] = origin
    pos[origin] = 0
    size = 1
    settled = 0
    while size > 0:
        u = heap[0]
        size -= 1
        pos[u] = -2  # settled
        if size > 0:
            heap[0] = heap[size]
            pos[heap[0]] = 0
            _sift_down(heap, pos, dist, size, 0)
        order[settled] = u
        settled += 1
        if u != origin and not through[u]:
            continue
        du = dist[u]
        for k in range(out_indptr[u], out_indptr[u + 1]):
            a = out_links[k]
            c = cost[a]
            if not c < np.inf:
                continue
            v = to_node[a]
            nd = du + c
            if nd < dist[v]:
                if pos[v] == -2:
                    continue
                dist[v] = nd
                pred[v] = a
                if pos[v] == -1:
                    heap[size] = v
                    pos[v] = size
                    size += 1
                _sift_up(heap, pos, dist, pos[v])
    return settled


@njit(cache=True, inline="always")
def _hpush(hk, hn, size, key, node):
    i = size
    while i > 0:
        p = (i - 1) >> 1
        if hk[p] <= key:
            break
        hk[i] = hk[p]
        hn[i] = hn[p]
        i = p
    hk[i] = key
    hn[i] = node
    return size + 1

@njit(cache=True, inline="always")
def _hpop(hk, hn, size):
    size -= 1
    key = hk[size]
    node = hn[size]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and hk[c + 1] < hk[c]:
            c += 1
        if hk[c] >= key:
            break
        hk[i] = hk[c]
        hn[i] = hn[c]
        i = c
    hk[i] = key
    hn[i] = node
    return size

@njit(cache=True)
def _tree_to_targets(origin, cost_csr, head_csr, out_indptr, through, mark, stamp, need,
                     dist, pred, order, heap_key, heap_node, done):
    """Dijkstra over CSR-ordered costs and heads that stops once ``need`` marked nodes are settled.

    A lazy binary heap (keys stored with the nodes, stale entries skipped; ``heap_*`` hold
    n_links + 1 entries) is faster here than decrease-key. ``pred`` holds CSR positions
    (``out_links[pred[v]]`` is the tree link). Returns the number of settled nodes; nodes left
    unsettled keep tentative labels and must not be read.
    """
    for v in range(dist.shape[0]):
        dist[v] = np.inf
        done[v] = False
    dist[origin] = 0.0
    pred[origin] = -1
    heap_key[0] = 0.0
    heap_node[0] = origin
    size = 1
    settled = 0
    while size > 0 and need > 0:
        du = heap_key[0]
        u = heap_node[0]
        size = _hpop(heap_key, heap_node, size)
        if done[u]:
            continue
        done[u] = True
        order[settled] = u
        settled += 1
        if mark[u] == stamp:
            need -= 1
        if u != origin and not through[u]:
            continue
        for k in range(out_indptr[u], out_indptr[u + 1]):
            nd = du + cost_csr[k]
            v = head_csr[k]
            if nd < dist[v]:
                dist[v] = nd
                pred[v] = k
                size = _hpush(heap_key, heap_node, size, nd, v)
    return settled


@njit(cache=True)
def _load_tree(row, zone_node, from_node, out_links, dist, pred, order, settled, node_vol, flow):
    """Add one origin's demand row to ``flow`` along its tree (``pred`` in CSR positions);
    returns (sptt, first bad zone)."""
    sptt = 0.0
    bad = -1
    for d in range(row.shape[0]):
        q = row[d]
        if q > 0.0:
            v = zone_node[d]
            if not dist[v] < np.inf:
                if bad < 0:
                    bad = d
                continue
            node_vol[v] += q
            sptt += q * dist[v]
    for i in range(settled - 1, 0, -1):
        v = order[i]
        q = node_vol[v]
        if q != 0.0:
            a = out_links[pred[v]]
            flow[a] += q
            node_vol[from_node[a]] += q
            node_vol[v] = 0.0
    node_vol[order[0]] = 0.0
    return sptt, bad


@njit(cache=True, nogil=True)
def _load_chunk(c, n_chunks, cost_csr, head_csr, demand, zone_node, origins, out_indptr, out_links, from_node,
                through, local):
    """All-or-nothing load of origins ``c, c + n_chunks, ...`` into ``local``; returns (sptt, bad o, bad d)."""
    n = through.shape[0]
    dist = np.empty(n)
    pred = np.empty(n, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    heap_key = np.empty(cost_csr.shape[0] + 1)
    heap_node = np.empty(cost_csr.shape[0] + 1, dtype=np.int64)
    done = np.empty(n, dtype=np.bool_)
    mark = np.zeros(n, dtype=np.int64)
    node_vol = np.zeros(n)
    acc = 0.0
    bo = -1
    bd = -1
    for i in range(c, origins.shape[0], n_chunks):
        o = origins[i]
        need = 0
        for d in range(demand.shape[1]):
            if demand[o, d] > 0.0 and mark[zone_node[d]] != i + 1:
                mark[zone_node[d]] = i + 1
                need += 1
        settled = _tree_to_targets(zone_node[o], cost_csr, head_csr, out_indptr, through, mark, i + 1, need,
                                   dist, pred, order, heap_key, heap_node, done)
        s, bad = _load_tree(demand[o], zone_node, from_node, out_links, dist, pred, order, settled, node_vol, local)
        acc += s
        if bad >= 0 and bo < 0:
            bo = o
            bd = bad
    return acc, bo, bd


@njit(cache=True)
def _csr_costs(cost, out_links, to_node, cost_csr, head_csr):
    for k in range(out_links.shape[0]):
        cost_csr[k] = cost[out_links[k]]
        head_csr[k] = to_node[out_links[k]]


def _run_chunks(task, n_chunks: int, n_threads: int, work: int) -> list:
    """Run ``task(c)`` for every chunk, on a pool of ``n_threads`` threads when the work is large.

    The chunks are fixed (so sums do not depend on the thread count) and handed out one at a time
    (so a descheduled thread does not hold the others back); idle workers block, never spin.
    """
    if n_threads <= 1 or n_chunks <= 1 or work < PARALLEL_WORK:
        return [task(c) for c in range(n_chunks)]
    return list(_pool(n_threads).map(task, range(n_chunks)))


def all_or_nothing(cost: np.ndarray, demand: np.ndarray, zone_node: np.ndarray, origins: np.ndarray,
                   out_indptr: np.ndarray, out_links: np.ndarray, from_node: np.ndarray, to_node: np.ndarray,
                   through: np.ndarray, flow: np.ndarray, n_threads: int) -> tuple[float, int, int]:
    """Load ``demand[o, d]`` (for the zones in ``origins``) on shortest paths at ``cost``.

    Writes link flows into ``flow`` and returns ``(sptt, bad_origin, bad_destination)``:
    the demand-weighted sum of shortest-path costs, and the first OD pair (zone positions)
    with demand but no path, or (-1, -1). Origins are split into up to ``CHUNKS`` fixed chunks
    run on ``n_threads`` threads (the compiled chunk releases the GIL).
    """
    m = cost.shape[0]
    n_chunks = max(1, min(CHUNKS, origins.shape[0]))
    cost_csr, head_csr = np.empty(m), np.empty(m, dtype=np.int64)
    _csr_costs(cost, out_links, to_node, cost_csr, head_csr)
    flows = np.zeros((n_chunks, m))

    def task(c: int) -> tuple[float, int, int]:
        return _load_chunk(c, n_chunks, cost_csr, head_csr, demand, zone_node, origins, out_indptr, out_links,
                           from_node, through, flows[c])

    results = _run_chunks(task, n_chunks, n_threads, origins.shape[0] * (through.shape[0] + m))
    np.sum(flows, axis=0, out=flow)
    bad = [(o, d) for _, o, d in results if o >= 0]
    return float(sum(r[0] for r in results)), *(bad[0] if bad else (-1, -1))


@njit(cache=True, nogil=True)
def _tree_rows(c, n_chunks, cost, sources, targets, out_indptr, out_links, to_node, through, out):
    n = through.shape[0]
    dist = np.empty(n)
    pred = np.empty(n, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    heap = np.empty(n, dtype=np.int64)
    pos = np.empty(n, dtype=np.int64)
    for i in range(c, sources.shape[0], n_chunks):
        shortest_path_tree(sources[i], cost, out_indptr, out_links, to_node, through, dist, pred, order, heap, pos)
        for j in range(targets.shape[0]):
            out[i, j] = dist[targets[j]]
    return 0


def node_to_node_costs(cost: np.ndarray, sources: np.ndarray, targets: np.ndarray, out_indptr: np.ndarray,
                       out_links: np.ndarray, to_node: np.ndarray, through: np.ndarray, out: np.ndarray,
                       n_threads: int) -> None:
    """Shortest-path cost from each node in ``sources`` to each node in ``targets`` (inf if none).

    ``out`` has shape (len(sources), len(targets)); rows are computed in chunks on ``n_threads``.
    """
    n_chunks = max(1, min(CHUNKS, sources.shape[0]))

    def task(c: int) -> int:
        return _tree_rows(c, n_chunks, cost, sources, targets, out_indptr, out_links, to_node, through, out)

    _run_chunks(task, n_chunks, n_threads, sources.shape[0] * (through.shape[0] + cost.shape[0]))


def active_origins(demand: np.ndarray) -> np.ndarray:
    """Positions of the zones that send any trips (int64)."""
    return np.flatnonzero(demand.sum(axis=1) > 0).astype(np.int64)
