"""twin.water.hydraulics_batch: every variant equals a separate run of the same modified network.

Tolerances: against a :class:`HydraulicSimulation` with the same holds / multiplier, or a
``hydraulics`` run of the network with the same leak columns, the batch is exact (same kernels,
same arithmetic: ``assert_array_equal``). Against a network whose pipe is CLOSED in its table
(the flows of a held and of an initially closed pipe start differently) and against the EPANET
2.3 toolkit on the modified .inp, heads agree to 1e-3 m (the project's EPANET tolerance:
p99 <= 1e-3 m, max <= 1e-2 m; measured here ~1e-6 m).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests.solvers.water.test_hydraulics import water
from twin.errors import NetworkError
from twin.io import read_inp
from twin.water import hydraulics_batch
from twin.water.simulation import HydraulicSimulation, hydraulics, prepare

DATA = Path(__file__).resolve().parents[2] / "data" / "water"
LTOWN = DATA / "L-TOWN.inp"
HOURS = 6 * 3600


@pytest.fixture(scope="module")
def ltown():
    return read_inp(LTOWN)


def _single(net, variant: dict, duration_s: float | None = None):
    """One run of ``net`` with the variant's holds and multiplier (the separate-run reference)."""
    sim = HydraulicSimulation(net, duration_s=duration_s)
    for k in variant.get("close", []):
        sim.hold_link(k, "CLOSED")
    for k in variant.get("open", []):
        sim.hold_link(k, "OPEN")
    if "demand_multiplier" in variant:
        sim.set_demand_multiplier(variant["demand_multiplier"])
    return sim.results()


def _with_leak(net, pipe: str, area: float, expansion: float = 0.0):
    """``net`` whose pipe ``pipe`` leaks (EPANET 2.3 [LEAKAGE]: mm² per 100 m, mm² per m)."""
    pipes = net.pipe.copy()
    for col in ("leak_area_mm2_per_100m", "leak_expansion_mm2_per_m"):
        if col not in pipes.columns:
            pipes[col] = np.nan
    pipes.loc[pipe, ["leak_area_mm2_per_100m", "leak_expansion_mm2_per_m"]] = [area, expansion]
    return net.with_table("pipe", pipes)


def _with_closed(net, pipe: str):
    pipes = net.pipe.copy()
    pipes.loc[pipe, "initial_status"] = "CLOSED"
    return net.with_table("pipe", pipes)


@pytest.mark.parametrize("workers", [1, 2])
def test_batch_equals_single_runs(workers: int) -> None:
    net = read_inp(DATA / "Net1.inp")
    variants = [{"close": ["10"]}, {"close": ["12", "21"]}, {"demand_multiplier": 1.4},
                {"open": ["9"], "name": "pump on"}, {"close": ["110"]}]
    ds = hydraulics_batch(net, variants, workers=workers,
                          variables=("head", "pressure", "flow", "status", "tank_level", "min_pressure"))
    assert ds.sizes["variant"] == 5 and ds.variant.values[3] == "pump on"
    assert (ds.error.values == "").all()
    for i, v in enumerate(variants):
        one = _single(net, v)
        got = ds.isel(variant=i)
        np.testing.assert_array_equal(got.time.values, one.time.values)
        for name in ("head", "pressure", "flow", "status", "tank_level"):
            np.testing.assert_array_equal(got[name].values, one[name].values, err_msg=f"{i} {name}")
        np.testing.assert_array_equal(got.min_pressure.values, one.pressure.min("time").values)
    # the shared model is left as it was: a plain run after the batch still equals one before it
    np.testing.assert_array_equal(hydraulics(net)["head"].values, _single(net, {})["head"].values)


