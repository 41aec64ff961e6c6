"""Power-flow speed: twin vs pandapower.runpp vs PYPOWER runpf, in one run (CPU time, medians).

Run from the repository root::

    python benchmarks/bench_power_flow.py [--repeat 7] [--out benchmarks/results_grid.md]

Rows:
* single AC power flow (Newton-Raphson) on MATPOWER cases and on pandapower's mv_oberrhein:
  twin's public ``power_flow`` (tables in, Dataset out), twin's solve on a prepared case, pandapower
  ``runpp`` (from a net converted with pandapower's ``from_ppc``) and PYPOWER ``runpf``;
* a 96-step time series on mv_oberrhein (twin ``profiles`` vs a loop of ``runpp`` with
  ``init="results"``);
* N-1 (AC, every branch and generator) on case118 and case1354pegase: twin ``contingencies`` vs a
  loop of ``runpp`` with the element out of service (pandapower on a subset, extrapolated per outage).

Numba compilation (first call in this process, cache loading included) is timed apart.
"""

from __future__ import annotations

import argparse
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
from twin.contingency import contingencies  # noqa: E402
from twin.io.matpower import read_matpower  # noqa: E402
from twin.io.pandapower import from_pandapower  # noqa: E402
from twin.power_flow import power_flow, prepare, solve_case  # noqa: E402

DATA = ROOT / "tests" / "data" / "grid"


def cpu(fn: Callable[[], object], repeat: int) -> float:
    """Median CPU seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def compile_time() -> float:
    """CPU seconds of the first twin power flow in this process (numba cache load or compile)."""
    net = read_matpower(DATA / "case9.m")
    t0 = time.process_time()
    power_flow(net)
    return time.process_time() - t0


def single(case: str, repeat: int) -> dict[str, object]:
    if case == "mv_oberrhein":
        pnet = pn.mv_oberrhein()
        net = from_pandapower(pnet)
        ppc = None
    else:
        net = read_matpower(DATA / f"{case}.m")
        ppc = to_ppc(net)
        pnet = from_ppc(ppc, f_hz=60)
    g, prepared = prepare(net)
    row = {"case": case, "buses": len(net.bus)}
    row["twin power_flow ms"] = 1e3 * cpu(lambda: power_flow(net), repeat)
    row["twin solve ms"] = 1e3 * cpu(lambda: solve_case(g, prepared), repeat)
    row["pandapower runpp ms"] = 1e3 * cpu(lambda: pp.runpp(pnet), repeat)
    if ppc is not None:
        opt = ppoption(VERBOSE=0, OUT_ALL=0)
        row["PYPOWER runpf ms"] = 1e3 * cpu(lambda: runpf(ppc, opt), repeat)
    row["runpp / twin"] = row["pandapower runpp ms"] / row["twin power_flow ms"]
    return row


def series(repeat: int, steps: int = 96) -> dict[str, object]:
    pnet = pn.mv_oberrhein()
    net = from_pandapower(pnet)
    rng = np.random.default_rng(7)
    mult = 0.6 + 0.5 * rng.random((steps, len(net.load)))
    prof = {"load": pd.DataFrame(mult, columns=net.load.index)}
    twin_s = cpu(lambda: power_flow(net, profiles=prof), max(1, repeat // 3))
    p0, q0 = pnet.load.p_mw.to_numpy().copy(), pnet.load.q_mvar.to_numpy().copy()

    def loop() -> None:
        for k in range(steps):
            pnet.load["p_mw"] = p0 * mult[k]
            pnet.load["q_mvar"] = q0 * mult[k]
            pp.runpp(pnet, init="results" if k else "auto")

    pp_s = cpu(loop, 1)
    return {"case": f"mv_oberrhein {steps} steps", "twin ms/step": 1e3 * twin_s / steps,
            "pandapower ms/step": 1e3 * pp_s / steps, "ratio": pp_s / twin_s}


def n_minus_1(case: str, sample: int = 20) -> dict[str, object]:
    net = read_matpower(DATA / f"{case}.m")
    t0 = time.process_time()
    res = contingencies(net, verify="all")
    twin_s = time.process_time() - t0
    pnet = from_ppc(to_ppc(net), f_hz=60)
    pp.runpp(pnet)
    lines = list(pnet.line.index[:sample])
    t0 = time.process_time()
    for i in lines:
        pnet.line.loc[i, "in_service"] = False
        try:
            pp.runpp(pnet, init="results")
        except Exception:  # noqa: BLE001 - a diverging outage still costs its time
            pass
        pnet.line.loc[i, "in_service"] = True
    pp_each = (time.process_time() - t0) / len(lines)
    n = res.sizes["contingency"]
    return {"case": case, "outages": n, "twin outages/s": n / twin_s, "pandapower outages/s": 1.0 / pp_each,
            "ratio": pp_each * n / twin_s}


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
    args = ap.parse_args()
    parts = [f"numba first call (compile or cache load): {compile_time() * 1e3:.0f} ms CPU"]
    parts.append(table([single(c, args.repeat) for c in args.cases]))
    parts.append(table([series(args.repeat)]))
    parts.append(table([n_minus_1("case118"), n_minus_1("case1354pegase")]))
    text = "\n\n".join(parts)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
