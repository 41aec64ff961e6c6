"""twin's hydraulics against the EPANET 2.3 toolkit on every test network, at every report step.

Heads are compared in m, flows in m3/s, at the report times both runs solve. Goals (issue 3):
t = 0 heads within 1e-3 m (p99 1e-4 m), flows within 1e-6 m3/s + 1e-5 |Q|; over the EPS
p99 <= 1e-3 m and max <= 1e-2 m. Networks that miss carry their measured figure and the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from twin.io import read_inp
from twin.units import epanet_units

en = pytest.importorskip("epanet.toolkit")

FLOATING_M = 1.0e5
DATA = Path(__file__).resolve().parents[1] / "data" / "water"


#: comparison (b) of issue 3: both solvers at tight accuracy
TIGHT = dict(accuracy=1.0e-8, trials=200)


def epanet_run(path: Path, node_ids, link_ids, duration_s: int | None = None,
               options: dict | None = None) -> dict[int, tuple]:
    """EPANET's heads (m) and flows (m3/s) at each report time: {t: (head, flow)}.

    ``options`` may set ``accuracy`` and ``trials`` (via ``EN_setoption``).
    """
    values = epanet_values(path, node_ids, link_ids, {}, {}, duration_s, options)
    return {t: (row["head"], row["flow"]) for t, row in values.items()}


def compare(name: str, duration_s: int | None = None, options: dict | None = None) -> dict[str, float]:
    """Max / p99 head error (m) over the EPS, t = 0 errors, and the share of matching times.

    ``options`` (``accuracy``, ``trials``) are set in both solvers: twin's water settings and
    EPANET's ``EN_setoption``.
    """
    from twin.water.simulation import hydraulics

    net = read_inp(DATA / f"{name}.inp")
    if options:
        settings = {k: dict(v) for k, v in net.settings.items()}
        settings.setdefault("water", {}).update(options)
        net = net.replace(settings=settings)
    ds = hydraulics(net, duration_s=duration_s)
    ref = epanet_run(DATA / f"{name}.inp", ds.node.values, ds.link.values, duration_s, options)
    ours = {int(t): i for i, t in enumerate(ds.time.values)}
    common = sorted(set(ours) & set(ref))
    dh = np.array([np.abs(ds["head"].values[ours[t]] - ref[t][0]) for t in common])
    # nodes cut off from every source have heads of 1e6 m and more in both solvers (1e8 x flow
    # through closed links): meaningless, left out and counted
    floating = np.array([np.abs(ref[t][0]) > FLOATING_M for t in common])
    dh[floating] = 0.0
    h0 = dh[0]
    q0 = np.abs(ds.flow.values[ours[0]] - ref[0][1])
    qtol = 1e-6 + 1e-5 * np.abs(ref[0][1])
    pos = {n: i for i, n in enumerate(ds.node.values)}
    net_links = net.tables
    ends = [(pos[a], pos[b]) for kind in ("pipe", "pump", "valve")
            for a, b in zip(net_links[kind].start_node, net_links[kind].end_node)]
    q0[[floating[0][a] or floating[0][b] for a, b in ends]] = 0.0
    return dict(max_h=float(dh.max()), p99_h=float(np.percentile(dh, 99)), max_h0=float(h0.max()),
                p99_h0=float(np.percentile(h0, 99)), q0_excess=float((q0 / qtol).max()),
                times=len(common) / max(len(ref), 1), n_times=len(common), floating=int(floating.sum()),
                worst=(int(common[np.unravel_index(dh.argmax(), dh.shape)[0]]),
                       str(ds.node.values[np.unravel_index(dh.argmax(), dh.shape)[1]])))


#: full-length runs (Net3 7 days, L-TOWN 7 days at 5 min, Net6 4 days, MICROPOLIS 10 days);
#: the fast set runs them for 24 h
SLOW = {"Net3": 604800, "L-TOWN": 604800, "Net6": 345600, "MICROPOLIS_v1": 864000}

GOALS = dict(max_h0=1e-3, p99_h0=1e-4, q0_excess=1.0, max_h=1e-2, p99_h=1e-3)

# name -> (duration override or None, measured figures of a network that misses a goal)
CASES = {
    "Net1": (None, {}),
    "Net2": (None, {}),
    "Net3": (86400, {}),
    "Anytown_multipointcurves": (None, {}),
    "L-TOWN": (86400, {}),
    "Net6": (86400, {}),
    "MICROPOLIS_v1": (86400, {}),
    # A constant-power pump (~@Pump-11) feeds a dead end closed off by PRV ~@RV-4: both solvers
    # close the pump (EPANET 2.3: TEMPCLOSED once its flow is below TINY), but the PRV's final
    # status (EPANET CLOSED, twin OPEN) depends on the trial path, which differs from trial 1 on
    # (relative flow change 53.169 vs 53.221). Cause: a round-off tie. After trial 1 the heads agree
    # to 5e-11 m and the pump lifts exactly twice its initial head loss, so its flow update
    # dq = Y - P dh equals its flow (1 cfs) to the last bits; EPANET's dq comes out just below
    # (flow 1e-13 cfs), twin's just above, and EPANET's "dq > q: dq = q / 2" rule for constant-power
    # pumps halves twin's flow instead (0.5 cfs). Not a modelling difference; only identical
    # floating-point operations would follow EPANET here. The two-node island between the closed
    # pump and the valve floats: 7.46 m there; every other node within 2.8e-4 m.
    "ky10": (None, dict(max_h0=7.5, p99_h0=3.0e-4, q0_excess=6.3, max_h=7.5, p99_h=3.0e-4)),
    "Anytown": (None, {}),
    "io": (None, {}),
    "leaks": (None, {}),
    "times": (None, {}),
    "time_controls": (None, {}),
    "tank_controls_1": (None, {}),
    "tank_controls_2": (None, {}),
    "control_comb": (None, {}),
    "cv_controls": (None, {}),
    "conditional_controls_1": (None, {}),
    "conditional_controls_2": (None, {}),
    "fcv_open_no_downstream_sources": (None, {}),
    "prv_open_no_upstream_sources": (None, {}),
    "psv_open_no_downstream_sources": (None, {}),
}


@pytest.mark.parametrize("name", [n for n in CASES if n not in SLOW], ids=str)
def test_matches_epanet(name: str) -> None:
    duration, misses = CASES[name]
    got = compare(name, duration)
    assert got["times"] >= 0.95, got
    for key, goal in GOALS.items():
        assert got[key] <= misses.get(key, goal), (key, got)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SLOW), ids=str)
def test_matches_epanet_long_runs(name: str) -> None:
    duration, misses = CASES[name]
    got = compare(name, SLOW[name])
    assert got["times"] >= 0.95, got
    for key, goal in GOALS.items():
        assert got[key] <= misses.get(key, goal), (key, got)


def test_sample_city_matches_epanet(tmp_path: Path) -> None:
    """The sample city written to .inp and run by EPANET (measured: t = 0 1.3e-10 m, EPS max
    6.3e-3 m: the written file rounds tank and pattern values, so EPANET's tank levels drift)."""
    import twin
    from twin.water.simulation import hydraulics
    from twin.io import write_inp

    city = twin.datasets.sample_city()
    write_inp(city, tmp_path / "city.inp")
    ds = hydraulics(city)
    ref = epanet_run(tmp_path / "city.inp", ds.node.values, ds.link.values)
    dh = np.array([np.abs(ds["head"].values[i] - ref[int(t)][0]) for i, t in enumerate(ds.time.values)])
    assert len(ref) == ds.sizes["time"]
    assert dh[0].max() <= 1e-3 and np.percentile(dh[0], 99) <= 1e-4
    assert dh.max() <= 1e-2 and np.percentile(dh, 99) <= 1e-2


# comparison (b): both solvers at ACCURACY 1e-8 / TRIALS 200, same goals; measured misses:
TIGHT_MISSES = {
    # the island between closed pump ~@Pump-11 and PRV ~@RV-4 floats (as in the default run):
    # 7.94 m there, p99 9.3e-6 m
    "ky10": dict(max_h0=8.0, max_h=8.0),
    # UNBALANCED STOP: at 1e-8 twin does not converge in 200 trials at 3600 s (its relative
    # flow change stalls at round-off) and halts there; EPANET halts one step later (7200 s),
    # so 2 of EPANET's 3 report times are solved (heads there within 1.3e-8 m)
    "conditional_controls_2": dict(times=0.6),
}
#: EPANET 2.3 itself fails at tight accuracy (error 110, ill-conditioned) on these networks
TIGHT_FAILS = {"Anytown"}


@pytest.mark.parametrize("name", list(CASES), ids=str)
def test_matches_epanet_tight(name: str) -> None:
    """Issue 3 comparison (b): ACCURACY 1e-8 / TRIALS 200 in both solvers, 24 h runs."""
    duration, _ = CASES[name]
    misses = TIGHT_MISSES.get(name, {})
    if name in TIGHT_FAILS:
        from twin.errors import ConvergenceError

        with pytest.raises(ConvergenceError, match="singular"):
            compare(name, duration, TIGHT)
        with pytest.raises(Exception, match="110"):
            epanet_run(DATA / f"{name}.inp", [], [], duration, TIGHT)
        return
    got = compare(name, duration, TIGHT)
    assert got["times"] >= misses.get("times", 0.95), got
    for key, goal in GOALS.items():
        assert got[key] <= misses.get(key, goal), (key, got)


# ------------------------------------------------------------------ EPANET 2.3 pipe leakage (FAVAD)
#: [LEAKAGE] sections (pipe, area mm² per 100 length units, expansion mm² per unit of head) added
#: to test networks: leaks.inp (CMH, ACCURACY 1e-8; a pipe from a tank gives all of its leakage
#: to its junction end) and Net1 (GPM, the file's own ACCURACY 0.001). features.inp has a
#: [LEAKAGE] line too but is no reference: without its leakage twin and EPANET already differ there
#: (the emitter of J2 under PDA with kPa pressures, and floating nodes behind closed links).
LEAK_CASES = {
    "leaks": " pipe1 1.0 0.5\n pipe2 2.0 0.1\n",
    "Net1": " 10 2.0 0.3\n 11 1.0 0.2\n 21 3.0 0\n 110 5.0 0\n 122 1.0 0\n",
}


def _with_leakage(tmp_path: Path, name: str) -> Path:
    text = (DATA / f"{name}.inp").read_text()
    text = text.replace("[PATTERNS]", "[LEAKAGE]\n" + LEAK_CASES[name] + "\n[PATTERNS]", 1)
    path = tmp_path / f"{name}_leak.inp"
    path.write_text(text)
    return path


def epanet_leakage(path: Path, junction_ids, times, options: dict | None = None) -> dict[int, np.ndarray]:
    """EPANET's leakage plus emitter outflow (m3/s) at junctions at ``times``."""
    ph = en.createproject()
    en.open(ph, str(path), os.devnull, "")
    for key, code in (("accuracy", en.ACCURACY), ("trials", en.TRIALS)):
        if options and key in options:
            en.setoption(ph, code, options[key])
    u = epanet_units(["CFS", "GPM", "MGD", "IMGD", "AFD", "LPS", "LPM", "MLD", "CMH", "CMD", "CMS"]
                     [en.getflowunits(ph)])
    idx = [en.getnodeindex(ph, i) for i in junction_ids]
    out = {}
    en.openH(ph)
    en.initH(ph, 0)
    while True:
        t = en.runH(ph)
        if t in times:
            out[t] = np.array([en.getnodevalue(ph, i, en.LEAKAGEFLOW) + en.getnodevalue(ph, i, en.EMITTERFLOW)
                               for i in idx]) * u.flow
        if en.nextH(ph) <= 0:
            break
    en.closeH(ph)
    en.close(ph)
    en.deleteproject(ph)
    return out


@pytest.mark.skipif(not hasattr(en, "LEAKAGEFLOW"), reason="EPANET toolkit without 2.3 leakage")
@pytest.mark.parametrize("tight", [False, True], ids=["own", "tight"])
@pytest.mark.parametrize("name", list(LEAK_CASES), ids=str)
def test_leakage_matches_epanet(name: str, tight: bool, tmp_path: Path) -> None:
    """Heads and flows as for the other networks, and leak flows at every report step, with the
    file's options (a) and at ACCURACY 1e-8 / TRIALS 200 in both solvers (b).

    Measured (a): leaks 7.4e-9 m heads, 2.9e-11 m3/s leak flows; Net1 1.0e-4 m, 1.6e-7 m3/s.
    """
    from twin.water.simulation import hydraulics

    path = _with_leakage(tmp_path, name)
    net = read_inp(path)
    assert (net.tables["pipe"].leak_area_mm2_per_100m.fillna(0) > 0).any()
    options = TIGHT if tight else None
    if tight:
        settings = {k: dict(v) for k, v in net.settings.items()}
        settings.setdefault("water", {}).update(TIGHT)
        net = net.replace(settings=settings)
    ds = hydraulics(net)
    ref = epanet_run(path, ds.node.values, ds.link.values, None, options)
    times = [int(t) for t in ds.time.values]
    assert sorted(ref) == times
    dh = np.array([np.abs(ds["head"].values[i] - ref[t][0]) for i, t in enumerate(times)])
    assert dh[0].max() <= GOALS["max_h0"] and np.percentile(dh[0], 99) <= GOALS["p99_h0"]
    assert dh.max() <= GOALS["max_h"] and np.percentile(dh, 99) <= GOALS["p99_h"]
    q0 = np.abs(ds.flow.values[0] - ref[0][1])
    assert (q0 <= 1e-6 + 1e-5 * np.abs(ref[0][1])).all()
    leak = epanet_leakage(path, ds.junction.values, set(times), options)
    assert max(v.max() for v in leak.values()) > 1e-3      # the leaks are not negligible
    for i, t in enumerate(times):
        np.testing.assert_allclose(ds.leak_flow.values[i], leak[t], rtol=1e-5, atol=1e-6, err_msg=str(t))
    # what leaks is delivered: junction outflow = demand + leakage
    np.testing.assert_allclose(ds.demand.values[:, :ds.sizes["junction"]],
                               ds.demand_delivered.values + ds.leak_flow.values, atol=1e-12)


# ------------------------------------------------------------------ EPANET 2.2 / 2.3 features, file by file
def epanet_values(path: Path, node_ids, link_ids, node_codes: dict[str, int], link_codes: dict[str, int],
                  duration_s: int | None = None, options: dict | None = None) -> dict[int, dict[str, np.ndarray]]:
    """EPANET's node and link values at each report time: ``{t: {name: values}}``.

    Node values named in ``node_codes`` (toolkit codes of flows, heads or levels) and link values
    in ``link_codes`` come back in SI (flows in m3/s, heads and elevations in m); ``head`` and
    ``flow`` always. ``options`` may set ``accuracy`` and ``trials`` (via ``EN_setoption``).
    """
    ph = en.createproject()
    en.open(ph, str(path), os.devnull, "")
    if duration_s is not None:
        en.settimeparam(ph, en.DURATION, duration_s)
    for key, code in (("accuracy", en.ACCURACY), ("trials", en.TRIALS)):
        if options and key in options:
            en.setoption(ph, code, options[key])
    u = epanet_units(["CFS", "GPM", "MGD", "IMGD", "AFD", "LPS", "LPM", "MLD", "CMH", "CMD", "CMS"]
                     [en.getflowunits(ph)])
    length = {en.HEAD, en.ELEVATION}
    nidx = [en.getnodeindex(ph, i) for i in node_ids]
    lidx = [en.getlinkindex(ph, i) for i in link_ids]
    ncodes = dict(node_codes, head=en.HEAD)
    lcodes = dict(link_codes, flow=en.FLOW)
    rstep = en.gettimeparam(ph, en.REPORTSTEP)
    rstart = en.gettimeparam(ph, en.REPORTSTART)
    out = {}
    en.openH(ph)
    en.initH(ph, 0)
    while True:
        t = en.runH(ph)
        if t >= rstart and (t - rstart) % rstep == 0:
            row = {k: np.array([en.getnodevalue(ph, i, c) for i in nidx]) * (u.length if c in length else u.flow)
                   for k, c in ncodes.items()}
            row.update({k: np.array([en.getlinkvalue(ph, i, c) for i in lidx]) * (1.0 if c == en.STATUS else u.flow)
                        for k, c in lcodes.items()})
            out[t] = row
        if en.nextH(ph) <= 0:
            break
    en.closeH(ph)
    en.close(ph)
    en.deleteproject(ph)
    return out


def _twin_and_epanet(path: Path, node_codes: dict[str, int], link_codes: dict[str, int] | None = None):
    """twin's report-time results of ``path`` and EPANET's values at the same times (all of them)."""
    from twin.water.simulation import hydraulics

    ds = hydraulics(read_inp(path))
    ref = epanet_values(path, ds.node.values, ds.link.values, node_codes, link_codes or {})
    times = [int(t) for t in ds.time.values]
    assert sorted(ref) == times
    return ds, [ref[t] for t in times]


def _assert_heads_flows(ds, ref, head_tol: float = 1e-6, flow_tol: float = 1e-8) -> tuple[float, float]:
    """Heads (m) and flows (m3/s) at every report time within the tolerances; returns the maxima."""
    dh = max(np.abs(ds["head"].values[i] - r["head"]).max() for i, r in enumerate(ref))
    dq = max(np.abs(ds.flow.values[i] - r["flow"]).max() for i, r in enumerate(ref))
    assert dh <= head_tol and dq <= flow_tol, (dh, dq)
    return dh, dq


#: emitter test networks (measured max differences, heads / flows / emitter flows: all <= 1e-13)
EMITTER_CASES = ["emitters_kpa", "emitters_m", "emitters_psi", "emitters_backflow"]


@pytest.mark.parametrize("name", EMITTER_CASES, ids=str)
def test_emitters_match_epanet(name: str) -> None:
    """Emitters in LPS / kPa (exponent 0.55, specific gravity 1.02), CMH / m and GPM / psi
    (exponent 0.6, specific gravity 1.05), and with BACKFLOW ALLOWED NO: heads, flows, emitter
    outflow (``leak_flow``), delivered demand and total junction outflow at every report step.

    EPANET 2.3 reads an emitter coefficient per psi**g (US) or per m**g (SI) whatever the
    PRESSURE option (twin read the LPS / kPa file's coefficients per kPa**g: 3.5 times the flow).
    """
    ds, ref = _twin_and_epanet(DATA / f"{name}.inp", {"emitter": en.EMITTERFLOW, "demand": en.DEMAND,
                                                     "delivered": en.DEMANDFLOW})
    _assert_heads_flows(ds, ref)
    nj = ds.sizes["junction"]
    for i, r in enumerate(ref):
        np.testing.assert_allclose(ds.leak_flow.values[i], r["emitter"][:nj], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(ds.demand_delivered.values[i], r["delivered"][:nj], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(ds.demand.values[i], r["demand"], rtol=1e-9, atol=1e-10)
    emitted = np.array([r["emitter"][:nj] for r in ref])
    assert emitted.max() > 1e-3     # m3/s: the emitters matter
    j5 = list(ds.junction.values).index("J5")
    if name == "emitters_backflow":
        assert emitted[:, j5].min() > -1e-9   # EPANET's barrier lets ~1e-10 m3/s in, no more
    else:
        assert (ds.pressure.sel(node="J5").values < 0).any() == (emitted[:, j5].min() < 0)


def test_emitter_backflow_option_changes_the_solution(tmp_path: Path) -> None:
    """With BACKFLOW ALLOWED YES the junction above the grade line takes water in (both solvers)."""
    path = tmp_path / "backflow_yes.inp"
    path.write_text((DATA / "emitters_backflow.inp").read_text().replace("BACKFLOW ALLOWED NO",
                                                                         "BACKFLOW ALLOWED YES"))
    ds, ref = _twin_and_epanet(path, {"emitter": en.EMITTERFLOW})
    _assert_heads_flows(ds, ref)
    j5 = ds.leak_flow.sel(junction="J5").values
    np.testing.assert_allclose(j5, [r["emitter"][4] for r in ref], rtol=1e-9, atol=1e-12)
    assert j5.max() < -5e-4                 # m3/s into the network at every step


def _with_options(tmp_path: Path, name: str, lines: str) -> Path:
    """A copy of test network ``name`` with its ACCURACY line replaced by ``lines``."""
    import re

    text = re.sub(r"(?im)^\s*accuracy\s.*$", "", (DATA / f"{name}.inp").read_text())
    path = tmp_path / f"{name}_options.inp"
    path.write_text(re.sub(r"(?i)\[OPTIONS\]", "[OPTIONS]\n " + lines.replace("\n", "\n "), text, count=1))
    return path


#: (network, options): a loose ACCURACY that stops both solvers after 2 trials, and HEADERROR (file
#: length units) or FLOWCHANGE (file flow units) that keep them going. Measured: within 2.5e-8 m
#: (Net1) and 2.3e-6 m (Net3) of EPANET; without the criteria twin would be 9 mm to 3.2 m off.
BALANCE_CASES = [("Net1", "ACCURACY 0.2\nHEADERROR 0.001"), ("Net1", "ACCURACY 0.2\nFLOWCHANGE 0.001"),
                 ("Net3", "ACCURACY 0.2\nHEADERROR 0.001"), ("Net3", "ACCURACY 0.2\nFLOWCHANGE 0.001"),
                 ("Net3", "ACCURACY 0.2\nHEADERROR 0.01\nFLOWCHANGE 0.01")]


@pytest.mark.parametrize("name,options", BALANCE_CASES, ids=lambda v: str(v).replace("\n", "+"))
def test_headerror_flowchange_match_epanet(name: str, options: str, tmp_path: Path) -> None:
    """HEADERROR / FLOWCHANGE (EPANET 2.2 ``hasconverged``) over 24 h, file options in both solvers."""
    from twin.water.simulation import hydraulics

    path = _with_options(tmp_path, name, options)
    net = read_inp(path)
    ds = hydraulics(net, duration_s=86400)
    ref = epanet_values(path, ds.node.values, ds.link.values, {}, {}, 86400)
    times = [int(t) for t in ds.time.values]
    assert sorted(ref) == times
    dh = np.array([np.abs(ds["head"].values[i] - ref[t]["head"]) for i, t in enumerate(times)])
    assert dh.max() <= 1e-5, dh.max()
    # the criteria matter: ACCURACY alone stops both solvers early, far from these heads
    loose = {k: dict(v) for k, v in net.settings.items()}
    loose["water"].update(head_error_m=0.0, flow_change_m3s=0.0)
    early = hydraulics(net.replace(settings=loose), duration_s=86400)
    assert np.abs(early["head"].values - ds["head"].values).max() > 5e-3


def test_tank_overflow_matches_epanet() -> None:
    """T1 (Overflow YES) fills, spills, drains and refills; T2 (NO) fills and its inlet closes.

    Tank levels, heads and flows at every report step, and T1's spill (EPANET reports it as the
    tank's net inflow, EN_DEMAND). Measured: 8.5e-14 m, 2.4e-15 m3/s.
    """
    ds, ref = _twin_and_epanet(DATA / "tank_overflow.inp", {"demand": en.DEMAND, "elevation": en.ELEVATION},
                               {"status": en.STATUS})
    _assert_heads_flows(ds, ref)
    tanks = [list(ds.node.values).index(t) for t in ("T1", "T2")]
    level = np.array([r["head"][tanks] - r["elevation"][tanks] for r in ref])
    np.testing.assert_allclose(ds.tank_level.sel(tank=["T1", "T2"]).values, level, atol=1e-9)
    spill = np.array([r["demand"][tanks[0]] for r in ref])
    np.testing.assert_allclose(ds.demand.sel(node="T1").values, spill, atol=1e-10)
    np.testing.assert_array_equal(ds.status.values, np.array([r["status"] for r in ref]))
    full = np.isclose(level[:, 0], 10.0)
    assert (spill[full] > 1e-3).sum() >= 5          # m3/s spilled at a full T1, several hours
    assert (level[:, 0] < 9.0).any()                # and it drains again
    p4 = list(ds.link.values).index("P4")
    assert (np.isclose(level[:, 1], 9.0) & (ds.status.values[:, p4] == 0)).any()   # T2 full: inlet closed


def test_pcv_matches_epanet() -> None:
    """PCVs with a valve curve, without one (linear) and with a curve ending at 60 % open, their
    settings changed by controls (80, 5, 100, 0 %, CLOSED / OPEN). Measured: 5.3e-13 m, 1.3e-14 m3/s."""
    ds, ref = _twin_and_epanet(DATA / "pcv.inp", {}, {"status": en.STATUS})
    _assert_heads_flows(ds, ref)
    np.testing.assert_array_equal(ds.status.values, np.array([r["status"] for r in ref]))
    # at t = 0 V1 is 35 % open: 12.7 % of its full-open flow coefficient (curve VC1), so its
    # loss coefficient is 0.8 / 0.127^2 (EPANET: 0.02517 K / d^4 in ft and cfs)
    q = float(ds.flow.sel(link="V1").values[0]) / 0.028317      # cfs
    d = 0.2 / 0.3048
    hl = float(ds.headloss.sel(link="V1").values[0]) / 0.3048
    assert hl == pytest.approx(0.02517 * 0.8 / 0.127 ** 2 / d ** 4 * q * q, rel=1e-6)
