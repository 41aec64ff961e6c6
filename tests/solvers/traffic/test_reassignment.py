"""twin.traffic.Assignment: one compiled network re-solved with closures, capacity cuts, scaled
demand and warm starts, each equal to solving the correspondingly edited network from scratch."""

from __future__ import annotations

import numpy as np
import pytest

from tests.solvers.traffic.test_assignment import road
from twin.errors import ConvergenceError, NetworkError
from twin.traffic import Assignment, traffic_assignment


@pytest.fixture
def net():
    # two routes A -> B joined by C-D, plus a spur zone E reached only over A-E;
    # 3000 veh/h A -> B, 100 veh/h A -> E
    return road([("A", "C", 1000.0, 30.0), ("C", "B", 1000.0, 30.0), ("A", "D", 2000.0, 45.0),
                 ("D", "B", 2000.0, 45.0), ("A", "E", 1000.0, 10.0), ("E", "A", 1000.0, 10.0),
                 ("C", "D", 5000.0, 5.0)],
                [("A", "B", 3000.0), ("A", "E", 100.0)], zones=("A", "B", "E"))


def test_plain_solve_equals_traffic_assignment(net):
    roads = Assignment(net)
    ds = roads.solve(rgap=1e-10)
    ref = traffic_assignment(net, rgap=1e-10)
    np.testing.assert_array_equal(ds.flow_vph.values, ref.flow_vph.values)
    assert ds.attrs["closed_links"] == 0 and ds.attrs["demand_multiplier"] == 1.0
    assert ds.attrs["unreachable_demand_vph"] == 0.0 and list(roads.link_ids) == list(ds.link.values)
    assert "Assignment('toy'" in repr(roads)


@pytest.mark.parametrize("algorithm", ["bfw", "bush"])
def test_conditions_equal_edited_networks(net, algorithm):
    roads = Assignment(net)
    kw = dict(rgap=1e-10, algorithm=algorithm)
    closed = roads.solve(closed_links=["C-B"], **kw)
    np.testing.assert_allclose(closed.flow_vph, traffic_assignment(net.set("link", "C-B", in_service=False),
                                                                   **kw).flow_vph, rtol=1e-7, atol=1e-6)
    assert closed.attrs["closed_links"] == 1 and np.isinf(float(closed.travel_time_s.sel(link="C-B")))
    cut = roads.solve(capacity_factor={"A-C": 0.5}, **kw)
    np.testing.assert_allclose(cut.flow_vph, traffic_assignment(net.set("link", "A-C", capacity_vph=500.0),
                                                                **kw).flow_vph, rtol=1e-7)
    more = roads.solve(demand_multiplier=1.5, **kw)
    edited = net.set("trips", "A>B", trips_vph=4500.0).set("trips", "A>E", trips_vph=150.0)
    np.testing.assert_allclose(more.flow_vph, traffic_assignment(edited, **kw).flow_vph, rtol=1e-7)
    assert more.attrs["total_demand_vph"] == pytest.approx(4650.0)
    # array and scalar forms of the same conditions
    mask = np.isin(roads.link_ids, ["C-B"])
    np.testing.assert_array_equal(roads.solve(closed_links=mask, **kw).flow_vph, closed.flow_vph)
    halved = roads.solve(capacity_factor=0.5, **kw)
    each = roads.solve(capacity_factor={k: 0.5 for k in roads.link_ids}, **kw)
    np.testing.assert_array_equal(halved.flow_vph, each.flow_vph)
    np.testing.assert_array_equal(halved.flow_vph, roads.solve(capacity_factor=np.full(7, 0.5), **kw).flow_vph)


