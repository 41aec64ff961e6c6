"""Warm starts: flows of an earlier solution, checked against (and fitted to) a problem.

Link flows (any algorithm) or flows by origin (``algorithm="bush"``) from a previous result with
the same trips: flow on a link that is now closed moves onto the shortest detour between the
link's ends; flows that do not carry the problem's trips are refused with the node that is off
balance.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from twin.errors import NetworkError
from twin.solvers.traffic.costs import bpr_time
from twin.solvers.traffic.paths import shortest_path_tree
from twin.traffic.problem import Problem, contiguous

__all__ = ["link_flows", "origin_flows", "warm_link_flows"]


def link_flows(warm_start: Any, ids: np.ndarray) -> np.ndarray:
    """Link flows (veh/h, in the order of link ids ``ids``) from a Dataset, a Series by link id or an array."""
    if isinstance(warm_start, xr.Dataset):
        warm_start = warm_start["flow_vph"]
    if isinstance(warm_start, xr.DataArray):
        warm_start = warm_start.to_series()
    if isinstance(warm_start, pd.Series):
        missing = pd.Index(ids.astype(str)).difference(warm_start.index.astype(str))
        if len(missing):
            raise NetworkError(f"warm_start has no flow for link(s) {list(missing[:5])}; "
                               "give flows for every link of the network")
        flows = warm_start.set_axis(warm_start.index.astype(str)).reindex(ids.astype(str)).to_numpy(float)
    else:
        flows = np.asarray(warm_start, dtype=float)
        if flows.shape != (len(ids),):
            raise NetworkError(f"warm_start has {flows.shape} flows; the network has {len(ids)} links")
    if not np.isfinite(flows).all() or (flows < 0).any():
        i = int(np.flatnonzero(~np.isfinite(flows) | (flows < 0))[0])
        raise NetworkError(f"warm_start: flow on link {str(ids[i])!r} is {flows[i]!r}; flows must be >= 0")
    return contiguous(flows)


def _node_imbalance(x: np.ndarray, problem: Problem) -> np.ndarray:
    """Flow out minus flow in minus (trips sent - trips received), per node (veh/h)."""
    a = problem.arrays
    n = a.n_nodes
    net = np.bincount(a.from_node, x, n) - np.bincount(a.to_node, x, n)
    net -= np.bincount(a.zone_node, problem.demand.sum(axis=1), n)
    net += np.bincount(a.zone_node, problem.demand.sum(axis=0), n)
    return net


def _reroute_closed(x: np.ndarray, problem: Problem) -> None:
    """Move warm-start flow off closed links onto the shortest detour between their ends."""
    a = problem.arrays
    cost = np.where(problem.open, 0.0, np.inf)
    cost[problem.open] = bpr_time(x, problem.t0, problem.cap, problem.alpha, problem.beta,
                                  np.empty_like(x))[problem.open] + problem.const[problem.open]
    n = a.n_nodes
    dist, pred, order, heap, pos = np.empty(n), *(np.empty(n, np.int64) for _ in range(4))
    indptr, links, to_node, through = problem.star[2], problem.star[3], problem.star[5], problem.star[6]
    for link in np.flatnonzero(~problem.open & (x > 0)):
        shortest_path_tree(int(a.from_node[link]), cost, indptr, links, to_node, through, dist, pred, order, heap, pos)
        v = int(a.to_node[link])
        if not np.isfinite(dist[v]):
            raise NetworkError(f"link {str(a.link_ids[link])!r} is closed and carries {x[link]:g} veh/h in "
                               "warm_start, but no detour joins its ends; solve without warm_start")
        while pred[v] >= 0:
            x[pred[v]] += x[link]
            v = int(a.from_node[pred[v]])
        x[link] = 0.0


def warm_link_flows(warm_start: Any, problem: Problem) -> np.ndarray:
    """Link flows to start from: closed links' flow moved to detours, checked to carry the trips."""
    x = link_flows(warm_start, problem.arrays.link_ids)
    _reroute_closed(x, problem)
    imbalance = _node_imbalance(x, problem)
    scale = max(float(problem.demand.sum()), 1.0)
    worst = int(np.argmax(np.abs(imbalance)))
    if abs(imbalance[worst]) > 1e-6 * scale:
        raise NetworkError(f"warm_start flows do not carry this network's trips: node "
                           f"{str(problem.arrays.node_ids[worst])!r} is off balance by {imbalance[worst]:g} veh/h; "
                           "warm-start only from a solution with the same trips")
    return x



def origin_flows(warm_start: Any, problem: Problem) -> np.ndarray | None:
    """Origin flows (origins x links, veh/h) from a bush result, checked against this network's trips."""
    if not isinstance(warm_start, xr.Dataset) or "origin_flow_vph" not in warm_start:
        return None
    a = problem.arrays
    wanted = a.zone_ids[problem.origins].astype(str)
    table = pd.DataFrame(warm_start["origin_flow_vph"].to_pandas())
    table = table.set_axis(table.index.astype(str), axis=0).set_axis(table.columns.astype(str), axis=1)
    missing = pd.Index(a.link_ids.astype(str)).difference(table.columns)
    if len(missing):
        raise NetworkError(f"warm_start has no flow for link(s) {list(missing[:5])}; "
                           "give flows for every link of the network")
    xo = contiguous(table.reindex(index=wanted, columns=a.link_ids.astype(str)).fillna(0.0).to_numpy(float))
    balance = np.zeros((a.n_nodes, len(problem.origins)))
    np.add.at(balance, a.from_node, xo.T)
    np.subtract.at(balance, a.to_node, xo.T)
    balance = balance.T
    sent = problem.demand[problem.origins]
    np.add.at(balance.T, a.zone_node, sent.T)
    balance[np.arange(len(problem.origins)), a.zone_node[problem.origins]] -= sent.sum(axis=1)
    worst = np.unravel_index(np.argmax(np.abs(balance)), balance.shape) if balance.size else (0, 0)
    if balance.size and abs(balance[worst]) > 1e-6 * max(float(problem.demand.sum()), 1.0):
        raise NetworkError(f"warm_start origin flows from zone {str(wanted[worst[0]])!r} do not carry this network's "
                           f"trips (node {str(a.node_ids[worst[1]])!r} off by {balance[worst]:g} veh/h); "
                           "warm-start only from a solution with the same trips")
    return xo

