"""Scenario files: the shipped ones are valid; errors name the file, the key and what was expected."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from twin.errors import ScenarioError
from twin.scenario import load_scenario, parse_at, parse_duration, scenario_from_dict

SCENARIOS = sorted((Path(__file__).parents[2] / "scenarios").glob("*.toml"))


def test_four_realistic_scenarios_ship():
    names = {p.stem for p in SCENARIOS}
    assert {"substation-outage-heatwave", "water-main-break-peak", "flood-district", "road-closure-incident"} <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenarios_are_valid(path):
    spec = load_scenario(path)
    assert spec.name == path.stem and len(spec.description) > 40
    assert spec.duration_s > 0 and spec.step_s == 900


def test_times_and_durations():
    start = dt.datetime(2026, 7, 14, 6, 0)
    assert parse_at("14:00", start) == 8 * 3600
    assert parse_at("05:00", start) == 23 * 3600  # the next 05:00
    assert parse_at("+90min", start) == 5400
    assert parse_at("2026-07-14T07:00", start) == 3600
    assert parse_duration("1h30min") == 5400


@pytest.mark.parametrize("data, key, expected", [
    ({"step": "soon"}, "[step]", "duration"),
    ({"crews": {"power": -1}}, "[crews.power]", "greater than or equal to 0"),
    ({"crews": {"pwer": 1}}, "[crews.pwer]", "unknown key"),
    ({"events": [{"at": "noon", "kind": "outage", "asset": "line:F7-1"}]}, "[events[0].at]", "clock time"),
    ({"events": [{"at": "10:00", "kind": "explode", "asset": "line:F7-1"}]}, "[events[0].kind]", "'outage'"),
    ({"events": [{"at": "10:00", "kind": "outage", "asset": "F7-1"}]}, "[events[0].asset]", "kind:id"),
    ({"demand": {"water_multiplier": 0}}, "[demand.water_multiplier]", "greater than 0"),
    ({"profiles": {"grid_load": [1.0] * 23}}, "[profiles.grid_load]", "24 hourly multipliers"),
    ({"profiles": {"traffic": [1.0] * 24}}, "[profiles.traffic]", "unknown key"),
])
def test_errors_name_file_key_and_expectation(data, key, expected):
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict({"name": "x", "description": "y", **data}, "bad.toml")
    assert f"bad.toml: {key}" in str(err.value) and expected in str(err.value)


def test_missing_description_and_bad_toml(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('name = "x"\n')
    with pytest.raises(ScenarioError, match=r"s.toml: \[description\] Field required"):
        load_scenario(p)
    p.write_text("name = \n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(p)
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "missing.toml")


def test_profiles_by_layer_and_hash():
    plain = scenario_from_dict({"name": "x", "description": "y"})
    assert plain.profiles.layers() == {}
    prof = scenario_from_dict({"name": "x", "description": "y", "profiles": {"water_demand": [0.5] * 24}})
    assert prof.profiles.layers() == {"water": (0.5,) * 24}
    assert prof.fingerprint() != plain.fingerprint()
    road = load_scenario(Path(__file__).parents[2] / "scenarios" / "road-closure-incident.toml")
    assert set(road.profiles.layers()) == {"grid", "traffic"}
