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


def test_threaded_kernel_matches_rebuilt_solves_on_case2869pegase() -> None:
    """The batched Numba outage solves (threads, chord steps on the base symbolic LU) against one
    full rebuild-and-solve per outage, on a sample of plain, islanding and generator outages:
    voltages within 1e-8 p.u., loadings within 1e-6 %."""
    from twin.grid import contingency as cg
    from twin.grid.flow import prepare, solve_case

    net = read_matpower(DATA / "case2869pegase.m")
    g, case = prepare(net)
    base, case = solve_case(g, case)
    outages = cg._outage_list(g, case, cg._KINDS)
    _, island = cg._dc_screen(case, outages, cg._ratings_mva(g, case), 2)
    rng = np.random.default_rng(11)
    groups = [[j for j, (k, _) in enumerate(outages) if k != "generator" and not island[j]],
              [j for j, (k, _) in enumerate(outages) if k != "generator" and island[j]],
              [j for j, (k, _) in enumerate(outages) if k == "generator"]]
    sample = np.concatenate([rng.choice(grp, 12, replace=False) for grp in groups])
    vmin, vmax = np.asarray(net.bus.min_vm_pu, float), np.asarray(net.bus.max_vm_pu, float)
    tol = 1e-8 / case.base_mva
    fast = cg._FastVerifier(g, case, base.v, tol, 10, 100.0, vmin, vmax)
    jobs = [(outages[j][0], outages[j][1], bool(island[j])) for j in sample]
    one, _ = fast.run(jobs, 1)
    out_f, out_i = fast.run(jobs * 3, 2)  # two threads on repeated jobs give the same numbers
    np.testing.assert_array_equal(out_f[:len(jobs)], one)
    assert (out_i[:, 0] == 0).all()
    for m, j in enumerate(sample):
        k, i = outages[j]
        ref = cg._verify(g, case, base.v, k, i, tol, 10, 100.0, vmin, vmax)
        assert ref["converged"]
        assert out_f[m, 0] == pytest.approx(ref["max_loading_percent"], abs=1e-6), (k, i)
        assert out_f[m, 1] == pytest.approx(ref["min_vm_pu"], abs=1e-8), (k, i)
        assert out_f[m, 2] == pytest.approx(ref["max_vm_pu"], abs=1e-8), (k, i)
        assert out_f[m, 3] == pytest.approx(ref["unserved_mw"], abs=1e-9), (k, i)
        assert out_i[m, 3] == ref["n_overloads"] and out_i[m, 4] == ref["n_voltage_violations"], (k, i)
        assert fast.names[out_i[m, 2]] == ref["worst_element"] or ref["max_loading_percent"] == 0, (k, i)


def test_workers_do_not_change_results(case118) -> None:
    from twin.grid.contingency import contingencies

    one = contingencies(case118, verify="all", workers=1)
    two = contingencies(case118, verify="all", workers=2)
    for name in ("max_loading_percent", "min_vm_pu", "dc_max_loading_percent", "iterations", "worst_element"):
        np.testing.assert_array_equal(one[name].values, two[name].values)


def test_retiring_extra_workers_and_automatic_count_keep_results(case118, monkeypatch) -> None:
    """Extra threads that retire at once (no CPU gain seen) leave their outages to the others."""
    import twin.grid.contingency as contingency
    import twin.parallel

    one = contingency.contingencies(case118, verify="all", workers=1)
    monkeypatch.setattr(twin.parallel, "PROBE_S", 0.0)
    monkeypatch.setattr(twin.parallel, "MIN_GAIN", 1e9)
    retired = contingency.contingencies(case118, verify="all", workers=3)
    auto = contingency.contingencies(case118, verify="all", workers=0)
    for name in ("max_loading_percent", "min_vm_pu", "iterations", "worst_element", "verified"):
        np.testing.assert_array_equal(one[name].values, retired[name].values)
        np.testing.assert_array_equal(one[name].values, auto[name].values)
    cores = len(__import__("os").sched_getaffinity(0))
    assert contingency._workers(None, 5000) == min(cores, 625) and contingency._workers(2, 5000) == 2
    assert contingency._workers(1, 5000) == 1
    assert 1 <= contingency._workers(0, 5000) <= len(__import__("os").sched_getaffinity(0))
    assert contingency._workers(0, 7) == 1
