"""Kernels: head-loss laws, pump fits, status rules and the sparse LDL^T solve against references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.reference.water_reference import swamee_jain
from twin.solvers.water import constants as C
from twin.solvers.water.headloss import friction_factor, pipe_dw, pipe_hw, pump_coeff
from twin.solvers.water.pumps import constant_power, fit_pump, power_curve
from twin.solvers.water.sparse import ldl_factor, ldl_factor_mapped, ldl_solve, symbolic
from twin.solvers.water.status import cv_status, prv_status, psv_status


def test_hazen_williams_gradient_and_linear_low_flow() -> None:
    p, y = pipe_hw(2.0, 3.0, 0.0, 1.852)
    assert y / p == pytest.approx(3.0 * 2.0 ** 1.852, rel=1e-12)
    assert 1.0 / p == pytest.approx(1.852 * 3.0 * 2.0 ** 0.852, rel=1e-12)
    p0, y0 = pipe_hw(0.0, 3.0, 0.0, 1.852)   # zero flow: linear law keeps the gradient positive
    assert 1.0 / p0 == C.RQTOL and y0 == 0.0


def test_minor_loss_adds_km_q2() -> None:
    p, y = pipe_hw(-2.0, 3.0, 0.5, 1.852)
    assert y / p == pytest.approx(-(3.0 * 2.0 ** 1.852 + 0.5 * 4.0), rel=1e-12)


def test_darcy_weisbach_turbulent_matches_swamee_jain() -> None:
    d, e, nu = 1.0, 0.001, 1.1e-5
    q = 2.0
    re = 4.0 * q / (math.pi * d * nu)
    f, _ = friction_factor(q, e / d, nu * d)
    assert f == pytest.approx(swamee_jain(re, e / d), rel=1e-9)


def test_darcy_weisbach_laminar_is_hagen_poiseuille() -> None:
    d, nu, r = 1.0, 1.1e-5, 10.0
    q = 1e-3     # Re about 116
    p, y = pipe_dw(q, r, 0.0, 0.0005, d, nu)
    f = 64.0 / (4.0 * q / (math.pi * d * nu))
    assert y / p == pytest.approx(f * r * q * q, rel=1e-9)


def test_darcy_weisbach_transition_is_continuous() -> None:
    d, nu, e = 1.0, 1.1e-5, 0.0005
    s = nu * d
    for w in (C.A2, C.A1):   # Re = 2000 and 4000 boundaries
        lo, _ = friction_factor(w * s * (1 - 1e-9), e, s) if w == C.A1 else (64.0 / (4 * w / math.pi), 0)
        hi, _ = friction_factor(w * s * (1 + 1e-9), e, s)
        assert hi == pytest.approx(lo, rel=1e-3)


def test_pump_fits() -> None:
    one = fit_pump([1.0], [75.0])
    assert one.ptype == C.POWER_FUNC and one.hmax == pytest.approx(1.33334 * 75.0)
    assert one.h0 + one.r * 2.0 ** one.n == pytest.approx(0.0, abs=1e-9)   # zero head at 2 q
    three = fit_pump([0.0, 1.0, 2.0], [100.0, 75.0, 0.0])
    assert (three.n, three.r) == (pytest.approx(2.0), pytest.approx(25.0))
    multi = fit_pump([0.0, 1.0, 2.0, 3.0], [100.0, 90.0, 60.0, 0.0])
    assert multi.ptype == C.CUSTOM and multi.qmax == 3.0
    assert fit_pump([0.0, 1.0, 2.0], [100.0, 120.0, 0.0]) is None
    assert power_curve(10.0, 10.0, 0.0, 1.0, 2.0) is None
    assert constant_power(1.0).ptype == C.CONST_HP


def test_pump_coefficients_follow_the_fitted_curve_and_speed() -> None:
    e = np.zeros(0)
    fit = fit_pump([0.0, 1.0, 2.0], [100.0, 75.0, 0.0])
    for speed in (1.0, 0.8):
        p, y = pump_coeff(1.0, C.OPEN, speed, fit.ptype, fit.h0, fit.r, fit.n, e, e, 0, 0)
        head = -(y / p)
        assert head == pytest.approx(100.0 * speed ** 2 - 25.0 * speed ** 0 * 1.0, rel=1e-12)
    p, y = pump_coeff(1.0, C.CLOSED, 1.0, fit.ptype, fit.h0, fit.r, fit.n, e, e, 0, 0)
    assert p == 1.0 / C.CBIG


def test_status_rules() -> None:
    assert prv_status(C.ACTIVE, -1.0, 0.0, 100.0, 120.0, 100.0) == C.CLOSED
    assert prv_status(C.OPEN, 1.0, 0.0, 100.0, 120.0, 101.0) == C.ACTIVE
    assert psv_status(C.OPEN, 1.0, 0.0, 100.0, 99.0, 90.0) == C.ACTIVE
    assert cv_status(C.OPEN, -1.0, 1.0) == C.CLOSED
    assert cv_status(C.CLOSED, 0.0, 0.0) == C.CLOSED


def test_ldl_matches_dense_solve_on_a_looped_graph() -> None:
    rng = np.random.default_rng(1)
    n = 60
    start = np.concatenate([np.arange(n - 1), rng.integers(0, n, 30), [n - 1, 0]])
    end = np.concatenate([np.arange(1, n), rng.integers(0, n, 30), [n, n + 1]])   # two fixed nodes
    keep = start != end
    start, end = start[keep], end[keep]
    sym = symbolic(n, start, end)
    p = rng.uniform(0.5, 2.0, len(start))
    a = np.zeros((n, n))
    diag = np.zeros(n)
    lx = np.zeros(sym.nnz)
    for k, (i, j) in enumerate(zip(start, end)):
        for u in (i, j):
            if u < n:
                a[u, u] += p[k]
                diag[sym.iperm[u]] += p[k]
        if i < n and j < n:
            a[i, j] -= p[k]
            a[j, i] -= p[k]
            lx[sym.slot[k]] -= p[k]
    b = rng.normal(size=n)
    rhs = b[sym.perm].copy()
    assert ldl_factor(n, sym.colptr, sym.rowind, sym.rowptr, sym.rowcols, sym.rowpos, diag, lx, np.zeros(n)) == -1
    ldl_solve(n, sym.colptr, sym.rowind, diag, lx, rhs)
    x = np.empty(n)
    x[sym.perm] = rhs
    np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-10, atol=1e-12)
    assert sym.nnz <= 4 * int(keep.sum())    # a near-tree graph keeps little fill


def _looped_system(seed: int, n: int = 60, extra: int = 30):
    """A random looped graph's symbolic factorization and its matrix in factor layout."""
    rng = np.random.default_rng(seed)
    start = np.concatenate([np.arange(n - 1), rng.integers(0, n, extra), [n - 1, 0]])
    end = np.concatenate([np.arange(1, n), rng.integers(0, n, extra), [n, n + 1]])
    keep = start != end
    start, end = start[keep], end[keep]
    sym = symbolic(n, start, end)
    p = rng.uniform(0.5, 2.0, len(start))
    diag, lx = np.zeros(n), np.zeros(sym.nnz)
    for k, (i, j) in enumerate(zip(start, end)):
        for u in (i, j):
            if u < n:
                diag[sym.iperm[u]] += p[k]
        if i < n and j < n:
            lx[sym.slot[k]] -= p[k]
    return sym, diag, lx


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mapped_ldl_factor_is_bit_identical_to_the_work_vector_one(seed: int) -> None:
    """The solver's factor (updates straight to their positions) gives the very same bits."""
    sym, diag, lx = _looped_system(seed, n=120, extra=80)
    d1, l1 = diag.copy(), lx.copy()
    d2, l2 = diag.copy(), lx.copy()
    n = len(diag)
    assert ldl_factor(n, sym.colptr, sym.rowind, sym.rowptr, sym.rowcols, sym.rowpos, d1, l1, np.zeros(n)) == -1
    assert ldl_factor_mapped(n, sym.colptr, sym.rowptr, sym.rowcols, sym.rowpos, sym.upd, d2, l2) == -1
    assert sym.nnz > 120            # fill-in happened, so the update map is exercised
    np.testing.assert_array_equal(d1, d2)
    np.testing.assert_array_equal(l1, l2)


def test_mapped_ldl_factor_reports_a_singular_column() -> None:
    sym = symbolic(2, np.array([0]), np.array([1]))
    diag = np.array([1.0, 1.0])
    lx = np.array([-1.0])
    assert ldl_factor_mapped(2, sym.colptr, sym.rowptr, sym.rowcols, sym.rowpos, sym.upd, diag, lx) == 1


def test_ldl_reports_a_singular_column() -> None:
    sym = symbolic(2, np.array([0]), np.array([1]))
    diag = np.array([1.0, 1.0])
    lx = np.array([-1.0])
    assert ldl_factor(2, sym.colptr, sym.rowind, sym.rowptr, sym.rowcols, sym.rowpos, diag, lx, np.zeros(2)) >= 0
