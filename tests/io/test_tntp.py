"""TNTP reader: counts and totals against the headers, specific values, coordinates, units and
the messages of bad input."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from twin.errors import InputFileError
from twin.io import read_tntp

TRAFFIC = Path(__file__).resolve().parents[1] / "data" / "traffic"
SIOUX = TRAFFIC / "SiouxFalls"
CHICAGO = TRAFFIC / "ChicagoSketch"
ANAHEIM = TRAFFIC / "Anaheim"
EMA = TRAFFIC / "EasternMassachusetts"

# name: (net, trips, keyword arguments, zones, nodes, links, first thru node, total OD flow,
#        non-zero OD pairs)
PROBLEMS = {
    "SiouxFalls": (SIOUX / "SiouxFalls_net.tntp", SIOUX / "SiouxFalls_trips.tntp", {},
                   24, 24, 76, 1, 360600.0, 528),
    "Anaheim": (ANAHEIM / "Anaheim_net.tntp", ANAHEIM / "Anaheim_trips.tntp", {"length_unit": "ft"},
                38, 416, 914, 39, 104694.40, 1406),
    "ChicagoSketch": (CHICAGO / "ChicagoSketch_net.tntp", CHICAGO / "ChicagoSketch_trips.tntp", {},
                      387, 933, 2950, 1, 1260907.4400005303, 93513),
    "EMA": (EMA / "EMA_net.tntp", EMA / "EMA_trips.tntp", {"time_unit": "h"},
            74, 74, 258, 1, 65576.37543099989, 1113),
}

TOY_NET = """<NUMBER OF ZONES> 2
<NUMBER OF NODES> 3
<FIRST THRU NODE> 1
<NUMBER OF LINKS> 3
<END OF METADATA>

~ init_node term_node capacity length free_flow_time b power speed toll link_type ;
\t1\t3\t1000\t0.5\t1.5\t0.15\t4\t0\t0\t1\t;
\t3\t2\t1000\t0.5\t1.5\t0.15\t4\t0\t0\t1\t;
\t3\t2\t500\t0.8\t2.0\t0.15\t4\t0\t0\t2\t;
"""
TOY_TRIPS = """<NUMBER OF ZONES> 2
<TOTAL OD FLOW> 300.0
<END OF METADATA>

Origin 1
    1 :      0.0;     2 :    300.0;
Origin 2
    1 :      0.0;     2 :      0.0;
