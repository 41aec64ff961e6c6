"""twin.hydraulics on analytic networks, mass balance, stepping (pause/resume) and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import LineString, Point

from tests.reference.water_reference import dense_gga, hazen_williams_loss_si
from twin.errors import NetworkError
from twin.water.simulation import HydraulicSimulation, hydraulics
from twin.io import read_inp
from twin.model import Network

DATA = Path(__file__).resolve().parents[2] / "data" / "water"


def water(nodes: dict, pipes: list, *, pumps=(), curves=(), tanks=(), demands=(), settings=None) -> Network:
    """A small water network: nodes {id: (kind, value)}, pipes (id, a, b, L, d, C)."""
    xy = {n: Point(i * 10.0, 0.0) for i, n in enumerate(list(nodes) + [t["id"] for t in tanks])}
    tables = {
        "junction": [dict(id=n, elevation_m=v, geometry=xy[n]) for n, (k, v) in nodes.items() if k == "J"],
        "reservoir": [dict(id=n, head_m=v, geometry=xy[n]) for n, (k, v) in nodes.items() if k == "R"],
        "tank": [dict(geometry=xy[t["id"]], **t) for t in tanks],
        "pipe": [dict(id=i, start_node=a, end_node=b, length_m=L, diameter_m=d, roughness=c,
                      geometry=LineString([xy[a], xy[b]])) for i, a, b, L, d, c in pipes],
        "pump": [dict(geometry=LineString([xy[p["start_node"]], xy[p["end_node"]]]), **p) for p in pumps],
        "curve": list(curves),
        "demand": [dict(id=f"{j}#1", junction=j, base_demand_m3s=q) for j, q in demands],
    }
    base = {"flow_units": "LPS", "headloss": "H-W", "accuracy": 1e-8, "trials": 200}
    return Network(tables, crs="EPSG:3067", name="test", settings={"water": {**base, **(settings or {})}})


def test_one_pipe_matches_hazen_williams() -> None:
    net = water({"J1": ("J", 0.0), "R1": ("R", 50.0)}, [("P1", "R1", "J1", 1000.0, 0.3, 120.0)],
                demands=[("J1", 0.05)])
    ds = hydraulics(net)
    loss = hazen_williams_loss_si(0.05, 1000.0, 0.3, 120.0)
    assert float(ds["head"].sel(node="J1")[0]) == pytest.approx(50.0 - loss, rel=1e-4)
    assert float(ds.flow.sel(link="P1")[0]) == pytest.approx(0.05, rel=1e-9)


def test_series_and_parallel_pipes() -> None:
    pipes = [("A", "R1", "J1", 500.0, 0.3, 120.0), ("B", "J1", "J2", 500.0, 0.3, 120.0),
             ("C", "J1", "J2", 500.0, 0.3, 120.0)]
    net = water({"J1": ("J", 0.0), "J2": ("J", 0.0), "R1": ("R", 50.0)}, pipes, demands=[("J2", 0.06)])
    ds = hydraulics(net).isel(time=0)
    q = ds.flow.values
    assert q[1] == pytest.approx(0.03, rel=1e-8) and q[2] == pytest.approx(0.03, rel=1e-8)
    drop = 50.0 - float(ds["head"].sel(node="J2"))
    expect = hazen_williams_loss_si(0.06, 500.0, 0.3, 120.0) + hazen_williams_loss_si(0.03, 500.0, 0.3, 120.0)
    assert drop == pytest.approx(expect, rel=1e-4)


def test_looped_network_matches_dense_reference() -> None:
    nodes = {f"J{i}": ("J", 0.0) for i in range(4)} | {"R1": ("R", 60.0), "R2": ("R", 55.0)}
    pipes = [("P0", "R1", "J0", 800.0, 0.4, 110.0), ("P1", "J0", "J1", 600.0, 0.3, 120.0),
             ("P2", "J1", "J2", 700.0, 0.25, 100.0), ("P3", "J2", "J3", 400.0, 0.3, 130.0),
             ("P4", "J3", "J0", 900.0, 0.2, 90.0), ("P5", "R2", "J2", 500.0, 0.3, 120.0),
             ("P6", "J1", "J3", 300.0, 0.15, 100.0)]
    dem = [("J1", 0.03), ("J2", 0.02), ("J3", 0.04)]
    ds = hydraulics(water(nodes, pipes, demands=dem)).isel(time=0)
    idx = {n: i for i, n in enumerate(nodes)}
    start = np.array([idx[p[1]] for p in pipes])
    end = np.array([idx[p[2]] for p in pipes])
    r = np.array([10.667 * p[3] / (p[5] ** 1.852 * p[4] ** 4.871) for p in pipes])
    d = np.zeros(4)
    for j, q in dem:
        d[idx[j]] = q
    h, q = dense_gga(4, start, end, r, 1.852, d, np.array([60.0, 55.0]))
    np.testing.assert_allclose(ds["head"].values[:4], h, atol=2e-3)
    np.testing.assert_allclose(ds.flow.values, q, rtol=1e-3, atol=1e-7)  # 10.667 vs EPANET's 4.727 ft-cfs


def test_pump_against_reservoir() -> None:
    curve = [dict(id="C:0", curve="C", curve_type="HEAD", point=0, x=0.05, y=30.0)]
    net = water({"J1": ("J", 0.0), "R1": ("R", 10.0), "R2": ("R", 30.0)},
                [("P1", "J1", "R2", 1000.0, 0.3, 120.0)],
                pumps=[dict(id="PU", start_node="R1", end_node="J1", head_curve="C")], curves=curve)
    ds = hydraulics(net).isel(time=0)
    q = float(ds.flow.sel(link="PU"))
    gain = 1.33334 * 30.0 * (1 - (q / 0.1) ** 2)   # one-point curve: h0 = 4/3 h1, zero at 2 q1
    hj = float(ds["head"].sel(node="J1"))
    assert hj == pytest.approx(10.0 + gain, abs=2e-3)
    assert hj - 30.0 == pytest.approx(hazen_williams_loss_si(q, 1000.0, 0.3, 120.0), rel=1e-3)


@pytest.mark.parametrize("name", ["Net3", "Net2"])
def test_mass_balance_at_every_junction(name: str) -> None:
    net = read_inp(DATA / f"{name}.inp")
    ds = hydraulics(net, duration_s=7200)
    pos = {n: i for i, n in enumerate(ds.node.values)}
    kinds = ("pipe", "pump", "valve")
    start = np.concatenate([[pos[a] for a in net.tables[k].start_node] for k in kinds]).astype(int)
    end = np.concatenate([[pos[b] for b in net.tables[k].end_node] for k in kinds]).astype(int)
    for t in range(ds.sizes["time"]):
        q = ds.flow.values[t]
        inflow = np.bincount(end, q, len(pos)) - np.bincount(start, q, len(pos))
        nj = ds.sizes["junction"]
        # exact to round-off except next to active PRVs, whose flow closes the balance only to the
        # file's ACCURACY (L-TOWN: 0.01, so up to 3e-4 m3/s there), as in EPANET
        np.testing.assert_allclose(inflow[:nj], ds.demand.values[t, :nj], atol=2e-5)


def test_pause_and_resume_equals_continuous() -> None:
    net = read_inp(DATA / "Net1.inp")
    whole = hydraulics(net)
    sim = HydraulicSimulation(net)
    for t in (3600, 7200, 36000, 50000 - 50000 % 3600):
        sim.advance(t)
    paused = sim.results()
    for var in ("head", "flow", "tank_level", "status"):
        np.testing.assert_array_equal(paused[var].values, whole[var].values)


def test_closing_a_pipe_mid_run_changes_only_what_follows() -> None:
    net = read_inp(DATA / "Net1.inp")
    base = hydraulics(net)
    sim = HydraulicSimulation(net)
    sim.advance(7200)
    sim.set_link_status("110", False)
    ds = sim.results()
    np.testing.assert_array_equal(ds["head"].values[:2], base["head"].values[:2])
    assert float(ds.flow.sel(link="110")[2]) == 0.0
    assert not np.allclose(ds["head"].values[2], base["head"].values[2])


def test_demand_multiplier() -> None:
    net = read_inp(DATA / "Net1.inp")
    sim = HydraulicSimulation(net, duration_s=0)
    sim.set_demand_multiplier(1.5)
    ds = sim.results()
    ref = hydraulics(net, duration_s=0)
    np.testing.assert_allclose(ds.demand_requested.values, 1.5 * ref.demand_requested.values)


def test_results_carry_units_and_long_names() -> None:
    ds = hydraulics(read_inp(DATA / "Net1.inp"), duration_s=0)
    for name, var in ds.data_vars.items():
        assert var.attrs["units"] and var.attrs["long_name"], name
    assert ds.time.attrs["units"] == "s"


def test_unconnected_junction_is_named() -> None:
    net = water({"J1": ("J", 0.0), "J9": ("J", 0.0), "R1": ("R", 50.0)},
                [("P1", "R1", "J1", 1000.0, 0.3, 120.0)])
    with pytest.raises(NetworkError, match="J9"):
        hydraulics(net)


def test_tank_without_outlet_is_named() -> None:
    tank = dict(id="T1", elevation_m=10.0, initial_level_m=2.0, max_level_m=5.0, diameter_m=10.0)
    net = water({"J1": ("J", 0.0), "R1": ("R", 50.0)}, [("P1", "R1", "J1", 1000.0, 0.3, 120.0)], tanks=[tank])
    with pytest.raises(NetworkError, match="T1"):
        hydraulics(net)


def test_pump_curve_that_cannot_be_fitted_is_named() -> None:
    curve = [dict(id=f"C:{i}", curve="C", curve_type="HEAD", point=i, x=x, y=y)
             for i, (x, y) in enumerate([(0.0, 30.0), (0.05, 40.0), (0.1, 0.0)])]
    net = water({"J1": ("J", 0.0), "R1": ("R", 10.0), "R2": ("R", 30.0)},
                [("P1", "J1", "R2", 1000.0, 0.3, 120.0)],
                pumps=[dict(id="PU7", start_node="R1", end_node="J1", head_curve="C")], curves=curve)
    with pytest.raises(NetworkError, match="PU7"):
        hydraulics(net)


def test_junction_cut_off_under_pda_gets_zero_demand() -> None:
    pipes = [("P1", "R1", "J1", 1000.0, 0.3, 120.0), ("P2", "J1", "J2", 100.0, 0.3, 120.0)]
    net = water({"J1": ("J", 0.0), "J2": ("J", 0.0), "R1": ("R", 50.0)}, pipes,
                demands=[("J1", 0.01), ("J2", 0.01)],
                settings={"demand_model": "PDA", "minimum_pressure_m": 0.0, "required_pressure_m": 20.0})
    sim = HydraulicSimulation(net, duration_s=0)
    sim.set_link_status("P2", False)
    ds = sim.results().isel(time=0)
    assert float(ds.demand_delivered.sel(junction="J2")) == pytest.approx(0.0, abs=1e-6)
    assert float(ds.demand_delivered.sel(junction="J1")) == pytest.approx(0.01, abs=3e-6)  # EPANET PDA tolerance


def test_hold_link_keeps_a_pump_off_against_its_tank_controls() -> None:
    net = read_inp(DATA / "Net1.inp")
    free = HydraulicSimulation(net).results(report_only=False)
    assert (free.status.sel(link="9").values == 1).any()   # the controls run pump 9
    sim = HydraulicSimulation(net)
    sim.hold_link("9", "CLOSED")
    assert sim.held_links == {"9": "CLOSED"} and not sim.is_link_open("9")
    sim.advance(12 * 3600)
    sim.hold_link("9", None)
    assert sim.held_links == {}
    ds = sim.results(report_only=False)
    t = ds.time.values
    held = ds.status.sel(link="9").values[t < 12 * 3600]
    assert (held == 0).all() and (ds.flow.sel(link="9").values[t < 12 * 3600] == 0).all()
    assert (ds.status.sel(link="9").values[t >= 12 * 3600] == 1).any()   # controls act again


def test_held_pump_with_a_speed_pattern_stays_closed(tmp_path: Path) -> None:
    # pump 9 of Net1 driven by a speed pattern (every period reopens it) instead of tank controls
    text = (DATA / "Net1.inp").read_text()
    text = text.replace("HEAD 1\t;", "HEAD 1 PATTERN SPD\t;", 1)
    text = text.replace(" LINK 9 OPEN IF NODE 2 BELOW 110\n LINK 9 CLOSED IF NODE 2 ABOVE 140\n", "")
    text = text.replace("[PATTERNS]\n", "[PATTERNS]\n SPD 1.0 0.9 1.0 0.8\n", 1)
    path = tmp_path / "speed.inp"
    path.write_text(text)
    net = read_inp(path)
    free = HydraulicSimulation(net).results(report_only=False)
    assert (free.status.sel(link="9").values == 1).all()     # the pattern keeps it running
    sim = HydraulicSimulation(net)
    sim.hold_link("9", "CLOSED")
    sim.advance(10 * 3600)
    sim.hold_link("9", None)
    ds = sim.results(report_only=False)
    t = ds.time.values
    assert (t < 10 * 3600).sum() >= 5
    assert (ds.status.sel(link="9").values[t < 10 * 3600] == 0).all()
    assert (ds.flow.sel(link="9").values[t < 10 * 3600] == 0).all()
    # released: the next pattern period turns it on again
    assert (ds.status.sel(link="9").values[t >= 12 * 3600] == 1).all()


def test_hold_link_open_and_rules_cannot_change_a_held_link() -> None:
    net = read_inp(DATA / "MICROPOLIS_v1.inp")
    sim = HydraulicSimulation(net, duration_s=24 * 3600)
    sim.hold_link("HSP#1", "OPEN")
    ds = sim.results(report_only=False)
    assert (ds.status.sel(link="HSP#1").values != 0).all()
    free = hydraulics(net, duration_s=24 * 3600, report_only=False)
    assert (free.status.sel(link="HSP#1").values == 0).any()   # its rules close it when free
    with pytest.raises(ValueError, match="status must be"):
        sim.hold_link("HSP#1", "ACTIVE")
    with pytest.raises(NetworkError, match="nope"):
        sim.hold_link("nope", "CLOSED")


def test_one_advance_per_step_keeps_every_solve_and_its_iterations() -> None:
    """Stepping keeps its rows in one record buffer across calls (more steps than the first
    buffer holds) and calls the compiled kernel's entry point: same rows and iterations."""
    net = read_inp(DATA / "L-TOWN.inp")      # 5-min hydraulic steps
    whole = HydraulicSimulation(net, duration_s=86400)
    whole.finish()
    sim = HydraulicSimulation(net, duration_s=86400)
    for t in range(300, 86400 + 300, 300):    # 288 calls: the buffers fill and grow
        sim.advance(t)
        assert len(sim.iterations) == sim.engine.clk[-1]    # NSOLVES: iterations noted per call
    sim.finish()
    assert sim.engine._run_to_ep[0] is not None   # the entry point was used
    a = whole.results(report_only=False)
    b = sim.results(report_only=False)
    np.testing.assert_array_equal(a.time.values, b.time.values)
    np.testing.assert_array_equal(a["head"].values, b["head"].values)
    np.testing.assert_array_equal(a.flow.values, b.flow.values)
    assert whole.iterations == sim.iterations
