"""Engine overhead: time in the SimPy engine per event against time in the solvers, for a 24 h /
15 min run of the sample city with a cascade (and the other shipped scenarios).

Run from the repository root::

    python benchmarks/bench_engine.py [--repeat 5] [--out benchmarks/results_engine.md]

Rows (medians of ``--repeat`` runs after one warm-up run that pays numba compilation / cache loads):

* each shipped scenario through ``twin.run`` (network given, so loading the city is not counted):
  wall time of the engine run, seconds in each layer's solver (grid power flows, water stepping,
  traffic assignments), the engine's own time (SimPy scheduling, cascade bookkeeping, event log,
  per-step recording), KPI time, number of logged events, engine microseconds per logged event and
  per reporting step;
* a naive co-simulation loop for comparison: every layer re-solved from its public API at every
  one of the 97 steps (``power_flow`` + ``traffic_assignment``), the loose coupling that change
  detection avoids (InfraRisk re-solves each layer at every event and its water model from t = 0).

Timings are wall-clock (``time.perf_counter``) on whatever machine runs it; the machine of record
had 2 shared cores, so read ratios rather than absolute numbers.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import twin
from twin.scenario import load_scenario, run

SCENARIOS = ("substation-outage-heatwave", "water-main-break-peak", "flood-district", "road-closure-incident")


def _one(city: twin.Network, path: Path) -> dict[str, float]:
    spec = load_scenario(path)
    wall = time.perf_counter()
    res = run(city, spec)
    total = time.perf_counter() - wall
    t = dict(res.timings)
    t["kpi_s"] = total - t["wall_s"]
    t["steps"] = float(res.datasets[next(iter(res.datasets))].sizes["time"])
    return t


def bench_scenarios(city: twin.Network, repeat: int) -> list[dict[str, float | str]]:
    """Median timings of every shipped scenario."""
    rows: list[dict[str, float | str]] = []
    for name in SCENARIOS:
        path = Path("scenarios") / f"{name}.toml"
        _one(city, path)  # warm-up: numba caches, first solves
        runs = [_one(city, path) for _ in range(repeat)]
        med = {k: statistics.median(r.get(k, 0.0) for r in runs) for k in runs[0]}
        med["name"] = name
        rows.append(med)
    return rows


def bench_naive(city: twin.Network, steps: int = 97) -> float:
    """Seconds to re-solve grid and traffic from the public API at every step."""
    from twin.traffic import traffic_assignment

    twin.power_flow(city)
    traffic_assignment(city, rgap=1e-4)
    wall = time.perf_counter()
    for _ in range(steps):
        twin.power_flow(city)
        traffic_assignment(city, rgap=1e-4)
    return time.perf_counter() - wall


def report(rows: list[dict[str, float | str]], naive_s: float, repeat: int) -> str:
    """The Markdown results table."""
    lines = [
        "# Engine overhead (issue 6): SimPy engine vs solver time, sample city, 24 h at 15 min",
        "",
        "Command (repository root, venv active):",
        "",
        f"    python benchmarks/bench_engine.py --repeat {repeat} --out benchmarks/results_engine.md",
        "",
        f"Medians of {repeat} runs after a warm-up run; wall-clock seconds on a 2-core machine shared with other "
        "jobs. `engine` is everything in the run that is not a solver call: SimPy scheduling, cascades "
        "through couplings, crews, the event log and per-step recording. `kpi` is the KPI tables after the run.",
        "",
        "| scenario | steps | events | run s | grid s | water s | traffic s | engine s | kpi s | "
        "engine µs/event | engine µs/step | engine share |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ev, steps, eng, wall = (float(r["events"]), float(r["steps"]), float(r["engine_s"]), float(r["wall_s"]))
        lines.append(
            f"| {r['name']} | {steps:.0f} | {ev:.0f} | {wall:.3f} | {float(r.get('grid_solve_s', 0)):.3f} | "
            f"{float(r.get('water_solve_s', 0)):.3f} | {float(r.get('traffic_solve_s', 0)):.3f} | {eng:.3f} | "
            f"{float(r['kpi_s']):.3f} | {eng / max(ev, 1) * 1e6:.0f} | {eng / steps * 1e6:.0f} | "
            f"{eng / wall:.0%} |")
    lines += [
        "",
        f"Naive loop (grid `power_flow` + `traffic_assignment` from the public API at each of 97 steps, no water): "
        f"{naive_s:.2f} s, against the engine's grid + traffic time in the heatwave run above "
        "(re-solved only when a bus, a signal, a link or a multiplier changed).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", default=None, help="write the Markdown table here")
    args = parser.parse_args()
    city = twin.datasets.sample_city()
    rows = bench_scenarios(city, args.repeat)
    text = report(rows, bench_naive(city), args.repeat)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
