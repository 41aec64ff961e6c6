"""Benchmark: twin's hydraulics vs the EPANET 2.3 toolkit (and WNTR's WNTRSimulator if installed).

CPU time (``time.process_time``), median of repeated runs, in one process. Numba compile /
cache-load time is measured apart (first call in the process). twin is timed two ways: the
solver alone (the engine loop over prepared arrays, comparable to EPANET's openH..closeH) and
the whole ``twin.hydraulics`` call (model compile, unit conversion and Dataset building included).

Usage::

    python benchmarks/bench_hydraulics.py [--repeat 5] [--networks Net3 L-TOWN Net6]
    python benchmarks/bench_hydraulics.py --batch 1000 [--workers 2] [--rounds 5]   # pipe-break ensemble, L-TOWN 24 h
    python benchmarks/bench_hydraulics.py --inp large.inp --repeat 1  # any .inp (e.g. the generator's)
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any, Callable

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "water"


def cpu(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return statistics.median(times)


def epanet_solver(path: Path, setup: Callable[[Any, Any], None] | None = None) -> int:
    """One EPANET hydraulic run: open (parse), ``setup(toolkit, project)``, openH/initH/runH..nextH/closeH;
    returns the number of solves."""
    from epanet import toolkit as en

    ph = en.createproject()
    en.open(ph, str(path), os.devnull, "")
    if setup is not None:
        setup(en, ph)
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
    from twin.water.simulation import build_engine

    return build_engine(net).run()


def twin_engine_only(model_rules) -> int:
    from twin.solvers.water.eps import Engine

    model, rules = model_rules
    eng = Engine(model, rules)
    return eng.run()


def epanet_break(path: Path, pid: str, duration_s: int) -> int:
    """One separate EPANET run with pipe ``pid`` closed (parse included)."""

    def close_pipe(en: Any, ph: Any) -> None:
        en.settimeparam(ph, en.DURATION, duration_s)
        en.setlinkvalue(ph, en.getlinkindex(ph, pid), en.INITSTATUS, 0)

    return epanet_solver(path, close_pipe)


def _timed(fn) -> tuple[float, float]:
    t, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t, time.process_time() - c


def batch(n: int, workers: int, rounds: int = 5, duration_s: int = 86400) -> None:
    """L-TOWN pipe-break ensemble: ``n`` single-pipe closures (the 905 pipes, then again from the
    first), twin ``hydraulics_batch`` with 1 and ``workers`` threads vs ``n`` separate EPANET runs.

    The scenarios are split into ``rounds`` chunks; in each chunk EPANET and twin run back to back
    (same machine load), and the table gives the median over chunks of the per-scenario times.
    """
    import warnings

    from twin.water import hydraulics_batch
    from twin.io import read_inp

    warnings.simplefilter("ignore")
    path = DATA / "L-TOWN.inp"
    net = read_inp(path)
    all_pipes = [str(p) for p in net.pipe.index]
    pipes = [all_pipes[i % len(all_pipes)] for i in range(n)]
    kw = dict(duration_s=duration_s, variables=("min_pressure",))
    c = time.process_time()
    hydraulics_batch(net, pipes[:2], **kw)
    print(f"first hydraulics_batch call in this process (numba cache load / compile): {time.process_time() - c:.2f} s CPU")
    size = -(-n // rounds)
    chunks = [pipes[i:i + size] for i in range(0, n, size)]
    runs = {"epanet": [], 1: [], workers: []}
    failed = {1: 0, workers: 0}
    for chunk in chunks:
        m = len(chunk)
        wall, cpu = _timed(lambda: [epanet_break(path, p, duration_s) for p in chunk])
        runs["epanet"].append((wall / m, cpu / m))
        for w in sorted({1, workers}):
            out = {}
            wall, cpu = _timed(lambda: out.update(ds=hydraulics_batch(net, chunk, workers=w, **kw)))
            runs[w].append((wall / m, cpu / m))
            failed[w] += int((out["ds"].error != "").sum())
    med = {k: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v)) for k, v in runs.items()}
    ew, ec = med["epanet"]
    print(f"L-TOWN {duration_s // 3600} h, {n} single-pipe closures ({len(chunks)} interleaved rounds of {size}; "
          "min pressure per variant kept); medians over rounds, ms per scenario")
    print("| run | wall | CPU (process) | EPANET wall / wall | EPANET CPU / CPU | EPANET CPU / (CPU / threads) | failed |")
    print("|---|---|---|---|---|---|---|")
    print(f"| EPANET 2.3 toolkit, separate runs (open, INITSTATUS closed, openH/initH/runH..nextH) | "
          f"{ew * 1e3:.1f} | {ec * 1e3:.1f} | 1.00 | 1.00 | 1.00 | |")
    for w in sorted({1, workers}):
        tw, cw = med[w]
        print(f"| twin hydraulics_batch, {w} thread{'s' if w > 1 else ''} | {tw * 1e3:.1f} | {cw * 1e3:.1f} | "
              f"{ew / tw:.2f} | {ec / cw:.2f} | {ec / (cw / w):.2f} | {failed[w]} |")
    print("load average at the end:", open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else "?")


def wntr_run(path: Path) -> None:
    import wntr

    wn = wntr.network.WaterNetworkModel(str(path))
    wntr.sim.WNTRSimulator(wn).run_sim()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--networks", nargs="*", default=["Net1", "Net3", "L-TOWN", "Net6"])
    ap.add_argument("--wntr", action="store_true", help="also time WNTRSimulator (slow)")
    ap.add_argument("--batch", type=int, default=0, help="pipe-break ensemble on L-TOWN: number of scenarios")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5, help="batch: interleaved EPANET / twin rounds")
    ap.add_argument("--inp", type=Path, default=None, help="time this .inp file instead of --networks")
    args = ap.parse_args()
    if args.batch:
        batch(args.batch, args.workers, args.rounds)
        return
    from twin.water.simulation import hydraulics, prepare
    from twin.io import read_inp

    t = time.process_time()
    net1 = read_inp(DATA / "Net1.inp")
    hydraulics(net1, duration_s=0)
    first = time.process_time() - t
    print(f"first twin solve in this process (numba cache load / compile, Net1 read+solve): {first:.2f} s CPU")
    print("| network | solves (twin / EPANET) | EPANET 2.3 C | twin engine | ratio | twin.hydraulics() | WNTR |")
    print("|---|---|---|---|---|---|---|")
    for name in ([args.inp.stem] if args.inp else args.networks):
        path = args.inp if args.inp else DATA / f"{name}.inp"
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
