"""The Network model: schema enforcement, immutable edits, problems, fingerprints."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twin.errors import AssetNotFoundError, NetworkError, SchemaError
from twin.model import SCHEMAS, Network, make_table, schema


def test_every_column_declares_a_unit_and_type():
    for kind, spec in SCHEMAS.items():
        for col in spec.columns:
            assert col.dtype in {"float", "int", "bool", "str"}, (kind, col.name)
            assert col.description, (kind, col.name)
            if col.dtype in ("float", "int"):
                assert col.unit, (kind, col.name)


def test_make_table_fills_defaults_and_coerces_types():
    t = make_table("pipe", [dict(id=7, start_node="A", end_node="B", length_m="12.5", diameter_m=0.3,
                                 roughness=100)])
    assert list(t.index) == ["7"]  # ids are strings
    assert t.loc["7", "length_m"] == 12.5
    assert t.loc["7", "minor_loss"] == 0.0
    assert t.loc["7", "initial_status"] == "OPEN"
    assert t.dtypes["length_m"] == np.float64


@pytest.mark.parametrize("row, message", [
    (dict(id="P1", start_node="A", end_node="B", length_m=1, diameter_m=-0.3, roughness=100),
     "pipe.diameter_m: must be > 0 (m), got -0.3 at id 'P1'"),
    (dict(id="P1", start_node="A", end_node="B", length_m="long", diameter_m=0.3, roughness=100),
     "pipe.length_m: 'long' at id 'P1' is not a number"),
    (dict(id="P1", start_node="A", length_m=1, diameter_m=0.3, roughness=100),
     "pipe: required column 'end_node' is missing"),
])
def test_make_table_names_table_column_and_id(row, message):
    with pytest.raises(SchemaError) as err:
        make_table("pipe", [row])
    assert message in str(err.value)


def test_duplicate_ids_are_refused():
    with pytest.raises(SchemaError, match="junction: duplicate id 'J1'"):
        make_table("junction", [dict(id="J1", elevation_m=1), dict(id="J1", elevation_m=2)])


def test_edits_return_a_new_network_and_leave_the_old_one(small_city):
    before = small_city.fingerprint()
    closed = small_city.set("pipe", "P1", initial_status="CLOSED")
    assert closed is not small_city
    assert closed.pipe.loc["P1", "initial_status"] == "CLOSED"
    assert small_city.pipe.loc["P1", "initial_status"] == "OPEN"
    assert small_city.fingerprint() == before != closed.fingerprint()


def test_set_checks_the_schema(small_city):
    with pytest.raises(SchemaError, match="line.length_km: must be > 0"):
        small_city.set("line", "L1", length_km=0.0)
    with pytest.raises(AssetNotFoundError, match="line 'nope'"):
        small_city.set("line", "nope", length_km=1.0)
    with pytest.raises(NetworkError, match="line has no column 'colour'"):
        small_city.set("line", "L1", colour="red")


def test_remove_drops_the_assets_couplings(small_city):
    net = small_city.remove("pump", "PU1")
    assert "PU1" not in net.pump.index
    assert not ((net.couplings.src_kind == "pump") & (net.couplings.src == "PU1")).any()
    assert len(net.couplings) == len(small_city.couplings) - 1


def test_add_and_couple(small_city):
    net = small_city.add("bus", [dict(id="MV3", vn_kv=10.0)])
    net = net.couple("signal", "X2", "fed_by", "bus", "MV3", backup_hours=1.5)
    row = net.couplings.iloc[-1]
    assert (row.src, row.dst, row.backup_hours) == ("X2", "MV3", 1.5)
    with pytest.raises(NetworkError, match="bus 'MV9' does not exist"):
        net.couple("pump", "PU1", "fed_by", "bus", "MV9")
    with pytest.raises(NetworkError, match="fed_by needs dst kind"):
        net.couple("pump", "PU1", "fed_by", "node", "1")
    with pytest.raises(NetworkError, match="already exists"):
        net.add("bus", [dict(id="MV3", vn_kv=10.0)])


def test_problems_name_the_faulty_reference(small_city):
    pipes = small_city.pipe.copy()
    pipes.loc["P2", "end_node"] = "GHOST"
    net = small_city.with_table("pipe", pipes)
    assert net.problems() == ["pipe 'P2': end_node 'GHOST' is not a junction or reservoir or tank (1 such rows)"]
    with pytest.raises(NetworkError, match="GHOST"):
        net.check()
    bad = small_city.replace(couplings=pd.concat([small_city.couplings, pd.DataFrame([dict(
        src_kind="pump", src="PU1", relation="fed_by", dst_kind="bus", dst="B404")])], ignore_index=True))
    assert any("bus 'B404' does not exist" in p for p in bad.problems())


def test_one_crs_for_every_spatial_table(small_city):
    for kind, table in small_city.tables.items():
        if schema(kind).geometry is not None:
            assert table.crs == small_city.crs, kind
    moved = small_city.to_crs("EPSG:4326")
    assert moved.junction.crs.to_epsg() == 4326
    x, y = moved.junction.geometry.iloc[0].x, moved.junction.geometry.iloc[0].y
    assert 20.0 < x < 30.0 and -1.0 < y < 1.0  # ETRS-TM35FIN origin region, in lon/lat


def test_settings_are_read_only(small_city):
    with pytest.raises(TypeError):
        small_city.settings["water"]["flow_units"] = "GPM"  # type: ignore[index]


def test_counts_and_repr(small_city):
    counts = small_city.counts("water")
    assert counts["junction"] == 2 and counts["pipe"] == 2 and counts["pump"] == 1
    assert "junction=2" in repr(small_city) and "EPSG:3067" in repr(small_city)


def test_schema_reference_in_docs_is_current():
    import importlib.util
    from pathlib import Path

    docs = Path(__file__).parents[2] / "docs"
    spec = importlib.util.spec_from_file_location("make_schema_doc", docs / "make_schema_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (docs / "schema.md").read_text() == module.render(), "run: python docs/make_schema_doc.py"
