"""Scenario ensembles: run many scenarios one after the other, on a local process pool or on a
Dask cluster, each isolated (a failure leaves the others' results), with seeds spawned from one
root and results combined along a ``scenario`` dimension.

Design (see ``notes/platform.md`` section 5): scenarios go out in batches so that each task takes
at least ~100 ms (per-task overhead is a few ms on Dask); worker processes live for the whole
ensemble so numba cache loads are paid once per worker; the network is sent once per worker
(pickled) and kept there; every result comes back pickled.
"""

from __future__ import annotations

import copyreg
import io
import itertools
import json
import math
import pickle
import time
import traceback
import types
from collections.abc import Mapping
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from hashlib import sha256
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Literal, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from twin.errors import ScenarioError, TwinError
from twin.scenario.spec import Scenario, load_scenario, scenario_from_dict

if TYPE_CHECKING:
    from twin.model.network import Network
    from twin.scenario.runner import RunResult

__all__ = ["EXECUTORS", "Ensemble", "ScenarioFailure", "process_pool", "run_ensemble", "scenario_variants"]

#: Executors :func:`run_ensemble` knows.
EXECUTORS = ("serial", "processes", "dask")

#: Target number of tasks per worker when ``batch_size="auto"`` (load balance against overhead).
TASKS_PER_WORKER = 8

_Item = tuple[str, Scenario]
_Row = tuple[str, bool, Any]


class ScenarioFailure(TwinError, RuntimeError):
    """A scenario of an ensemble that failed; the others' results are kept.

    Attributes
    ----------
    name : str
        Scenario name (or file path when it could not be read).
    error_type : str
        Class name of the original exception.
    details : str
        The original traceback (from the worker process when it ran on one).
    """

    def __init__(self, name: str, error_type: str, message: str, details: str = "") -> None:
        super().__init__(f"scenario {name} failed: {error_type}: {message}")
        self.name, self.error_type, self.message, self.details = name, error_type, message, details

    def __reduce__(self) -> tuple[Any, ...]:
        return (ScenarioFailure, (self.name, self.error_type, self.message, self.details))


# ---------------------------------------------------------------------------------------- pickling
def _mappingproxy(data: dict[str, Any]) -> types.MappingProxyType[str, Any]:
    return types.MappingProxyType(data)


def dumps(obj: Any) -> bytes:
    """Pickle ``obj``, read-only mappings (``MappingProxyType``) included, without global changes.

    Examples
    --------
    >>> import types, pickle
    >>> pickle.loads(dumps(types.MappingProxyType({"a": 1})))["a"]
    1
    """
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
    table = copyreg.dispatch_table.copy()
    table[types.MappingProxyType] = lambda m: (_mappingproxy, (dict(m),))
    pickler.dispatch_table = table  # type: ignore[attr-defined]
    pickler.dump(obj)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------- workers
#: Networks a worker process has unpickled or loaded, by token (kept for the worker's life).
_WORKER_NETWORKS: dict[str, "Network"] = {}


def _network_for(token: str | None, payload: bytes | None, spec: Scenario,
                 cache: dict[str, "Network"]) -> "Network":
    from twin.scenario.runner import _network

    if token is not None and payload is not None:
        if token not in cache:
            cache[token] = pickle.loads(payload)
        return cache[token]
    key = f"{spec.network}@{Path(spec.source).parent if spec.source and not spec.source.startswith('<') else ''}"
    if key not in cache:
        cache[key] = _network(spec.network, spec.source)
    return cache[key]


def _run_batch(token: str | None, payload: bytes | None, batch: Sequence[_Item],
               cache: dict[str, "Network"] | None = None) -> list[_Row]:
    """Run a batch of scenarios; each row is ``(key, ok, RunResult | (type, message, traceback))``.

    In a worker (no ``cache`` given) results come back pickled with :func:`dumps`.
    """
    from twin.scenario.runner import run

    local = cache is not None
    cache = _WORKER_NETWORKS if cache is None else cache
    rows: list[_Row] = []
    for key, spec in batch:
        try:
            res = run(_network_for(token, payload, spec, cache), spec)
            rows.append((key, True, res if local else dumps(res)))
        except Exception as err:  # noqa: BLE001 - each scenario is isolated; the failure is reported
            rows.append((key, False, (type(err).__name__, " ".join(str(err).split()), traceback.format_exc())))
    return rows


