"""Travel times for crews: shortest times between road nodes under current conditions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr
from numba import get_num_threads

from twin.errors import NetworkError
from twin.model.compiled.traffic import TrafficArrays, compile_traffic
from twin.solvers.traffic.costs import bpr_time
from twin.solvers.traffic.paths import node_to_node_costs
from twin.traffic.problem import check_links, contiguous
from twin.traffic.warm import link_flows

if TYPE_CHECKING:
    from twin.model.network import Network

__all__ = ["node_travel_times", "travel_times"]


def _node_positions(lookup: Mapping[str, int], wanted: str | Sequence[str] | None, what: str) -> np.ndarray:
    if wanted is None:
        return np.arange(len(lookup), dtype=np.int64)
    names = [wanted] if isinstance(wanted, str) else list(wanted)
    missing = [n for n in names if str(n) not in lookup]
    if missing:
        raise NetworkError(f"{what}: node(s) {missing[:5]} are not in the road network")
    return np.array([lookup[str(n)] for n in names], dtype=np.int64)


def node_travel_times(arrays: TrafficArrays, link_time_s: np.ndarray, origins: str | Sequence[str] | None,
                      destinations: str | Sequence[str] | None,
                      lookup: Mapping[str, int] | None = None) -> xr.DataArray:
    """Shortest travel times (s) between nodes over links taking ``link_time_s`` (inf: closed).

    ``lookup`` maps node ids to positions (built from ``arrays`` when not given).
    """
    if lookup is None:
        lookup = {str(n): i for i, n in enumerate(arrays.node_ids)}
    src = _node_positions(lookup, origins, "origins")
    dst = _node_positions(lookup, destinations, "destinations")
    out = np.empty((len(src), len(dst)))
    threads = get_num_threads() if len(src) > 1 else 1
    node_to_node_costs(contiguous(link_time_s), src, dst, contiguous(arrays.out_indptr, np.int64),
                       contiguous(arrays.out_links, np.int64), contiguous(arrays.to_node, np.int64),
                       contiguous(arrays.through, np.bool_), out, threads)
    ids = arrays.node_ids.astype(str)
    return xr.DataArray(out, dims=("origin", "destination"), coords={"origin": ids[src], "destination": ids[dst]},
                        name="travel_time_s", attrs={"units": "s", "long_name": "shortest travel time"})


def travel_times(
    network: "Network",
    flows: xr.Dataset | pd.Series | np.ndarray | None = None,
    origins: str | Sequence[str] | None = None,
    destinations: str | Sequence[str] | None = None,
) -> xr.DataArray:
    """Shortest travel time (s) between road nodes under current conditions, for crews.

    Parameters
    ----------
    network : Network
        The road network as it is now: closed links (``in_service=False``) are not used.
    flows : Dataset, Series or array, optional
        Link flows (veh/h) giving the BPR travel times, e.g. a :func:`traffic_assignment`
        result, or a :func:`traffic_dynamics` result (its link travel times at its last
        reported time, queues included); without them links take their free-flow time.
    origins, destinations : str or sequence of str, optional
        Node ids (default: every node).

    Returns
    -------
    xarray.DataArray
        ``travel_time_s`` over ``(origin, destination)``; ``inf`` where no path exists.

    Examples
    --------
    >>> import twin
    >>> from twin.traffic import travel_times
    >>> city = twin.datasets.sample_city()
    >>> a, b = city.node.index[:2]
    >>> float(travel_times(city, None, a, a).item())
    0.0
    """
    arrays = compile_traffic(network)
    check_links(network, arrays)
    if flows is None:
        t = contiguous(arrays.free_flow_time_s)
    elif isinstance(flows, xr.Dataset) and "flow_vph" not in flows and "travel_time_s" in flows:
        t = contiguous(flows["travel_time_s"].isel(time=-1).to_series().astype(float)
                       .reindex(arrays.link_ids.astype(str)).fillna(np.inf).to_numpy())
    else:
        x = link_flows(flows, arrays.link_ids)
        cap = np.where(arrays.in_service, arrays.capacity_vph, 1.0)
        t = bpr_time(x, contiguous(arrays.free_flow_time_s), contiguous(cap), contiguous(arrays.bpr_alpha),
                     contiguous(arrays.bpr_beta), np.empty(arrays.n_links))
    t[~arrays.in_service] = np.inf
    return node_travel_times(arrays, t, origins, destinations)
