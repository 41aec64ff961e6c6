"""Grid topology on arrays: fusing buses joined by closed bus-bus switches, and islands.

An island is a connected set of buses through in-service branches. An island with a reference
(slack) bus is energised and solved on its own footing (one Newton system holds every island,
block-diagonal); an island without one is de-energised and reported, never solved.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

__all__ = ["energised_buses", "fuse_buses", "islands"]


def fuse_buses(n_bus: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, int]:
    """Merge buses joined by closed zero-impedance switches.

    Parameters
    ----------
    n_bus : int
        Number of buses.
    a, b : ndarray of int
        The two buses of each closed bus-bus switch.

    Returns
    -------
    bus_map : ndarray of int
        Internal (fused) bus of each bus, numbered in order of first appearance.
    n_internal : int
        Number of internal buses.

    Examples
    --------
    >>> fuse_buses(4, np.array([1]), np.array([3]))
    (array([0, 1, 2, 1]), 3)
    """
    if len(a) == 0:
        return np.arange(n_bus), n_bus
    graph = sp.coo_matrix((np.ones(len(a)), (a, b)), shape=(n_bus, n_bus))
    _, labels = connected_components(graph, directed=False)
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))  # renumber components by their first bus
    return order[inverse], len(first)


def islands(n_bus: int, f: np.ndarray, t: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected components of the bus graph through the given branches.

    Examples
    --------
    >>> islands(4, np.array([0, 2]), np.array([1, 3]))[1].tolist()
    [0, 0, 1, 1]
    """
    graph = sp.coo_matrix((np.ones(len(f)), (f, t)), shape=(n_bus, n_bus))
    return connected_components(graph, directed=False)


def energised_buses(n_bus: int, f: np.ndarray, t: np.ndarray, kind: np.ndarray, bus_ok: np.ndarray,
                    labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which buses are energised, and the bus kinds with one reference per sourced island.

    Parameters
    ----------
    n_bus : int
        Number of buses.
    f, t : ndarray of int
        Ends of the in-service branches (both ends in service).
    kind : ndarray of int
        0 PQ, 1 PV (has a generator), 2 REF (has a slack source).
    bus_ok : ndarray of bool
        Bus is in service.
    labels : ndarray of int, optional
        Island labels of these branches when already known (skips the component search).

    Returns
    -------
    energised : ndarray of bool
        The bus is in service and its island holds a reference bus, or a PV bus that becomes the
        reference (MATPOWER's rule: the first PV bus of an island without one).
    kind : ndarray of int
        Kinds with 3 where the bus is de-energised.
    labels : ndarray of int
        Island label of each bus.

    Examples
    --------
    >>> e, k, _ = energised_buses(4, np.array([0, 2]), np.array([1, 3]), np.array([2, 0, 0, 0]),
    ...                           np.ones(4, bool))
    >>> e.tolist(), k.tolist()
    ([True, True, False, False], [2, 0, 3, 3])
    """
    if labels is None:
        _, labels = islands(n_bus, f, t)
    kind = np.where(bus_ok, kind, 3)
    has_ref = np.zeros(labels.max() + 1 if n_bus else 0, dtype=bool)
    has_ref[labels[kind == 2]] = True
    kind = kind.copy()
    pv = np.flatnonzero(kind == 1)
    pv = pv[~has_ref[labels[pv]]]
    first = pv[np.unique(labels[pv], return_index=True)[1]]  # the first PV bus of an island without a reference
    kind[first] = 2
    has_ref[labels[first]] = True
    energised = bus_ok & has_ref[labels]
    kind[~energised] = 3
    return energised, kind, labels
