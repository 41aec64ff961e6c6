"""Dynamic network loading: twin's link transmission model against UXsim, in one run.

Question: on the same network and demand, how much CPU does twin's :func:`twin.traffic_dynamics`
take against UXsim's Python engine and its C++ engine, and does twin's total travel time lie
inside UXsim's own seed-to-seed spread?

Network: TNTP SiouxFalls (``tests/data/traffic``): its nodes, links, lengths and free-flow speeds
(length / free-flow time). Both models get the same triangular fundamental diagram: UXsim's
defaults (jam density 0.2 veh/m/lane, reaction time 1 s, so a wave speed of 5 m/s) and a number of
lanes per link from TNTP's capacity (``round(capacity / lane capacity)``, at least 1); twin's links
get the capacity that diagram implies (``lanes * u*w*kappa/(u+w)``), ``jam_density_vpm=0.2`` and
``lane_capacity_vph=None`` (the lanes as given: UXsim's lane carries ~3000 veh/h at 60 mph).
Demand: ``--scale`` times the TNTP trip matrix (veh/h) during the first ``--demand-s`` seconds;
both run ``--duration-s`` seconds with 5 s steps (UXsim: ``deltan=5``, reaction time 1 s).
Route choice: UXsim's default dynamic user optimum (routes updated every 600 s, weight 0.5);
twin's en-route choice on current travel times (every ``--reroute-s`` s, weight 0.5; one twin
row per value, the CPU ratios are against the first).

Measured: CPU seconds (process time) of building the model and simulating, per run; twin's first
call (Numba compile or cache load) apart. UXsim runs with several seeds (its platoons and route
choice are random) to give its spread; twin is deterministic. Total travel time = vehicle hours
spent in the network (waiting at the origin included) by the trips that arrived, all trips
arrive well before the end with the default settings (checked and printed).

Usage::

    python benchmarks/bench_traffic_dynamics.py --scale 0.1 --seeds 5 --python-seeds 3 --reroute-s 120 300
    python benchmarks/bench_traffic_dynamics.py --scale 0.3 --seeds 5 --python-seeds 3 --reroute-s 120 300

Needs ``pip install uxsim`` (1.15 ships the C++ engine, ``World(cpp=True)``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twin.io import read_tntp  # noqa: E402
from twin.traffic import traffic_dynamics  # noqa: E402

DATA = ROOT / "tests" / "data" / "traffic" / "SiouxFalls"
KAPPA, TAU, DELTAN = 0.2, 1.0, 5  # UXsim's defaults: jam density (veh/m/lane), reaction time (s), platoon


def network(scale: float, demand_s: float):
    """SiouxFalls with the lanes and capacities of UXsim's default triangular diagram, and the
    trips UXsim generates: per OD pair, ``scale * trips * demand_s / 3600`` vehicles rounded down
    to whole platoons of 5 (UXsim's ``adddemand``), as a rate over ``demand_s`` seconds."""
    net = read_tntp(DATA / "SiouxFalls_net.tntp", DATA / "SiouxFalls_trips.tntp", length_unit="mi")
    trips = net.trips
    volume = np.floor(trips["trips_vph"].to_numpy(float) * scale * demand_s / 3600.0 / DELTAN + 1e-9) * DELTAN
    net = net.set("trips", list(trips.index), trips_vph=volume * 3600.0 / demand_s)
    link = net.link
    u = link["length_m"].to_numpy(float) / link["free_flow_time_s"].to_numpy(float)
    w = 1.0 / (TAU * KAPPA)
    lane_q = u * w * KAPPA / (u + w)  # veh/s per lane
    lanes = np.maximum(np.round(link["capacity_vph"].to_numpy(float) / (3600.0 * lane_q)), 1.0)
    net = net.set("link", list(link.index), lanes=lanes, capacity_vph=lanes * lane_q * 3600.0)
    return net, u, lanes


def run_uxsim(net, u, lanes, demand_s: float, duration_s: float, seed: int, cpp: bool) -> dict:
    from uxsim import World

    cpu, wall = time.process_time(), time.perf_counter()
    W = World(name="", deltan=DELTAN, reaction_time=TAU, tmax=duration_s, print_mode=0, save_mode=0, show_mode=0,
              random_seed=seed, cpp=cpp)
    for i, n in enumerate(net.node.index):
        W.addNode(str(n), i % 5, i // 5)
    link = net.link
    for k, (a, b, length) in enumerate(zip(link["from_node"], link["to_node"], link["length_m"])):
        W.addLink(str(link.index[k]), str(a), str(b), length=float(length), free_flow_speed=float(u[k]),
                  jam_density_per_lane=KAPPA, number_of_lanes=int(lanes[k]))
    for o, d, q in zip(net.trips["origin"], net.trips["destination"], net.trips["trips_vph"]):
        if q > 0 and o != d:
            # UXsim accumulates flow * DELTAT per step and releases a platoon at each DELTAN vehicles:
            # a hair more flow keeps rounding from dropping an OD pair's last platoon
            W.adddemand(str(o), str(d), 0, demand_s, flow=float(q) / 3600.0 * (1 + 1e-9))
    W.exec_simulation()
    W.analyzer.basic_analysis()
    a = W.analyzer
    out = dict(tool="UXsim C++" if cpp else "UXsim Python", seed=seed, cpu=time.process_time() - cpu,
               wall=time.perf_counter() - wall, trips=float(a.trip_all), arrived=float(a.trip_completed),
               ttt_vh=float(a.total_travel_time) / 3600.0)
    del W
    return out


def run_twin(net, demand_s: float, duration_s: float, reroute_s: float) -> tuple[dict, object]:
    cpu, wall = time.process_time(), time.perf_counter()
    ds = traffic_dynamics(net, duration_s=duration_s, step_s=5.0, demand_profile=[1.0], period_s=demand_s,
                          reroute_s=reroute_s, jam_density_vpm=KAPPA, lane_capacity_vph=None, report_s=300.0)
    out = dict(tool="twin LTM", seed=None, cpu=time.process_time() - cpu, wall=time.perf_counter() - wall,
               trips=ds.attrs["demanded_veh"], arrived=ds.attrs["arrived_veh"],
               ttt_vh=ds.attrs["total_travel_time_vh"], conservation=ds.attrs["conservation_error_veh"])
    return out, ds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=0.1, help="multiplier of the TNTP trips (veh/h)")
    ap.add_argument("--demand-s", type=float, default=3600.0)
    ap.add_argument("--duration-s", type=float, default=7200.0)
    ap.add_argument("--reroute-s", type=float, nargs="+", default=[120.0],
                    help="twin's route update interval(s) (s); one twin row each")
    ap.add_argument("--seeds", type=int, default=5, help="UXsim C++ seeds")
    ap.add_argument("--python-seeds", type=int, default=3, help="UXsim Python seeds (slow)")
    ap.add_argument("--repeat", type=int, default=3, help="twin runs (median)")
    args = ap.parse_args()

    net, u, lanes = network(args.scale, args.demand_s)
    first, _ = run_twin(net, args.demand_s, args.duration_s, args.reroute_s[0])
    twins = {rr: [run_twin(net, args.demand_s, args.duration_s, rr)[0] for _ in range(args.repeat)]
             for rr in args.reroute_s}
    rows = []
    for cpp, n in ((True, args.seeds), (False, args.python_seeds)):
        for seed in range(n):
            rows.append(run_uxsim(net, u, lanes, args.demand_s, args.duration_s, seed, cpp))
            r = rows[-1]
            print(f"# {r['tool']} seed {seed}: cpu {r['cpu']:.2f} s, arrived {r['arrived']:.0f}/{r['trips']:.0f}, "
                  f"TTT {r['ttt_vh']:.1f} veh h", file=sys.stderr)
    base = twins[args.reroute_s[0]]
    twin_cpu = statistics.median(r["cpu"] for r in base)
    print(f"SiouxFalls: {len(net.link)} links, scale {args.scale}, demand {args.demand_s:g} s, run "
          f"{args.duration_s:g} s; twin first call {first['cpu']:.2f} s CPU (compile/cache load); "
          f"twin conservation error {base[-1]['conservation']:.2e} veh")
    print()
    print("| tool | runs | median CPU s | min–max CPU s | CPU ratio tool/twin | trips | arrived | "
          "total travel time veh h (min–max) | mean trip min |")
    print("|---|---|---|---|---|---|---|---|---|")
    for rr, runs in twins.items():
        tw = runs[-1]
        cpu = statistics.median(r["cpu"] for r in runs)
        print(f"| twin LTM (routes every {rr:g} s) | {len(runs)} | {cpu:.3f} | {min(r['cpu'] for r in runs):.3f}–"
              f"{max(r['cpu'] for r in runs):.3f} | {cpu / twin_cpu:.2f} | {tw['trips']:.0f} | {tw['arrived']:.0f} | "
              f"{tw['ttt_vh']:.0f} | {60 * tw['ttt_vh'] / max(tw['arrived'], 1):.2f} |")
    for tool in ("UXsim C++", "UXsim Python"):
        rs = [r for r in rows if r["tool"] == tool]
        if not rs:
            continue
        cpu = statistics.median(r["cpu"] for r in rs)
        ttt = [r["ttt_vh"] for r in rs]
        mean_trip = statistics.mean(60 * r["ttt_vh"] / max(r["arrived"], 1) for r in rs)
        print(f"| {tool} (routes every 600 s) | {len(rs)} | {cpu:.3f} | {min(r['cpu'] for r in rs):.3f}–"
              f"{max(r['cpu'] for r in rs):.3f} | {cpu / twin_cpu:.1f} | "
              f"{statistics.mean(r['trips'] for r in rs):.0f} | "
              f"{statistics.mean(r['arrived'] for r in rs):.0f} | {statistics.mean(ttt):.0f} "
              f"({min(ttt):.0f}–{max(ttt):.0f}) | {mean_trip:.2f} |")
    ux = [r["ttt_vh"] for r in rows]
    if ux:
        print(f"\nUXsim (all {len(ux)} runs): total travel time {min(ux):.0f}–{max(ux):.0f} veh h, "
              f"mean {statistics.mean(ux):.0f} ± {statistics.pstdev(ux):.0f}")
        for rr, runs in twins.items():
            t = runs[-1]["ttt_vh"]
            print(f"twin (routes every {rr:g} s): {t:.0f} veh h, inside UXsim's spread: {min(ux) <= t <= max(ux)}, "
                  f"twin / UXsim mean {t / statistics.mean(ux):.3f}")


if __name__ == "__main__":
    main()
