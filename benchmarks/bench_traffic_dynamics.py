"""Dynamic network loading: twin's link transmission model against UXsim, in one run.

Question: on the same network and demand, how much CPU does twin's :func:`twin.traffic_dynamics`
take against UXsim's Python engine and its C++ engine, and does twin's total travel time lie
inside UXsim's own seed-to-seed spread when both run at like-for-like settings?

Network: TNTP SiouxFalls (``tests/data/traffic``): its nodes, links, lengths and free-flow speeds
(length / free-flow time). Both models get the same triangular fundamental diagram: UXsim's
defaults (jam density 0.2 veh/m/lane, reaction time 1 s, so a wave speed of 5 m/s) and a number of
lanes per link from TNTP's capacity (``round(capacity / lane capacity)``, at least 1); twin's links
get the capacity that diagram implies (``lanes * u*w*kappa/(u+w)``), ``jam_density_vpm=0.2`` and
``lane_capacity_vph=None`` (the lanes as given: UXsim's lane carries ~3000 veh/h at 60 mph).
Demand: ``--scale`` times the TNTP trip matrix (veh/h) during the first ``--demand-s`` seconds,
per OD pair rounded down to whole platoons of 5 so that every run loads exactly the same trips.

Runs:
1. speed, default settings: twin with 5 s steps (default node model, ``fifo_proportional``)
   against UXsim with its defaults (platoons of
   ``deltan=5``, so 5 s steps; routes updated every 600 s, weight 0.5, noise 0.01), C++ engine
   (``--seeds``) and Python engine (``--python-seeds``).
2. agreement, like-for-like: UXsim at its finest discretisation (``deltan=1``: single vehicles and
   1 s steps; the reaction time cannot go lower without changing the diagram) with its route update
   interval set to twin's (``duo_update_time = --reroute-s``, ``--fine-seeds`` seeds each), against
   twin with 1 s steps and the same interval. UXsim's platoons add a delay that twin's continuum
   model has not (at 10 % demand 5.9 s per trip with platoons of 5, 1.9 s with single vehicles);
   comparing at ``deltan=1`` keeps that artefact out of the comparison as far as UXsim allows.
   twin runs with both of its node models (``fifo_redistribute`` and ``fifo_proportional``,
   the default). UXsim's seed spread needs several seeds: with 2 the range at 600 s was 46 veh h
   wide, with 8 it is 1 560. Besides total travel time, link volumes: on the links that carry at
   least 500 vehicles, how many of twin's lie inside UXsim's seed range, and how far twin is from
   UXsim's mean against UXsim's own seed-to-seed variation.
   ``--spread-seeds``: UXsim again with the same vehicles, each OD pair's departures evenly spaced
   from a random phase, instead of ``adddemand``, which releases the vehicles of all OD pairs of
   the same rate in the same step (bursts that wait at the origin; twin's demand is a rate).
3. loading with frozen routes (``--frozen-seeds``): every trip on twin's free-flow shortest path
   for the whole run (twin ``reroute_s`` longer than the run; UXsim ``enforce_route``), so that
   only the loading (queues, spillback, node models) differs: trips arrived within the run.
   UXsim with ``deltan=5`` only by default: with ``enforce_route`` a ``deltan=1`` run at 30 %
   demand grew past 24 GB and was killed for memory (``--frozen-deltan 5 1`` to try).

Measured: CPU seconds (process time) of building the model and simulating, per run; twin's first
call (Numba compile or cache load) apart. Total travel time = vehicle hours from each trip's
scheduled departure (the wait at the origin included) to its arrival, in both tools; all trips
arrive well before the end (checked and printed). The free-flow bound is every trip on its
free-flow shortest path without delay.

Usage::

    python benchmarks/bench_traffic_dynamics.py --scale 0.1 --seeds 5 --python-seeds 2 --reroute-s 120 300 600
    python benchmarks/bench_traffic_dynamics.py --scale 0.3 --seeds 5 --python-seeds 2 --reroute-s 120 300 600
    python benchmarks/bench_traffic_dynamics.py --scale 0.3 --seeds 0 --python-seeds 0 --fine-seeds 0 --spread-seeds 0 --frozen-seeds 2 --repeat 1

Needs ``pip install uxsim`` (1.15 ships the C++ engine, ``World(cpp=True)``); UXsim with
``deltan=1`` at 30 % demand takes about 1 min CPU and peaks near 18 GB (one run at a time: a
second UXsim process beside it gets the bench killed for memory on a 23 GB machine; with
``enforce_route`` over 24 GB). The 30 % command runs about 35 min.
"""

