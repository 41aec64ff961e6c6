"""Newton-Raphson kernels against the analytic two-bus case and the dense references."""

from __future__ import annotations

import numpy as np
import pytest

from tests.reference.grid_dense import jacobian_fd, mismatch_dense, newton_dense, ybus_dense
from tests.solvers.grid.conftest import feeder, two_bus
from twin.errors import ConvergenceError
from twin.grid.flow import power_flow, prepare
from twin.solvers.grid.newton import JacobianPattern, jacobian, mismatch, newton_raphson


@pytest.mark.parametrize("p, q", [(50.0, 0.0), (80.0, 30.0), (-40.0, 10.0)])
def test_two_bus_analytic(p: float, q: float) -> None:
    x = 0.1
    res = power_flow(two_bus(p, q, x_pu=x))
    pp, qq = p / 100, q / 100
    a = 1 - 2 * qq * x
    v2 = np.sqrt((a + np.sqrt(a * a - 4 * x * x * (pp * pp + qq * qq))) / 2)
    theta = np.arcsin(-pp * x / v2)
    assert res.vm_pu.sel(bus="B").item() == pytest.approx(v2, abs=1e-10)
    assert np.deg2rad(res.va_degree.sel(bus="B").item()) == pytest.approx(theta, abs=1e-10)
    assert res.external_grid_p_mw.item() == pytest.approx(p, abs=1e-6)  # lossless line
    assert res.branch_p_from_mw.item() == pytest.approx(p, abs=1e-6)


def test_two_bus_collapse_raises_convergence_error() -> None:
    with pytest.raises(ConvergenceError, match="iterations") as err:
        power_flow(two_bus(800.0, 0.0, x_pu=0.1))
    assert err.value.iterations is not None and err.value.residual > 0


def _case_arrays(net):
    g, case = prepare(net)
    r, x, gs, bs, ratio, shift = case.pi
    on = case.branch_on
    y = ybus_dense(case.n_bus, case.f[on], case.t[on], r[on], x[on], gs[on], bs[on], ratio[on], shift[on],
                   np.where(case.energised, case.ysh, 0))
    return case, y


def test_ybus_matches_dense_reference() -> None:
    case, y = _case_arrays(feeder())
    assert np.abs(case.ybus.toarray() - y).max() < 1e-9 * np.abs(y).max()


def test_jacobian_matches_finite_differences() -> None:
    case, y = _case_arrays(feeder())
    rng = np.random.default_rng(7)
    kind = case.kind
    v = (1 + 0.05 * rng.standard_normal(case.n_bus)) * np.exp(1j * 0.1 * rng.standard_normal(case.n_bus))
    v[kind == 3] = 0
    pattern = JacobianPattern.build(case.ybus, kind)
    sbus = case.sbus()
    jac = jacobian(case.ybus, v, pattern).toarray()
    ref = jacobian_fd(y, v, sbus, kind)
    assert np.abs(jac - ref).max() < 1e-5 * np.abs(ref).max()
    assert np.allclose(mismatch(case.ybus, v, sbus, pattern), mismatch_dense(y, v, sbus, kind))


def test_newton_matches_dense_newton() -> None:
    case, y = _case_arrays(feeder())
    v0 = np.where(case.energised, 1.0 + 0j, 0)
    v0[case.kind == 2] = case.vm_set[case.kind == 2]
    res = newton_raphson(case.ybus, case.sbus(), v0, case.kind, tol=1e-11)
    ref = newton_dense(y, case.sbus(), v0, case.kind, tol=1e-11)
    assert res.converged and res.iterations <= 5
    assert np.abs(res.v - ref).max() < 1e-9


def test_already_converged_takes_no_iteration() -> None:
    net = feeder()
    g, case = prepare(net)
    first = newton_raphson(case.ybus, case.sbus(), np.where(case.kind == 2, case.vm_set, 1.0) + 0j * case.kind,
                           case.kind, tol=1e-10)
    again = newton_raphson(case.ybus, case.sbus(), first.v, case.kind, tol=1e-10)
    assert again.iterations == 0 and again.converged