def test_warm_start_after_closure_matches_cold(net):
    roads = Assignment(net)
    base = roads.solve(rgap=1e-10)
    warm = roads.solve(closed_links=["C-B"], warm_start=base, rgap=1e-10)
    cold = roads.solve(closed_links=["C-B"], rgap=1e-10)
    assert warm.attrs["warm_start"] == 1
    np.testing.assert_allclose(warm.flow_vph, cold.flow_vph, rtol=1e-8)
    assert float(warm.flow_vph.sel(link="C-B")) == 0.0
    with pytest.raises(NetworkError, match="no detour"):
        roads.solve(closed_links=["A-C"], warm_start=base)
    # bushes of the base case restart Algorithm B under a capacity cut
    bush = roads.solve(algorithm="bush", rgap=1e-10)
    again = roads.solve(algorithm="bush", capacity_factor={"A-D": 0.8}, warm_start=bush, rgap=1e-10)
    ref = roads.solve(algorithm="bush", capacity_factor={"A-D": 0.8}, rgap=1e-10)
    assert again.attrs["warm_start"] == 1
    np.testing.assert_allclose(again.flow_vph, ref.flow_vph, rtol=1e-7)


def test_unreachable_trips_raise_or_are_dropped(net):
    roads = Assignment(net)
    with pytest.raises(NetworkError, match="from zone 'A' to zone 'E' have no path"):
        roads.solve(closed_links=["A-E"])
    ds = roads.solve(closed_links=["A-E"], unreachable="drop", rgap=1e-10)
    assert ds.attrs["unreachable_demand_vph"] == pytest.approx(100.0)
    assert ds.attrs["total_demand_vph"] == pytest.approx(3000.0)
    mask = roads.unreachable_trips(roads.problem(closed_links=["A-E"]))
    assert mask.sum() == 1 and mask[0, 2]


def test_bad_conditions_are_named(net):
    roads = Assignment(net)
    with pytest.raises(NetworkError, match="link 'Z-Z' is not in the road network"):
        roads.solve(closed_links=["Z-Z"])
    with pytest.raises(NetworkError, match="link 'Z-Z'"):
        roads.solve(capacity_factor={"Z-Z": 0.5})
    with pytest.raises(ValueError, match="capacity_factor of link 'A-C' is 0.0"):
        roads.solve(capacity_factor={"A-C": 0.0})
    with pytest.raises(ValueError, match="demand_multiplier"):
        roads.solve(demand_multiplier=-1.0)
    with pytest.raises(ValueError, match="closed_links mask"):
        roads.solve(closed_links=np.zeros(2, bool))
    with pytest.raises(ValueError, match="unreachable"):
        roads.solve(unreachable="ignore")
    with pytest.raises(ValueError, match="algorithm"):
        roads.solve(algorithm="msa")
    with pytest.raises(NetworkError, match="node 'Q'"):
        roads.node_index("Q")
    with pytest.raises(ConvergenceError) as info:
        roads.solve(algorithm="fw", rgap=1e-14, max_iterations=0)
    assert info.value.result.attrs["iterations"] == 0


def test_solves_leave_the_base_untouched(net):
    roads = Assignment(net)
    first = roads.solve(rgap=1e-10)
    roads.solve(closed_links=["A-C"], capacity_factor=0.3, demand_multiplier=2.0, rgap=1e-6)
    again = roads.solve(rgap=1e-10)
    np.testing.assert_array_equal(first.flow_vph, again.flow_vph)
    np.testing.assert_array_equal(roads.capacity_vph, [1000.0, 1000.0, 2000.0, 2000.0, 1000.0, 1000.0, 5000.0])


def test_link_and_node_travel_times(net):
    roads = Assignment(net)
    free = roads.link_travel_times()
    np.testing.assert_array_equal(free, [30.0, 30.0, 45.0, 45.0, 10.0, 10.0, 5.0])
    ds = roads.solve(rgap=1e-10)
    t = roads.link_travel_times(ds)
    np.testing.assert_allclose(t, ds.travel_time_s.values)
    closed = roads.link_travel_times(ds, closed_links=["A-C"], capacity_factor={"A-D": 0.5})
    assert np.isinf(closed[0]) and closed[2] > t[2]
    tt = roads.travel_times(["A"], ["B", "E"], link_time_s=closed)
    np.testing.assert_allclose(tt.values, [[closed[2] + closed[3], closed[4]]])
    assert tt.dims == ("origin", "destination") and tt.attrs["units"] == "s"
    assert float(roads.travel_times("A", "B").item()) == 60.0
    with pytest.raises(ValueError, match="link_time_s"):
        roads.travel_times("A", "B", link_time_s=np.ones(2))
