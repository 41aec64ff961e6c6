"""Whole-network round trips through GeoPackage and GeoJSON, and their bad-input errors."""

from __future__ import annotations

import json

import pandas as pd
import pyogrio
import pytest

import twin
from twin.errors import InputFileError
from twin.model import SCHEMAS


def assert_networks_equal(a, b):
    assert a.name == b.name
    assert a.crs == b.crs
    assert {k: dict(v) for k, v in a.settings.items()} == {k: dict(v) for k, v in b.settings.items()}
    for kind in SCHEMAS:
        ta, tb = a.tables[kind], b.tables[kind]
        assert list(ta.index) == list(tb.index), kind
        if len(ta):
            pd.testing.assert_frame_equal(pd.DataFrame(ta), pd.DataFrame(tb), check_exact=True, obj=kind)
    pd.testing.assert_frame_equal(a.couplings, b.couplings, check_exact=True)
    assert a.fingerprint() == b.fingerprint()


@pytest.mark.parametrize("target", ["city.gpkg", "city_geojson"])
def test_round_trip_is_exact(small_city, tmp_path, target):
    path = twin.io.write_network(small_city, tmp_path / target)
    assert_networks_equal(small_city, twin.io.read_network(path))


def test_gpkg_layers_are_plain_gis_layers(small_city, tmp_path):
    path = twin.io.write_network(small_city, tmp_path / "city.gpkg")
    layers = dict(pyogrio.list_layers(path))
    assert layers["junction"] == "Point" and layers["pipe"] == "LineString"
    assert layers["district"] == "Polygon" and layers["couplings"] is None
    pipes = pyogrio.read_dataframe(path, layer="pipe")
    assert pipes.crs.to_epsg() == 3067 and set(pipes["id"]) == {"P1", "P2"}


def test_round_trip_of_a_network_without_crs(small_city, tmp_path):
    net = small_city.replace(crs=None)
    for target in ("n.gpkg", "n_dir"):
        assert_networks_equal(net, twin.io.read_network(twin.io.write_network(net, tmp_path / target)))


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(InputFileError, match="nowhere.gpkg: no such file"):
        twin.io.read_network(tmp_path / "nowhere.gpkg")


def test_foreign_gpkg_is_refused(tmp_path, small_city):
    path = tmp_path / "foreign.gpkg"
    pyogrio.write_dataframe(small_city.junction.reset_index(), path, layer="stuff")
    with pytest.raises(InputFileError, match=r"foreign.gpkg: \[twin_metadata\] not a twin network"):
        twin.io.read_network(path)


def test_bad_value_in_a_layer_names_file_layer_and_asset(small_city, tmp_path):
    path = twin.io.write_network(small_city, tmp_path / "city.gpkg")
    pipes = pyogrio.read_dataframe(path, layer="pipe")
    pipes.loc[pipes["id"] == "P2", "diameter_m"] = -0.15
    pyogrio.write_dataframe(pipes, path, layer="pipe")
    with pytest.raises(InputFileError) as err:
        twin.io.read_network(path)
    assert "city.gpkg: [pipe] pipe.diameter_m: must be > 0 (m), got -0.15 at id 'P2'" in str(err.value)


def test_coupling_to_a_missing_bus_is_refused(small_city, tmp_path):
    folder = twin.io.write_network(small_city, tmp_path / "city")
    doc = json.loads((folder / "couplings.geojson").read_text())
    doc["features"][0]["properties"]["dst"] = "MV404"
    (folder / "couplings.geojson").write_text(json.dumps(doc))
    with pytest.raises(InputFileError, match=r"\[couplings\].*bus 'MV404' does not exist"):
        twin.io.read_network(folder)
