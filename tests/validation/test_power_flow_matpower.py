"""AC and DC power flow against PYPOWER (a faithful port of MATPOWER) on the MATPOWER cases."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.reference.grid_ppc import to_ppc
from twin.io.matpower import read_matpower
from twin.grid.flow import power_flow

pypower = pytest.importorskip("pypower.api")

DATA = Path(__file__).parents[1] / "data" / "grid"
CASES = ["case9", "case14", "case30", "case57", "case118", "case300", "case1354pegase", "case2869pegase"]


def _pypower(net, dc: bool = False):
    opt = pypower.ppoption(VERBOSE=0, OUT_ALL=0, PF_DC=dc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res, ok = (pypower.rundcpf if dc else pypower.runpf)(to_ppc(net), opt)
    assert ok
    return res


def _compare(res, ref) -> None:
    vm, va = ref["bus"][:, 7], ref["bus"][:, 8]
    assert np.abs(res.vm_pu.values - vm).max() <= 1e-6
    assert np.abs(res.va_degree.values - va).max() <= 1e-6 * 180 / np.pi * 10
    br = ref["branch"]
    for name, col in (("branch_p_from_mw", 13), ("branch_q_from_mvar", 14), ("branch_p_to_mw", 15),
                      ("branch_q_to_mvar", 16)):
        assert np.abs(res[name].values - br[:, col]).max() <= 1e-4, name
    on = ref["gen"][:, 7] > 0
    assert np.abs(res.generator_p_mw.values[on] - ref["gen"][on, 1]).max() <= 1e-4


@pytest.mark.parametrize("case", CASES)
def test_ac_matches_pypower(case: str) -> None:
    net = read_matpower(DATA / f"{case}.m")
    res = power_flow(net, init="case")
    assert res.attrs["converged"]
    _compare(res, _pypower(net))


@pytest.mark.parametrize("case", ["case9", "case30", "case118", "case300"])
def test_ac_flat_start_matches_pypower(case: str) -> None:
    net = read_matpower(DATA / f"{case}.m")
    _compare(power_flow(net, init="flat"), _pypower(net))


@pytest.mark.parametrize("case", ["case9", "case14", "case57", "case118", "case300"])
def test_dc_matches_rundcpf(case: str) -> None:
    net = read_matpower(DATA / f"{case}.m")
    res = power_flow(net, algorithm="dc", init="case")
    ref = _pypower(net, dc=True)
    assert np.abs(res.va_degree.values - ref["bus"][:, 8]).max() <= 1e-6
    assert np.abs(res.branch_p_from_mw.values - ref["branch"][:, 13]).max() <= 1e-4


@pytest.mark.parametrize("algorithm, code", [("fdxb", 2), ("fdbx", 3)])
@pytest.mark.parametrize("case", ["case9", "case30", "case118", "case300"])
def test_fast_decoupled_matches_pypower(case: str, algorithm: str, code: int) -> None:
    net = read_matpower(DATA / f"{case}.m")
    res = power_flow(net, algorithm=algorithm, init="case")
    opt = pypower.ppoption(VERBOSE=0, OUT_ALL=0, PF_ALG=code)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref, ok = pypower.runpf(to_ppc(net), opt)
    assert ok and np.abs(res.vm_pu.values - ref["bus"][:, 7]).max() <= 1e-6
    assert np.abs(res.branch_p_from_mw.values - ref["branch"][:, 13]).max() <= 1e-4


def test_reactive_limits_match_pypower_case30() -> None:
    net = read_matpower(DATA / "case30.m")
    res = power_flow(net, init="case", enforce_q_lims=True)
    opt = pypower.ppoption(VERBOSE=0, OUT_ALL=0, ENFORCE_Q_LIMS=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref, ok = pypower.runpf(to_ppc(net), opt)
    assert ok and np.abs(res.vm_pu.values - ref["bus"][:, 7]).max() <= 1e-6
    assert np.abs(res.generator_q_mvar.values - ref["gen"][:, 2]).max() <= 1e-4


@pytest.mark.parametrize("case", ["case57", "case118", "case300"])
def test_reactive_limits_hold(case: str) -> None:
    net = read_matpower(DATA / f"{case}.m")
    free = power_flow(net)
    res = power_flow(net, enforce_q_lims=True)
    gen = net.generator
    q = res.generator_q_mvar.values
    pv = ~gen.slack.to_numpy()
    assert (q[pv] <= gen.max_q_mvar.to_numpy()[pv] + 1e-4).all() and (q[pv] >= gen.min_q_mvar.to_numpy()[pv] - 1e-4).all()
    violated = (free.generator_q_mvar.values > gen.max_q_mvar.to_numpy() + 1e-4) | (
        free.generator_q_mvar.values < gen.min_q_mvar.to_numpy() - 1e-4)
    if (violated & pv).any():
        assert not np.allclose(res.vm_pu.values, free.vm_pu.values)
