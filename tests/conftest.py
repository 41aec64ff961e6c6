"""Shared fixtures: a small hand-built city with all three layers and couplings."""

from __future__ import annotations

import pytest
from shapely.geometry import LineString, Point, Polygon

from twin.model import Network


def build_small_city() -> Network:
    """Two junctions fed from a reservoir by a pump, a two-bus feeder, a three-node road loop."""
    p = {"R1": (0.0, 0.0), "J1": (100.0, 0.0), "J2": (200.0, 0.0), "T1": (200.0, 50.0)}
    tables = {
        "reservoir": [dict(id="R1", head_m=10.0, geometry=Point(p["R1"]))],
        "junction": [dict(id="J1", elevation_m=5.0, geometry=Point(p["J1"])),
                     dict(id="J2", elevation_m=6.5, geometry=Point(p["J2"]))],
        "tank": [dict(id="T1", elevation_m=30.0, initial_level_m=3.0, max_level_m=6.0, diameter_m=12.0,
                      geometry=Point(p["T1"]))],
        "pump": [dict(id="PU1", start_node="R1", end_node="J1", head_curve="C1",
                      geometry=LineString([p["R1"], p["J1"]]))],
        "pipe": [dict(id="P1", start_node="J1", end_node="J2", length_m=100.0, diameter_m=0.2, roughness=120.0,
                      geometry=LineString([p["J1"], p["J2"]])),
                 dict(id="P2", start_node="J2", end_node="T1", length_m=50.0, diameter_m=0.15, roughness=110.0,
                      geometry=LineString([p["J2"], p["T1"]]))],
        "curve": [dict(id="C1:0", curve="C1", curve_type="HEAD", point=0, x=0.02, y=40.0)],
        "pattern": [dict(id=f"D:{k}", pattern="D", period=k, multiplier=m) for k, m in enumerate((0.5, 1.0, 1.5))],
        "demand": [dict(id="J2#1", junction="J2", base_demand_m3s=0.004, pattern="D")],
        "bus": [dict(id="HV", vn_kv=110.0, geometry=Point(0, 10)), dict(id="MV1", vn_kv=10.0, geometry=Point(0, 20)),
                dict(id="MV2", vn_kv=10.0, geometry=Point(100, 20))],
        "external_grid": [dict(id="X1", bus="HV", geometry=Point(0, 10))],
        "transformer": [dict(id="TR1", hv_bus="HV", lv_bus="MV1", sn_mva=25.0, vn_hv_kv=110.0, vn_lv_kv=10.0,
                             vk_percent=12.0, vkr_percent=0.4)],
        "line": [dict(id="L1", from_bus="MV1", to_bus="MV2", length_km=0.5, r_ohm_per_km=0.12, x_ohm_per_km=0.11,
                      c_nf_per_km=300.0, max_i_ka=0.36)],
        "switch": [dict(id="S1", bus="MV1", element="L1", et="l", closed=True)],
        "load": [dict(id="LD1", bus="MV2", p_mw=0.3, q_mvar=0.1)],
        "node": [dict(id=n, geometry=Point(x, 100)) for n, x in (("1", 0.0), ("2", 100.0), ("3", 200.0))],
        "link": [dict(id=f"{a}-{b}", from_node=a, to_node=b, capacity_vph=900.0, length_m=100.0,
                      free_flow_time_s=8.0) for a, b in (("1", "2"), ("2", "3"), ("3", "1"))],
        "signal": [dict(id="X2", node="2")],
        "zone": [dict(id="1", centroid_node="1"), dict(id="3", centroid_node="3")],
        "trips": [dict(id="1>3", origin="1", destination="3", trips_vph=120.0),
                  dict(id="3>1", origin="3", destination="1", trips_vph=80.0)],
        "district": [dict(id="D1", name="Harbour", population=1200.0,
                          geometry=Polygon([(-10, -10), (210, -10), (210, 110), (-10, 110)]))],
    }
    couplings = [
        dict(src_kind="pump", src="PU1", relation="fed_by", dst_kind="bus", dst="MV2", backup_hours=2.0),
        dict(src_kind="signal", src="X2", relation="fed_by", dst_kind="bus", dst="MV1", backup_hours=0.5),
        dict(src_kind="pipe", src="P1", relation="accessed_via", dst_kind="node", dst="2"),
    ]
    return Network(tables, couplings=couplings, crs="EPSG:3067", name="small_city",
                   settings={"water": {"flow_units": "LPS", "headloss": "H-W"}, "grid": {"base_mva": 1.0, "f_hz": 50.0}})


@pytest.fixture
def small_city() -> Network:
    return build_small_city()
