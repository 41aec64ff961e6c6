"""En-route choice of the link transmission model: which link times routes see, and re-choice at a node."""

from __future__ import annotations

import numpy as np
import pytest

from tests.solvers.traffic.test_ltm import NODE_MODELS, junction
from twin.solvers.traffic.ltm import NODE_FIFO, NODE_REDISTRIBUTE, _node
from twin.traffic import traffic_dynamics


@pytest.mark.parametrize("node_model", NODE_MODELS)
def test_routes_leave_a_queue_held_up_by_spillback_once_it_costs_the_detour(node_model):
    # A -> B, 1500 veh/h for an hour, two routes: A-C-D-B (free flow 120 s) through a 500 veh/h
    # bottleneck D-B, and A-E-B (300 s, 3000 veh/h). The queue forms on the short link C-D and
    # spills back onto A-C, whose exit then passes 500 veh/h, not its 3000 veh/h capacity.
    # Routes that read that queue's delay at the rate it really leaves keep it near the 180 s the
    # detour costs: about 500 veh/h * 180 s = 25 vehicles queued on C-D and A-C, every trip about
    # 300 s, 1500 trips * 300 s = 125 veh h. Reading the queue as if it left A-C at capacity
    # (the old measure) let it grow to ~146 vehicles (~1 050 s of delay) and 246 veh h.
    net = junction([("A", "C", 3000.0, 60.0, 1500.0), ("C", "D", 2000.0, 10.0, 200.0), ("D", "B", 500.0, 50.0, 1000.0),
                    ("A", "E", 3000.0, 150.0, 3000.0), ("E", "B", 3000.0, 150.0, 3000.0)],
                   [("A", "B", 1500.0)], zones=("A", "B"))
    ds = traffic_dynamics(net, duration_s=7200, step_s=5, demand_profile=[1.0], period_s=3600, report_s=300,
                          reroute_s=30, node_model=node_model)
    assert abs(ds.attrs["conservation_error_veh"]) < 1e-6
    assert ds.attrs["arrived_veh"] == pytest.approx(1500.0)
    late = ds.sel(time=slice(1200, 3600))
    queued = late.queue_veh.sel(link=["A-C", "C-D"]).sum("link").mean()
    assert float(queued) < 2 * 25.0  # old measure: 146
    assert float(late.inflow_vph.sel(link="A-C").mean()) == pytest.approx(500.0, rel=0.1)  # the bottleneck's flow
    assert ds.attrs["total_travel_time_vh"] < 1.1 * 1500 * 300 / 3600  # old measure: 246 veh h


def _diverge(beta_row, recv_y, node_model):
    """In-link O-N sends 6 vehicles for one destination over N-X (room for 10) and N-Y."""
    # nodes 0 O, 1 N, 2 X, 3 Y, 4 the destination (beyond X and Y); links 0 O-N, 1 N-X, 2 N-Y
    out_indptr, out_links = np.array([0, 1, 3, 3, 3, 3]), np.array([0, 1, 2])
    in_indptr, in_links = np.array([0, 0, 1, 2, 3, 3]), np.array([0, 1, 2])
    n_pk = 4
    pk_amt, pk_comp = np.zeros((3, n_pk)), np.zeros((3, n_pk, 1))
    pk_amt[0, 0], pk_comp[0, 0, 0] = 6.0, 1.0
    head, size = np.zeros(3, np.int64), np.array([1, 0, 0])
    send, recv = np.array([6.0, 0.0, 0.0]), np.array([0.0, 10.0, recv_y])
    beta = np.array([beta_row], float)
    comp, sij, dem, phi = np.zeros((2, 1)), np.zeros((2, 2)), np.zeros(2), np.zeros(2)
    active, rest, split, sent = np.zeros(2, np.bool_), np.zeros(2), np.zeros((1, 2)), np.zeros(2)
    total_in, rechoose = _node(1, -1, send, recv, beta, np.array([4]), in_indptr, in_links, out_indptr, out_links,
                               (pk_amt, pk_comp, head, size, n_pk), np.zeros((1, 1)), comp, sij, dem, phi,
                               node_model, active, rest, split, sent)
    assert total_in == 1
    return phi[0], sij[0], rechoose


