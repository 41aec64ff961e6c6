"""Small grids shared by the power-flow tests."""

from __future__ import annotations

import pytest
from shapely.geometry import Point

from twin.model import Network


def two_bus(p_mw: float = 50.0, q_mvar: float = 0.0, x_pu: float = 0.1, r_pu: float = 0.0) -> Network:
    """Slack bus A (1 p.u.) feeding a load at B through one MATPOWER-style branch (base 100 MVA)."""
    tables = {
        "bus": [dict(id="A", vn_kv=110.0, geometry=Point(0, 0)), dict(id="B", vn_kv=110.0, geometry=Point(1, 0))],
        "external_grid": [dict(id="X", bus="A", geometry=Point(0, 0))],
        "branch": [dict(id="AB", from_bus="A", to_bus="B", r_pu=r_pu, x_pu=x_pu)],
        "load": [dict(id="L", bus="B", p_mw=p_mw, q_mvar=q_mvar, geometry=Point(1, 0))],
    }
    return Network(tables, name="two_bus", settings={"grid": {"base_mva": 100.0, "f_hz": 50.0}})


def feeder() -> Network:
    """A 110/20 kV substation, a meshed 20 kV ring, a spur that an open switch cuts off, and a bus
    coupler: exercises transformers with taps, switches (bus-bus, bus-line), sgens and shunts."""
    bus = [dict(id="HV", vn_kv=110.0), dict(id="S1", vn_kv=20.0), dict(id="S2", vn_kv=20.0)]
    bus += [dict(id=f"N{i}", vn_kv=20.0) for i in range(1, 6)]
    bus += [dict(id="SPUR", vn_kv=20.0), dict(id="FAR", vn_kv=20.0)]
    line = [dict(id=f"L{i}", from_bus=a, to_bus=b, length_km=km, r_ohm_per_km=0.16, x_ohm_per_km=0.12,
                 c_nf_per_km=280.0, max_i_ka=0.4)
            for i, (a, b, km) in enumerate([("S1", "N1", 2.0), ("N1", "N2", 1.5), ("N2", "N3", 1.0),
                                            ("N3", "S2", 2.5), ("N2", "N4", 0.8), ("N4", "N5", 0.6),
                                            ("N5", "SPUR", 1.0), ("SPUR", "FAR", 0.7)], start=1)]
    tables = {
        "bus": [dict(b, geometry=Point(i, 0)) for i, b in enumerate(bus)],
        "external_grid": [dict(id="X", bus="HV", vm_pu=1.02)],
        "transformer": [dict(id="T1", hv_bus="HV", lv_bus="S1", sn_mva=40.0, vn_hv_kv=110.0, vn_lv_kv=20.0,
                             vk_percent=12.0, vkr_percent=0.35, pfe_kw=30.0, i0_percent=0.08, shift_degree=0.0,
                             tap_side="hv", tap_neutral=0, tap_min=-9, tap_max=9, tap_step_percent=1.5,
                             tap_pos=-2)],
        "line": line,
        "switch": [dict(id="CPL", bus="S1", element="S2", et="b", closed=True),
                   dict(id="OPEN", bus="SPUR", element="L7", et="l", closed=False)],
        "load": [dict(id=f"LD{i}", bus=b, p_mw=p, q_mvar=p * 0.3, geometry=Point(0, 0))
                 for i, (b, p) in enumerate([("N1", 2.0), ("N2", 3.0), ("N3", 1.5), ("N4", 2.5), ("N5", 1.0),
                                             ("SPUR", 0.8), ("FAR", 0.4)])],
        "static_generator": [dict(id="PV1", bus="N4", p_mw=1.2, q_mvar=0.0)],
        "shunt": [dict(id="C1", bus="N3", q_mvar=-0.5)],
    }
    return Network(tables, name="feeder", settings={"grid": {"base_mva": 1.0, "f_hz": 50.0}})


@pytest.fixture
def two_bus_net() -> Network:
    return two_bus()


@pytest.fixture
def feeder_net() -> Network:
    return feeder()