def test_batch_variant_cut_off_junction_and_bad_input() -> None:
    net = water({"J1": ("J", 0.0), "J2": ("J", 0.0), "R1": ("R", 50.0)},
                [("P1", "R1", "J1", 1000.0, 0.3, 120.0), ("P2", "J1", "J2", 500.0, 0.2, 120.0)],
                demands=[("J2", 0.01)])
    ds = hydraulics_batch(net, ["P2", {"demand_multiplier": 2.0}])
    # as in EPANET, a junction cut off by a closed link floats (1e8 x its demand), no error
    assert (ds.error.values == "").all()
    assert float(ds.pressure.sel(node="J2").values[0, 0]) < -1e3
    assert float(ds.pressure.sel(node="J2").values[1, 0]) > 0
    with pytest.raises(NetworkError, match="nope"):
        hydraulics_batch(net, ["nope"])
    with pytest.raises(NetworkError, match="nope"):
        hydraulics_batch(net, [{"leak": {"nope": 1.0}}])
    with pytest.raises(ValueError, match="unknown batch variables"):
        hydraulics_batch(net, ["P2"], variables=("speed",))
    with pytest.raises(ValueError, match="unknown keys"):
        hydraulics_batch(net, [{"break": "P2"}])


def test_ltown_closures_and_leaks_equal_separate_runs(ltown) -> None:
    """L-TOWN 6 h, two threads: closures, a leak, a leak plus a closure, a demand multiplier."""
    pipes = [str(p) for p in ltown.pipe.index]
    variants = [pipes[0], pipes[200], pipes[451], {"leak": {pipes[300]: 50.0}, "name": "leak"},
                {"leak": {pipes[10]: (20.0, 2.0)}, "close": [pipes[600]]}, {"demand_multiplier": 1.25},
                pipes[904]]
    variables = ("head", "pressure", "flow", "status", "demand_delivered", "tank_level", "min_pressure")
    ds = hydraulics_batch(ltown, variants, workers=2, duration_s=HOURS, variables=variables)
    assert (ds.error.values == "").all()
    assert ds.sizes["time"] == HOURS // 300 + 1
    assert (ds.iterations.values >= ds.sizes["time"]).all()
    for i, v in enumerate(variants):
        got = ds.isel(variant=i)
        spec = {"close": [v]} if isinstance(v, str) else v
        if "leak" in spec:
            (pid, val), = spec["leak"].items()
            area, expansion = (val, 0.0) if np.isscalar(val) else val
            ref = _single(_with_leak(ltown, pid, area, expansion), {"close": spec.get("close", [])}, HOURS)
        else:
            ref = _single(ltown, spec, HOURS)
        for name in variables[:-1]:
            np.testing.assert_array_equal(got[name].values, ref[name].values, err_msg=f"{v} {name}")
        np.testing.assert_array_equal(got.min_pressure.values, ref.pressure.min("time").values)
    # a closure run equals the same network with that pipe CLOSED in its table (not bitwise: the
    # closed pipe's flow starts at 0 there), within the EPANET tolerance
    ref = hydraulics(_with_closed(ltown, pipes[200]), duration_s=HOURS)
    d = np.abs(ds["head"].isel(variant=1).values - ref["head"].values)
    assert np.percentile(d, 99) <= 1e-3 and d.max() <= 1e-2, (np.percentile(d, 99), d.max())


def test_ltown_leak_variant_moves_heads(ltown) -> None:
    pipes = [str(p) for p in ltown.pipe.index]
    ds = hydraulics_batch(ltown, [{"leak": {}}, {"leak": {pipes[300]: 500.0}}], duration_s=3600,
                          variables=("head",))
    drop = (ds["head"].isel(variant=0) - ds["head"].isel(variant=1)).values
    assert drop.min() > -1e-9 and drop.max() > 1e-3


def test_threads_equal_one_thread_and_repeat(ltown) -> None:
    pipes = [str(p) for p in ltown.pipe.index[::97]]
    one = hydraulics_batch(ltown, pipes, workers=1, duration_s=3600, variables=("pressure", "flow"))
    two = hydraulics_batch(ltown, pipes, workers=2, duration_s=3600, variables=("pressure", "flow"))
    again = hydraulics_batch(ltown, pipes, workers=2, duration_s=3600, variables=("pressure", "flow"))
    for name in ("pressure", "flow"):
        np.testing.assert_array_equal(one[name].values, two[name].values)
        np.testing.assert_array_equal(one[name].values, again[name].values)
    np.testing.assert_array_equal(one.iterations.values, two.iterations.values)
    # the shared compiled model is not changed by the threads (each has its own control mask)
    model = prepare(ltown)[0]
    assert np.asarray(model.net.c_enabled).all()


