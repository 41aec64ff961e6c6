"""compile_* turn tables into frozen flat arrays with consistent indexing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from twin.errors import NetworkError
from twin.model import compile_grid, compile_traffic, compile_water
from twin.model.compiled.water import ACTIVE, CLOSED, JUNCTION, OPEN, PIPE, PUMP, RESERVOIR, TANK


def test_water_arrays_order_and_topology(small_city):
    w = compile_water(small_city)
    assert list(w.node_ids) == ["J1", "J2", "R1", "T1"] and w.n_junctions == 2
    assert list(w.node_kind) == [JUNCTION, JUNCTION, RESERVOIR, TANK]
    assert list(w.link_ids) == ["P1", "P2", "PU1"] and list(w.link_kind) == [PIPE, PIPE, PUMP]
    assert list(w.start_node) == [0, 1, 2] and list(w.end_node) == [1, 3, 0]
    np.testing.assert_array_equal(w.elevation_m, [5.0, 6.5, 10.0, 30.0])
    assert w.tank_max_level_m[3] == 6.0 and w.tank_diameter_m[3] == 12.0
    # node -> incident links CSR: J1 touches P1 and PU1
    j1 = w.node_link_index[w.node_link_indptr[0]:w.node_link_indptr[1]]
    assert sorted(w.link_ids[j1]) == ["P1", "PU1"]
    assert w.curve_x[w.curve_indptr[w.pump_head_curve[2]]] == 0.02
    pat = w.demand_pattern[0]
    np.testing.assert_array_equal(w.pattern_values[w.pattern_indptr[pat]:w.pattern_indptr[pat + 1]], [0.5, 1.0, 1.5])
    assert list(w.initial_status) == [OPEN, OPEN, OPEN]
    assert CLOSED != ACTIVE


def test_arrays_are_frozen_and_contiguous(small_city):
    w = compile_water(small_city)
    for f in dataclasses.fields(w):
        v = getattr(w, f.name)
        if isinstance(v, np.ndarray):
            assert not v.flags.writeable, f.name
            assert v.flags.c_contiguous, f.name
    with pytest.raises(dataclasses.FrozenInstanceError):
        w.n_junctions = 3  # type: ignore[misc]


def test_grid_arrays(small_city):
    g = compile_grid(small_city)
    assert list(g.bus_ids) == ["HV", "MV1", "MV2"]
    assert list(g.line.from_bus) == [1] and list(g.line.to_bus) == [2]
    assert g.transformer.vk_percent[0] == 12.0 and g.transformer.hv_bus[0] == 0
    assert g.load.p_mw[0] == 0.3 and g.external_grid.bus[0] == 0
    assert list(g.switch_element) == [0] and list(g.switch_et) == [1] and g.switch_closed[0]
    assert g.f_hz == 50.0


def test_traffic_arrays(small_city):
    t = compile_traffic(small_city)
    assert list(t.node_ids) == ["1", "2", "3"]
    assert [t.link_ids[t.out_links[k]] for k in range(t.out_indptr[1], t.out_indptr[2])] == ["2-3"]
    np.testing.assert_array_equal(t.demand_vph, [[0.0, 120.0], [80.0, 0.0]])
    assert list(t.zone_node) == [0, 2]
    assert t.through.all()


def test_first_thru_node_blocks_paths_through_low_zones(small_city):
    net = small_city.replace(settings={"traffic": {"first_thru_node": 3}})
    t = compile_traffic(net)
    assert list(t.through) == [False, True, True]


def test_compile_names_unknown_references(small_city):
    bad = small_city.with_table("demand", [dict(id="d", junction="J2", base_demand_m3s=0.001, pattern="NOPE")])
    with pytest.raises(NetworkError, match="demand 'd': pattern 'NOPE' does not exist"):
        compile_water(bad)


def test_optional_references_may_all_be_missing(small_city):
    # a pump without a speed pattern, in a network with no patterns at all
    net = small_city.replace(tables={**small_city.tables, "pattern": None, "demand": None})
    w = compile_water(net)
    assert list(w.pump_speed_pattern) == [-1, -1, -1] and len(w.pattern_ids) == 0
