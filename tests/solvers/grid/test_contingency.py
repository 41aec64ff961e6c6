"""N-1 contingencies against a brute-force loop of full power flows on case118."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from twin.errors import ConvergenceError
from twin.io.matpower import read_matpower
from twin.grid.flow import power_flow

DATA = Path(__file__).parents[2] / "data" / "grid"


@pytest.fixture(scope="module")
def case118():
    net = read_matpower(DATA / "case118.m")
    base = power_flow(net)
    s = np.maximum(np.hypot(base.branch_p_from_mw, base.branch_q_from_mvar),
                   np.hypot(base.branch_p_to_mw, base.branch_q_to_mvar)).values
    return net.set("branch", list(net.branch.index), rate_a_mva=np.round(1.2 * s + 20.0))


@pytest.fixture(scope="module")
def n1(case118):
    from twin.grid.contingency import contingencies

    return contingencies(case118, verify="all")


def _brute(net, cid: str, **kw):
    kind, eid = cid.split(":", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return power_flow(net.set(kind, eid, in_service=False), **kw)


def _max_loading(res) -> float:
    return float(np.nan_to_num(res.branch_loading_percent.values).max())


def test_every_outage_listed(n1, case118) -> None:
    assert n1.sizes["contingency"] == len(case118.branch) + len(case118.generator)
    assert n1.verified.all() and n1.converged.all()
    assert all("units" in v.attrs for v in n1.data_vars.values())


def test_ac_matches_brute_force(n1, case118) -> None:
    for cid in n1.contingency.values:
        row = n1.sel(contingency=cid)
        try:
            ref = _brute(case118, cid)
        except ConvergenceError:
            assert not row.converged
            continue
        assert float(row.max_loading_percent) == pytest.approx(_max_loading(ref), abs=1e-4), cid
        vm = ref.vm_pu.values
        assert float(row.min_vm_pu) == pytest.approx(np.nanmin(vm), abs=1e-6), cid
        assert float(row.unserved_mw) == pytest.approx(ref.attrs["unserved_mw"], abs=1e-9), cid
        assert int(row.n_overloads) == int((np.nan_to_num(ref.branch_loading_percent.values) > 100).sum()), cid


def test_dc_screen_matches_dc_power_flow(n1, case118) -> None:
    rating = case118.branch.rate_a_mva.to_numpy()
    for cid in n1.contingency.values[::7]:
        row = n1.sel(contingency=cid)
        if bool(row.islanding):
            continue
        ref = _brute(case118, cid, algorithm="dc")
        expect = (np.abs(ref.branch_p_from_mw.values) / rating * 100).max()
        assert float(row.dc_max_loading_percent) == pytest.approx(expect, rel=1e-9, abs=1e-9), cid


def test_islanding_outage_reports_unserved_load(n1) -> None:
    isl = n1.where(n1.islanding, drop=True)
    assert isl.sizes["contingency"] > 0 and float(isl.unserved_mw.max()) > 0


def test_critical_subset(case118) -> None:
    from twin.grid.contingency import contingencies

    crit = contingencies(case118, elements=("branch",), verify="critical", screening_margin_percent=0.0)
    chosen = crit.verified.values
    assert chosen.sum() < crit.sizes["contingency"]
    assert (crit.dc_max_loading_percent.values[chosen & ~crit.islanding.values] >= 100).all()
    assert np.isnan(crit.max_loading_percent.values[~chosen]).all()


@pytest.fixture(scope="module")
def case1354():
    return read_matpower(DATA / "case1354pegase.m")


def _check_sample(res, net, n_sample: int) -> None:
    chosen = res.contingency.values[res.verified.values]
    assert len(chosen) >= n_sample
    rng = np.random.default_rng(4)
    for cid in rng.choice(chosen, n_sample, replace=False):
        row = res.sel(contingency=cid)
        ref = _brute(net, cid)
        assert bool(row.converged), cid
        assert float(row.max_loading_percent) == pytest.approx(_max_loading(ref), abs=1e-4), cid
        vm = ref.vm_pu.values
        assert float(row.min_vm_pu) == pytest.approx(np.nanmin(vm), abs=1e-6), cid
        assert float(row.max_vm_pu) == pytest.approx(np.nanmax(vm), abs=1e-6), cid
        assert float(row.unserved_mw) == pytest.approx(ref.attrs["unserved_mw"], abs=1e-9), cid


def test_islanding_outages_on_case1354pegase(case1354) -> None:
    """Bridge outages (solved on the base pattern, dead islands pinned) against full re-solves."""
    from twin.grid.contingency import contingencies

    res = contingencies(case1354, elements=("branch",), verify="critical", max_loading_percent=1e9)
    assert (res.verified.values == res.islanding.values).all() and res.converged.values[res.verified.values].all()
    assert float(res.unserved_mw.max()) > 0
    _check_sample(res, case1354, 10)


def test_generator_outages_on_case1354pegase(case1354) -> None:
    """Generator outages (PV -> PQ on the base pattern) against full re-solves."""
    from twin.grid.contingency import contingencies

    res = contingencies(case1354, elements=("generator",), verify="all")
    assert res.converged.all()
    _check_sample(res, case1354, 10)
