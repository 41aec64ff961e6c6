"""Link transmission model: free flow, bottleneck queue, spillback, events, conservation, static agreement."""

from __future__ import annotations

import numpy as np
import pytest

from tests.solvers.traffic.test_assignment import road
from twin.errors import NetworkError
from twin.model import Network
from twin.traffic import traffic_assignment, traffic_dynamics


def corridor(*links, q=1500.0, zones=("A", "B")) -> Network:
    """Links (from, to, capacity veh/h, free-flow time s, length m) and one OD pair A -> B."""
    base = road([lk[:4] for lk in links], [("A", "B", q)], zones=zones)
    return base.set("link", [f"{lk[0]}-{lk[1]}" for lk in links], length_m=[lk[4] for lk in links])


def test_free_flow_is_a_pure_delay():
    net = corridor(("A", "C", 2000.0, 50.0, 1000.0), ("C", "B", 2000.0, 50.0, 1000.0), q=1000.0)
    ds = traffic_dynamics(net, duration_s=1200, step_s=5, demand_profile=[1.0], period_s=600, report_s=60)
    np.testing.assert_allclose(ds.inflow_vph.sel(link="A-C")[:10], 1000.0)
    # vehicles need 100 s: the first minute nobody arrives, the second minute 40 s worth
    np.testing.assert_allclose(ds.outflow_vph.sel(link="C-B")[:3], [0.0, 1000.0 / 3, 1000.0])
    assert ds.arrived[-1] == pytest.approx(1000.0 * 600 / 3600)
    assert ds.queue_veh.max() == 0.0
    assert ds.travel_time_s.sel(link="A-C")[0] == pytest.approx(50.0)


def test_travel_time_of_free_flow_trips_is_their_free_flow_time():
    net = corridor(("A", "C", 2000.0, 47.0, 1000.0), ("C", "B", 2000.0, 61.0, 1300.0), q=1000.0)
    ds = traffic_dynamics(net, duration_s=1200, step_s=5, demand_profile=[1.0], period_s=600)
    # 1000 veh/h for 600 s = 166.7 trips of 108 s each (link times not whole steps: no rounding up)
    assert ds.attrs["arrived_veh"] == pytest.approx(1000.0 / 6)
    assert ds.attrs["total_travel_time_vh"] * 3600 == pytest.approx(1000.0 / 6 * 108.0, rel=1e-9)


def test_travel_time_counts_the_wait_at_the_origin_from_the_scheduled_departure():
    # 3000 veh/h for 600 s onto a 1500 veh/h road: a point queue at the origin grows to 250 veh at
    # 600 s and clears at 1200 s; its wait, 0.5 * 250 veh * 1200 s, counts as travel time (as in
    # UXsim and SUMO, whose trip durations run from the scheduled departure)
    net = corridor(("A", "B", 1500.0, 60.0, 1000.0), q=3000.0)
    ds = traffic_dynamics(net, duration_s=1800, step_s=5, demand_profile=[1.0], period_s=600, report_s=60)
    assert float(ds.waiting_at_origins.sel(time=600)) == pytest.approx(250.0)
    assert float(ds.waiting_at_origins.sel(time=1200)) == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(ds.inflow_vph.sel(link="A-B", time=slice(60, 1200)), 1500.0, rtol=1e-9)
    assert ds.attrs["arrived_veh"] == pytest.approx(500.0)
    assert ds.attrs["total_travel_time_vh"] * 3600 == pytest.approx(500 * 60.0 + 0.5 * 250 * 1200, rel=1e-3)


def test_bottleneck_queue_and_delay_match_the_point_queue_solution():
    # 1500 veh/h for 600 s into a 1000 veh/h bottleneck: the queue peaks at 83.3 veh at 700 s, clears
    # at 1000 s; delay = 0.5 * 83.3 veh * 900 s = 37 500 veh s, free-flow time 250 veh * 150 s
    net = corridor(("A", "C", 2000.0, 100.0, 2000.0), ("C", "B", 1000.0, 50.0, 1000.0))
    ds = traffic_dynamics(net, duration_s=1500, step_s=5, demand_profile=[1.0], period_s=600, report_s=50)
    q = ds.queue_veh.sel(link="A-C")
    assert float(q.sel(time=700)) == pytest.approx(500 * 600 / 3600, rel=0.02)
    assert float(q.sel(time=1050)) == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(ds.outflow_vph.sel(link="C-B", time=slice(300, 1000)), 1000.0, rtol=1e-9)
    assert ds.attrs["total_travel_time_vh"] == pytest.approx((37500 + 250 * 150) / 3600, rel=0.02)
    assert ds.attrs["arrived_veh"] == pytest.approx(250.0)


