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
    ph = en.createproject()
    en.open(ph, str(path), os.devnull, "")
    if duration_s is not None:
        en.settimeparam(ph, en.DURATION, duration_s)
    if options:
        if "accuracy" in options:
            en.setoption(ph, en.ACCURACY, options["accuracy"])
        if "trials" in options:
            en.setoption(ph, en.TRIALS, options["trials"])
    u = epanet_units(["CFS", "GPM", "MGD", "IMGD", "AFD", "LPS", "LPM", "MLD", "CMH", "CMD", "CMS"]
                     [en.getflowunits(ph)])
    nidx = [en.getnodeindex(ph, i) for i in node_ids]
    lidx = [en.getlinkindex(ph, i) for i in link_ids]
    rstep = en.gettimeparam(ph, en.REPORTSTEP)
    rstart = en.gettimeparam(ph, en.REPORTSTART)
    out = {}
    en.openH(ph)
    en.initH(ph, 0)
    while True:
        t = en.runH(ph)
        if t >= rstart and (t - rstart) % rstep == 0:
            h = np.array([en.getnodevalue(ph, i, en.HEAD) for i in nidx]) * u.length
            q = np.array([en.getlinkvalue(ph, i, en.FLOW) for i in lidx]) * u.flow
            out[t] = (h, q)
        if en.nextH(ph) <= 0:
            break
    en.closeH(ph)
    en.close(ph)
    en.deleteproject(ph)
    return out


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
    # (relative flow change 53.169 vs 53.221; not found why). The two-node island between the
    # closed pump and the valve floats: 7.46 m there; every other node within 2.8e-4 m.
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