def _epanet_heads(path: Path, node_ids, duration: int, close: str | None = None) -> np.ndarray:
    from epanet import toolkit as en

    ph = en.createproject()
    en.open(ph, str(path), os.devnull, "")
    en.settimeparam(ph, en.DURATION, duration)
    if close is not None:
        en.setlinkvalue(ph, en.getlinkindex(ph, close), en.INITSTATUS, 0)
    idx = [en.getnodeindex(ph, n) for n in node_ids]
    rows = []
    en.openH(ph)
    en.initH(ph, 0)
    while True:
        t = en.runH(ph)
        if t % 300 == 0:
            rows.append([en.getnodevalue(ph, i, en.HEAD) for i in idx])
        if en.nextH(ph) <= 0:
            break
    en.closeH(ph)
    en.close(ph)
    en.deleteproject(ph)
    return np.array(rows)


def test_ltown_variants_match_epanet(ltown, tmp_path: Path) -> None:
    """A closure (EPANET INITSTATUS closed) and a leak ([LEAKAGE] added to the .inp) vs the toolkit."""
    en = pytest.importorskip("epanet.toolkit")
    pipes = [str(p) for p in ltown.pipe.index]
    closed, leaky = pipes[451], pipes[300]
    ds = hydraulics_batch(ltown, [closed, {"leak": {leaky: (80.0, 4.0)}}], workers=2, duration_s=HOURS,
                          variables=("head",))
    nodes = [str(n) for n in ds.node.values]
    ref = _epanet_heads(LTOWN, nodes, HOURS, close=closed)
    d = np.abs(ds["head"].isel(variant=0).values - ref)
    assert np.percentile(d, 99) <= 1e-3 and d.max() <= 1e-2, (np.percentile(d, 99), d.max())
    assert d.max() <= 1e-4
    if not hasattr(en, "LEAKAGEFLOW"):
        pytest.skip("EPANET toolkit without 2.3 leakage")
    text = LTOWN.read_text()
    path = tmp_path / "ltown_leak.inp"
    path.write_text(text.replace("[PATTERNS]", f"[LEAKAGE]\n {leaky} 80.0 4.0\n\n[PATTERNS]", 1))
    ref = _epanet_heads(path, nodes, HOURS)
    d = np.abs(ds["head"].isel(variant=1).values - ref)
    assert np.percentile(d, 99) <= 1e-3 and d.max() <= 1e-2, (np.percentile(d, 99), d.max())
    # and the leak is not negligible: EPANET's heads with and without it differ
    assert np.abs(ref - _epanet_heads(LTOWN, nodes, HOURS)).max() > 1e-3


def test_rules_network_runs_per_step_with_leaks() -> None:
    """MICROPOLIS has rule-based controls: the per-step path, leak variants included."""
    net = read_inp(DATA / "MICROPOLIS_v1.inp")
    assert prepare(net)[1].n_rules > 0
    pipe = str(net.pipe.index[5])
    ds = hydraulics_batch(net, [pipe, {"leak": {pipe: 30.0}}], workers=2, duration_s=3600,
                          variables=("head", "flow"))
    np.testing.assert_array_equal(ds["head"].isel(variant=0).values, _single(net, {"close": [pipe]}, 3600)["head"].values)
    ref = hydraulics(_with_leak(net, pipe, 30.0), duration_s=3600)
    np.testing.assert_array_equal(ds["head"].isel(variant=1).values, ref["head"].values)
    assert (ds.error.values == "").all() and (ds.iterations.values > 0).all()