from __future__ import annotations

import argparse
import gc
from concurrent.futures import ProcessPoolExecutor
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


def free_flow_routes(net):
    """twin's first route update (free-flow times) as a route drawer: ``draw(o, d, rng)`` walks from
    ``o`` to ``d`` choosing each next link by twin's turning fractions, so vehicles of an OD pair
    with equally short routes spread over them as twin's flows do (link ids)."""
    from twin.solvers.traffic.ltm import reroute
    from twin.traffic.problem import prepare

    p = prepare(net)
    a = p.arrays
    zone_node, _, out_indptr, out_links, from_node, to_node, through = p.star
    beta = np.zeros((len(zone_node), a.n_links))
    reroute(np.ascontiguousarray(a.free_flow_time_s, float), zone_node, *p.backward, from_node, to_node,
            out_indptr, out_links, through, 1.0, beta)
    ids, zones = [str(x) for x in a.link_ids], [str(z) for z in a.zone_ids]

    def draw(o, d, rng) -> list[str]:
        di, v, route = zones.index(str(d)), zone_node[zones.index(str(o))], []
        while v != zone_node[di]:
            ks = np.arange(out_indptr[v], out_indptr[v + 1])
            share = beta[di, out_links[ks]]
            k = ks[rng.choice(len(ks), p=share / share.sum())]
            route.append(ids[out_links[k]])
            v = to_node[out_links[k]]
        return route

    return draw


