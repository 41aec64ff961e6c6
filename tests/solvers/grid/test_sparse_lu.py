"""The reusable sparse LU of the power flow: symbolic analysis, fill-reducing ordering, refactorization."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from twin.grid.flow import power_flow, prepare
from twin.io.matpower import read_matpower
from twin.solvers.grid import sparse_lu
from twin.solvers.grid.newton import JacobianPattern, jacobian
from twin.solvers.grid.sparse_lu import SymbolicLU, fill_reducing_order

DATA = Path(__file__).resolve().parents[2] / "data" / "grid"


@pytest.fixture(scope="module")
def case1354():
    net = read_matpower(DATA / "case1354pegase.m")
    _, case = prepare(net)
    pattern = JacobianPattern.build(case.ybus, case.kind)
    rng = np.random.default_rng(7)
    v = (1 + 0.05 * rng.standard_normal(case.n_bus)) * np.exp(0.2j * rng.standard_normal(case.n_bus))
    return net, case, pattern, jacobian(case.ybus, v, pattern)


def _bus_order_to_unknowns(pattern: JacobianPattern, bus_order: np.ndarray) -> np.ndarray:
    va, vm = pattern.va_pos[bus_order], pattern.vm_pos[bus_order]
    rows = np.stack([va, np.where(vm >= 0, pattern.n_va + vm, -1)], axis=1).ravel()
    return rows[rows >= 0]


def _patterns(lu: SymbolicLU) -> list[tuple[frozenset, frozenset]]:
    return [(frozenset(lu.li[lu.lp[j]:lu.lp[j + 1]].tolist()), frozenset(lu.ui[lu.up[j]:lu.up[j + 1]].tolist()))
            for j in range(lu.n)]


def test_symmetric_symbolic_equals_general_symbolic_and_solves(case1354) -> None:
    _, case, pattern, jac = case1354
    order = _bus_order_to_unknowns(pattern, fill_reducing_order(case.ybus))
    lu = SymbolicLU.ordered(jac, order)
    # the Jacobian's structure is symmetric, so the elimination-tree symbolic was used; the
    # general (Gilbert-Peierls) symbolic of the same permuted matrix gives the same L and U
    bp, bi, _, symmetric = sparse_lu._permuted_csc(lu.n, jac.indptr.astype(np.int64), jac.indices.astype(np.int64),
                                                   order)
    assert symmetric
    lp, li, up, ui, ok = sparse_lu._symbolic(lu.n, bp, bi)
    assert ok
    general = SymbolicLU(lu.n, order, order, lu.bmap, bp, bi, lp, li, up, ui)
    assert _patterns(lu) == _patterns(general)
    assert lu.factor(jac.data)
    b = np.linspace(-1.0, 1.0, lu.n)
    np.testing.assert_allclose(lu.solve(b), spsolve(jac.tocsc(), b), rtol=1e-9, atol=1e-11)


def test_unsymmetric_structure_uses_general_symbolic() -> None:
    a = sp.csr_matrix(np.array([[4.0, 1.0, 0.0, 0.0], [0.0, 3.0, 1.0, 0.0], [2.0, 0.0, 5.0, 1.0],
                                [0.0, 0.0, 0.0, 2.0]]))
    *_, symmetric = sparse_lu._permuted_csc(4, a.indptr.astype(np.int64), a.indices.astype(np.int64),
                                            np.arange(4, dtype=np.int64))
    assert not symmetric
    lu = SymbolicLU.ordered(a, np.array([3, 1, 0, 2]))
    assert lu.factor(a.data)
    b = np.array([1.0, -2.0, 0.5, 3.0])
    np.testing.assert_allclose(a @ lu.solve(b), b, atol=1e-14)


def _fill(jac: sp.csr_matrix, pattern: JacobianPattern, bus_order: np.ndarray) -> int:
    lu = SymbolicLU.ordered(jac, _bus_order_to_unknowns(pattern, bus_order))
    return len(lu.li) + len(lu.ui)


def _without_kvxopt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "kvxopt", None)  # import kvxopt raises ImportError


@pytest.mark.parametrize("amd", [True, False], ids=["kvxopt-amd", "superlu-mmd"])
def test_fill_reducing_order_is_a_permutation_that_cuts_fill(case1354, monkeypatch, amd: bool) -> None:
    _, case, pattern, jac = case1354
    if amd:
        pytest.importorskip("kvxopt")
    else:
        _without_kvxopt(monkeypatch)
    order = fill_reducing_order(case.ybus)
    assert sorted(order.tolist()) == list(range(case.n_bus))
    natural = _fill(jac, pattern, np.arange(case.n_bus))
    reduced = _fill(jac, pattern, order)
    assert reduced < 0.5 * natural  # case1354pegase: natural order fills ~5x more than a min-degree one
    assert reduced < 1.5 * jac.nnz  # AMD 1.25x, MMD about the same


def test_power_flow_is_the_same_with_either_ordering(monkeypatch) -> None:
    pytest.importorskip("kvxopt")
    amd = power_flow(read_matpower(DATA / "case1354pegase.m"))
    _without_kvxopt(monkeypatch)
    mmd = power_flow(read_matpower(DATA / "case1354pegase.m"))
    np.testing.assert_allclose(amd.vm_pu, mmd.vm_pu, atol=1e-10)
    np.testing.assert_allclose(amd.va_degree, mmd.va_degree, atol=1e-8)
    assert amd.attrs["iterations"] == mmd.attrs["iterations"]