@pytest.mark.parametrize("node_model", [NODE_FIFO, NODE_REDISTRIBUTE])
def test_vehicles_held_at_a_node_choose_again_among_their_preferred_out_links(node_model):
    # Preferences half N-X, half N-Y (a route update moved half the traffic); N-Y is full. As in
    # UXsim, a vehicle that chose N-Y waits at the head of the link for the step, holding up those
    # behind it, and chooses again: half the vehicles find room (the half that chose N-X), and
    # whoever leaves takes N-X. So the link passes half its 6 vehicles, all to N-X. (Before, the
    # 3 vehicles bound for the full N-Y held up the whole link: nothing passed.)
    phi, sij, rechoose = _diverge([0.0, 0.5, 0.5], 0.0, node_model)
    assert rechoose
    np.testing.assert_allclose(sij, [6.0, 0.0])
    assert phi == pytest.approx(0.5)
    # N-Y takes 1 of the 3 that chose it (a third): shares 0.5 * 1 : 0.5 / 3 = 3 : 1, so 4.5 to
    # N-X and 1.5 to N-Y; a share 0.5 + 0.5 / 3 = 2/3 of the choices finds room, and N-Y takes
    # 1 of 1.5: the link passes 2/3 of its vehicles either way
    phi, sij, _ = _diverge([0.0, 0.5, 0.5], 1.0, node_model)
    np.testing.assert_allclose(sij, [4.5, 1.5])
    assert phi == pytest.approx(2.0 / 3.0)
    # a settled route (only N-Y preferred) is not changed: the vehicles wait for it, FIFO
    phi, sij, _ = _diverge([0.0, 0.0, 1.0], 0.0, node_model)
    np.testing.assert_allclose(sij, [0.0, 6.0])
    assert phi == 0.0
    # no out-link short of room: nothing to choose again, all pass by their preferences
    phi, sij, rechoose = _diverge([0.0, 0.5, 0.5], 10.0, node_model)
    assert not rechoose and phi == 1.0
    np.testing.assert_allclose(sij, [3.0, 3.0])


def test_redistribution_fixes_an_in_link_held_by_its_own_choices_first():
    from twin.solvers.traffic.ltm import _redistribute

    # in-links 0 and 1 each send 10 to X, which takes 12; in-link 1 can pass only 0.3 (its
    # vehicles wait to choose again): it is fixed first at 3, and in-link 0 gets the other 9
    sij = np.array([[10.0, 0.0], [10.0, 0.0]])
    phi = np.array([1.0, 0.3])
    _redistribute(0, 2, 2, np.array([12.0, 5.0]), np.array([0, 2]), np.array([0, 1]), sij, phi,
                  np.zeros(2, np.bool_), np.zeros(2))
    np.testing.assert_allclose(phi, [0.9, 0.3])


@pytest.mark.parametrize("node_model", NODE_MODELS)
def test_equally_short_routes_share_the_flow_whatever_the_link_order(node_model):
    # A -> B, 1500 veh/h for 30 min over two routes with the same free-flow time (120 s): A-C-B
    # (1000 veh/h) and A-D-B (2000 veh/h); routes chosen once, at the start, from free-flow times.
    # Tied routes share the flow, 750 veh/h each, below both capacities: no queue, every trip
    # 120 s, 750 trips * 120 s = 25 veh h. Picking one of the tied routes by the order of the links
    # sent all 1500 veh/h one way: over A-C-B a queue (and more vehicle hours), and results that
    # changed when the same network was listed in another order (SiouxFalls: 0.6 % in total).
    links = [("A", "C", 1000.0, 60.0, 1500.0), ("C", "B", 1000.0, 60.0, 1500.0),
             ("A", "D", 2000.0, 60.0, 1500.0), ("D", "B", 2000.0, 60.0, 1500.0)]
    totals = []
    for order in (links, links[::-1], [links[2], links[0], links[3], links[1]]):
        net = junction(order, [("A", "B", 1500.0)], zones=("A", "B"))
        ds = traffic_dynamics(net, duration_s=3600, step_s=5, demand_profile=[1.0, 0.0], period_s=1800,
                              report_s=300, reroute_s=1e9, node_model=node_model)
        np.testing.assert_allclose(ds.inflow_vph.sel(link=["A-C", "A-D"], time=slice(300, 1800)), 750.0, rtol=1e-9)
        assert float(ds.queue_veh.max()) < 1e-9
        totals.append(ds.attrs["total_travel_time_vh"])
    assert totals[0] == pytest.approx(750 * 120 / 3600, rel=1e-9)
    assert totals[1] == totals[2] == pytest.approx(totals[0], rel=1e-12)
