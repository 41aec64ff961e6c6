"""Public traffic API: traffic_assignment Dataset, bad input, warm start, travel times for crews."""

from __future__ import annotations

import numpy as np
import pytest

from twin.errors import ConvergenceError, NetworkError
from twin.model import Network
from twin.traffic import traffic_assignment, travel_times


def road(links, trips, zones=("A", "B"), **settings) -> Network:
    nodes = sorted({n for link in links for n in link[:2]})
    return Network({
        "node": [dict(id=n) for n in nodes],
        "link": [dict(id=f"{a}-{b}", from_node=a, to_node=b, capacity_vph=c, length_m=1000.0, free_flow_time_s=t,
                      bpr_beta=1.0, bpr_alpha=1.0) for a, b, c, t in links],
        "zone": [dict(id=z, centroid_node=z) for z in zones],
        "trips": [dict(id=f"{o}>{d}", origin=o, destination=d, trips_vph=q) for o, d, q in trips],
    }, settings={"traffic": settings} if settings else None, name="toy")


@pytest.fixture
def two_routes() -> Network:
    # A -> C -> B (fast, narrow) and A -> D -> B (slow, wide); 3000 veh/h from A to B
    return road([("A", "C", 1000.0, 30.0), ("C", "B", 1000.0, 30.0), ("A", "D", 2000.0, 45.0),
                 ("D", "B", 2000.0, 45.0)], [("A", "B", 3000.0)])


def test_dataset_has_units_and_equilibrium(two_routes):
    ds = traffic_assignment(two_routes, rgap=1e-10)
    # linear costs: t_fast = 60 + 0.06 x, t_slow = 90 + 0.045 (3000 - x)
    x = (90 - 60 + 0.045 * 3000) / (0.06 + 0.045)
    np.testing.assert_allclose(ds.flow_vph.sel(link=["A-C", "C-B", "A-D", "D-B"]), [x, x, 3000 - x, 3000 - x],
                               rtol=1e-8)
    for name in ("flow_vph", "travel_time_s", "speed_mps", "volume_capacity_ratio", "relative_gap",
                 "average_excess_cost_s", "cost_s"):
        assert ds[name].attrs["units"] and ds[name].attrs["long_name"]
    assert ds.relative_gap.dims == ("iteration",) and ds.attrs["relative_gap"] <= 1e-10
    t = ds.travel_time_s.values
    assert ds.attrs["total_system_travel_time_vh"] == pytest.approx(float(ds.flow_vph.values @ t) / 3600)
    np.testing.assert_allclose(ds.speed_mps, 1000.0 / t)
    assert ds.attrs["solver"] == "bfw" and ds.attrs["network"] == "toy"


def test_first_thru_node_rule_is_applied():
    # zone C sits between A and B; with first_thru_node = 4 (zones 1..3) no path may pass through it
    net = road([("1", "3", 1000.0, 10.0), ("3", "2", 1000.0, 10.0), ("1", "4", 1000.0, 50.0),
                ("4", "2", 1000.0, 50.0)], [("1", "2", 100.0)], zones=("1", "2", "3"), first_thru_node=4)
    ds = traffic_assignment(net)
    assert float(ds.flow_vph.sel(link="1-3")) == 0.0 and float(ds.flow_vph.sel(link="4-2")) == 100.0


def test_generalised_cost_weights(two_routes):
    toll = two_routes.set("link", "A-C", toll=100.0)
    ds = traffic_assignment(toll, cost={"toll": 10.0}, rgap=1e-10)
    plain = traffic_assignment(two_routes, rgap=1e-10)
    assert float(ds.flow_vph.sel(link="A-C")) < float(plain.flow_vph.sel(link="A-C"))
    assert float(ds.cost_s.sel(link="A-C")) == pytest.approx(float(ds.travel_time_s.sel(link="A-C")) + 1000.0)
    with pytest.raises(ValueError, match="unknown cost weight"):
        traffic_assignment(two_routes, cost={"tolls": 1.0})


def test_closed_link_carries_no_flow(two_routes):
    ds = traffic_assignment(two_routes.set("link", "A-C", in_service=False))
    assert float(ds.flow_vph.sel(link="A-C")) == 0.0 and float(ds.flow_vph.sel(link="A-D")) == 3000.0
    assert np.isinf(float(ds.travel_time_s.sel(link="A-C")))


def test_zone_without_outgoing_link_is_named():
    net = road([("C", "A", 1000.0, 10.0), ("C", "B", 1000.0, 10.0)], [("A", "B", 100.0)])
    with pytest.raises(NetworkError, match="zone 'A' sends 100 veh/h.*node 'A' has no open link out of it"):
        traffic_assignment(net)