def test_queue_spills_back_into_the_upstream_link():
    # the bottleneck D -> B (500 veh/h) fills the short link C -> D to the congested density of the
    # triangular diagram, k = kj - q / w, and the queue grows on A -> C, whose outflow drops to 500 veh/h
    net = corridor(("A", "C", 2000.0, 100.0, 2000.0), ("C", "D", 2000.0, 5.0, 100.0),
                   ("D", "B", 500.0, 50.0, 1000.0), q=1500.0)
    ds = traffic_dynamics(net, duration_s=1800, step_s=5, demand_profile=[1.0], period_s=900, report_s=60)
    at = {"time": 900}
    qmax, u, kj = 2000.0 / 3600, 100.0 / 5.0, 0.15
    w = qmax / (kj - qmax / u)
    assert float(ds.vehicles.sel(link="C-D", **at)) == pytest.approx(100.0 * (kj - 500.0 / 3600 / w), rel=1e-6)
    assert float(ds.queue_veh.sel(link="A-C", **at)) > 50.0
    assert float(ds.outflow_vph.sel(link="A-C", **at)) == pytest.approx(500.0, rel=0.05)
    assert abs(ds.attrs["conservation_error_veh"]) < 1e-6


NODE_MODELS = ("fifo_redistribute", "fifo_proportional")


@pytest.mark.parametrize("node_model", NODE_MODELS)
def test_vehicles_are_conserved_under_events_and_reroute_around_a_closure(node_model):
    net = road([("A", "C", 2000.0, 60.0), ("C", "B", 2000.0, 60.0), ("A", "D", 2000.0, 90.0),
                ("D", "B", 2000.0, 90.0)], [("A", "B", 1200.0)])
    net = net.add("signal", [dict(id="X", node="D", dark_capacity_factor=0.25)])
    events = [{"kind": "closure", "link": "C-B", "start_s": 600, "end_s": 1200},
              {"kind": "incident", "link": "D-B", "start_s": 1500, "end_s": 1800, "capacity_factor": 0.1},
              {"kind": "dark_signal", "signal": "X", "start_s": 600, "end_s": 1200}]
    ds = traffic_dynamics(net, duration_s=2400, step_s=5, events=events, demand_profile=[1.0, 1.0], period_s=900,
                          report_s=60, node_model=node_model)
    total = ds.vehicles_in_network + ds.waiting_at_origins + ds.arrived
    np.testing.assert_allclose(total, ds.demanded, atol=1e-6)
    during = ds.sel(time=slice(900, 1200))
    assert float(during.inflow_vph.sel(link="C-B").max()) == 0.0  # closed: nobody enters
    assert float(during.inflow_vph.sel(link="A-D").mean()) > 900.0  # trips reroute over D
    assert float(during.outflow_vph.sel(link="A-D").max()) <= 0.25 * 2000.0 + 1e-9  # dark signal at D
    assert float(ds.outflow_vph.sel(link="D-B", time=slice(1560, 1800)).max()) <= 0.1 * 2000.0 + 1e-9
    assert ds.attrs["arrived_veh"] > 0.9 * ds.attrs["demanded_veh"] - 100


def test_steady_demand_agrees_with_static_equilibrium():
    # uncongested steady state: the dynamic split over two routes and the travel time are close to static
    net = road([("A", "C", 2000.0, 60.0), ("C", "B", 2000.0, 60.0), ("A", "D", 2000.0, 70.0),
                ("D", "B", 2000.0, 70.0)], [("A", "B", 600.0)])
    static = traffic_assignment(net, rgap=1e-8)
    ds = traffic_dynamics(net, duration_s=3600, step_s=5, report_s=300)
    flows = ds.inflow_vph.sel(time=slice(1200, 3600)).mean("time")
    assert float(flows.sum()) == pytest.approx(float(static.flow_vph.sum()), rel=0.05)
    tstt_dyn = ds.attrs["total_travel_time_vh"] / 1.0
    assert 0.5 < tstt_dyn / static.attrs["total_system_travel_time_vh"] < 2.0


