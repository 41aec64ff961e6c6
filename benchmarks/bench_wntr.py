"""twin's hydraulics against WNTR's pure-Python ``WNTRSimulator`` (and EPANET 2.3 C as the floor).

Run from the repository root (needs ``pip install -e ".[bench]"``, which brings WNTR)::

    python benchmarks/bench_wntr.py [--repeat 3] [--out benchmarks/results_wntr.md]

For each network the three tools solve the file's own extended period (or the duration given
below) from an already-read model, and the row reports CPU time (``time.process_time``),
medians of ``--repeat`` runs after one warm-up run:

* twin: the whole ``twin.hydraulics(network)`` call (model compile, solves, unit conversion and
  the ``xarray.Dataset``), so the comparison with WNTR (which builds pandas results) is like
  for like;
* WNTR 1.5: ``wntr.sim.WNTRSimulator(wn).run_sim()`` (its own Newton solver in Python/SciPy);
* twin's solver loop alone (compiled model given), the same scope as EPANET's row;
* EPANET 2.3 C through ``owa-epanet``: open, ``solveH`` loop, close (solver only).

The issue asks twin to be at least 100x faster than ``WNTRSimulator``. On small networks the
whole call is dominated by fixed costs (model compile, Dataset), so both ratios are given. The
last column also
checks that both agree: the largest head difference between twin and WNTR at the common
reporting times (WNTR's solver is not EPANET's: expect millimetres to centimetres).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WATER = ROOT / "tests" / "data" / "water"

#: network file, duration override in hours (None: the file's own)
NETWORKS = {"Net1": ("Net1.inp", None), "Net2": ("Net2.inp", None), "Net3": ("Net3.inp", None),
            "L-TOWN 24 h": ("L-TOWN.inp", 24)}


def _cpu(call, repeat: int) -> tuple[float, object]:
    """Median CPU time of ``call`` (or of the time it returns, if it returns a float) and its result."""
    out = call()  # warm-up (numba cache loads, first allocations)
    runs = []
    for _ in range(repeat):
        t = time.process_time()
        out = call()
        runs.append(out if isinstance(out, float) else time.process_time() - t)
    return statistics.median(runs), out


def _epanet(path: Path, duration_s: int | None) -> None:
    from epanet import toolkit as en

    ph = en.createproject()
    en.open(ph, str(path), os.devnull, "")
    if duration_s is not None:
        en.settimeparam(ph, en.DURATION, duration_s)
    en.openH(ph)
    en.initH(ph, 0)
    while True:
        en.runH(ph)
        if en.nextH(ph) <= 0:
            break
    en.closeH(ph)
    en.close(ph)
    en.deleteproject(ph)


def _twin_solver(net, duration_s: int | None) -> int:
    """twin's solver loop alone (model compiled beforehand), as EPANET's ``openH``..``closeH``."""
    from twin.solvers.water.eps import Engine
    from twin.water.simulation import prepare

    model, rules, _ = prepare(net)
    if duration_s is not None:
        model.times["duration_s"] = duration_s
    t = time.process_time()
    Engine(model, rules).run()
    return time.process_time() - t


def bench(name: str, repeat: int) -> dict[str, float | str]:
    import wntr

    import twin
    from twin.io import read_inp

    file, hours = NETWORKS[name]
    path = WATER / file
    duration_s = None if hours is None else hours * 3600
    net = read_inp(path)
    t_twin, ds = _cpu(lambda: twin.hydraulics(net, duration_s=duration_s), repeat)
    t_solver, _ = _cpu(lambda: _twin_solver(net, duration_s), repeat)

    def run_wntr():
        wn = wntr.network.WaterNetworkModel(str(path))
        if duration_s is not None:
            wn.options.time.duration = duration_s
        return wntr.sim.WNTRSimulator(wn).run_sim()

    # WNTR's model is rebuilt inside the call (run_sim mutates it); time building it apart
    t_build, _ = _cpu(lambda: wntr.network.WaterNetworkModel(str(path)), 1)
    t_wntr_all, res = _cpu(run_wntr, max(1, repeat // 2))
    t_wntr = t_wntr_all - t_build
    t_epanet, _ = _cpu(lambda: _epanet(path, duration_s), repeat)

    head_w = res.node["head"]
    common = np.intersect1d(ds.time.values, head_w.index.values.astype(np.int64))
    ids = [n for n in head_w.columns if n in set(ds.node.values.tolist())]
    dh = np.abs(ds["head"].sel(time=common, node=ids).values - head_w.loc[common, ids].values)
    return {"name": name, "twin": t_twin, "solver": t_solver, "wntr": t_wntr, "epanet": t_epanet,
            "dh_max": float(np.nanmax(dh)), "times": len(common)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--networks", nargs="*", default=list(NETWORKS))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    import wntr

    rows = [bench(n, args.repeat) for n in args.networks]
    lines = [
        "# twin vs WNTR's WNTRSimulator (and EPANET 2.3 C)", "",
        f"`python benchmarks/bench_wntr.py --repeat {args.repeat}` ({time.strftime('%Y-%m-%d')}, "
        f"Python {sys.version.split()[0]}, WNTR {wntr.__version__}); CPU time, medians; twin = whole "
        "`twin.hydraulics` call, WNTR = `run_sim` (model build excluded), EPANET = solver loop.", "",
        "| network | twin `hydraulics()` | twin solver | WNTRSimulator | EPANET 2.3 solver | WNTR / twin call | "
        "WNTR / twin solver | max abs head diff twin-WNTR |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['name']} | {r['twin'] * 1e3:.1f} ms | {r['solver'] * 1e3:.1f} ms | "
                     f"{r['wntr'] * 1e3:.0f} ms | {r['epanet'] * 1e3:.1f} ms | {r['wntr'] / r['twin']:.0f}x | "
                     f"{r['wntr'] / r['solver']:.0f}x | {r['dh_max']:.2g} m over {r['times']} times |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