def test_unreachable_pair_is_named():
    net = road([("A", "C", 1000.0, 10.0), ("B", "C", 1000.0, 10.0), ("C", "A", 1000.0, 10.0)],
               [("A", "B", 100.0)])
    with pytest.raises(NetworkError, match="zone 'B' receives"):
        traffic_assignment(net)
    net = road([("A", "C", 1000.0, 10.0), ("C", "A", 1000.0, 10.0), ("B", "D", 1000.0, 10.0),
                ("D", "B", 1000.0, 10.0)], [("A", "B", 100.0)])
    with pytest.raises(NetworkError, match="from zone 'A' to zone 'B' have no path"):
        traffic_assignment(net)


def test_zero_capacity_and_negative_demand_are_named(two_routes):
    with pytest.raises(ValueError, match="capacity_vph.*'A-C'"):
        two_routes.set("link", "A-C", capacity_vph=0.0)
    with pytest.raises(ValueError, match="trips_vph.*'A>B'"):
        two_routes.set("trips", "A>B", trips_vph=-5.0)
    # a closed link may keep a capacity of anything; open ones are checked before solving
    ds = traffic_assignment(two_routes.set("link", "A-C", in_service=False))
    assert ds.attrs["relative_gap"] <= 1e-5


def test_bad_options(two_routes):
    with pytest.raises(ValueError, match="algorithm"):
        traffic_assignment(two_routes, algorithm="msa")
    three = two_routes.add("node", [dict(id="E")]).add(
        "link", [dict(id=f"{a}-{b}", from_node=a, to_node=b, capacity_vph=1500.0, length_m=1.0, free_flow_time_s=40.0)
                 for a, b in (("A", "E"), ("E", "B"))])
    with pytest.raises(ConvergenceError, match="fw stopped") as info:
        traffic_assignment(three, algorithm="fw", rgap=1e-12, max_iterations=2)
    assert info.value.iterations == 2 and info.value.result.sizes["iteration"] == 3


def test_warm_start_from_solution_and_after_closure(two_routes):
    base = traffic_assignment(two_routes, rgap=1e-9)
    again = traffic_assignment(two_routes, rgap=1e-8, warm_start=base)
    assert again.attrs["iterations"] == 0 and again.attrs["warm_start"] == 1
    closed = two_routes.set("link", "C-B", in_service=False).add(
        "link", [dict(id="C-D", from_node="C", to_node="D", capacity_vph=5000.0, length_m=10.0,
                      free_flow_time_s=1.0)])
    with pytest.raises(NetworkError, match="no flow for link"):
        traffic_assignment(closed, warm_start=base)
    flows = base.flow_vph.to_series().reindex(closed.link.index).fillna(0.0)
    warm = traffic_assignment(closed, rgap=1e-9, warm_start=flows)
    cold = traffic_assignment(closed, rgap=1e-9)
    np.testing.assert_allclose(warm.flow_vph, cold.flow_vph, rtol=1e-6)
    assert float(warm.flow_vph.sel(link="C-B")) == 0.0


def test_warm_start_with_other_trips_is_refused(two_routes):
    base = traffic_assignment(two_routes)
    with pytest.raises(NetworkError, match="do not carry this network's trips"):
        traffic_assignment(two_routes.set("trips", "A>B", trips_vph=10.0), warm_start=base)


def test_travel_times_for_crews(two_routes):
    free = travel_times(two_routes, None, ["A", "C"], ["B", "D", "A"])
    np.testing.assert_allclose(free.values, [[60.0, 45.0, 0.0], [30.0, np.inf, np.inf]])
    assert free.attrs["units"] == "s" and free.dims == ("origin", "destination")
    ds = traffic_assignment(two_routes, rgap=1e-10)
    loaded = travel_times(two_routes, ds, "A", "B")
    t = ds.travel_time_s.values
    assert float(loaded.item()) == pytest.approx(t[0] + t[1])
    closed = two_routes.set("link", "A-C", in_service=False)
    assert float(travel_times(closed, ds, "A", "B").item()) == pytest.approx(t[2] + t[3])
    with pytest.raises(NetworkError, match="not in the road network"):
        travel_times(two_routes, None, "Z")


def test_conformance_inputs_untouched_deterministic_and_thread_independent(two_routes):
    import numba

    before = two_routes.fingerprint()
    first = traffic_assignment(two_routes, rgap=1e-10)
    second = traffic_assignment(two_routes, rgap=1e-10)
    assert two_routes.fingerprint() == before
    np.testing.assert_array_equal(first.flow_vph, second.flow_vph)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = traffic_assignment(two_routes, rgap=1e-10)
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_allclose(one.flow_vph, first.flow_vph, rtol=1e-12)
    assert (first.relative_gap.values >= 0).all() and first.attrs["converged"] == 1