def test_bad_events_are_named():
    net = road([("A", "B", 2000.0, 60.0)], [("A", "B", 100.0)])
    with pytest.raises(NetworkError, match="link 'Z-Z'"):
        traffic_dynamics(net, duration_s=60, events=[{"kind": "closure", "link": "Z-Z"}])
    with pytest.raises(ValueError, match="event kind"):
        traffic_dynamics(net, duration_s=60, events=[{"kind": "flood", "link": "A-B"}])


def test_sample_city_flows_without_gridlock():
    import twin

    city = twin.datasets.sample_city()  # central Helsinki: street links of a few metres, signals
    signal = str(city.signal.index[0])
    ds = traffic_dynamics(city, duration_s=1800, step_s=5, events=[{"kind": "dark_signal", "signal": signal}])
    assert abs(ds.attrs["conservation_error_veh"]) < 1e-6
    assert ds.attrs["arrived_veh"] > 0.8 * ds.attrs["demanded_veh"]
    static = traffic_assignment(city, rgap=1e-4)
    assert static.attrs["relative_gap"] <= 1e-4


@pytest.mark.parametrize("node_model", NODE_MODELS)
def test_closure_without_detour_holds_vehicles_and_conserves_them(node_model):
    net = corridor(("A", "C", 2000.0, 60.0, 1200.0), ("C", "B", 2000.0, 60.0, 1200.0), q=600.0)
    events = [{"kind": "closure", "link": "C-B", "start_s": 300, "end_s": 900}]
    ds = traffic_dynamics(net, duration_s=1800, step_s=5, events=events, demand_profile=[1.0], period_s=600,
                          node_model=node_model)
    closed = ds.sel(time=slice(420, 900))
    assert float(closed.inflow_vph.sel(link="C-B").max()) == 0.0
    assert float(closed.vehicles.sel(link="A-C").isel(time=-1)) > 0.0  # they wait upstream
    np.testing.assert_allclose(ds.vehicles_in_network + ds.waiting_at_origins + ds.arrived, ds.demanded, atol=1e-6)
    assert ds.attrs["arrived_veh"] == pytest.approx(100.0)  # all arrive once the road reopens


def test_crews_see_the_queues_of_a_dynamic_run():
    from twin.traffic import travel_times

    net = corridor(("A", "C", 2000.0, 100.0, 2000.0), ("C", "B", 1000.0, 50.0, 1000.0))
    ds = traffic_dynamics(net, duration_s=600, step_s=5, report_s=60)
    queue = float(ds.queue_veh.sel(link="A-C").isel(time=-1))
    assert queue > 0
    tt = float(travel_times(net, ds, "A", "B").item())
    # A-C's queue leaves at C-B's 1000 veh/h, not at A-C's own 2000 veh/h capacity
    assert tt == pytest.approx(150.0 + queue / (1000.0 / 3600.0), rel=1e-9)


def _one_destination(from_node, to_node) -> tuple:
    """``reroute``'s network arguments for 3 nodes and 4 links, node 0 the only destination."""

    def csr(keys):
        order = np.argsort(keys, kind="stable")
        return np.searchsorted(keys[order], np.arange(4)).astype(np.int64), order.astype(np.int64)

    from_node, to_node = np.asarray(from_node), np.asarray(to_node)
    out_indptr, out_links = csr(from_node)
    in_indptr, in_links = csr(to_node)
    return (np.array([0], np.int64), in_indptr, in_links, from_node, to_node, out_indptr, out_links,
            np.ones(3, np.bool_))


def test_smoothed_routes_never_loop():
    from twin.solvers.traffic.ltm import reroute

    # nodes 0 (destination), 1 (V), 2 (U); links V-D, U-D, V-U, U-V
    args = _one_destination([1, 2, 1, 2], [0, 0, 2, 1])
    beta = np.zeros((1, 4))
    reroute(np.array([10.0, 100.0, 1.0, 1.0]), *args, 1.0, beta)  # V -> D, U -> V -> D
    np.testing.assert_array_equal(beta[0], [1.0, 0.0, 0.0, 1.0])
    reroute(np.array([100.0, 10.0, 1.0, 1.0]), *args, 0.5, beta)  # now V -> U -> D, U -> D
    # half of V's traffic moves to V-U; U drops U-V (it leads away from D now): no V-U-V loop
    np.testing.assert_array_equal(beta[0], [0.5, 1.0, 0.5, 0.0])