def run_uxsim(net, u, lanes, demand_s: float, duration_s: float, seed: int, cpp: bool, deltan: int = DELTAN,
              update_s: float = 600.0, frozen: bool = False, departures: str = "adddemand") -> dict:
    from uxsim import World

    cpu, wall = time.process_time(), time.perf_counter()
    W = World(name="", deltan=deltan, reaction_time=TAU, tmax=duration_s, print_mode=0, save_mode=0, show_mode=0,
              random_seed=seed, cpp=cpp, duo_update_time=update_s)
    for i, n in enumerate(net.node.index):
        W.addNode(str(n), i % 5, i // 5)
    link = net.link
    for k, (a, b, length) in enumerate(zip(link["from_node"], link["to_node"], link["length_m"])):
        W.addLink(str(link.index[k]), str(a), str(b), length=float(length), free_flow_speed=float(u[k]),
                  jam_density_per_lane=KAPPA, number_of_lanes=int(lanes[k]))
    draw_route = free_flow_routes(net) if frozen else None
    rng = np.random.default_rng(seed)
    for o, d, q in zip(net.trips["origin"], net.trips["destination"], net.trips["trips_vph"]):
        if q > 0 and o != d:
            n0 = len(W.VEHICLES)
            if departures == "spread":
                # the same vehicles, each OD pair's departures evenly spaced over the demand period from
                # a random phase (whole seconds): adddemand releases the vehicles of every OD pair with
                # the same rate in the same step (up to 23 at once from zone 10 at 10 %), a burst that
                # waits at the origin; twin's demand is a continuous rate
                n_veh = int(round(float(q) * demand_s / 3600.0))
                phase = rng.uniform()
                for k in range(n_veh):
                    W.addVehicle(str(o), str(d), float(np.floor((k + phase) * demand_s / n_veh)))
            else:
                # UXsim accumulates flow * DELTAT per step and releases a platoon at each DELTAN vehicles:
                # a hair more flow keeps rounding from dropping an OD pair's last platoon
                W.adddemand(str(o), str(d), 0, demand_s, flow=float(q) / 3600.0 * (1 + 1e-9))
            if draw_route is not None:
                for veh in list(W.VEHICLES.values())[n0:]:
                    veh.enforce_route(draw_route(o, d, rng))
    W.exec_simulation()
    W.analyzer.basic_analysis()
    a = W.analyzer
    out: dict = dict(tool="UXsim C++" if cpp else "UXsim Python", seed=seed, deltan=deltan,
               update_s=None if frozen else update_s, departures=departures,
               cpu=time.process_time() - cpu, wall=time.perf_counter() - wall, trips=float(a.trip_all),
               arrived=float(a.trip_completed), ttt_vh=float(a.total_travel_time) / 3600.0)
    links = a.link_to_pandas()
    out["volume"] = dict(zip(links["link"].astype(str), links["traffic_volume"].astype(float)))
    del W, a
    gc.collect()
    return out


def _uxsim_alone(scale, demand_s, duration_s, seed, cpp, deltan=DELTAN, update_s=600.0, frozen=False,
                 departures="adddemand") -> dict:
    """:func:`run_uxsim` on a network built in this (child) process: twin's Network does not pickle."""
    net, u, lanes = network(scale, demand_s)
    return run_uxsim(net, u, lanes, demand_s, duration_s, seed, cpp, deltan, update_s, frozen, departures)


NODE_MODELS = ("fifo_redistribute", "fifo_proportional")


def run_twin(net, demand_s: float, duration_s: float, reroute_s: float, step_s: float = 5.0,
             node_model: str = "fifo_proportional") -> tuple[dict, object]:
    cpu, wall = time.process_time(), time.perf_counter()
    ds = traffic_dynamics(net, duration_s=duration_s, step_s=step_s, demand_profile=[1.0], period_s=demand_s,
                          reroute_s=reroute_s, jam_density_vpm=KAPPA, lane_capacity_vph=None, report_s=300.0,
                          node_model=node_model)
    out: dict = dict(tool="twin LTM", seed=None, cpu=time.process_time() - cpu, wall=time.perf_counter() - wall,
               trips=ds.attrs["demanded_veh"], arrived=ds.attrs["arrived_veh"],
               ttt_vh=ds.attrs["total_travel_time_vh"], conservation=ds.attrs["conservation_error_veh"])
    entered = ds.inflow_vph.sum("time") * 300.0 / 3600.0  # vehicles that entered each link (report_s = 300)
    out["volume"] = dict(zip(ds.link.values.astype(str), entered.values.astype(float)))
    return out, ds


def free_flow_bound_vh(net) -> float:
    """Vehicle hours if every trip took its free-flow shortest path without delay."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    link, nodes = net.link, {str(n): i for i, n in enumerate(net.node.index)}
    graph = csr_matrix((link["free_flow_time_s"].to_numpy(float), ([nodes[str(a)] for a in link["from_node"]],
                        [nodes[str(b)] for b in link["to_node"]])), shape=(len(nodes), len(nodes)))
    dist = dijkstra(graph)
    centroid = net.zone["centroid_node"].astype(str)
    trips = net.trips
    vol = trips["trips_vph"].to_numpy(float)  # one hour of demand at most: vehicles = rate * hours
    t = np.array([dist[nodes[centroid[str(o)]], nodes[centroid[str(d)]]] for o, d in
                  zip(trips["origin"], trips["destination"])])
    return float(np.sum(vol * t) / 3600.0)


def spread(vals: list[float]) -> str:
    return f"{statistics.mean(vals):.0f} ({min(vals):.0f}–{max(vals):.0f})"


def off_range(t: float, vals: list[float]) -> float:
    """How far ``t`` lies outside ``[min(vals), max(vals)]``, relative to the nearer end (0 inside)."""
    lo, hi = min(vals), max(vals)
    return 0.0 if lo <= t <= hi else (t - lo) / lo if t < lo else (t - hi) / hi


#: Links compared by volume: at least this many vehicles in UXsim's mean (smaller counts are noise).
MIN_VOLUME = 500.0


def volume_agreement(twin_volume: dict, runs: list[dict]) -> tuple[str, str, str]:
    """Link volumes of twin against UXsim's seeds: links inside UXsim's seed range (of the links
    with at least ``MIN_VOLUME`` vehicles), median |twin - UXsim mean| / UXsim mean, and UXsim's own
    median seed-to-seed coefficient of variation over the same links."""
    if len(runs) < 2:
        return "–", "–", "–"
    links = [k for k in runs[0]["volume"] if statistics.mean(r["volume"][k] for r in runs) >= MIN_VOLUME]
    inside, off, cv = 0, [], []
    for k in links:
        v = [r["volume"][k] for r in runs]
        m = statistics.mean(v)
        inside += min(v) <= twin_volume[k] <= max(v)
        off.append(abs(twin_volume[k] - m) / m)
        cv.append(statistics.stdev(v) / m)
    return f"{inside}/{len(links)}", f"{100 * statistics.median(off):.1f} %", f"{100 * statistics.median(cv):.1f} %"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=0.1, help="multiplier of the TNTP trips (veh/h)")
    ap.add_argument("--demand-s", type=float, default=3600.0)
    ap.add_argument("--duration-s", type=float, default=7200.0)
    ap.add_argument("--reroute-s", type=float, nargs="+", default=[120.0],
                    help="route update interval(s) (s) of twin, and of UXsim in the like-for-like runs")
    ap.add_argument("--seeds", type=int, default=5, help="UXsim C++ seeds at its defaults")
    ap.add_argument("--python-seeds", type=int, default=3, help="UXsim Python seeds at its defaults (slow)")
    ap.add_argument("--fine-seeds", type=int, default=8,
                    help="UXsim C++ seeds per interval with deltan=1 (2 seeds gave a range 2-20x too narrow)")
    ap.add_argument("--frozen-seeds", type=int, default=0,
                    help="UXsim C++ seeds (deltan 5 and 1) with routes frozen at free flow")
    ap.add_argument("--frozen-deltan", type=int, nargs="+", default=[DELTAN],
                    help="UXsim platoon sizes of the frozen-route runs")
    ap.add_argument("--spread-seeds", type=int, default=3,
                    help="UXsim C++ seeds per interval with deltan=1 and each OD pair's departures spread evenly")
    ap.add_argument("--repeat", type=int, default=3, help="twin runs (median)")
    args = ap.parse_args()

    net, u, lanes = network(args.scale, args.demand_s)
    bound = free_flow_bound_vh(net) * args.demand_s / 3600.0
    first, _ = run_twin(net, args.demand_s, args.duration_s, args.reroute_s[0])
    twins = {rr: [run_twin(net, args.demand_s, args.duration_s, rr)[0] for _ in range(args.repeat)]
             for rr in args.reroute_s}
    fine = {(rr, nm): run_twin(net, args.demand_s, args.duration_s, rr, step_s=1.0, node_model=nm)[0]
            for rr in args.reroute_s for nm in NODE_MODELS}
    coarse = {(rr, nm): run_twin(net, args.demand_s, args.duration_s, rr, node_model=nm)[0]
              for rr in args.reroute_s for nm in NODE_MODELS}
    frozen = {(st, nm): run_twin(net, args.demand_s, args.duration_s, 1e9, step_s=st, node_model=nm)[0]
              for st in (5.0, 1.0) for nm in NODE_MODELS} if args.frozen_seeds else {}
    rows = []

    def log(r):
        rows.append(r)
        print(f"# {r['tool']} deltan {r['deltan']} routes {r['update_s'] or 'frozen'} departures {r['departures']} "
              f"seed {r['seed']}: cpu {r['cpu']:.2f} s, "
              f"arrived {r['arrived']:.0f}/{r['trips']:.0f}, TTT {r['ttt_vh']:.1f} veh h", file=sys.stderr, flush=True)

    # every UXsim run in a fresh process: its worlds are not freed, and deltan=1 runs take ~4.5 GB each
    with ProcessPoolExecutor(max_workers=1, max_tasks_per_child=1) as pool:
        for cpp, n in ((True, args.seeds), (False, args.python_seeds)):
            for seed in range(n):
                log(pool.submit(_uxsim_alone, args.scale, args.demand_s, args.duration_s, seed, cpp).result())
        for rr in args.reroute_s:
            for seed in range(args.fine_seeds):
                log(pool.submit(_uxsim_alone, args.scale, args.demand_s, args.duration_s, seed, True, 1,
                                rr).result())
            for seed in range(args.spread_seeds):
                log(pool.submit(_uxsim_alone, args.scale, args.demand_s, args.duration_s, seed, True, 1,
                                rr, False, "spread").result())
        for dn in args.frozen_deltan:
            for seed in range(args.frozen_seeds):
                log(pool.submit(_uxsim_alone, args.scale, args.demand_s, args.duration_s, seed, True, dn, 600.0,
                                True).result())

    base = twins[args.reroute_s[0]]
    twin_cpu = statistics.median(r["cpu"] for r in base)
    print(f"SiouxFalls: {len(net.link)} links, scale {args.scale}, demand {args.demand_s:g} s, run "
          f"{args.duration_s:g} s; free-flow bound {bound:.0f} veh h; twin first call {first['cpu']:.2f} s CPU "
          f"(compile/cache load); twin conservation error {max(abs(r['conservation']) for r in base):.2e} veh")
    print("\nSpeed, default settings (twin 5 s steps; UXsim deltan=5, routes every 600 s):\n")
    print("| tool | runs | median CPU s | min–max CPU s | CPU ratio tool/twin | trips | arrived | "
          "total travel time veh h (min–max) | mean trip min |")
    print("|---|---|---|---|---|---|---|---|---|")
    for rr, runs in twins.items():
        tw = runs[-1]
        cpu = statistics.median(r["cpu"] for r in runs)
        print(f"| twin LTM, 5 s steps, routes every {rr:g} s | {len(runs)} | {cpu:.3f} | "
              f"{min(r['cpu'] for r in runs):.3f}–{max(r['cpu'] for r in runs):.3f} | {cpu / twin_cpu:.2f} | "
              f"{tw['trips']:.0f} | {tw['arrived']:.0f} | {tw['ttt_vh']:.0f} | "
              f"{60 * tw['ttt_vh'] / max(tw['arrived'], 1):.2f} |")
    for tool in ("UXsim C++", "UXsim Python"):
        rs = [r for r in rows if r["tool"] == tool and r["deltan"] == DELTAN]
        if not rs:
            continue
        cpu = statistics.median(r["cpu"] for r in rs)
        print(f"| {tool}, deltan 5, routes every 600 s | {len(rs)} | {cpu:.3f} | {min(r['cpu'] for r in rs):.3f}–"
              f"{max(r['cpu'] for r in rs):.3f} | {cpu / twin_cpu:.1f} | "
              f"{statistics.mean(r['trips'] for r in rs):.0f} | {statistics.mean(r['arrived'] for r in rs):.0f} | "
              f"{spread([r['ttt_vh'] for r in rs])} | "
              f"{statistics.mean(60 * r['ttt_vh'] / max(r['arrived'], 1) for r in rs):.2f} |")
    print("\nAgreement, like-for-like (twin 1 s steps; UXsim C++ deltan=1, same route update interval):\n")
    print("| routes every | twin node model | twin veh h (5 s steps) | twin veh h (1 s steps) | "
          "UXsim deltan=1 veh h mean (min–max) | UXsim runs | twin (1 s) inside? | twin (1 s) off UXsim's range | "
          f"UXsim deltan=5 veh h (min–max) | links (>= {MIN_VOLUME:g} veh) with twin's volume inside UXsim's range | "
          "median link volume off UXsim's mean | UXsim's median seed CV | UXsim deltan=1, departures spread, "
          "veh h mean (min–max) | runs | twin (1 s) off that range |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for rr in args.reroute_s:
        ux_runs = [r for r in rows if r["deltan"] == 1 and r["update_s"] == rr and r["departures"] == "adddemand"]
        sp = [r["ttt_vh"] for r in rows if r["deltan"] == 1 and r["update_s"] == rr and r["departures"] == "spread"]
        ux = [r["ttt_vh"] for r in ux_runs]
        ux5 = [r["ttt_vh"] for r in rows
               if r["deltan"] == DELTAN and r["update_s"] == rr and r["tool"] == "UXsim C++"]
        for nm in NODE_MODELS:
            t = fine[rr, nm]["ttt_vh"]
            if ux:
                off = off_range(t, ux)
                inside, offs = ("yes" if off == 0 else "no"), f"{100 * off:+.1f} %"
            else:
                inside, offs = "–", "–"
            sp_off = ("inside" if off_range(t, sp) == 0 else f"{100 * off_range(t, sp):+.1f} %") if sp else "–"
            vin, voff, vcv = volume_agreement(fine[rr, nm]["volume"], ux_runs)
            print(f"| {rr:g} s | {nm} | {coarse[rr, nm]['ttt_vh']:.0f} | {t:.0f} | {spread(ux) if ux else '–'} | "
                  f"{len(ux)} | {inside} | {offs} | {spread(ux5) if ux5 else '–'} | {vin} | {voff} | {vcv} | "
                  f"{spread(sp) if sp else '–'} | {len(sp)} | {sp_off} |")
    if frozen:
        print("\nLoading with routes frozen at free flow (trips arrived within the run; UXsim C++):\n")
        print("| model | runs | arrived (min–max) | of trips | total travel time veh h (min–max) |")
        print("|---|---|---|---|---|")
        for (st, nm), r in frozen.items():
            print(f"| twin {nm}, {st:g} s steps | 1 | {r['arrived']:.0f} | {r['arrived'] / r['trips']:.1%} | "
                  f"{r['ttt_vh']:.0f} (all trips, unfinished ones up to the end) |")
        for dn in args.frozen_deltan:
            rs = [r for r in rows if r["update_s"] is None and r["deltan"] == dn]
            if rs:
                print(f"| UXsim deltan {dn} | {len(rs)} | {spread([r['arrived'] for r in rs])} | "
                      f"{statistics.mean(r['arrived'] for r in rs) / rs[0]['trips']:.1%} | "
                      f"{spread([r['ttt_vh'] for r in rs])} (completed trips only) |")
    twin_all = all(r["arrived"] > r["trips"] - 1e-6 for r in [*fine.values(), *coarse.values(), *base])
    print(f"\nall twin runs: arrived = trips: {twin_all}; "
          f"all UXsim runs with route choice: {all(r['arrived'] == r['trips'] for r in rows if r['update_s'])}")


if __name__ == "__main__":
    main()
