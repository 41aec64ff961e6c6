"""run / save / compare / testing and the ``twin run`` / ``twin compare`` commands."""

from __future__ import annotations

import json

import pytest

import twin
from twin.cli import main
from twin.errors import ScenarioError
from twin.scenario import compare, compare_results, load_result, run, scenario_from_dict
from twin.testing import assert_results_allclose

TRIP = {"name": "trip", "description": "feeder F7 trips for two hours", "duration": "3h",
        "layers": ["grid", "traffic"], "demand": {"traffic_multiplier": 1.5},
        "events": [{"at": "00:30", "kind": "outage", "asset": "line:F7-1", "duration": "2h"}]}

SMALL_TOML = """
name = "small"
description = "feeder trip on the sample city for CLI tests"
duration = "2h"
layers = ["grid", "traffic"]
[demand]
grid_multiplier = {mult}
[[events]]
at = "00:30"
kind = "outage"
asset = "line:F7-1"
duration = "1h"
"""


@pytest.fixture(scope="module")
def city():
    return twin.datasets.sample_city()


@pytest.fixture(scope="module")
def trip(city):
    return run(city, scenario_from_dict(TRIP))


def test_run_returns_layers_events_and_kpis(trip):
    assert set(trip.datasets) == {"grid", "traffic"}
    assert trip.datasets["grid"].attrs["scenario"] == "trip"
    s = trip.kpis["summary"].set_index("kpi").value
    assert s["unserved_energy_mwh"] > 0 and s["traffic_delay_vh"] > 0
    assert s["time_to_full_restoration_h"] == pytest.approx(2.0)
    assert "trip" in trip.summary_text() and "unserved_energy_mwh" in trip.summary_text()


def test_save_load_and_self_compare(trip, tmp_path):
    trip.save(tmp_path / "a")
    back = load_result(tmp_path / "a")
    assert set(back.datasets) == {"grid", "traffic"} and len(back.events) == len(trip.events)
    assert json.loads((tmp_path / "a" / "kpi_summary.json").read_text())["unserved_energy_mwh"]["unit"] == "MWh"
    cmp = compare(tmp_path / "a", tmp_path / "a")
    assert cmp.passed and "PASS" in cmp.text()
    assert_results_allclose(back, trip)


def test_changed_parameter_fails_readably(city, trip):
    other = run(city, scenario_from_dict({**TRIP, "demand": {"traffic_multiplier": 1.5, "grid_multiplier": 1.1}}))
    cmp = compare_results(trip, other)
    assert not cmp.passed
    failing = set(cmp.failures.item)
    assert "kpi:unserved_energy_mwh" in failing and "grid:served_p_mw" in failing
    assert "FAIL" in cmp.text() and "kpi:unserved_energy_mwh" in cmp.markdown()
    assert cmp.to_dict()["n_failures"] == len(cmp.failures)
    with pytest.raises(AssertionError, match="unserved_energy_mwh"):
        assert_results_allclose(other, trip)
    assert compare_results(trip, other, {"default": {"rtol": 0.5, "atol": 1.0}, "vm_pu": {"atol": 1.0},
                                         "flow_vph": {"atol": 1e3}, "travel_time_s": {"atol": 1e3}}).passed


def test_cli_run_and_compare_exit_codes(tmp_path, capsys):
    for name, mult in (("base", 1.0), ("same", 1.0), ("hot", 1.2)):
        (tmp_path / f"{name}.toml").write_text(SMALL_TOML.format(mult=mult))
        assert main(["run", str(tmp_path / f"{name}.toml"), "--out", str(tmp_path / name), "--quiet"]) == 0
    assert main(["compare", str(tmp_path / "base"), str(tmp_path / "same")]) == 0
    report, js = tmp_path / "r" / "compare.md", tmp_path / "r" / "compare.json"
    code = main(["compare", str(tmp_path / "base"), str(tmp_path / "hot"), "--report", str(report),
                 "--json", str(js)])
    out = capsys.readouterr().out
    assert code == 1 and "FAIL" in out and "kpi:unserved_energy_mwh" in out
    assert "❌" in report.read_text() and json.loads(js.read_text())["passed"] is False
    assert main(["compare", str(tmp_path / "base"), str(tmp_path / "hot"), "--rtol", "0.5", "--atol", "10"]) == 0


def test_cli_bad_input_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\ndescription = "y"\nstep = "soon"\n')
    assert main(["run", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "bad.toml: [step]" in capsys.readouterr().err
    assert main(["compare", str(tmp_path / "nope"), str(tmp_path / "nope2")]) == 2


def test_unknown_asset_in_scenario_names_the_key(city):
    spec = scenario_from_dict({**TRIP, "events": [{"at": "00:30", "kind": "outage", "asset": "line:NOPE"}]}, "t.toml")
    with pytest.raises(ScenarioError, match=r"t.toml: \[events\[0\].asset\].*NOPE"):
        run(city, spec)


@pytest.mark.parametrize("name", ["substation-outage-heatwave", "water-main-break-peak", "flood-district",
                                  "road-closure-incident"])
def test_shipped_scenarios_run_from_the_cli(name, tmp_path, capsys):
    from pathlib import Path

    path = Path(__file__).parents[2] / "scenarios" / f"{name}.toml"
    assert main(["run", str(path), "--out", str(tmp_path / name)]) == 0
    out = capsys.readouterr().out
    assert f"scenario: {name}" in out and "time_to_full_restoration_h" in out
    assert (tmp_path / name / "kpi_summary.csv").exists() and (tmp_path / name / "events.csv").exists()
    assert main(["compare", str(tmp_path / name), str(tmp_path / name)]) == 0