def test_zero_time_links_between_equally_distant_nodes_are_not_route_ties():
    from twin.solvers.traffic.ltm import reroute

    # nodes 0 (destination D), 1 (V), 2 (W); links V-W and W-V take no time (as TNTP connectors
    # do), V-D and W-D 10 s each: from V both V-D and V-W-D take 10 s. Splitting that tie (or
    # taking the first link listed, V-W, and at W the first, W-V) sends flow round V-W-V for ever;
    # only links that bring vehicles strictly closer share a tie.
    beta = np.zeros((1, 4))
    reroute(np.array([0.0, 0.0, 10.0, 10.0]), *_one_destination([1, 2, 1, 2], [2, 1, 0, 0]), 1.0, beta)
    np.testing.assert_array_equal(beta[0], [0.0, 0.0, 1.0, 1.0])

def test_storage_has_at_least_the_lanes_capacity_needs():
    from twin.model import compile_traffic
    from twin.traffic.dynamics import _dynamic_links

    net = corridor(("A", "C", 4800.0, 50.0, 1000.0), ("C", "B", 2000.0, 50.0, 1000.0))
    arrays = compile_traffic(net)
    storage = _dynamic_links(arrays, net, 5.0, 0.15, 2400.0)[3]
    np.testing.assert_allclose(storage, [0.15 * 2 * 1000.0, 0.15 * 1000.0])  # 4800 veh/h: two lanes
    np.testing.assert_allclose(_dynamic_links(arrays, net, 5.0, 0.15, None)[3], 0.15 * 1000.0)
    with pytest.raises(ValueError, match="lane_capacity_vph"):
        traffic_dynamics(net, duration_s=60, lane_capacity_vph=0.0)


def junction(links, trips, zones) -> Network:
    """Links (from, to, capacity veh/h, free-flow time s, length m) and trips (origin, destination, veh/h)."""
    base = road([lk[:4] for lk in links], trips, zones=zones)
    return base.set("link", [f"{lk[0]}-{lk[1]}" for lk in links], length_m=[lk[4] for lk in links])


@pytest.mark.parametrize("node_model", NODE_MODELS)
def test_diverge_with_a_full_branch_passes_the_free_branch_its_fifo_share(node_model):
    # O -> N, then 2400 veh/h on to DA and 1200 veh/h through N -> M into a 360 veh/h bottleneck M -> DB.
    # Once N -> M is full it takes 360 veh/h; the vehicles at the head of O -> N bound for it hold up
    # the ones behind them (first in, first out), so O -> N lets 360 * 3600 / 1200 = 1080 veh/h go
    # and the free branch gets 720 veh/h, in both node models. UXsim 1.15 (C++ and Python engines
    # move only the front vehicle of a link) gives the same 720 veh/h on this network.
    net = junction([("O", "N", 7200.0, 50.0, 1000.0), ("N", "DA", 7200.0, 50.0, 1000.0),
                    ("N", "M", 3600.0, 25.0, 500.0), ("M", "DB", 360.0, 50.0, 1000.0)],
                   [("O", "DA", 2400.0), ("O", "DB", 1200.0)], zones=("O", "DA", "DB"))
    ds = traffic_dynamics(net, duration_s=3600, step_s=5, demand_profile=[1.0], period_s=3600, report_s=300,
                          node_model=node_model)
    late = ds.sel(time=slice(1500, 3600))
    np.testing.assert_allclose(late.inflow_vph.sel(link="N-M"), 360.0, rtol=1e-6)
    np.testing.assert_allclose(late.inflow_vph.sel(link="N-DA"), 720.0, rtol=1e-6)
    # before the spillback: 2400 veh/h from 50 s on (the free-flow time of O -> N)
    assert float(ds.inflow_vph.sel(link="N-DA", time=300)) == pytest.approx(2400.0 * 250 / 300)
    assert abs(ds.attrs["conservation_error_veh"]) < 1e-6


