"""NetworkX views derived from a Network."""

from __future__ import annotations

import networkx as nx


def test_water_graph_keeps_link_direction_and_ids(small_city):
    g = small_city.graph("water")
    assert set(g.nodes) == {"R1", "J1", "J2", "T1"}
    assert g.has_edge("R1", "J1", key="PU1") and g.edges["R1", "J1", "PU1"]["kind"] == "pump"
    assert g.edges["J1", "J2", "P1"]["length_m"] == 100.0


def test_grid_graph_respects_open_switches(small_city):
    g = small_city.graph("grid")
    assert nx.is_connected(g)
    opened = small_city.set("switch", "S1", closed=False)
    g2 = opened.graph("grid")
    assert not nx.is_connected(g2)
    assert {frozenset(c) for c in nx.connected_components(g2)} == {frozenset({"HV", "MV1"}), frozenset({"MV2"})}


def test_traffic_graph_skips_closed_links(small_city):
    assert nx.is_strongly_connected(small_city.graph("traffic"))
    closed = small_city.set("link", "2-3", in_service=False)
    assert not nx.is_strongly_connected(closed.graph("traffic"))


def test_city_graph_follows_a_cascade_chain(small_city):
    g = small_city.graph()
    # the pump depends on bus MV2, which hangs off MV1 through line L1
    assert g.edges["pump:PU1", "bus:MV2", "fed_by"]["backup_hours"] == 2.0
    assert nx.has_path(g, "pump:PU1", "bus:HV")
    assert nx.has_path(g, "signal:X2", "bus:MV1")
    assert g.edges["junction:J1", "junction:J2", "pipe:P1"]["layer"] == "water"


def test_graph_is_not_cached_on_the_network(small_city):
    a, b = small_city.graph("water"), small_city.graph("water")
    assert a is not b
    assert not any(isinstance(v, nx.Graph) for v in vars(small_city).values())
