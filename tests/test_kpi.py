"""The known cascade of a small hand-built city, checked event by event and KPI by KPI.

Line L1 trips at 1 h -> bus MV2 de-energised -> pump PU1 on its 2 h backup -> pump stops at 3 h
-> tank T1 drains and the pressure at J2 falls below 40 m -> the power crew (from road node 3,
8 s away over link 3-1) repairs L1 in 4 h -> MV2 energised -> pump restarts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.sim.cascade_city import REPAIR_H, TRIP_S, cascade_city, cascade_config, cascade_events
from twin import kpi
from twin.sim import Engine, chain_of


@pytest.fixture(scope="module")
def cascade():
    city = cascade_city()
    return city, Engine(city, cascade_config(), cascade_events()).run()


def _one(events: pd.DataFrame, asset: str, kind: str) -> pd.Series:
    rows = events[(events.asset == asset) & (events.kind == kind)]
    assert len(rows) == 1, f"expected one {kind} of {asset}, got {len(rows)}"
    return rows.iloc[0]


def test_event_log_is_the_known_chain(cascade):
    _, res = cascade
    ev = res.events
    trip = _one(ev, "line:L1", "outage")
    dark = _one(ev, "bus:MV2", "de-energised")
    backup = _one(ev, "pump:PU1", "on_backup")
    stop = _one(ev, "pump:PU1", "stopped")
    low = _one(ev, "water:pressure", "low_pressure")
    arrived = _one(ev, "line:L1", "crew_arrived")
    repaired = _one(ev, "line:L1", "repaired")
    back = _one(ev, "bus:MV2", "energised")
    restart = _one(ev, "pump:PU1", "restarted")
    assert trip.time_s == dark.time_s == backup.time_s == TRIP_S
    assert stop.time_s == TRIP_S + 2 * 3600 and low.time_s == stop.time_s
    assert 0 < arrived.time_s - TRIP_S < 60  # 100 m of road at free flow: 8 s
    assert repaired.time_s == pytest.approx(arrived.time_s + REPAIR_H * 3600)
    assert back.time_s == restart.time_s == repaired.time_s
    assert dark.cause == trip.id and backup.cause == dark.id and restart.cause == back.id
    assert chain_of(ev, int(low.id)).kind.tolist() == ["outage", "de-energised", "backup_exhausted", "stopped",
                                                       "low_pressure"]
    assert chain_of(ev, int(restart.id)).kind.tolist()[:2] == ["outage", "crew_requested"]
    assert "signal:X2" not in set(ev.asset)  # X2 hangs on MV1, which keeps its supply


def test_water_follows_the_pump(cascade):
    _, res = cascade
    w = res.datasets["water"]
    t = w.time.values
    off = (t > TRIP_S + 2 * 3600 - 1) & (t < 18008)
    assert (w.status.sel(link="PU1").values[off] == 0).all()
    assert (w.status.sel(link="PU1").values[(t >= 2 * 900) & ~off] == 1).all()
    level = w.tank_level.sel(tank="T1").values[off]
    assert (np.diff(level) < 0).all() and level[0] - level[-1] > 1.5  # drains 1.7 m in 2 h
    p = w.pressure.sel(node="J2").values
    assert p[off].max() < 30 < 56 < p[(t > 3600) & (t < 3 * 3600)].min()


def test_kpis_of_the_known_cascade(cascade):
    city, res = cascade
    s = kpi.summary(res.datasets, city, res.events, threshold_m=40.0).set_index("kpi").value
    out_h = 17 * 0.25  # MV2 dark at the 17 reporting times 1.0 h ... 5.0 h
    assert s["unserved_energy_mwh"] == pytest.approx(0.3 * out_h)
    assert s["customer_outage_h"] == pytest.approx(1200 * out_h)  # LD1 serves all of D1
    # J2 below 40 m: the first 0.5 h (tank filling) and 3.0 h ... 5.25 h (10 steps)
    assert s["pressure_deficit_junction_h"] == pytest.approx(0.5 + 2.5)
    repaired = res.events.set_index("kind").loc["repaired", "time_s"]
    assert s["time_to_full_restoration_h"] == pytest.approx((repaired - TRIP_S) / 3600)
    assert s["assets_out_at_end"] == 0
    # PDA: delivered = demand * sqrt(p / 40 m) below 40 m
    w = res.datasets["water"]
    p = w.pressure.sel(node="J2").values
    expected = 0.004 * np.clip(np.sqrt(np.clip(p, 0, None) / 40.0), 0, 1)
    weights = kpi.step_weights(w.time.values)
    ratio = (expected * weights).sum() / (0.004 * weights.sum())
    assert s["water_served_ratio"] == pytest.approx(ratio, rel=1e-3)
    assert 0.9 < s["water_served_ratio"] < 0.97


def test_scorecard_and_equity(cascade):
    city, res = cascade
    card = kpi.scorecard(res.datasets, city, threshold_m=40.0)
    assert card.loc["D1", "population"] == 1200
    assert card.loc["D1", "customer_outage_h"] == pytest.approx(1200 * 4.25)
    eq = kpi.equity(card)
    assert eq.loc["customer_outage_h", "worst_district"] == "D1"
    assert eq.loc["customer_outage_h", "population_weighted_mean"] == pytest.approx(5100.0)


def test_restoration_nan_when_still_out():
    ev = pd.DataFrame({"time_s": [0.0, 10.0], "asset": ["line:A", "line:B"], "kind": ["outage", "outage"]})
    r = kpi.restoration(ev)
    assert np.isnan(r["time_to_full_restoration_h"]) and r["assets_out_at_end"] == 2
    assert kpi.restoration(ev.iloc[:0])["time_to_full_restoration_h"] == 0.0


def test_scorecard_by_asset(cascade):
    city, res = cascade
    long = kpi.scorecard(res.datasets, city, 40.0, by="asset").set_index(["asset", "kpi"]).value
    assert long["load:LD1", "outage_h"] == pytest.approx(4.25)
    assert long["junction:J2", "pressure_deficit_h"] == pytest.approx(3.0)


def test_traffic_delay_per_district_adds_up():
    import twin
    from twin.sim import Event, RunConfig, simulate

    city = twin.datasets.sample_city()
    res = simulate(city, RunConfig(2 * 3600, 900, layers=("grid", "traffic"), multipliers={"traffic": 1.5}),
                   [Event(1800, "outage", "line:F7-1")])
    ds = res.datasets["traffic"]
    links = kpi.link_kpis(ds, city)
    assert set(links.district) - {""} <= set(city.district.index.astype(str))
    assert links.district.ne("").mean() > 0.9  # links placed in district polygons by geometry
    unclipped = float(((ds.total_travel_time_vh - ds.base_travel_time_vh).values * kpi.step_weights(ds.time.values))
                      .sum() / 3600.0)
    assert links.delay_vh.sum() == pytest.approx(unclipped, rel=1e-6, abs=1e-6)
    assert kpi.traffic_delay_vh(ds) == pytest.approx(unclipped, rel=1e-6)
    card = kpi.scorecard(res.datasets, city)
    assert card.traffic_delay_vh.sum() == pytest.approx(links.delay_vh[links.district != ""].sum())
    assert card.traffic_delay_vh.max() > 0
    long = kpi.by_asset(res.datasets, city)
    assert long.asset.str.startswith("link:").any()