"""


def _write(tmp_path: Path, net: str = TOY_NET, trips: str | None = TOY_TRIPS) -> tuple[Path, Path | None]:
    net_path = tmp_path / "toy_net.tntp"
    net_path.write_text(net)
    trips_path = None
    if trips is not None:
        trips_path = tmp_path / "toy_trips.tntp"
        trips_path.write_text(trips)
    return net_path, trips_path


@pytest.fixture(scope="module", params=list(PROBLEMS))
def problem(request):
    net_path, trips_path, kw, *expected = PROBLEMS[request.param]
    return request.param, read_tntp(net_path, trips_path, **kw), expected


# ---------------------------------------------------------------------------- published problems


def test_counts_match_headers(problem):
    name, net, (zones, nodes, links, first_thru, _, pairs) = problem
    assert net.name == name
    assert (len(net.zone), len(net.node), len(net.link), len(net.trips)) == (zones, nodes, links, pairs)
    assert list(net.node.index) == [str(k) for k in range(1, nodes + 1)]
    assert list(net.zone.index) == [str(k) for k in range(1, zones + 1)]
    assert list(net.zone["centroid_node"]) == list(net.zone.index)
    assert list(net.link["tntp_index"]) == list(range(1, links + 1))
    traffic = net.settings["traffic"]
    assert traffic["first_thru_node"] == first_thru and traffic["source_format"] == "tntp"
    assert net.problems() == []


def test_total_od_flow_equals_header(problem):
    _, net, (*_, total, _) = problem
    assert net.settings["traffic"]["total_od_flow"] == total
    assert net.trips["trips_vph"].sum() == pytest.approx(total, rel=1e-12)
    assert (net.trips["trips_vph"] > 0).all()


@pytest.mark.parametrize("name, flow_file", [
    ("SiouxFalls", SIOUX / "SiouxFalls_flow.tntp"),
    ("Anaheim", ANAHEIM / "Anaheim_flow.tntp"),
    ("ChicagoSketch", CHICAGO / "ChicagoSketch_flow.tntp"),
])
def test_links_are_in_the_order_of_the_published_flows(name, flow_file):
    net_path, _, kw, *_ = PROBLEMS[name]
    net = read_tntp(net_path, **kw)
    flows = np.loadtxt(flow_file, skiprows=1, ndmin=2)
    assert list(net.link["from_node"]) == [str(int(v)) for v in flows[:, 0]]
    assert list(net.link["to_node"]) == [str(int(v)) for v in flows[:, 1]]
    assert list(net.link.index) == [f"{int(a)}-{int(b)}" for a, b in flows[:, :2]]


def test_sioux_falls_values_and_coordinates():
    net = read_tntp(SIOUX / "SiouxFalls_net.tntp", SIOUX / "SiouxFalls_trips.tntp",
                    node_path=SIOUX / "SiouxFalls_node.tntp", crs="EPSG:4326")
    link = net.link.loc["1-2"]
    assert link["capacity_vph"] == 25900.20064
    assert link["free_flow_time_s"] == 360.0  # 6 min
    assert link["length_m"] == pytest.approx(6 * 1609.344, rel=1e-15)
    assert (link["bpr_alpha"], link["bpr_beta"]) == (0.15, 4.0)
    assert (link["speed_limit_mps"], link["toll"]) == (0.0, 0.0)
    assert link["link_type"] == 1 and link["tntp_index"] == 1
    assert net.link.loc["24-23", "capacity_vph"] == 5078.508436
    assert net.crs.to_epsg() == 4326
    assert (net.node.loc["1"].geometry.x, net.node.loc["1"].geometry.y) == (-96.77041974, 43.61282792)
    assert list(net.link.loc["1-2"].geometry.coords) == [(-96.77041974, 43.61282792),
                                                         (-96.71125063, 43.60581298)]
    assert net.zone.loc["24"].geometry.equals(net.node.loc["24"].geometry)
    trips = net.trips
    assert trips.loc["1-2", "trips_vph"] == 100.0 and trips.loc["24-23", "trips_vph"] == 700.0
    assert "1-1" not in trips.index  # zero demand is dropped
    assert list(trips.loc["1-2", ["origin", "destination"]]) == ["1", "2"]
    assert net.settings["traffic"]["length_unit"] == "mi" and net.settings["traffic"]["time_unit"] == "min"


def test_anaheim_units_in_feet_and_minutes():
    net = read_tntp(ANAHEIM / "Anaheim_net.tntp", length_unit="ft")
    link = net.link.loc["1-117"]
    assert link["capacity_vph"] == 9000.0
    assert link["length_m"] == pytest.approx(5280 * 0.3048, rel=1e-15)  # one mile
    assert link["free_flow_time_s"] == pytest.approx(1.090458488 * 60, rel=1e-15)
    assert link["speed_limit_mps"] == pytest.approx(4842 * 0.3048 / 60, rel=1e-15)  # 55 mph
    assert net.settings["traffic"]["speed_unit"] == "ft/min"
    assert net.node.geometry.isna().all() and net.link.geometry.isna().all()
    assert len(net.trips) == 0 and net.settings["traffic"]["total_od_flow"] is None


def test_chicago_sketch_connectors_coordinates_and_speed():
    start = time.perf_counter()
    net = read_tntp(CHICAGO / "ChicagoSketch_net.tntp", CHICAGO / "ChicagoSketch_trips.tntp",
                    node_path=CHICAGO / "ChicagoSketch_node.tntp")
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0  # about 0.5 s on a shared 2-core machine; 3 MB of trips
    connector = net.link.loc["1-547"]
    assert connector["free_flow_time_s"] == 0.0 and connector["link_type"] == 3
    assert connector["capacity_vph"] == 49500.0
    assert connector["length_m"] == pytest.approx(0.86267 * 1609.344, rel=1e-15)
    assert (net.node.loc["1"].geometry.x, net.node.loc["1"].geometry.y) == (690309.0, 1976022.0)
    assert net.node.geometry.notna().all() and net.link.geometry.notna().all()
    assert net.link.loc["1-547"].geometry.length == pytest.approx(
        net.node.loc["1"].geometry.distance(net.node.loc["547"].geometry))
    assert net.crs is None


def test_eastern_massachusetts_free_flow_time_in_hours():
    net = read_tntp(EMA / "EMA_net.tntp", time_unit="h")
    link = net.link.loc["1-3"]
    assert link["free_flow_time_s"] == pytest.approx(0.238965 * 3600, rel=1e-15)
    assert link["length_m"] == pytest.approx(16.106817 * 1609.344, rel=1e-15)
    assert link["link_type"] == 0 and link["capacity_vph"] == 4938.061313


# ---------------------------------------------------------------------------- units and ids


def test_repeated_link_pairs_get_suffixes_and_units_convert(tmp_path):
    net_path, trips_path = _write(tmp_path)
    net = read_tntp(net_path, trips_path, length_unit="km", speed_unit="mph", name="toy-net")
    assert net.name == "toy-net"
    assert list(net.link.index) == ["1-3", "3-2:1", "3-2:2"]
    assert list(net.link["tntp_index"]) == [1, 2, 3]
    assert net.link.loc["3-2:2", "length_m"] == 800.0
    assert net.link.loc["3-2:2", "free_flow_time_s"] == 120.0
    assert net.settings["traffic"]["speed_unit"] == "mi/h"
    assert list(net.trips.index) == ["1-2"] and net.trips.loc["1-2", "trips_vph"] == 300.0
    assert read_tntp(net_path, length_unit="m").link.loc["1-3", "length_m"] == 0.5
    with pytest.raises(ValueError, match="length_unit 'yd'"):
        read_tntp(net_path, length_unit="yd")
    with pytest.raises(ValueError, match="speed_unit 'knots'"):
        read_tntp(net_path, speed_unit="knots")


def test_total_within_printed_rounding_is_accepted(tmp_path):
    net_path, trips_path = _write(tmp_path, trips=TOY_TRIPS.replace("300.0;", "300.04;"))
    assert read_tntp(net_path, trips_path).settings["traffic"]["total_od_flow"] == 300.0


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("change, line, field, words", [
    (("<NUMBER OF LINKS> 3", "<NUMBER OF LINKS> 4"), 4, "NUMBER OF LINKS", "3 link rows"),
    (("\t3\t2\t500", "\t3\t9\t500"), 10, "term_node", "term_node 9 is not a node"),
    (("\t3\t2\t500", "\t3\t2\t0"), 10, "capacity", "capacity must be > 0"),
    (("\t3\t2\t500", "\t3\t2\t-5"), 10, "capacity", "capacity must be > 0"),
    (("0.5\t1.5\t0.15\t4\t0\t0\t1\t;\n\t3", "0.5\tfast\t0.15\t4\t0\t0\t1\t;\n\t3"), 8,
     "free_flow_time", "'fast' is not a number"),
    (("\t1\t3\t1000", "\t1.5\t3\t1000"), 8, "init_node", "not a whole number"),
    (("\t0.15\t4\t0\t0\t2\t;", "\t0.15\t4\t0\t0\t;"), 10, None, "9 values, expected 10"),
    (("<NUMBER OF ZONES> 2", "<NUMBER OF ZONES> 5"), 1, "NUMBER OF ZONES", "exceeds"),
    (("<FIRST THRU NODE> 1", "<FIRST THRU NODE> one"), 3, "FIRST THRU NODE", "must be a number"),
    (("<NUMBER OF NODES> 3", "<NUMBER OF NODES> 3.5"), 2, "NUMBER OF NODES", "whole number"),
])
def test_bad_network_file_names_file_line_and_field(tmp_path, change, line, field, words):
    net_path, _ = _write(tmp_path, net=TOY_NET.replace(*change), trips=None)
    with pytest.raises(InputFileError) as err:
        read_tntp(net_path)
    assert err.value.line == line and err.value.field == field
    assert str(err.value).startswith(f"{net_path}:{line}: ") and words in str(err.value)


def test_missing_metadata_entries(tmp_path):
    net_path, _ = _write(tmp_path, net=TOY_NET.replace("<NUMBER OF NODES> 3\n", ""), trips=None)
    with pytest.raises(InputFileError, match=r"toy_net\.tntp: \[NUMBER OF NODES\] the metadata has no"):
        read_tntp(net_path)
    net_path, _ = _write(tmp_path, net=TOY_NET.replace("<END OF METADATA>\n", ""), trips=None)
    with pytest.raises(InputFileError, match=r"\[END OF METADATA\]"):
        read_tntp(net_path)


@pytest.mark.parametrize("change, line, field, words", [
    (("2 :    300.0;", "2 :   -300.0;"), 6, "flow", "negative"),
    (("2 :    300.0;", "2 :    abc;"), 6, "flow", "flow 'abc' to destination 2 is not a number"),
    (("2 :    300.0;", "3 :    300.0;"), 6, "destination", "destination 3 is not a zone"),
    (("Origin 2", "Origin 7"), 7, "origin", "origin 7 is not a zone"),
    (("Origin 2\n    1 :      0.0;", "Origin 2\n    1 :      5.0;"), 2, "TOTAL OD FLOW",
     "adds up to 305"),
    (("<NUMBER OF ZONES> 2", "<NUMBER OF ZONES> 3"), 1, "NUMBER OF ZONES", "network file says 2"),
    (("Origin 2\n    1 :      0.0;", "Origin 1\n    2 :      0.0;"), 8, "destination", "given twice"),
    (("Origin 1\n", ""), 5, "origin", "before the first 'Origin"),
])
def test_bad_trips_file_names_file_line_and_field(tmp_path, change, line, field, words):
    net_path, trips_path = _write(tmp_path, trips=TOY_TRIPS.replace(*change))
    with pytest.raises(InputFileError) as err:
        read_tntp(net_path, trips_path)
    assert err.value.line == line and err.value.field == field, str(err.value)
    assert str(err.value).startswith(f"{trips_path}:{line}: ") and words in str(err.value)


def test_bad_node_file(tmp_path):
    net_path, _ = _write(tmp_path, trips=None)
    node_path = tmp_path / "toy_node.tntp"
    node_path.write_text("Node\tX\tY\t;\n1\t0\t0\t;\n4\t1\t1\t;\n")
    with pytest.raises(InputFileError, match=r"toy_node\.tntp:3: \[node\] node 4 is not in the network"):
        read_tntp(net_path, node_path=node_path)
    node_path.write_text("Node\tX\tY\t;\n1\t0\tnorth\t;\n")
    with pytest.raises(InputFileError, match=r"toy_node\.tntp:2: \[Y\] Y 'north' is not a number"):
        read_tntp(net_path, node_path=node_path)
    node_path.write_text("1 0 0 ;\n3 4 0 ;\n")  # no header line; node 2 has no coordinates
    net = read_tntp(net_path, node_path=node_path)
    assert net.node.loc["2"].geometry is None and net.node.loc["3"].geometry.x == 4.0
    assert net.link.loc["1-3"].geometry.length == 4.0 and net.link.loc["3-2:1"].geometry is None
