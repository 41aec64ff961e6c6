"""Start-up and stepping costs: ``import twin``, the first solve of each layer in a fresh process
(Numba cache warm), and the per-step overhead of stepping the water solver from the engine.

Run from the repository root::

    python benchmarks/bench_startup.py [--repeat 5] [--out benchmarks/results_startup.md]

Rows (medians of ``--repeat``):

* ``import twin`` in a fresh interpreter (wall time inside the process, ``time.perf_counter``);
* the first call of ``twin.hydraulics`` (Net1, 24 h), ``twin.power_flow`` (case118) and
  ``twin.traffic_assignment`` (SiouxFalls, gap 1e-4) in a fresh process, against the second
  call in the same process: the difference is what a fresh process pays (Numba cache loads,
  lazy imports), which the issue wants at most 1 s; the share of xarray's ``dask.array``
  import (only where dask is installed) is timed apart;
* stepping overhead: L-TOWN 24 h solved by one ``HydraulicSimulation.finish()`` and by one
  ``advance`` call per hydraulic step (what :mod:`twin.sim` does); the difference divided by the
  number of calls is the engine-facing overhead per step (goal <= 20 us). CPU time
  (``time.process_time``) for this row.

The machine of record has 2 shared cores: read the ratios, expect +-15 % on absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WATER = ROOT / "tests" / "data" / "water"
GRID = ROOT / "tests" / "data" / "grid"
TRAFFIC = ROOT / "tests" / "data" / "traffic"

_FIRST_SOLVE = r"""
import json, sys, time
t0 = time.perf_counter()
import twin
t_import = time.perf_counter() - t0
from twin.io import read_inp, read_matpower, read_tntp
t0 = time.perf_counter()
try:   # xarray imports dask.array on its first Variable when dask is installed (the dask/test extras)
    import dask.array
except ImportError:
    pass
t_dask = time.perf_counter() - t0
layer = sys.argv[1]
if layer == "water":
    net = read_inp(sys.argv[2])
    call = lambda: twin.hydraulics(net)
elif layer == "grid":
    net = read_matpower(sys.argv[2])
    call = lambda: twin.power_flow(net)
else:
    net = read_tntp(sys.argv[2], sys.argv[3])
    call = lambda: twin.traffic_assignment(net, algorithm="bfw", rgap=1e-4)
t = time.perf_counter(); call(); first = time.perf_counter() - t
t = time.perf_counter(); call(); second = time.perf_counter() - t
print(json.dumps({"import": t_import, "dask": t_dask, "first": first + t_dask, "second": second}))
"""


def fresh(args: list[str]) -> dict[str, float]:
    """Run the first-solve probe in a new interpreter."""
    out = subprocess.run([sys.executable, "-c", _FIRST_SOLVE, *args], check=True, capture_output=True,
                         text=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def bench_import(repeat: int) -> float:
    """Median wall time of ``import twin`` in a fresh interpreter."""
    code = "import time; t = time.perf_counter(); import twin; print(time.perf_counter() - t)"
    runs = [float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                                 cwd=ROOT).stdout) for _ in range(repeat)]
    return statistics.median(runs)


def bench_first_solves(repeat: int) -> dict[str, dict[str, float]]:
    """Median first and second call per layer, each in a fresh process."""
    probes = {
        "water (Net1, 24 h)": ["water", str(WATER / "Net1.inp")],
        "grid (case118)": ["grid", str(GRID / "case118.m")],
        "traffic (SiouxFalls, gap 1e-4)": ["traffic", str(TRAFFIC / "SiouxFalls" / "SiouxFalls_net.tntp"),
                                           str(TRAFFIC / "SiouxFalls" / "SiouxFalls_trips.tntp")],
    }
    fresh(probes["water (Net1, 24 h)"])  # make sure caches are written before measuring
    rows = {}
    for name, args in probes.items():
        runs = [fresh(args) for _ in range(repeat)]
        rows[name] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    return rows


def bench_stepping(repeat: int) -> dict[str, float]:
    """CPU time of L-TOWN 24 h in one call against one ``advance`` per hydraulic step."""
    from twin.io import read_inp
    from twin.water.simulation import HydraulicSimulation, prepare

    net = read_inp(WATER / "L-TOWN.inp")
    day = 24 * 3600

    def continuous() -> float:
        sim = HydraulicSimulation(net, duration_s=day, record="report", _prepared=prepare(net))
        t = time.process_time()
        sim.finish()
        return time.process_time() - t

    def stepped() -> tuple[float, int]:
        sim = HydraulicSimulation(net, duration_s=day, record="report", _prepared=prepare(net))
        step = int(sim.model.times["hydraulic_timestep_s"])
        calls = 0
        t = time.process_time()
        for to in range(step, day + step, step):
            sim.advance(to)
            calls += 1
        return time.process_time() - t, calls

    continuous(), stepped()  # warm-up
    cont = statistics.median(continuous() for _ in range(repeat))
    steps = [stepped() for _ in range(repeat)]
    step_time = statistics.median(s[0] for s in steps)
    calls = steps[0][1]
    return {"continuous_s": cont, "stepped_s": step_time, "calls": calls,
            "overhead_us": (step_time - cont) / calls * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    imp = bench_import(args.repeat)
    first = bench_first_solves(args.repeat)
    stepping = bench_stepping(args.repeat)
    lines = [
        "# Start-up and stepping costs", "",
        f"`python benchmarks/bench_startup.py --repeat {args.repeat}` "
        f"({time.strftime('%Y-%m-%d')}, Python {sys.version.split()[0]}); medians.", "",
        f"`import twin` in a fresh interpreter: {imp * 1e3:.0f} ms (goal <= 1 s).", "",
        "| first call in a fresh process | import twin | first call | second call | extra on first call | "
        "of which xarray's `import dask.array` |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in first.items():
        lines.append(f"| {name} | {r['import'] * 1e3:.0f} ms | {r['first'] * 1e3:.0f} ms | "
                     f"{r['second'] * 1e3:.1f} ms | {(r['first'] - r['second']) * 1e3:.0f} ms | {r['dask'] * 1e3:.0f} ms |")
    lines += [
        "", "Goal: the first solve in a fresh process at most 1 s more than a warm one (Numba cache loaded).",
        "xarray probes for dask on its first Variable and imports `dask.array` when dask is installed",
        "(the `dask` and `test` extras); a core install (`pip install twin`) does not pay that column.",
        "",
        f"Stepping L-TOWN 24 h (CPU time): one `finish()` {stepping['continuous_s'] * 1e3:.1f} ms; "
        f"{stepping['calls']} `advance` calls {stepping['stepped_s'] * 1e3:.1f} ms; overhead per call "
        f"{stepping['overhead_us']:.1f} us (goal <= 20 us).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
