"""NetworkX views of a Network, derived on demand (never stored on the Network)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    import networkx as nx

    from twin.model.network import Network

_WATER_NODES = ("junction", "reservoir", "tank")
_WATER_LINKS = ("pipe", "pump", "valve")
_GRID_NODE_ELEMENTS = ("load", "static_generator", "generator", "external_grid", "shunt")


def _attrs(row: pd.Series) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "geometry"}


def water_graph(net: "Network") -> nx.MultiDiGraph:
    """Directed multigraph of the water layer: nodes are junctions, reservoirs and tanks,
    edges are pipes, pumps and valves keyed by link id, from start to end node.

    Examples
    --------
    >>> import twin
    >>> g = twin.model.graph.water_graph(twin.datasets.sample_city())
    >>> g.number_of_nodes() > 100
    True
    """
    import networkx as nx

    g = nx.MultiDiGraph(layer="water", name=net.name)
    for kind in _WATER_NODES:
        for aid, row in net.tables[kind].iterrows():
            g.add_node(aid, kind=kind, **_attrs(row))
    for kind in _WATER_LINKS:
        for aid, row in net.tables[kind].iterrows():
            g.add_edge(row.start_node, row.end_node, key=aid, kind=kind, **_attrs(row))
    return g


def grid_graph(net: "Network", *, respect_switches: bool = True,
               include_out_of_service: bool = False) -> nx.MultiGraph:
    """Undirected multigraph of the grid: buses as nodes; lines, transformers, branches and
    closed bus-bus switches as edges keyed by ``"<kind>:<id>"``.

    With ``respect_switches`` an open bus-bus switch is no edge, and a line or transformer
    with an open switch at either end is no edge (as pandapower's topology module).

    Examples
    --------
    >>> import twin
    >>> g = twin.model.graph.grid_graph(twin.datasets.sample_city())
    >>> import networkx as nx; nx.is_connected(g)
    True
    """
    import networkx as nx

    g = nx.MultiGraph(layer="grid", name=net.name)
    for aid, row in net.tables["bus"].iterrows():
        if include_out_of_service or row.in_service:
            g.add_node(aid, kind="bus", **_attrs(row))
    sw = net.tables["switch"]
    opened = sw[~sw.closed] if respect_switches else sw.iloc[0:0]
    cut = {(row.et, row.element) for row in opened.itertuples()}
    for kind, a, b, et in (("line", "from_bus", "to_bus", "l"), ("transformer", "hv_bus", "lv_bus", "t"),
                           ("branch", "from_bus", "to_bus", None)):
        for aid, row in net.tables[kind].iterrows():
            if not (include_out_of_service or row.in_service) or (et, aid) in cut:
                continue
            if row[a] in g and row[b] in g:
                g.add_edge(row[a], row[b], key=f"{kind}:{aid}", kind=kind, id=aid, **_attrs(row))
    for aid, row in sw[sw.et == "b"].iterrows():
        if (row.closed or not respect_switches) and row.bus in g and row.element in g:
            g.add_edge(row.bus, row.element, key=f"switch:{aid}", kind="switch", id=aid, **_attrs(row))
    return g


def traffic_graph(net: "Network", *, include_closed: bool = False) -> nx.MultiDiGraph:
    """Directed multigraph of the road network: nodes and links keyed by link id.

    Examples
    --------
    >>> import twin
    >>> g = twin.model.graph.traffic_graph(twin.datasets.sample_city())
    >>> import networkx as nx; nx.is_strongly_connected(g)
    True
    """
    import networkx as nx

    g = nx.MultiDiGraph(layer="traffic", name=net.name)
    for aid, row in net.tables["node"].iterrows():
        g.add_node(aid, kind="node", **_attrs(row))
    for aid, row in net.tables["link"].iterrows():
        if include_closed or row.in_service:
            g.add_edge(row.from_node, row.to_node, key=aid, kind="link", **_attrs(row))
    return g


def city_graph(net: "Network") -> nx.MultiDiGraph:
    """The whole city as one directed multigraph, every node named ``"<kind>:<id>"``.

    Water links and road links keep their direction; grid branches get an edge each way;
    grid elements (loads, generators, ...) hang on their bus; signals on their road node;
    every coupling is an edge from the dependent asset to the asset it depends on, with
    ``relation`` and ``backup_hours``. Use it for cascade tracing and criticality.

    Examples
    --------
    >>> import twin
    >>> g = twin.model.graph.city_graph(twin.datasets.sample_city())
    >>> any(d.get("relation") == "fed_by" for *_, d in g.edges(data=True))
    True
    """
    import networkx as nx

    g = nx.MultiDiGraph(name=net.name)
    kind_of = {}
    for kind in _WATER_NODES:
        kind_of.update(dict.fromkeys(net.tables[kind].index, kind))
    for sub, layer in ((water_graph(net), "water"), (traffic_graph(net, include_closed=True), "traffic")):
        for n, d in sub.nodes(data=True):
            g.add_node(f"{d['kind']}:{n}", layer=layer, **d)
        for u, v, k, d in sub.edges(keys=True, data=True):
            ku = kind_of.get(u, "node") if layer == "water" else "node"
            kv = kind_of.get(v, "node") if layer == "water" else "node"
            g.add_edge(f"{ku}:{u}", f"{kv}:{v}", key=f"{d['kind']}:{k}", layer=layer, **d)
    grid = grid_graph(net, respect_switches=False, include_out_of_service=True)
    for n, d in grid.nodes(data=True):
        g.add_node(f"bus:{n}", layer="grid", **d)
    for u, v, k, d in grid.edges(keys=True, data=True):
        g.add_edge(f"bus:{u}", f"bus:{v}", key=k, layer="grid", **d)
        g.add_edge(f"bus:{v}", f"bus:{u}", key=k, layer="grid", **d)
    for kind in _GRID_NODE_ELEMENTS:
        for aid, row in net.tables[kind].iterrows():
            g.add_node(f"{kind}:{aid}", layer="grid", kind=kind, **_attrs(row))
            g.add_edge(f"{kind}:{aid}", f"bus:{row.bus}", key="connected_to", relation="connected_to")
    for aid, row in net.tables["signal"].iterrows():
        g.add_node(f"signal:{aid}", layer="traffic", kind="signal", **_attrs(row))
        g.add_edge(f"signal:{aid}", f"node:{row.node}", key="controls", relation="controls")
    for row in net.couplings.itertuples(index=False):
        g.add_edge(f"{row.src_kind}:{row.src}", f"{row.dst_kind}:{row.dst}", key=row.relation,
                   relation=row.relation, backup_hours=row.backup_hours)
    return g
