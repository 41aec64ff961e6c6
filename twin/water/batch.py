"""Many variants of one network's hydraulics (closures, openings, leaks, demand scaling), sharing the compiled model.

:func:`hydraulics_batch` compiles the network once (units, pump fits, node ordering and the
symbolic factorization) and runs every variant over it: each worker thread owns one set of
state arrays, resets them in place per variant and runs the whole extended-period simulation
in one GIL-free Numba call (:func:`twin.solvers.water.batch.run_variant`) that writes only the
requested variables into preallocated arrays. It is re-exported as ``twin.water.hydraulics_batch``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from twin.errors import ConvergenceError, NetworkError
from twin.parallel import run_pulled, thread_count
from twin.solvers.water import constants as C
from twin.solvers.water import step as S
from twin.solvers.water.batch import period_demands, run_variant
from twin.solvers.water.eps import Engine
from twin.solvers.water.leakage import node_coefficients
from twin.solvers.water.model import Model, State
from twin.water.simulation import _STATUS_TABLE, HydraulicSimulation, _leakage, prepare

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
_KEYS = {"close", "open", "leak", "demand_multiplier", "name"}
_STATUS_F = _STATUS_TABLE.astype(float)
_EMPTY2 = np.empty((0, 0))
_EMPTY1 = np.empty(0)


def _variant(v: Any, i: int) -> dict[str, Any]:
    """A variant as ``{"close": [...], "open": [...], "leak": {pipe: (area, expansion)}, "demand_multiplier": x}``."""
    if isinstance(v, str):
        return {"close": [v], "open": [], "leak": {}, "demand_multiplier": None}
    if not isinstance(v, dict):
        raise TypeError(f"variant {i}: give a link id (closed) or a dict with 'close', 'open', 'leak', "
                        f"'demand_multiplier', not {type(v).__name__}")
    unknown = set(v) - _KEYS
    if unknown:
        raise ValueError(f"variant {i}: unknown keys {sorted(unknown)}; use {sorted(_KEYS)}")
    as_list = lambda x: [x] if isinstance(x, str) else list(x or [])  # noqa: E731
    leak = {}
    for pid, val in dict(v.get("leak") or {}).items():
        area, expansion = (val, 0.0) if np.isscalar(val) else tuple(val)
        if not (float(area) >= 0.0 and float(expansion) >= 0.0):
            raise ValueError(f"variant {i}: leak of pipe {pid!r} must be >= 0 (mm² per 100 m, mm² per m)")
        leak[str(pid)] = (float(area), float(expansion))
    return {"close": as_list(v.get("close")), "open": as_list(v.get("open")), "leak": leak,
            "demand_multiplier": v.get("demand_multiplier")}


class _Leaks:
    """Per-variant pipe leak coefficients: the network's own leak areas with a variant's replaced."""

    def __init__(self, network: "Network", model: Model, w: Any) -> None:
        nl = len(w.link_ids)
        base = _leakage(network, w)
        self.area, self.expansion = (np.zeros(nl), np.zeros(nl)) if base is None else base
        self.n1, self.n2 = np.asarray(w.start_node), np.asarray(w.end_node)
        self.length = np.nan_to_num(np.asarray(w.length_m, float)) * (model.net.ltype <= C.PIPE)
        self.nj = model.n_junctions

    def net(self, net: Any, leak: dict[int, tuple[float, float]]) -> Any:
        """``net`` with the leak coefficients of the network's leaks and ``leak`` (link: area, expansion)."""
        area, expansion = self.area.copy(), self.expansion.copy()
        for k, (a, e) in leak.items():
            area[k], expansion[k] = a, e
        lcfa, lcva = node_coefficients(self.nj, self.n1, self.n2, self.length, area, expansion)
        return net._replace(lcfa=lcfa, lcva=lcva,
                            leak_nodes=np.flatnonzero((lcfa > 0) | (lcva > 0)).astype(np.int64))


class _Workspace:
    """One worker's mutable arrays: a fresh engine's state (and a copy of it as the reset point)."""

    def __init__(self, model: Model, rules: Any, duration: int) -> None:
        eng = Engine(model, rules)
        self.st, self.w, self.eps, self.fclk, self.volume = eng.st, eng.w, eng.eps, eng.fclk, eng.volume
        self.clk = eng.clk
        self.clk0 = eng.clk.copy()
        self.clk0[S.DURATION] = duration
        self.st0 = State(*[np.array(a, copy=True) for a in eng.st])
        self.volume0 = eng.volume.copy()
        self.c_enabled0 = eng.c_enabled0
        self.eps_nodem = eng.eps._replace(demand_node=np.zeros(0, np.int64))
        # this worker's own control-enable mask (holds disable a link's controls)
        self.net = model.net._replace(c_enabled=np.array(model.net.c_enabled, copy=True))


#: largest table of shared per-period junction demands (bytes); above it each solve sums its own
SHARED_DEMANDS_MAX_BYTES = 256 * 2**20