def _merge_diverge(node_model):
    # I1: O1 -> N, 2400 veh/h to DX; I2: O2 -> N, 600 veh/h to DX and 600 veh/h to DY. N -> DX takes
    # 1800 veh/h; the branch N -> M -> DY drains at 36 veh/h only, fills, and then holds up I2 (FIFO)
    net = junction([("O1", "N", 3600.0, 50.0, 1000.0), ("O2", "N", 3600.0, 50.0, 1000.0),
                    ("N", "DX", 1800.0, 50.0, 1000.0), ("N", "M", 3600.0, 10.0, 200.0),
                    ("M", "DY", 36.0, 50.0, 1000.0)],
                   [("O1", "DX", 2400.0), ("O2", "DX", 600.0), ("O2", "DY", 600.0)], zones=("O1", "O2", "DX", "DY"))
    ds = traffic_dynamics(net, duration_s=3600, step_s=5, demand_profile=[1.0], period_s=3600, report_s=300,
                          node_model=node_model)
    assert abs(ds.attrs["conservation_error_veh"]) < 1e-6
    return ds.sel(time=slice(2400, 3600)).mean("time")


def test_redistributing_node_gives_a_held_up_in_links_room_to_the_others():
    # Both in-links queue, so each sends 3600 veh/h worth (I2's head half for DX, half for DY).
    # N -> M takes 36 veh/h: I2 passes 36 / 1800 = 2 % (72 veh/h, 36 of them to DX), FIFO.
    # fifo_redistribute (Tampere et al. 2011): I1 gets the rest of N -> DX, 1800 - 36 = 1764 veh/h,
    # and N -> DX runs at capacity.
    ds = _merge_diverge("fifo_redistribute")
    assert float(ds.outflow_vph.sel(link="O2-N")) == pytest.approx(72.0, rel=1e-6)
    assert float(ds.outflow_vph.sel(link="O1-N")) == pytest.approx(1764.0, rel=1e-6)
    assert float(ds.inflow_vph.sel(link="N-DX")) == pytest.approx(1800.0, rel=1e-6)


def test_proportional_node_leaves_a_held_up_in_links_room_unused():
    # fifo_proportional: N -> DX's 1800 veh/h are shared once by demand, 3600 : 1800, so I1 gets
    # 1200 veh/h; I2 (held up by N -> M) uses 36 of its 600: N -> DX runs at 1236 veh/h
    ds = _merge_diverge("fifo_proportional")
    assert float(ds.outflow_vph.sel(link="O2-N")) == pytest.approx(72.0, rel=1e-6)
    assert float(ds.outflow_vph.sel(link="O1-N")) == pytest.approx(1200.0, rel=1e-6)
    assert float(ds.inflow_vph.sel(link="N-DX")) == pytest.approx(1236.0, rel=1e-6)


def test_redistribution_kernel_fixes_the_tightest_out_link_first():
    from twin.solvers.traffic.ltm import _redistribute

    # in-links 0 (10 to X), 1 (5 to X, 5 to Y), 2 (4 to Y), 3 (nothing: ends here); X takes 12, Y 3
    sij = np.array([[10.0, 0.0], [5.0, 5.0], [0.0, 4.0], [0.0, 0.0]])
    recv = np.array([12.0, 3.0])
    phi = np.ones(4)
    args = (np.array([0, 2]), np.array([0, 1]), sij, phi, np.zeros(4, np.bool_), np.zeros(2))
    _redistribute(0, 4, 2, recv, *args)
    # Y: 3 / 9 -> in-links 1 and 2 pass a third; X keeps 12 - 5/3 for in-link 0's 10: it passes whole
    np.testing.assert_allclose(phi, [1.0, 1 / 3, 1 / 3, 1.0])
    phi[:] = [1.0, 0.0, 1.0, 1.0]  # in-link 1 held (no route): its room goes to the others
    _redistribute(0, 4, 2, recv, *args)
    np.testing.assert_allclose(phi, [1.0, 0.0, 0.75, 1.0])


def test_node_model_is_checked():
    net = road([("A", "B", 2000.0, 60.0)], [("A", "B", 100.0)])
    with pytest.raises(ValueError, match="node_model"):
        traffic_dynamics(net, duration_s=60, node_model="lane_based")
