"""EPANET 2.3 pipe leakage (FAVAD): node coefficients, the emitter-like law, analytic networks."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from twin.water.simulation import hydraulics
from twin.io import read_inp
from twin.solvers.water.leakage import C_ORIFICE, leak_loss, node_coefficients

# Co = 0.6 sqrt(2 g) with mm² -> m²: leak flow (m3/s) per mm² of leak area per sqrt(m of head)
CO_SI = 0.6 * math.sqrt(2 * 32.2 * 0.3048) * 1e-6

INP = """[TITLE]
leak test
[JUNCTIONS]
 J1  0   0
 J2  0   0
 J3  60  0
[RESERVOIRS]
 R1  50
[PIPES]
 P1  R1  J1  100   1000  130
 P2  J1  J2  200   1000  130
 P3  J2  J3  100   1000  130
[LEAKAGE]
 P1  2.0  0.5
 P2  1.0  0.2
 P3  4.0  0.0
[OPTIONS]
 UNITS  LPS
 HEADLOSS  H-W
 ACCURACY  1e-8
[END]
"""


def favad(length_m: float, area: float, expansion: float, p: float) -> float:
    """Leak flow (m3/s) of a whole pipe at pressure head p (m) (naive reference)."""
    p = max(p, 0.0)
    return CO_SI * length_m / 100.0 * (area + expansion * p) * math.sqrt(p)


def test_orifice_constant_in_si() -> None:
    # C_ORIFICE is cfs per mm² per sqrt(ft): the same law in m3/s and m
    q_cfs = C_ORIFICE * 1.0 * math.sqrt(100.0)
    q_si = CO_SI * 1.0 * math.sqrt(100.0 * 0.3048)
    assert abs(q_cfs * 0.3048 ** 3 - q_si) < 1e-12 * q_si + 1e-15


def test_node_coefficients_split_between_pipe_ends() -> None:
    # nodes 0, 1 junctions, 2 a reservoir; link 0: 2 -> 0 (all to 0), link 1: 0 -> 1 (half each)
    cfa, cva = node_coefficients(2, np.array([2, 0]), np.array([0, 1]), np.array([100.0, 200.0]),
                                 np.array([2.0, 1.0]), np.array([0.5, 0.0]))
    np.testing.assert_allclose(cfa, C_ORIFICE * np.array([2.0 + 1.0, 1.0]))
    np.testing.assert_allclose(cva, C_ORIFICE * 0.3048 * np.array([0.5, 0.0]))


def test_leak_loss_against_the_power_law() -> None:
    for c, n, q in [(3.0, 2.0, 0.2), (5.0, 2.0 / 3.0, 0.01), (1.0, 2.0, 1e-9)]:
        h, g = leak_loss(c, n, q)
        if n * c * q ** (n - 1) >= 1e-7:
            assert math.isclose(h, c * q ** n, rel_tol=1e-12) and math.isclose(g, n * c * q ** (n - 1))
        else:
            assert g == 1e-7 and h == 1e-7 * q
    h, g = leak_loss(3.0, 2.0, -1e-3)      # barrier below zero leak flow
    assert g >= 1e7 and h < 0


def test_leakage_on_an_analytic_network(tmp_path: Path) -> None:
    path = tmp_path / "leak.inp"
    path.write_text(INP)
    net = read_inp(path)
    ds = hydraulics(net).isel(time=0)
    p = ds.pressure.sel(node=["J1", "J2", "J3"]).values
    assert p[2] < 0 < p[1]                                    # J3 sits above the reservoir head
    expected = np.array([favad(100, 2.0, 0.5, p[0]) + favad(200, 1.0, 0.2, p[0]) / 2,
                         favad(200, 1.0, 0.2, p[1]) / 2 + favad(100, 4.0, 0.0, p[1]) / 2,
                         favad(100, 4.0, 0.0, p[2]) / 2])
    got = ds.leak_flow.sel(junction=["J1", "J2", "J3"]).values
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-8)   # barrier: ~-1e-8 below 0 m
    assert got[0] > 5e-4 and abs(got[2]) < 1e-8
    # mass: what enters from the reservoir leaks out
    q = ds.flow.sel(link=["P1", "P2", "P3"]).values
    np.testing.assert_allclose(q[0], got.sum(), rtol=1e-6, atol=5e-8)
    np.testing.assert_allclose(q[0] - q[1], got[0], rtol=1e-6, atol=5e-8)
    np.testing.assert_allclose(ds.demand.sel(node=["J1", "J2", "J3"]).values, got, atol=1e-12)


def test_no_leakage_section_means_no_leak_flow() -> None:
    net = read_inp(Path(__file__).resolve().parents[2] / "data" / "water" / "leaks.inp")
    ds = hydraulics(net)
    assert float(np.abs(ds.leak_flow.values).max()) == 0.0
