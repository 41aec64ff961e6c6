"""The engine on the sample city: grid outage -> dark signals -> traffic delay; backups; crews;
hazards and random failures; water pumps held off without power."""

from __future__ import annotations

import numpy as np
import pytest

import twin
from twin.errors import ScenarioError
from twin.sim import CrewSpec, Engine, Event, Fragility, Hazard, RunConfig, chain_of

F7 = ["SS02", "SS03", "SS05", "SS06", "SS10"]


@pytest.fixture(scope="module")
def city():
    return twin.datasets.sample_city()


@pytest.fixture(scope="module")
def feeder_trip(city):
    cfg = RunConfig(6 * 3600, 900, layers=("grid", "traffic"), multipliers={"traffic": 1.5})
    return Engine(city, cfg, [Event(3600, "outage", "line:F7-1")]).run()


def test_outage_deenergises_the_feeder_and_darkens_its_signals(city, feeder_trip):
    ev = feeder_trip.events
    buses = sorted(a.split(":")[1] for a in ev[ev.kind == "de-energised"].asset)
    assert buses == F7
    fed = city.couplings[(city.couplings.relation == "fed_by") & (city.couplings.src_kind == "signal")]
    expected = sorted(fed[fed.dst.isin(F7)].src)
    dark = ev[ev.kind == "dark"]
    assert sorted(a.split(":")[1] for a in dark.asset) == expected
    assert (dark.time_s == 3600).all()
    first = int(dark.id.iloc[0])
    assert chain_of(ev, first).kind.tolist() == ["outage", "de-energised", "dark"]
    pumps = ev[ev.kind == "on_backup"]
    assert sorted(pumps.asset) == ["pump:P1", "pump:P2", "pump:P3"]
    assert (ev[ev.kind == "stopped"].time_s == 3600 + 4 * 3600).all()


def test_dark_signals_cause_traffic_delay_and_unserved_load(feeder_trip):
    tr, gr = feeder_trip.datasets["traffic"], feeder_trip.datasets["grid"]
    t = tr.time.values
    assert (tr.delay_vh.values[t < 3600] == 0).all()
    assert (tr.delay_vh.values[t >= 3600] > 0).all()
    assert int(tr.signal_dark.values[-1].sum()) == 13
    assert gr.unserved_mw.values[t >= 3600].min() > 0 and (gr.unserved_mw.values[t < 3600] == 0).all()


def test_restoration_before_backup_keeps_pumps_running(city):
    cfg = RunConfig(4 * 3600, 900, layers=("grid",))
    ev = Engine(city, cfg, [Event(900, "outage", "line:F7-1", until_s=2 * 3600)]).run().events
    assert "stopped" not in set(ev.kind)
    assert set(ev[ev.kind == "lit"].time_s) == {7200.0}
    assert (ev[ev.kind == "energised"].cause == ev[ev.kind == "restoration"].id.iloc[0]).all()


def test_switching_a_tie_reenergises(city):
    cfg = RunConfig(2 * 3600, 900, layers=("grid",))
    events = [Event(900, "outage", "line:F7-1"), Event(1800, "switching", "switch:SW-TIE-6", True)]
    res = Engine(city, cfg, events).run()
    assert res.datasets["grid"].energised.values[-1].all()
    assert (res.events[res.events.kind == "energised"].time_s == 1800).all()


def test_crews_travel_and_follow_priority(city):
    cfg = RunConfig(12 * 3600, 900, layers=("grid", "traffic"),
                    crews=CrewSpec({"power": 1}, repair_hours={"power": 2.0}, depot={"power": "N0001"}))
    events = [Event(900, "outage", "line:F1-5"), Event(900, "outage", "line:F7-1")]
    ev = Engine(city, cfg, events).run().events
    order = ev[ev.kind == "crew_dispatched"].asset.tolist()
    assert order == ["line:F7-1", "line:F1-5"]  # F7-1 feeds five buses, F1-5 one
    arrived = ev[(ev.kind == "crew_arrived")].set_index("asset").time_s
    dispatched = ev[(ev.kind == "crew_dispatched")].set_index("asset").time_s
    assert ((arrived - dispatched) > 0).all()
    repaired = ev[ev.kind == "repaired"].set_index("asset").time_s
    assert repaired["line:F7-1"] == pytest.approx(arrived["line:F7-1"] + 7200)
    assert dispatched["line:F1-5"] == pytest.approx(repaired["line:F7-1"])