def _init_worker() -> None:
    """Process-pool worker start: import the engine once (numba caches load here, not in a task)."""
    import twin.scenario.runner  # noqa: F401
    import twin.sim  # noqa: F401


# ---------------------------------------------------------------------------------------- ensemble
@dataclass
class Ensemble(Mapping[str, "RunResult | ScenarioFailure"]):
    """The results of :func:`run_ensemble`: a mapping scenario -> RunResult or ScenarioFailure.

    Attributes
    ----------
    results : dict of name -> RunResult
        Scenarios that ran, in input order.
    failures : dict of name -> ScenarioFailure
        Scenarios that failed, with the error and its traceback.
    seeds, hashes : dict of name -> int / str
        Seed each scenario ran with and its scenario hash (after seeding).
    order : list of str
        Scenario names in input order.
    timings : dict
        ``wall_s``, ``cpu_s`` (this process), ``tasks``, ``batch_size``, ``workers``, ``startup_s``.
    info : dict
        ``executor``, ``root_entropy`` (the SeedSequence root seeds were spawned from).
    """

    results: dict[str, "RunResult"]
    failures: dict[str, ScenarioFailure]
    seeds: dict[str, int]
    hashes: dict[str, str]
    order: list[str]
    timings: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> "RunResult | ScenarioFailure":
        if key in self.results:
            return self.results[key]
        return self.failures[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.order)

    def __len__(self) -> int:
        return len(self.order)

    @property
    def ok(self) -> bool:
        """True when every scenario ran."""
        return not self.failures

    def _coords(self, names: Sequence[str]) -> dict[str, Any]:
        return {"scenario": list(names), "seed": ("scenario", [self.seeds.get(n, -1) for n in names]),
                "scenario_hash": ("scenario", [self.hashes.get(n, "") for n in names])}

    def datasets(self) -> dict[str, xr.Dataset]:
        """One Dataset per layer with a leading ``scenario`` dimension (``seed`` and ``scenario_hash``
        as its coordinates); scenarios without the layer are left out of it.

        Examples
        --------
        >>> import twin
        >>> base = scenario_from_dict({"name": "calm", "description": "x", "duration": "30min",
        ...                            "layers": ["grid"]})
        >>> ens = run_ensemble(twin.datasets.sample_city(), scenario_variants(base, {"demand.grid_multiplier": [1, 2]}))
        >>> ens.datasets()["grid"].load_p_mw.dims
        ('scenario', 'time', 'load')
        """
        out: dict[str, xr.Dataset] = {}
        layers = sorted({layer for r in self.results.values() for layer in r.datasets})
        for layer in layers:
            names = [n for n in self.order if n in self.results and layer in self.results[n].datasets]
            parts = [self.results[n].datasets[layer].expand_dims(scenario=[n]) for n in names]
            ds = xr.concat(parts, dim="scenario", join="outer", combine_attrs="drop_conflicts")
            out[layer] = ds.assign_coords(self._coords(names))
        return out

    def kpis(self) -> dict[str, pd.DataFrame]:
        """The KPI tables of every scenario that ran, stacked, with a leading ``scenario`` column."""
        tables: dict[str, list[pd.DataFrame]] = {}
        for name in self.order:
            if name not in self.results:
                continue
            for key, frame in self.results[name].kpis.items():
                flat = frame.reset_index(names=frame.index.name or "kpi") if key in ("district", "equity") else frame
                tables.setdefault(key, []).append(flat.assign(scenario=name)[["scenario", *flat.columns]])
        return {k: pd.concat(v, ignore_index=True) for k, v in tables.items()}

    def summary_table(self) -> pd.DataFrame:
        """Scalar KPIs, one row per scenario (index) and one column per KPI, plus ``seed``."""
        s = self.kpis().get("summary")
        if s is None or s.empty:
            return pd.DataFrame(index=pd.Index([], name="scenario"))
        wide = s.pivot(index="scenario", columns="kpi", values="value").reindex(
            [n for n in self.order if n in self.results])
        wide.columns.name = None
        return wide.assign(seed=[self.seeds[n] for n in wide.index])

    def failure_text(self) -> str:
        """One line per failed scenario."""
        return "\n".join(f"twin: {f}" for f in self.failures.values())

    def save(self, directory: str | PathLike[str]) -> Path:
        """Write each result into ``directory/<name>/`` (see :meth:`RunResult.save`), the stacked
        KPI summary as ``ensemble_summary.csv`` and the failures as ``failures.json``."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        for name, res in self.results.items():
            res.save(out / name)
        self.summary_table().to_csv(out / "ensemble_summary.csv")
        (out / "failures.json").write_text(json.dumps(
            {n: {"error": f.error_type, "message": f.message} for n, f in self.failures.items()}, indent=2) + "\n")
        return out


# ---------------------------------------------------------------------------------------- inputs
def _set_path(data: dict[str, Any], path: str, value: Any, source: str) -> None:
    keys = path.split(".")
    node: Any = data
    for i, key in enumerate(keys[:-1]):
        nxt = node[int(key)] if isinstance(node, list) and key.isdigit() else (node.get(key) if isinstance(node, dict)
                                                                                else None)
        if nxt is None and isinstance(node, dict) and key in Scenario.model_fields and not keys[i + 1].isdigit():
            nxt = node[key] = {}
        if not isinstance(nxt, (dict, list)):
            raise ScenarioError(f"{source}: [{'.'.join(keys[:i + 1])}] is not a table; cannot sweep {path!r}")
        node = nxt
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def scenario_variants(base: Scenario | str | PathLike[str], sweep: Mapping[str, Sequence[Any]], *,
                      replicates: int = 1) -> list[Scenario]:
    """Variants of a scenario over a parameter grid (every combination), validated.

    Parameters
    ----------
    base : Scenario or path
        The scenario to vary.
    sweep : mapping dotted key -> values
        Keys as in the TOML file (``"demand.grid_multiplier"``, ``"crews.power"``,
        ``"events.0.at"``); every combination of the values gives one variant.
    replicates : int
        Copies of each combination; with more than one the seed is cleared so that
        :func:`run_ensemble` spawns one seed per copy (Monte Carlo over random failures).

    Returns
    -------
    list of Scenario
        Named ``<base>[key=value,...]`` (``#k`` appended per replicate).

    Examples
    --------
    >>> base = scenario_from_dict({"name": "hot", "description": "heat wave"})
    >>> [v.name for v in scenario_variants(base, {"demand.grid_multiplier": [1.0, 1.2]})]
    ['hot[grid_multiplier=1]', 'hot[grid_multiplier=1.2]']
    """
    if not isinstance(base, Scenario):
        base = load_scenario(base)
    if replicates < 1:
        raise ValueError(f"replicates must be at least 1, got {replicates}")
    keys = list(sweep)
    out = []
    for combo in itertools.product(*(list(sweep[k]) for k in keys)):
        label = ",".join(f"{k.rsplit('.', 1)[-1]}={v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool)
                         else f"{k.rsplit('.', 1)[-1]}={v}" for k, v in zip(keys, combo))
        for r in range(replicates):
            data = base.model_dump(mode="python")
            for k, v in zip(keys, combo):
                _set_path(data, k, v, base.source or base.name)
            data["name"] = f"{base.name}[{label}]" + (f"#{r}" if replicates > 1 else "")
            if replicates > 1:
                data["seed"] = None
            out.append(scenario_from_dict(data, base.source or "<variant>"))
    return out


def _unique(name: str, taken: set[str]) -> str:
    key, k = name, 1
    while key in taken:
        k += 1
        key = f"{name}#{k}"
    taken.add(key)
    return key


def _read(scenarios: Iterable[Scenario | str | PathLike[str]]
          ) -> tuple[list[_Item], dict[str, ScenarioFailure], list[str]]:
    items: list[_Item] = []
    failures: dict[str, ScenarioFailure] = {}
    order: list[str] = []
    taken: set[str] = set()
    for spec in scenarios:
        if not isinstance(spec, Scenario):
            try:
                spec = load_scenario(spec)
            except (TwinError, OSError, ValueError) as err:
                key = _unique(str(spec), taken)
                failures[key] = ScenarioFailure(key, type(err).__name__, " ".join(str(err).split()))
                order.append(key)
                continue
        key = _unique(spec.name, taken)
        items.append((key, spec))
        order.append(key)
    return items, failures, order


def seed_scenarios(items: Sequence[_Item], root: int | None) -> tuple[list[_Item], int]:
    """Give every scenario without a seed one spawned from ``SeedSequence(root)`` (child ``i`` for the
    ``i``-th scenario); scenarios that carry a seed keep it. Returns the items and the root entropy.

    Examples
    --------
    >>> a = scenario_from_dict({"name": "a", "description": "x"})
    >>> items, root = seed_scenarios([("a", a), ("b", a.model_copy(update={"seed": 3}))], 42)
    >>> root, items[1][1].seed, items[0][1].seed == seed_scenarios([("a", a)], 42)[0][0][1].seed
    (42, 3, True)
    """
    seq = np.random.SeedSequence(root)
    children = seq.spawn(len(items))
    out = []
    for (key, spec), child in zip(items, children):
        if spec.seed is None:
            spec = spec.model_copy(update={"seed": int(child.generate_state(1, np.uint32)[0])})
        out.append((key, spec))
    return out, int(seq.entropy)  # type: ignore[arg-type]


def _batches(items: Sequence[_Item], batch_size: int | Literal["auto"], workers: int) -> list[list[_Item]]:
    if batch_size == "auto":
        size = max(1, math.ceil(len(items) / (TASKS_PER_WORKER * max(workers, 1))))
    elif isinstance(batch_size, int) and batch_size >= 1:
        size = batch_size
    else:
        raise ValueError(f"batch_size must be 'auto' or a positive integer, got {batch_size!r}")
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def _payload(network: "Network | None") -> tuple[str | None, bytes | None]:
    if network is None:
        return None, None
    data = dumps(network)
    return sha256(data).hexdigest()[:16], data


# ---------------------------------------------------------------------------------------- executors
def _serial(token: str | None, payload: bytes | None, batches: list[list[_Item]], **_: Any) -> Iterator[list[_Row]]:
    cache: dict[str, "Network"] = {}
    if token is not None and payload is not None:
        cache[token] = pickle.loads(payload)
    for batch in batches:
        yield _run_batch(token, payload, batch, cache)


def _lost(batch: Sequence[_Item], err: BaseException) -> list[_Row]:
    message = " ".join(f"the worker running this batch was lost: {err}".split())
    return [(key, False, (type(err).__name__, message, "")) for key, _ in batch]


def process_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """A process pool for :func:`run_ensemble` to reuse across ensembles (its workers stay warm).

    Workers start from a fork server (never a fork of a process with threads), import the engine
    once and keep the networks they were sent; shut it down (or use ``with``) when done.

    Examples
    --------
    >>> with process_pool(1) as pool:  # doctest: +SKIP
    ...     first = run_ensemble(city, specs, executor=pool)
    ...     second = run_ensemble(city, more_specs, executor=pool)  # no start-up cost
    """
    import multiprocessing

    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    return ProcessPoolExecutor(max_workers=_workers("processes", workers), mp_context=context,
                               initializer=_init_worker)


def _processes(token: str | None, payload: bytes | None, batches: list[list[_Item]], *, workers: int,
               pool: Executor | None = None, **_: Any) -> Iterator[list[_Row]]:
    own = pool is None
    if pool is None:
        pool = process_pool(workers)
    try:
        futures = {pool.submit(_run_batch, token, payload, b): b for b in batches}
        for fut in as_completed(futures):
            try:
                yield fut.result()
            except Exception as err:  # noqa: BLE001 - a dead worker fails its batch, not the ensemble
                yield _lost(futures[fut], err)
    finally:
        if own:
            pool.shutdown(wait=True, cancel_futures=True)


def _dask(token: str | None, payload: bytes | None, batches: list[list[_Item]], *, workers: int,
          address: str | None = None, timings: dict[str, float], **_: Any) -> Iterator[list[_Row]]:
    try:
        from dask.distributed import Client, LocalCluster
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise ScenarioError("executor='dask' needs dask.distributed: pip install 'twin[dask]'") from None
    start = time.perf_counter()
    cluster = None
    if address is None:
        cluster = LocalCluster(n_workers=workers, processes=True, threads_per_worker=1, dashboard_address=None,
                               host="127.0.0.1")
        client = Client(cluster)
    else:
        client = Client(address)
    timings["startup_s"] = time.perf_counter() - start
    try:
        data = client.scatter(payload, broadcast=True) if payload is not None else None
        futures = {client.submit(_run_batch, token, data, b, pure=False): i for i, b in enumerate(batches)}
        for fut in dask_completed(list(futures)):
            try:
                yield fut.result()
            except Exception as err:  # noqa: BLE001 - a lost worker fails its batch, not the ensemble
                yield _lost(batches[futures[fut]], err)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _workers(executor: str, workers: int | None) -> int:
    import os

    if workers is not None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        return workers
    if executor == "serial":
        return 1
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def run_ensemble(network: "Network | None", scenarios: Iterable[Scenario | str | PathLike[str]], *,
                 executor: Literal["serial", "processes", "dask"] | Executor = "serial",
                 address: str | None = None, workers: int | None = None,
                 batch_size: int | Literal["auto"] = "auto", seed: int | None = None) -> Ensemble:
    """Run many scenarios, each isolated: a failing one leaves the others' results.

    Parameters
    ----------
    network : Network or None
        The city for every scenario; None loads each scenario's own ``network`` (once per worker).
    scenarios : iterable of Scenario or path
        Scenarios (see :func:`scenario_variants` for parameter sweeps) or TOML files. A file that
        cannot be read is reported as a failure.
    executor : {"serial", "processes", "dask"} or concurrent.futures.Executor
        ``"processes"``: a local ``ProcessPoolExecutor`` (forkserver) whose workers live for the
        whole ensemble; ``"dask"``: ``dask.distributed`` (a ``LocalCluster`` of single-threaded
        worker processes on 127.0.0.1, or the cluster at ``address``); an ``Executor`` you own
        is used as it is and left running (reuse it across ensembles to keep warm workers).
    address : str, optional
        Scheduler address of a running Dask cluster (``"tcp://host:8786"``).
    workers : int, optional
        Worker processes (default: the usable cores; ignored when joining ``address``).
    batch_size : int or "auto"
        Scenarios per task; ``"auto"`` aims at 8 tasks per worker (a scenario takes 0.1-1 s, so a
        task stays well above the ~100 ms where per-task overhead matters).
    seed : int, optional
        Root of ``numpy.random.SeedSequence``: scenario ``i`` without a seed of its own gets spawned
        child ``i``; None draws a root from the OS (kept in ``info["root_entropy"]``).

    Returns
    -------
    Ensemble

    Examples
    --------
    >>> import twin
    >>> base = scenario_from_dict({"name": "trip", "description": "feeder trip", "duration": "1h",
    ...     "layers": ["grid"], "events": [{"at": "00:15", "kind": "outage", "asset": "line:F7-1"}]})
    >>> ens = run_ensemble(twin.datasets.sample_city(), scenario_variants(base, {"demand.grid_multiplier": [1, 1.2]}))
    >>> ens.summary_table()["unserved_energy_mwh"].round(3).tolist()
    [2.727, 3.272]
    """
    wall, cpu = time.perf_counter(), time.process_time()
    items, failures, order = _read(scenarios)
    items, root = seed_scenarios(items, seed)
    kind = executor if isinstance(executor, str) else "processes"
    if kind not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)} or an Executor, got {executor!r}")
    n_workers = _workers(kind, workers)
    batches = _batches(items, batch_size, n_workers)
    timings: dict[str, float] = {"startup_s": 0.0}
    token, payload = _payload(network)
    run_batches = {"serial": _serial, "processes": _processes, "dask": _dask}[kind]
    pool = executor if isinstance(executor, Executor) else None
    rows: dict[str, _Row] = {}
    for done in run_batches(token, payload, batches, workers=n_workers, address=address, pool=pool,
                            timings=timings):
        rows.update((r[0], r) for r in done)
    results: dict[str, "RunResult"] = {}
    for key, _ in items:
        _, ok, value = rows[key]
        if ok:
            results[key] = pickle.loads(value) if isinstance(value, bytes) else value
        else:
            failures[key] = ScenarioFailure(key, *value)
    seeds = {key: int(spec.seed) for key, spec in items if spec.seed is not None}
    hashes = {key: spec.fingerprint() for key, spec in items}
    timings.update(wall_s=time.perf_counter() - wall, cpu_s=time.process_time() - cpu, tasks=float(len(batches)),
                   batch_size=float(max((len(b) for b in batches), default=0)), workers=float(n_workers))
    return Ensemble(results, failures, seeds, hashes, order, timings,
                    {"executor": kind, "root_entropy": root, "address": address})
