"""The bundled sample city: contents, one CRS, co-located layers, couplings, reproducible build."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pytest
import shapely

import twin
from twin.errors import InputFileError

BUILD_SCRIPT = Path(__file__).parents[1] / "data" / "build" / "build_sample_city.py"


@pytest.fixture(scope="module")
def city():
    return twin.datasets.sample_city()


def test_loader_returns_a_fresh_network(city):
    assert twin.datasets.sample_city_path().is_file()
    assert twin.datasets.sample_city() is not city
    assert city.name == "sample_city"


def test_missing_file_names_where_it_looked(monkeypatch, tmp_path):
    monkeypatch.setattr(twin.datasets, "_candidates", lambda: [tmp_path / "nowhere.gpkg"])
    with pytest.raises(InputFileError, match="nowhere.gpkg.*build_sample_city.py"):
        twin.datasets.sample_city()


def test_counts(city):
    n = city.counts()
    assert 300 <= n["junction"] <= 1500
    assert n["pipe"] >= n["junction"] - 1
    assert n["pump"] >= 3 and n["tank"] >= 1 and n["reservoir"] >= 1
    assert (city.valve.valve_type == "PRV").sum() >= 1
    assert 20 <= n["bus"] <= 60 and n["transformer"] >= 1 and n["external_grid"] == 1
    assert n["line"] >= n["bus"] - 3 and n["load"] >= 20
    assert n["node"] >= 1000 and n["link"] >= 1500
    assert 20 <= n["signal"] <= 100
    assert 10 <= n["zone"] <= 30 and n["trips"] > 0
    assert 5 <= n["district"] <= 9


def test_sizes_are_plausible(city):
    total_trips = city.trips.trips_vph.sum()
    assert 1000 <= total_trips <= 10000
    assert 10000 <= city.district.population.sum() <= 100000
    assert 10.0 <= city.load.p_mw.sum() <= 60.0
    assert city.pipe.diameter_m.between(0.1, 0.6).all()
    assert city.pipe.roughness.between(110, 130).all()
    assert city.junction.elevation_m.between(0.0, 30.0).all()


def test_one_crs_everywhere(city):
    assert city.crs.to_epsg() == 3067
    spatial = {k: t for k, t in city.tables.items() if isinstance(t, gpd.GeoDataFrame) and len(t)}
    assert {"junction", "pipe", "bus", "line", "node", "link", "zone", "district"} <= set(spatial)
    for kind, table in spatial.items():
        assert table.crs == city.crs, kind
        assert table.geometry.notna().all() and table.geometry.is_valid.all(), kind


def test_layers_are_co_located(city):
    area = shapely.union_all(city.district.geometry.values).buffer(60.0)
    for kind in ("junction", "tank", "reservoir", "bus", "node", "signal", "zone"):
        pts = city.table(kind).geometry
        pts = pts if kind != "zone" else pts.representative_point()
        assert pts.within(area).all(), f"{kind} outside the city area"
    boxes = {k: shapely.box(*city.table(k).total_bounds) for k in ("junction", "bus", "node", "district")}
    for a in boxes:
        for b in boxes:
            overlap = boxes[a].intersection(boxes[b]).area
            assert overlap >= 0.5 * min(boxes[a].area, boxes[b].area), (a, b)


def test_no_problems(city):
    assert city.problems() == []


def test_every_pump_and_signal_is_fed_by_a_bus(city):
    c = city.couplings
    fed = c[c.relation == "fed_by"]
    for kind in ("pump", "signal"):
        got = set(fed.src[fed.src_kind == kind])
        assert got == set(city.table(kind).index), kind
    assert set(fed.dst_kind) == {"bus"} and fed.dst.isin(city.bus.index).all()
    assert (fed.backup_hours > 0).any() and (fed.backup_hours == 0).any()


def test_works_are_accessed_via_road_nodes(city):
    c = city.couplings
    access = c[c.relation == "accessed_via"]
    for kind in ("pump", "tank", "reservoir", "valve", "transformer"):
        assert set(access.src[access.src_kind == kind]) == set(city.table(kind).index), kind
    assert access.dst.isin(city.node.index).all()
    assert len(c) < 0.5 * len(city.junction), "couplings stay small (no row per junction)"


def test_every_od_pair_is_reachable(city):
    graph = nx.DiGraph(list(zip(city.link.from_node, city.link.to_node)))
    assert nx.is_strongly_connected(graph)
    assert city.zone.centroid_node.isin(graph.nodes).all()
    assert city.zone.centroid_node.is_unique


def test_water_settings_describe_a_24h_run(city):
    s = city.settings["water"]
    assert s["flow_units"] == "LPS" and s["headloss"] == "H-W"
    assert s["duration_s"] == 86400 and s["hydraulic_timestep_s"] == 3600 and s["pattern_timestep_s"] == 3600
    assert set(city.demand.pattern) <= set(city.pattern.pattern)
    for name, rows in city.pattern.groupby("pattern"):
        assert len(rows) == 24 and rows.multiplier.mean() == pytest.approx(1.0, abs=1e-3), name


def _load_build_module():
    pytest.importorskip("pyrosm")
    spec = importlib.util.spec_from_file_location("build_sample_city", BUILD_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_sample_city", module)
    spec.loader.exec_module(module)
    return module


def test_build_is_deterministic_and_matches_the_stored_file(city):
    build = _load_build_module()
    first, second = build.build(), build.build()
    assert first.fingerprint() == second.fingerprint()
    assert first.fingerprint() == city.fingerprint(), (
        "data/sample_city/sample_city.gpkg is out of date: run python data/build/build_sample_city.py")