def test_water_pump_held_off_without_power(city):
    cfg = RunConfig(8 * 3600, 900, layers=("grid", "water"), multipliers={"water": 1.3})
    res = Engine(city, cfg, [Event(900, "outage", "bus:SS29")]).run()  # P4 has no backup
    status = res.datasets["water"].status.sel(link="P4").values
    t = res.datasets["water"].time.values
    assert (status[t >= 900] == 0).all() and status[0] == 1
    assert res.events.set_index("asset").loc["pump:P4", "kind"] == "stopped"


def test_hazard_and_random_failures_are_seeded(city):
    flood = Hazard("flood", 1800, city.district.geometry["D3"], 0.6,
                   {"bus": Fragility(0.5, 0.4), "signal": Fragility(0.4)})

    def failures(seed):
        cfg = RunConfig(3600, 900, seed=seed, layers=("grid",), hazards=(flood,), failure_rates={"line": 200.0})
        ev = Engine(city, cfg).run().events
        return ev[ev.kind == "failure"][["time_s", "asset"]].to_numpy().tolist()

    a, b = failures(3), failures(3)
    assert a == b and len(a) > 0
    inside = city.bus.geometry.intersects(city.district.geometry["D3"])
    hit = {x.split(":")[1] for _, x in a if x.startswith("bus:")}
    assert hit <= set(city.bus.index[inside])


def test_bad_event_names_the_asset(city):
    with pytest.raises(ScenarioError, match="kind:id"):
        Engine(city, RunConfig(3600, 900, layers=("grid",)), [Event(0, "outage", "F7-1")])
    with pytest.raises(KeyError, match="F7-99"):
        Engine(city, RunConfig(3600, 900, layers=("grid",)), [Event(0, "outage", "line:F7-99")])


def test_engine_timings_split_solver_and_engine(feeder_trip):
    t = feeder_trip.timings
    assert t["grid_solves"] >= 2 and t["engine_s"] >= 0
    assert np.isclose(t["wall_s"], t["engine_s"] + t["grid_solve_s"] + t["traffic_solve_s"])


def test_profiles_scale_each_layer_by_hour(city):
    grid = tuple(1.0 + 0.1 * h for h in range(24))
    traffic = tuple(0.5 if h % 2 else 1.0 for h in range(24))
    cfg = RunConfig(3 * 3600, 1800, layers=("grid", "traffic"), multipliers={"grid": 1.2},
                    profiles={"grid": grid, "traffic": traffic}, start_of_day_s=10 * 3600)
    res = Engine(city, cfg, [Event(5400, "demand", layer="grid", value=1.5)]).run()
    load = res.datasets["grid"].load_p_mw.sum("load").values
    base = float(city.load.p_mw.sum() * city.load.scaling.mean()) if "scaling" in city.load else None
    hours = 10 + res.datasets["grid"].time.values // 3600
    mult = np.where(res.datasets["grid"].time.values >= 5400, 1.5, 1.2)
    expected = mult * np.array([grid[h] for h in hours])
    np.testing.assert_allclose(load / load[0], expected / expected[0])
    if base is not None:
        assert load[0] == pytest.approx(base * 1.2 * grid[10], rel=1e-6)
    tr = res.datasets["traffic"]
    flows = tr.flow_vph.sum("link").values
    assert flows[2] == pytest.approx(flows[0] * 0.5, rel=1e-3)  # 11:00 is an odd (half-demand) hour
    assert not (res.events.kind == "demand").sum() > 1  # profiles do not flood the event log


def test_profiles_reach_water_demand(city):
    flat = Engine(city, RunConfig(2 * 3600, 3600, layers=("water",))).run().datasets["water"]
    half = RunConfig(2 * 3600, 3600, layers=("water",), profiles={"water": tuple([1.0] + [0.5] * 23)})
    ds = Engine(city, half).run().datasets["water"]
    req, req0 = ds.demand_requested.sum("junction").values, flat.demand_requested.sum("junction").values
    assert req[0] == pytest.approx(req0[0], rel=1e-9)
    np.testing.assert_allclose(req[1:], 0.5 * req0[1:], rtol=1e-9)
