"""Many variants of one network's hydraulics (closures, openings, demand scaling), sharing the compiled model.

:func:`hydraulics_batch` compiles the network once and runs each variant as a fresh
:class:`~twin.water.HydraulicSimulation`, optionally over worker processes.
It is re-exported as ``twin.water.hydraulics_batch``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from twin.errors import ConvergenceError, NetworkError
from twin.water.simulation import _STATUS_TABLE, HydraulicSimulation, prepare
from twin.solvers.water.model import Model

if TYPE_CHECKING:
    from twin.model.network import Network

__all__ = ["BATCH_VARIABLES", "hydraulics_batch"]

#: variables :func:`hydraulics_batch` can return: (dimension, long name, units)
BATCH_VARIABLES = {
    "head": ("node", "hydraulic head", "m"),
    "pressure": ("node", "pressure head (tank: water level)", "m"),
    "demand_delivered": ("junction", "delivered junction demand", "m3/s"),
    "flow": ("link", "link flow (start to end node)", "m3/s"),
    "status": ("link", "link status: 0 closed, 1 open, 2 active", "1"),
    "tank_level": ("tank", "tank water level", "m"),
    "min_pressure": ("node", "lowest pressure over the reporting times", "m"),
}

_BATCH: dict[str, Any] = {}


def _variant(v: Any, i: int) -> dict[str, Any]:
    """A variant as ``{"close": [...], "open": [...], "demand_multiplier": x or None}``."""
    if isinstance(v, str):
        return {"close": [v], "open": [], "demand_multiplier": None}
    if not isinstance(v, dict):
        raise TypeError(f"variant {i}: give a link id (closed) or a dict with 'close', 'open', "
                        f"'demand_multiplier', not {type(v).__name__}")
    unknown = set(v) - {"close", "open", "demand_multiplier", "name"}
    if unknown:
        raise ValueError(f"variant {i}: unknown keys {sorted(unknown)}; use 'close', 'open', "
                         "'demand_multiplier', 'name'")
    as_list = lambda x: [x] if isinstance(x, str) else list(x or [])  # noqa: E731
    return {"close": as_list(v.get("close")), "open": as_list(v.get("open")),
            "demand_multiplier": v.get("demand_multiplier")}


def _run_variant(network: "Network", prepared: tuple, duration_s: float | None, variant: dict,
                 variables: tuple[str, ...], times: np.ndarray) -> tuple[dict[str, np.ndarray], str]:
    """One variant over a shared prepared model: its variables on ``times`` (NaN where not solved)."""
    model = prepared[0]
    sim = HydraulicSimulation(network, duration_s=duration_s, record="report", _prepared=prepared)
    sim._records.cap = len(times) + 1     # one buffer, one kernel call
    held = [sim.link_index(k) for k in variant["close"] + variant["open"]]
    error = ""
    try:
        for k in variant["close"]:
            sim.hold_link(k, "CLOSED")
        for k in variant["open"]:
            sim.hold_link(k, "OPEN")
        if variant["demand_multiplier"] is not None:
            sim.set_demand_multiplier(float(variant["demand_multiplier"]))
        sim.finish()
    except ConvergenceError as err:
        error = str(err)
    finally:
        for k in held:
            sim.engine.hold(k, None)     # the shared model's controls as they were
    t_rec, rows = sim._records.arrays()
    rep = np.isin(t_rec, times)
    t_rec = t_rec[rep]
    pos = np.searchsorted(times, t_rec)
    f, el = model.factors, model.net.el
    tanks = model.tank_index
    nt = len(times)
    out: dict[str, np.ndarray] = {}
    hraw = rows["head"][rep]
    for name in variables:
        if name == "head":
            val = hraw / f.length
        elif name in ("pressure", "min_pressure"):
            val = (hraw - el) / f.length
            val[:, model.reservoir_index] = 0.0
        elif name == "demand_delivered":
            val = rows["delivered"][rep] / f.flow
        elif name == "flow":
            val = rows["flow"][rep] / f.flow
        elif name == "status":
            val = _STATUS_TABLE[rows["status"][rep]].astype(float)
        else:
            val = (hraw[:, tanks] - el[tanks]) / f.length
        full = np.full((nt, val.shape[1]), np.nan)
        full[pos] = val
        out[name] = np.nanmin(full, axis=0) if name == "min_pressure" and len(pos) else \
            (np.full(val.shape[1], np.nan) if name == "min_pressure" else full)
    return out, error


def _batch_chunk(indices: list[int]) -> tuple[list[int], list[dict[str, np.ndarray]], list[str]]:
    b = _BATCH
    if "prepared" not in b:
        b["prepared"] = prepare(b["network"])
    res = [_run_variant(b["network"], b["prepared"], b["duration_s"], b["variants"][i], b["variables"],
                        b["times"]) for i in indices]
    return indices, [r[0] for r in res], [r[1] for r in res]


def _batch_init(state: dict[str, Any]) -> None:
    _BATCH.clear()
    _BATCH.update(state)


def hydraulics_batch(network: "Network", variants: "list[Any]", *, workers: int = 1,
                     duration_s: float | None = None,
                     variables: "tuple[str, ...] | list[str]" = ("pressure", "flow")) -> xr.Dataset:
    """Run many variants of one network's hydraulics, sharing the compiled model.

    The network is compiled once (unit conversion, pump fits, node ordering and symbolic
    factorization): a closure or status change alters the matrix values, not its pattern, so
    every variant reuses them. Each variant is a fresh run from time 0, equal to a single run
    of :class:`HydraulicSimulation` with the same changes.

    Parameters
    ----------
    network : Network
        A network with a water layer.
    variants : list
        Each a link id (closed for the whole run, e.g. a pipe break) or a dict with ``close``
        and ``open`` (link ids held closed / open against their controls for the whole run),
        ``demand_multiplier`` (replaces the file's) and an optional ``name``.
    workers : int
        Processes to use (1: this process). With 2 or more, each worker process compiles the
        model once and runs chunks of variants; small batches run here.
    duration_s : float, optional
        Simulated duration (s); default the network's own.
    variables : sequence of str
        Any of ``head``, ``pressure``, ``demand_delivered``, ``flow``, ``status``, ``tank_level``
        (dims ``variant x time x asset``) and ``min_pressure`` (``variant x node``, the lowest
        pressure over the reporting times). Memory is ``variants x times x assets x 8`` bytes
        per variable: ask only for what you need.

    Returns
    -------
    xarray.Dataset
        The variables with a ``variant`` dimension (coordinate: variant names or positions),
        ``time`` (reporting times, s) and asset ids; ``error`` (variant) holds the message of a
        variant that failed (a singular matrix: a junction cut off from every source), whose
        values are NaN from that time on.

    Examples
    --------
    >>> import twin
    >>> from twin.water import hydraulics_batch
    >>> ds = hydraulics_batch(twin.datasets.sample_city(), ["P1", {"demand_multiplier": 1.2}], duration_s=3600)
    >>> ds.pressure.dims, ds.sizes["variant"]
    (('variant', 'time', 'node'), 2)
    """
    variables = tuple(variables)
    bad = [v for v in variables if v not in BATCH_VARIABLES]
    if bad:
        raise ValueError(f"unknown batch variables {bad}; choose from {sorted(BATCH_VARIABLES)}")
    specs = [_variant(v, i) for i, v in enumerate(variants)]
    names = [str(v.get("name", i)) if isinstance(v, dict) else str(v) for i, v in enumerate(variants)]
    prepared = prepare(network)
    model, _, w = prepared
    ids = set(str(x) for x in w.link_ids)
    for i, v in enumerate(specs):
        for k in v["close"] + v["open"]:
            if k not in ids:
                raise NetworkError(f"variant {i}: water link {k!r} is not in network {network.name!r}")
    t = dict(model.times)
    dur = int(round(duration_s)) if duration_s is not None else t["duration_s"]
    rstep, rstart = max(t["report_timestep_s"], 1), t["report_start_s"]
    times = np.arange(rstart, dur + 1, rstep, dtype=np.int64) if rstart <= dur else np.array([dur], np.int64)
    state = dict(network=network, duration_s=duration_s, variants=specs, variables=variables, times=times)
    n = len(specs)
    results: list[Any] = [None] * n
    errors = [""] * n
    if workers <= 1 or n < 2 * workers:
        _batch_init(dict(state, prepared=prepared))
        idx, vals, errs = _batch_chunk(list(range(n)))
        results, errors = vals, errs
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        methods = mp.get_all_start_methods()
        ctx = mp.get_context("fork" if "fork" in methods else "spawn")
        if ctx.get_start_method() == "fork":
            state["prepared"] = prepared
        size = max(1, -(-n // (workers * 4)))
        chunks = [list(range(i, min(i + size, n))) for i in range(0, n, size)]
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_batch_init, initargs=(state,)) as pool:
            for idx, vals, errs in pool.map(_batch_chunk, chunks):
                for j, i in enumerate(idx):
                    results[i], errors[i] = vals[j], errs[j]
    return _batch_dataset(network, model, w, names, times, variables, results, errors)


def _batch_dataset(network: "Network", model: Model, w: Any, names: list[str], times: np.ndarray,
                   variables: tuple[str, ...], results: list[dict[str, np.ndarray]],
                   errors: list[str]) -> xr.Dataset:
    from twin.results import provenance

    nj = model.n_junctions
    coords = {"variant": names, "time": times, "node": [str(x) for x in w.node_ids],
              "junction": [str(x) for x in w.node_ids[:nj]], "link": [str(x) for x in w.link_ids],
              "tank": [str(x) for x in w.node_ids[model.tank_index]]}
    data = {}
    for name in variables:
        dim, long_name, units = BATCH_VARIABLES[name]
        arr = np.stack([r[name] for r in results]) if results else np.zeros((0,))
        dims = ("variant", dim) if name == "min_pressure" else ("variant", "time", dim)
        data[name] = xr.Variable(dims, arr, attrs={"units": units, "long_name": long_name})
    data["error"] = xr.Variable(("variant",), np.array(errors, dtype=object),
                                attrs={"long_name": "error of a failed variant ('' when solved)"})
    ds = xr.Dataset(data, coords=coords)
    ds["time"].attrs["units"] = "s"
    ds.attrs.update(provenance(network, solver="twin GGA (EPANET 2.2 rules), batch", variants=len(names)))
    return ds
