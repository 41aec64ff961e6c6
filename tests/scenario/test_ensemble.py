"""Scenario ensembles: serial, process-pool and Dask runs agree; a failing scenario leaves the
others; seeds, sweeps, combined datasets and KPI tables; ``twin run --executor``."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import twin
from twin.cli import main
from twin.errors import ScenarioError
from twin.scenario import Ensemble, ScenarioFailure, run_many, scenario_from_dict, scenario_variants
from twin.scenario.ensemble import _batches, seed_scenarios

#: Small and quick: a feeder trip, grid and water, 1 h at 15 min, random pipe breaks (seeded).
BASE = {"name": "trip", "description": "feeder trip with random pipe breaks", "duration": "1h",
        "layers": ["grid", "water"], "random_failures": {"pipe": 40.0},
        "events": [{"at": "00:15", "kind": "outage", "asset": "line:F7-1", "duration": "30min"}]}
BAD = {**BASE, "name": "bad", "events": [{"at": "00:15", "kind": "outage", "asset": "line:NOPE"}]}
HAS_DASK = importlib.util.find_spec("distributed") is not None


@pytest.fixture(scope="module")
def city():
    return twin.datasets.sample_city()


@pytest.fixture(scope="module")
def specs():
    """Three variants of the trip and, in the middle, one that fails (unknown line)."""
    good = scenario_variants(scenario_from_dict(BASE), {"demand.grid_multiplier": [1.0, 1.2, 1.4]})
    return [good[0], scenario_from_dict(BAD), *good[1:]]


@pytest.fixture(scope="module")
def serial(city, specs):
    return run_many(city, specs, executor="serial", seed=11)


def _assert_same(a: Ensemble, b: Ensemble) -> None:
    assert list(a) == list(b) and set(a.results) == set(b.results) and set(a.failures) == set(b.failures)
    assert a.seeds == b.seeds and a.hashes == b.hashes
    for layer, ds in a.datasets().items():
        xr.testing.assert_allclose(ds, b.datasets()[layer])
    for key, table in a.kpis().items():
        pd.testing.assert_frame_equal(table, b.kpis()[key])
    for name, res in a.results.items():
        pd.testing.assert_frame_equal(res.events, b.results[name].events)


def test_failure_leaves_the_others(serial):
    assert list(serial) == ["trip[grid_multiplier=1]", "bad", "trip[grid_multiplier=1.2]",
                            "trip[grid_multiplier=1.4]"]
    assert len(serial.results) == 3 and not serial.ok
    fail = serial["bad"]
    assert isinstance(fail, ScenarioFailure) and fail.error_type == "ScenarioError" and "NOPE" in fail.message
    assert "NOPE" in serial.failure_text()


def test_results_combine_along_scenario(serial):
    ds = serial.datasets()
    assert set(ds) == {"grid", "water"}
    g = ds["grid"]
    assert g.load_p_mw.dims == ("scenario", "time", "load") and g.sizes["scenario"] == 3
    assert "bad" not in g.scenario.values
    assert g.seed.values.tolist() == [serial.seeds[n] for n in g.scenario.values]
    assert len(set(g.scenario_hash.values.tolist())) == 3
    ratio = g.load_p_mw.sum(("time", "load")).values
    np.testing.assert_allclose(ratio / ratio[0], [1.0, 1.2, 1.4])
    summary = serial.kpis()["summary"]
    assert summary.columns[0] == "scenario" and set(summary.scenario) == set(serial.results)
    assert "scenario" in serial.kpis()["district"] and "district" in serial.kpis()["district"]
    wide = serial.summary_table()
    assert wide.index.tolist() == list(serial.results)
    assert wide.unserved_energy_mwh.is_monotonic_increasing


def test_seeds_spawn_from_the_root(specs, serial):
    seeded, root = seed_scenarios([(s.name, s) for s in specs], 11)
    assert root == 11 and serial.info["root_entropy"] == 11
    assert serial.seeds == {k: s.seed for k, s in seeded if k in serial.seeds}
    assert len(set(serial.seeds.values())) == 4  # one child seed per scenario
    kept, _ = seed_scenarios([("x", specs[0].model_copy(update={"seed": 5}))], 11)
    assert kept[0][1].seed == 5
    for name, res in serial.results.items():
        assert res.info["seed"] == serial.seeds[name]
        assert res.datasets["grid"].attrs["scenario_hash"] == serial.hashes[name]


def test_processes_match_serial(city, specs, serial):
    _assert_same(serial, run_many(city, specs, executor="processes", workers=2, seed=11))


@pytest.mark.skipif(not HAS_DASK, reason="dask.distributed is not installed (pip install 'twin[dask]')")
def test_dask_matches_serial(city, specs, serial):
    ens = run_many(city, specs, executor="dask", workers=2, batch_size=2, seed=11)
    assert ens.info["executor"] == "dask" and ens.timings["tasks"] == 2
    _assert_same(serial, ens)


def test_batches_and_bad_options(specs):
    items = [(str(i), specs[0]) for i in range(40)]
    assert [len(b) for b in _batches(items, "auto", 2)] == [3] * 13 + [1]
    assert [len(b) for b in _batches(items[:5], "auto", 2)] == [1] * 5
    assert [len(b) for b in _batches(items[:5], 2, 2)] == [2, 2, 1]
    with pytest.raises(ValueError, match="batch_size"):
        _batches(items, 0, 2)
    with pytest.raises(ValueError, match="executor"):
        run_many(None, specs[:1], executor="threads")  # type: ignore[arg-type]


def test_variants_grid_replicates_and_errors():
    base = scenario_from_dict({**BASE, "seed": 3})
    v = scenario_variants(base, {"demand.grid_multiplier": [1.0, 1.5], "crews.power": [1, 2]})
    assert [s.name for s in v][:2] == ["trip[grid_multiplier=1,power=1]", "trip[grid_multiplier=1,power=2]"]
    assert v[3].demand.grid_multiplier == 1.5 and v[3].crews is not None and v[3].crews.power == 2
    assert all(s.seed == 3 for s in v)
    reps = scenario_variants(base, {"events.0.at": ["00:20"]}, replicates=3)
    assert [s.seed for s in reps] == [None] * 3 and reps[0].events[0].at == "00:20"
    assert reps[2].name.endswith("#2")
    with pytest.raises(ScenarioError, match=r"\[demand.grid_multiplier\]"):
        scenario_variants(base, {"demand.grid_multiplier": [-1.0]})
    with pytest.raises(ScenarioError, match="not a table"):
        scenario_variants(base, {"name.x": [1]})


def test_unreadable_file_is_a_failure(city, tmp_path):
    ens = run_many(city, [tmp_path / "missing.toml"])
    assert list(ens.failures) == [str(tmp_path / "missing.toml")] and not ens.results


def test_cli_partial_failure_exits_3(tmp_path, capsys):
    folder = tmp_path / "scen"
    folder.mkdir()
    body = 'description = "x"\nduration = "30min"\nlayers = ["grid"]\n'
    (folder / "a.toml").write_text('name = "a"\n' + body)
    (folder / "b.toml").write_text('name = "b"\n' + body +
                                   '[[events]]\nat = "00:15"\nkind = "outage"\nasset = "line:NOPE"\n')
    code = main(["run", str(folder), "--out", str(tmp_path / "out"), "--executor", "serial", "--quiet"])
    assert code == 3 and "scenario b failed" in capsys.readouterr().err
    assert (tmp_path / "out" / "a" / "kpi_summary.csv").exists() and not (tmp_path / "out" / "b").exists()
    assert pd.read_csv(tmp_path / "out" / "ensemble_summary.csv").scenario.tolist() == ["a"]