def _shared_demands(model: Model, rules: Any, duration: int, n_variants: int) -> tuple[np.ndarray, int]:
    """Junction demands of every pattern period of the run (base multiplier) and the first period."""
    c = np.asarray(Engine(model, rules).clk)
    pstep, pstart = int(c[S.PSTEP]), int(c[S.PSTART])
    p0, p1 = pstart // pstep, (duration + pstart) // pstep
    if n_variants < 2 or (p1 - p0 + 1) * model.n_junctions * 8 > SHARED_DEMANDS_MAX_BYTES:
        return np.zeros((0, model.n_junctions)), 0
    ws = _Workspace(model, rules, duration)
    dem = np.zeros((p1 - p0 + 1, model.n_junctions))
    period_demands(ws.net, ws.eps, ws.st, ws.clk, float(ws.fclk[0]), p0, dem)
    return dem, p0


def _run_variant_sim(network: "Network", prepared: tuple, duration_s: float | None, variant: dict,
                     variables: tuple[str, ...], times: np.ndarray) -> tuple[dict[str, np.ndarray], str, int]:
    """One variant as a :class:`HydraulicSimulation` (the per-step Python path, for networks with rules):
    its variables, error message and GGA iterations."""
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
            val = _STATUS_F[rows["status"][rep]]
        else:
            val = (hraw[:, tanks] - el[tanks]) / f.length
        full = np.full((nt, val.shape[1]), np.nan)
        full[pos] = val
        out[name] = np.nanmin(full, axis=0) if name == "min_pressure" and len(pos) else \
            (np.full(val.shape[1], np.nan) if name == "min_pressure" else full)
    return out, error, int(sum(sim.iterations))


