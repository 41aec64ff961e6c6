"""Static user equilibrium: twin's bi-conjugate Frank-Wolfe against AequilibraE's, in one run.

Question: how long does each take to reach relative gap 1e-5 on the TNTP problems, on the same
cores? Both start from the same TNTP files (ChicagoSketch with its generalised cost: 1.2 s/cent
of toll and 2.4 s/mile). Reported per tool: median wall and CPU seconds of ``--repeat`` runs
(CPU = process CPU time, all threads), iterations, the tool's own final gap, and the relative gap
of its final flows recomputed by twin's kernels from one consistent (x, t(x)) pair. twin's first
call (Numba compile or cache load) is reported apart from the steady-state median; ``--cold``
also measures a true cold compile in a subprocess with an empty Numba cache.

Usage::

    python benchmarks/bench_traffic_assignment.py --networks SiouxFalls Anaheim ChicagoSketch \
        --threads 1 2 --repeat 3 --cold --bush 2>/dev/null

AequilibraE (``pip install aequilibrae``) is optional; without it only twin is timed (its progress
bars go to stderr: add ``2>/dev/null``). Its
OpenMP threads are run with ``OMP_WAIT_POLICY=PASSIVE`` (set here before import) so they do
not spin on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402
import numpy as np  # noqa: E402

from twin.io import read_tntp  # noqa: E402
from twin.solvers.traffic.paths import all_or_nothing  # noqa: E402
from twin.traffic import traffic_assignment  # noqa: E402
from twin.traffic.problem import prepare  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "traffic"
UNITS = {"SiouxFalls": "mi", "Anaheim": "ft", "ChicagoSketch": "mi"}
COST = {"ChicagoSketch": {"toll": 1.2, "length": 2.4 / 1609.344}}


def load(name: str):
    folder = DATA / name
    return read_tntp(folder / f"{name}_net.tntp", folder / f"{name}_trips.tntp", length_unit=UNITS[name])


def consistent_gap(net, cost, flows: np.ndarray) -> float:
    """Relative gap of ``flows`` computed with twin's kernels from one (x, t(x)) pair."""
    p = prepare(net, cost)
    t = p.t0 * (1 + p.alpha * (flows / p.cap) ** p.beta) + p.const
    y = np.empty_like(flows)
    sptt, _, _ = all_or_nothing(t, p.demand, *p.star, y, numba.get_num_threads())
    tstt = float(np.dot(flows[p.open], t[p.open]))
    return (tstt - sptt) / tstt


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def run_twin(net, cost, rgap: float, threads: int, repeat: int) -> dict:
    numba.set_num_threads(threads)
    first = timed(lambda: traffic_assignment(net, rgap=rgap, cost=cost))
    runs = [timed(lambda: traffic_assignment(net, rgap=rgap, cost=cost)) for _ in range(repeat)]
    ds = runs[-1][0]
    return dict(tool="twin bfw", threads=threads, wall=statistics.median(r[1] for r in runs),
                cpu=statistics.median(r[2] for r in runs), first_wall=first[1],
                iterations=ds.attrs["iterations"], own_gap=ds.attrs["relative_gap"],
                gap=consistent_gap(net, cost, ds.flow_vph.values), flows=ds.flow_vph.values)


def aequilibrae_assignment(net, cost, rgap: float, cores: int):
    """Build AequilibraE's graph and demand from the same tables; returns the assignment object."""
    import pandas as pd
    from aequilibrae.matrix import AequilibraeMatrix
    from aequilibrae.paths import Graph, TrafficAssignment, TrafficClass

    p = prepare(net, cost)
    a = p.arrays
    nodes = a.node_ids.astype(int)
    frame = pd.DataFrame({"link_id": np.arange(1, a.n_links + 1), "a_node": nodes[a.from_node],
                          "b_node": nodes[a.to_node], "direction": 1,
                          # AequilibraE rejects zero free-flow times (ChicagoSketch's connectors): 1 microsecond
                          "free_flow_time": np.maximum(p.t0, 1e-6),
                          "capacity": p.cap, "alpha": p.alpha, "beta": p.beta, "fixed": p.const})
    g = Graph()
    g.network = frame
    zones = a.zone_ids.astype(int)
    g.prepare_graph(np.asarray(zones, np.int64))
    g.set_graph("free_flow_time")
    g.set_skimming(["free_flow_time"])
    g.set_blocked_centroid_flows(not bool(np.all(a.through)))
    mat = AequilibraeMatrix()
    mat.create_empty(zones=len(zones), matrix_names=["demand"], memory_only=True)
    mat.index[:] = zones
    mat.matrices[:, :, 0] = p.demand
    mat.computational_view(["demand"])
    tc = TrafficClass("car", g, mat)
    if np.any(p.const):
        tc.set_fixed_cost("fixed", 1.0)
    assig = TrafficAssignment()
    assig.set_classes([tc])
    assig.set_vdf("BPR")
    assig.set_vdf_parameters({"alpha": "alpha", "beta": "beta"})
    assig.set_capacity_field("capacity")
    assig.set_time_field("free_flow_time")
    assig.set_algorithm("bfw")
    assig.max_iter = 5000
    assig.rgap_target = rgap
    assig.set_cores(cores)
    return assig, tc


