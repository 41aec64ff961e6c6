"""Scenario ensembles: serial vs a local process pool vs Dask, for N variants of the heat-wave
scenario (grid load multiplier swept) on the sample city.

Run from the repository root::

    python benchmarks/bench_ensemble.py [--n 40] [--workers 2] [--out benchmarks/results_engine.md]

For each executor: wall time of ``twin.run_many`` (start-up of the pool or cluster included, and
apart), CPU time of this (parent) process, CPU time of the workers (the sum of the scenarios' own
run times), and the overhead per task: ``(wall x workers - work) / tasks``, what the executor costs
beyond the scenarios themselves (process start, imports and numba cache loads in the workers,
pickling of the network and results, scheduling). One warm-up scenario runs first in this process.
The results are appended to ``--out`` as a Markdown section (replaced when it is there).
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path
from typing import Any

import twin
from twin.scenario import load_scenario, run, run_many, scenario_variants
from twin.scenario.ensemble import process_pool

SCENARIO = Path("scenarios") / "substation-outage-heatwave.toml"
HEADER = "## Scenario ensembles"


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def bench(city: twin.Network, n: int, workers: int, executor: Any, label: str = "") -> dict[str, float | str]:
    """One ensemble of ``n`` heat-wave variants on ``executor``."""
    specs = scenario_variants(load_scenario(SCENARIO), {"demand.grid_multiplier": [1.0 + 0.5 * i / n
                                                                                   for i in range(n)]})
    wall, cpu = time.perf_counter(), time.process_time()
    ens = run_many(city, specs, executor=executor, workers=workers, seed=1)  # type: ignore[arg-type]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    work = sum(r.timings["total_s"] for r in ens.results.values())
    par = 1 if executor == "serial" else workers
    tasks = ens.timings["tasks"]
    return {"executor": label or executor, "workers": par, "n": n, "ok": len(ens.results), "tasks": tasks,
            "batch": ens.timings["batch_size"], "wall_s": wall, "startup_s": ens.timings["startup_s"],
            "parent_cpu_s": cpu, "work_s": work, "per_scenario_s": work / max(len(ens.results), 1),
            "overhead_ms_per_task": 1e3 * (wall * par - work) / tasks, "speedup": 0.0}


def report(rows: list[dict[str, float | str]], n: int, workers: int, load: tuple[float, float]) -> str:
    """The Markdown section."""
    lines = [HEADER, "", "Command (repository root, venv active):", "",
             f"    python benchmarks/bench_ensemble.py --n {n} --workers {workers} --out benchmarks/results_engine.md",
             "", f"{n} variants of `substation-outage-heatwave` (grid multiplier 1.0 to 1.5, 24 h at 15 min, all "
             "three layers, KPIs included) through `twin.run_many`. `wall` includes starting the pool or cluster "
             "(`startup`: LocalCluster only; the process pool starts its workers lazily), `parent cpu` is this "
             "process, `work` the sum of the scenarios' own run times in the workers, `overhead/task` = "
             "(wall x workers - work) / tasks. `processes, warm pool`: the same ensemble through a pool kept from "
             "an earlier ensemble (`twin.scenario.ensemble.process_pool`), so worker start-up and numba cache "
             "loads are not in it. Wall-clock on a 2-core machine shared with other developers' jobs: "
             f"read the ratios. Load average (1 min) before / after: {load[0]:.1f} / {load[1]:.1f}.", "",
             "| executor | workers | ok | tasks x batch | wall s | startup s | parent cpu s | work s | s/scenario | "
             "overhead ms/task | speed-up |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['executor']} | {r['workers']} | {r['ok']}/{r['n']} | {r['tasks']:.0f} x {r['batch']:.0f} | "
                     f"{r['wall_s']:.1f} | "
                     f"{r['startup_s']:.1f} | {r['parent_cpu_s']:.1f} | {r['work_s']:.1f} | "
                     f"{r['per_scenario_s']:.2f} | {r['overhead_ms_per_task']:.0f} | {r['speedup']:.2f} |")
    return "\n".join(lines) + "\n"


def write(path: Path, section: str) -> None:
    """Replace (or append) the ensemble section of ``path``."""
    text = path.read_text() if path.exists() else ""
    if HEADER in text:
        head, _, rest = text.partition(HEADER)
        tail = rest.split("\n## ", 1)
        text = head + section + ("\n## " + tail[1] if len(tail) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main() -> None:
    """Run the benchmark and print (or write) the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--executors", default="serial,processes,dask")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    city = twin.datasets.sample_city()
    run(city, load_scenario(SCENARIO))  # warm-up: numba caches in this process
    before = os.getloadavg()[0]
    rows = [bench(city, args.n, args.workers, ex) for ex in args.executors.split(",")]
    if "processes" in args.executors:
        with process_pool(args.workers) as pool:
            bench(city, 2 * args.workers, args.workers, pool)  # warm the workers
            rows.append(bench(city, args.n, args.workers, pool, "processes, warm pool"))
    serial = next((r["wall_s"] for r in rows if r["executor"] == "serial"), None)
    for r in rows:
        r["speedup"] = float(serial) / float(r["wall_s"]) if serial else float("nan")
    section = report(rows, args.n, args.workers, (before, os.getloadavg()[0]))
    if args.out:
        write(Path(args.out), section)
    print(section)


if __name__ == "__main__":
    main()