def hydraulics_batch(network: "Network", variants: "list[Any]", *, workers: int | None = None,
                     duration_s: float | None = None,
                     variables: "tuple[str, ...] | list[str]" = ("pressure", "flow")) -> xr.Dataset:
    """Run many variants of one network's hydraulics, sharing the compiled model.

    The network is compiled once (unit conversion, pump fits, node ordering and symbolic
    factorization): a closure, status change or pipe leak alters the matrix values, not its
    pattern, so every variant reuses them. Each variant is a fresh run from time 0, equal to a
    single run of :class:`HydraulicSimulation` with the same changes; each worker thread resets
    its own state arrays in place and runs a variant in one Numba call that releases the GIL.

    Parameters
    ----------
    network : Network
        A network with a water layer.
    variants : list
        Each a link id (closed for the whole run, e.g. a pipe break) or a dict with ``close``
        and ``open`` (link ids held closed / open against their controls for the whole run),
        ``leak`` (``{pipe id: area}`` or ``{pipe id: (area, expansion)}``: the pipe's EPANET 2.3
        FAVAD leak area in mm² per 100 m and expansion in mm² per m of pressure head, replacing
        its ``leak_area_mm2_per_100m`` / ``leak_expansion_mm2_per_m``; a break that keeps
        leaking), ``demand_multiplier`` (replaces the file's) and an optional ``name``.
    workers : int, optional
        Threads to use: default (None or 0) the cores this process may use, 1 this thread only.
        Each variant's run holds no GIL, so two threads use two cores (1,000 L-TOWN variants:
        2.0x one thread on an idle 2-core machine); an extra thread that adds no CPU (a machine
        busy with other work) retires (:mod:`twin.parallel`). Results do not depend on it.
        Networks with rule-based controls step in Python and run on one thread.
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
        ``time`` (reporting times, s) and asset ids; ``iterations`` (variant) the GGA
        iterations of each run; ``error`` (variant) holds the message of a variant that failed
        (a singular matrix: a junction cut off from every source), whose values are NaN from
        that time on.

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
    model, rules, w = prepared
    pos = {str(x): i for i, x in enumerate(w.link_ids)}
    kind = np.asarray(w.link_kind)
    for i, v in enumerate(specs):
        for k in v["close"] + v["open"] + list(v["leak"]):
            if k not in pos:
                raise NetworkError(f"variant {i}: water link {k!r} is not in network {network.name!r}")
        for k in v["leak"]:
            if kind[pos[k]] != 0:
                raise NetworkError(f"variant {i}: link {k!r} is not a pipe: only pipes leak")
    t = dict(model.times)
    dur = int(round(duration_s)) if duration_s is not None else t["duration_s"]
    rstep, rstart = max(t["report_timestep_s"], 1), t["report_start_s"]
    times = np.arange(rstart, dur + 1, rstep, dtype=np.int64) if rstart <= dur else np.array([dur], np.int64)
    n, nt = len(specs), len(times)
    sizes = {"node": model.n_nodes, "junction": model.n_junctions, "link": len(model.net.n1),
             "tank": len(model.tank_index)}
    out = {name: np.full((n, sizes[BATCH_VARIABLES[name][0]]) if name == "min_pressure"
                         else (n, nt, sizes[BATCH_VARIABLES[name][0]]), np.nan) for name in variables}
    errors = [""] * n
    iterations = np.zeros(n, np.int64)
    leaks = _Leaks(network, model, w) if any(v["leak"] for v in specs) else None
    if rules is not None and rules.n_rules > 0:
        _run_with_rules(network, prepared, duration_s, specs, variables, times, leaks, pos, out, errors,
                        iterations)
    else:
        _run_threads(model, rules, w, dur, specs, times, leaks, pos, out, errors, iterations,
                     thread_count(workers, n))
    return _batch_dataset(network, model, w, names, times, variables, out, errors, iterations)


def _run_with_rules(network: "Network", prepared: tuple, duration_s: float | None, specs: list[dict],
                    variables: tuple[str, ...], times: np.ndarray, leaks: "_Leaks | None", pos: dict,
                    out: dict[str, np.ndarray], errors: list[str], iterations: np.ndarray) -> None:
    """Rule-based controls step in Python: one :class:`HydraulicSimulation` per variant, in this thread."""
    model, rules, w = prepared
    for i, v in enumerate(specs):
        prep = prepared
        if v["leak"]:
            leak = {pos[k]: a for k, a in v["leak"].items()}
            prep = (replace(model, net=leaks.net(model.net, leak)), rules, w)
        vals, errors[i], iterations[i] = _run_variant_sim(network, prep, duration_s, v, variables, times)
        for name in variables:
            out[name][i] = vals[name]


def _run_threads(model: Model, rules: Any, w: Any, dur: int, specs: list[dict], times: np.ndarray,
                 leaks: "_Leaks | None", pos: dict, out: dict[str, np.ndarray], errors: list[str],
                 iterations: np.ndarray, workers: int) -> None:
    """Every variant through :func:`run_variant`, pulled one at a time by ``workers`` threads."""
    f, net = model.factors, model.net
    el = np.asarray(net.el, float)
    reservoirs = np.asarray(model.reservoir_index, np.int64)
    tanks = np.asarray(model.tank_index, np.int64)
    dem, p0 = _shared_demands(model, rules, dur, len(specs))
    no_dem = dem[:0]
    empty = np.zeros(0, np.int64)
    links = [(np.array([pos[k] for k in v["close"]], np.int64) if v["close"] else empty,
              np.array([pos[k] for k in v["open"]], np.int64) if v["open"] else empty) for v in specs]
    o = {name: out.get(name) for name in BATCH_VARIABLES}
    dmult0 = float(model.dmult)

    def one(i: int, wsd: dict[str, Any]) -> None:
        ws = wsd.get("ws")
        if ws is None:
            ws = wsd["ws"] = _Workspace(model, rules, dur)
        v = specs[i]
        vnet = ws.net
        if v["leak"]:
            vnet = leaks.net(ws.net, {pos[k]: a for k, a in v["leak"].items()})
        dm = dmult0 if v["demand_multiplier"] is None else float(v["demand_multiplier"])
        row = lambda name: _EMPTY2 if o[name] is None else o[name][i]  # noqa: E731
        code, node, t, _, its = run_variant(
            vnet, ws.eps, ws.st, ws.w, ws.clk, ws.fclk, ws.volume, ws.st0, ws.volume0, ws.clk0,
            ws.c_enabled0, dm, links[i][0], links[i][1], times, el,
            reservoirs, tanks, f.length, f.flow, _STATUS_F, row("head"), row("pressure"), row("flow"),
            row("status"), row("demand_delivered"), row("tank_level"),
            _EMPTY1 if o["min_pressure"] is None else o["min_pressure"][i],
            ws.eps_nodem, dem if dm == dmult0 else no_dem, p0)
        iterations[i] = its
        if code == C.ILL_CONDITIONED:
            errors[i] = (f"hydraulics at t = {t} s: the matrix is singular at water node "
                         f"{w.node_ids[node]!r} (EPANET error 110); check that it is connected to a source")

    run_pulled(len(specs), one, workers)


def _batch_dataset(network: "Network", model: Model, w: Any, names: list[str], times: np.ndarray,
                   variables: tuple[str, ...], out: dict[str, np.ndarray], errors: list[str],
                   iterations: np.ndarray) -> xr.Dataset:
    from twin.results import provenance

    nj = model.n_junctions
    coords = {"variant": names, "time": times, "node": [str(x) for x in w.node_ids],
              "junction": [str(x) for x in w.node_ids[:nj]], "link": [str(x) for x in w.link_ids],
              "tank": [str(x) for x in w.node_ids[model.tank_index]]}
    data = {}
    for name in variables:
        dim, long_name, units = BATCH_VARIABLES[name]
        dims = ("variant", dim) if name == "min_pressure" else ("variant", "time", dim)
        data[name] = xr.Variable(dims, out[name], attrs={"units": units, "long_name": long_name})
    data["iterations"] = xr.Variable(("variant",), iterations, attrs={"long_name": "GGA iterations of the run"})
    data["error"] = xr.Variable(("variant",), np.array(errors, dtype=object),
                                attrs={"long_name": "error of a failed variant ('' when solved)"})
    ds = xr.Dataset(data, coords=coords)
    ds["time"].attrs["units"] = "s"
    ds.attrs.update(provenance(network, solver="twin GGA (EPANET 2.2 rules), batch", variants=len(names)))
    return ds