def run_aequilibrae(net, cost, rgap: float, threads: int, repeat: int) -> dict | None:
    try:
        import aequilibrae  # noqa: F401
    except ImportError:
        return None
    runs = []
    for _ in range(repeat):
        assig, tc = aequilibrae_assignment(net, cost, rgap, threads)
        runs.append(timed(lambda: assig.execute(log_specification=False)))
    report = assig.report()
    order = tc.graph.graph.sort_values("link_id").index.to_numpy()
    flows = np.asarray(tc.results.total_link_loads, float)[order]
    return dict(tool="AequilibraE bfw", threads=threads, wall=statistics.median(r[1] for r in runs),
                cpu=statistics.median(r[2] for r in runs), first_wall=float("nan"),
                iterations=int(report["iteration"].max()), own_gap=float(report["rgap"].iloc[-1]),
                gap=consistent_gap(net, cost, flows), flows=flows)


def cold_compile_s(name: str) -> float:
    """Wall time of a first call in a fresh process with an empty Numba cache (compile + solve)."""
    code = ("import time,sys; sys.path.insert(0, %r); from benchmarks.bench_traffic_assignment import load, COST;"
            "from twin.traffic import traffic_assignment; net = load(%r); t = time.perf_counter();"
            "traffic_assignment(net, cost=COST.get(%r, 'time')); print(time.perf_counter() - t)")
    root = str(Path(__file__).resolve().parents[1])
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run([sys.executable, "-c", code % (root, name, name)], env=env, check=True,
                             capture_output=True, text=True, cwd=root)
    return float(out.stdout.strip().splitlines()[-1])


def bush_rows(name: str, repeat: int) -> list[str]:
    """Algorithm B to 1e-8 and 1e-10, and a one-link change (capacity halved) re-solved warm vs cold."""
    net, cost = load(name), COST.get(name, "time")
    rows = []
    for rgap in (1e-8, 1e-10):
        runs = [timed(lambda: traffic_assignment(net, algorithm="bush", rgap=rgap, cost=cost)) for _ in range(repeat)]
        ds = runs[-1][0]
        rows.append(f"| {name} | twin bush, rgap {rgap:g} | {numba.get_num_threads()} | "
                    f"{statistics.median(r[1] for r in runs):.3f} | {statistics.median(r[2] for r in runs):.3f} | "
                    f"| {ds.attrs['iterations']} | {ds.attrs['relative_gap']:.3g} | "
                    f"{consistent_gap(net, cost, ds.flow_vph.values):.3g} | | |")
    base = traffic_assignment(net, algorithm="bush", rgap=1e-10, cost=cost)
    busiest = net.link.index[int(np.argmax(base.volume_capacity_ratio.values))]
    changed = net.set("link", busiest, capacity_vph=float(net.link.capacity_vph[busiest]) / 2)
    for label, warm in (("cold", None), ("warm from base bushes", base)):
        runs = [timed(lambda: traffic_assignment(changed, algorithm="bush", rgap=1e-10, cost=cost, warm_start=warm))
                for _ in range(repeat)]
        ds = runs[-1][0]
        rows.append(f"| {name} | twin bush, link {busiest} capacity halved, {label} | {numba.get_num_threads()} | "
                    f"{statistics.median(r[1] for r in runs):.3f} | {statistics.median(r[2] for r in runs):.3f} | "
                    f"| {ds.attrs['iterations']} | {ds.attrs['relative_gap']:.3g} | | | |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", nargs="+", default=["SiouxFalls", "Anaheim", "ChicagoSketch"])
    ap.add_argument("--threads", nargs="+", type=int, default=[1])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rgap", type=float, default=1e-5)
    ap.add_argument("--cold", action="store_true", help="also time a cold Numba compile in a subprocess")
    ap.add_argument("--bush", action="store_true", help="also time Algorithm B to 1e-8/1e-10 and a warm re-solve")
    args = ap.parse_args()
    print("| network | tool | threads | median wall s | median CPU s | first call s | iterations | own gap "
          "| gap (twin's check) | ratio CPU peer/twin | max abs flow diff veh/h |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.networks:
        net, cost = load(name), COST.get(name, "time")
        for threads in args.threads:
            ours = run_twin(net, cost, args.rgap, threads, args.repeat)
            peer = run_aequilibrae(net, cost, args.rgap, threads, args.repeat)
            for r in (ours, peer):
                if r is None:
                    continue
                ratio = f"{r['cpu'] / ours['cpu']:.1f}" if r is peer else ""
                diff = f"{np.abs(r['flows'] - ours['flows']).max():.3g}" if r is peer else ""
                print(f"| {name} | {r['tool']} | {threads} | {r['wall']:.3f} | {r['cpu']:.3f} | {r['first_wall']:.3f} "
                      f"| {r['iterations']} | {r['own_gap']:.3g} | {r['gap']:.3g} | {ratio} | {diff} |", flush=True)
        if args.cold:
            print(f"| {name} | twin cold compile + first solve | | {cold_compile_s(name):.1f} | | | | | | | |")
        if args.bush:
            numba.set_num_threads(min(args.threads))
            print("\n".join(bush_rows(name, args.repeat)), flush=True)


if __name__ == "__main__":
    main()
