"""Water hydraulics of a :class:`~twin.model.Network`: EPANET's numbers from twin's own solver.

:func:`hydraulics` runs the network's extended-period simulation (or a snapshot) and returns an
``xarray.Dataset``; :class:`HydraulicSimulation` is the stepping interface for the simulation
engine (advance to a time, change a status or a demand, continue), equal to a continuous run.

The solver is the Global Gradient Algorithm of EPANET 2.2 in :mod:`twin.solvers.water`, run in
EPANET's internal units with its constants so that heads agree with EPANET to round-off.

References
----------
Todini, E. and Pilati, S. (1988). A gradient algorithm for the analysis of pipe networks.
Rossman, L. et al. (2020). EPANET 2.2 User Manual, EPA/600/R-20/133.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from twin.errors import ConvergenceError, NetworkError
from twin.solvers.water import constants as C
from twin.solvers.water.eps import Engine
from twin.solvers.water.model import Model, build_model
from twin.solvers.water.rules import Rules, build_rules
from twin.solvers.water.step import MAXIT, NSOLVES, REC_ALL, REC_REPORT, is_report_time, new_rec

if TYPE_CHECKING:
    from twin.model.network import Network

__all__ = ["HydraulicSimulation", "build_engine", "hydraulics", "hydraulics_batch"]


def _settings(network: "Network") -> dict[str, Any]:
    from twin.io.inp_settings import default_settings

    given = dict(network.settings.get("water", {}))
    out = default_settings(given.get("flow_units", "LPS"))
    out.update(given)
    return out


def _controls(network: "Network", node_pos: dict, link_pos: dict) -> list[dict]:
    out = []
    for cid, row in network.tables["control"].iterrows():
        if row["link"] not in link_pos:
            raise NetworkError(f"control {cid!r}: link {row['link']!r} is not in the network")
        node = row.get("node")
        if isinstance(node, str) and node and node not in node_pos:
            raise NetworkError(f"control {cid!r}: node {node!r} is not in the network")
        out.append(dict(link=link_pos[row["link"]], node=node_pos.get(node, -1) if isinstance(node, str) else -1,
                        condition=row["condition"], threshold=row.get("threshold"), time_s=row.get("time_s"),
                        status=row.get("status"), setting=row.get("setting"),
                        enabled=bool(row.get("enabled", True))))
    return out


def _check_topology(w: Any) -> None:
    """Raise NetworkError naming a junction with no link, or a water network without a source."""
    deg = np.diff(np.asarray(w.node_link_indptr))
    lonely = np.flatnonzero(deg == 0)
    if len(lonely):
        raise NetworkError(f"water node {w.node_ids[lonely[0]]!r} is not connected to any link; "
                           "connect it or remove it")
    if w.n_junctions == len(w.node_ids):
        raise NetworkError("water network has no reservoir or tank: heads are undefined")


def prepare(network: "Network") -> tuple[Model, Rules, Any]:
    """Compile ``network``'s water layer to an internal-unit model, its rules and the arrays."""
    from twin.model.compiled.water import compile_water

    w = compile_water(network)
    _check_topology(w)
    settings = _settings(network)
    node_pos = {n: i for i, n in enumerate(w.node_ids)}
    link_pos = {k: i for i, k in enumerate(w.link_ids)}
    try:
        model = build_model(w, settings, _controls(network, node_pos, link_pos))
    except ValueError as err:
        raise NetworkError(str(err)) from None
    try:
        rules = build_rules(network.tables["rule"], node_pos, link_pos, model, settings)
    except ValueError as err:
        raise NetworkError(str(err)) from None
    return model, rules, w


def build_engine(network: "Network") -> Engine:
    """A fresh :class:`~twin.solvers.water.eps.Engine` at time 0 for ``network`` (internal units).

    Examples
    --------
    >>> import twin
    >>> build_engine(twin.datasets.sample_city()).htime
    0
    """
    model, rules, _ = prepare(network)
    return Engine(model, rules)


_STATUS_OUT = {C.XHEAD: 0, C.TEMPCLOSED: 0, C.CLOSED: 0, C.OPEN: 1, C.ACTIVE: 2, C.XFLOW: 1, C.XFCV: 1,
               C.XPRESSURE: 1}
_STATUS_TABLE = np.array([_STATUS_OUT[i] for i in range(8)], np.int64)


class HydraulicSimulation:
    """Stepping hydraulic simulation: advance to a time, change a status or demand, continue.

    ``advance(t)`` solves every hydraulic event before ``t`` and stops *at* ``t`` (unsolved), so a
    change made there applies to the solve at ``t``. Pausing at an event time of the run (a
    report time, for instance) gives exactly the results of a continuous run; pausing elsewhere
    adds a solve at that time, as an EPANET time control would.

    Parameters
    ----------
    network : Network
        A network with a water layer.
    duration_s : float, optional
        Simulated duration (s); default the network's own.
    record : {"all", "report"}
        Keep the state of every solve (default; ``results(report_only=False)`` needs it) or of
        the reporting times only (less memory on long runs).

    Without rule-based controls, each :meth:`advance` is one Numba call for all the solves it
    spans (:func:`twin.solvers.water.step.run_to`); with rules it steps in Python.

    Examples
    --------
    >>> import twin
    >>> sim = HydraulicSimulation(twin.datasets.sample_city(), duration_s=7200)
    >>> sim.advance(3600)
    >>> sim.set_demand_multiplier(1.3)
    >>> ds = sim.results()
    >>> ds.time.values.tolist()
    [0, 3600, 7200]
    """

    def __init__(self, network: "Network", *, duration_s: float | None = None, record: str = "all",
                 _prepared: tuple[Model, Rules, Any] | None = None) -> None:
        self.network = network
        self.model, rules, self.arrays = _prepared if _prepared is not None else prepare(network)
        if duration_s is not None:
            self.model.times["duration_s"] = int(round(duration_s))
        self.engine = Engine(self.model, rules)
        pos = getattr(self.model, "_link_pos", None)
        if pos is None:
            pos = {str(k): i for i, k in enumerate(np.asarray(self.arrays.link_ids).tolist())}
            self.model._link_pos = pos  # type: ignore[attr-defined]
        self._link_pos = pos
        self._solved = False
        self._finished = False
        t = self.model.times
        if record not in ("all", "report"):
            raise ValueError(f"record must be 'all' or 'report', not {record!r}")
        self._mode = REC_ALL if record == "all" or t["report_start_s"] > t["duration_s"] else REC_REPORT
        self._records = _Records(self.model)
        self.iterations: list[int] = []

    @property
    def time_s(self) -> int:
        """Current simulation time (s from the start)."""
        return int(self.engine.htime)

    @property
    def duration_s(self) -> int:
        """Simulated duration (s)."""
        return int(self.engine.duration)

    def _ill(self, it: int, err: float, node: int) -> ConvergenceError:
        return ConvergenceError(f"hydraulics at t = {self.engine.htime} s: the matrix is singular at water node "
                                f"{self.arrays.node_ids[node]!r} (EPANET error 110); check that it is "
                                "connected to a source", iterations=it, residual=err)

    def _solve(self) -> None:
        eng = self.engine
        code, it, err, node = eng.solve()
        if code == C.ILL_CONDITIONED:
            raise self._ill(it, err, node)
        self.iterations.append(it)
        if self._mode == REC_ALL or is_report_time(eng.clk, eng.htime):
            self._records.append_state(eng, it)
        self._solved = True

    def advance(self, to_time_s: float) -> None:
        """Solve every hydraulic event before ``to_time_s`` and stop there (s from the start)."""
        to = min(int(round(to_time_s)), self.engine.duration)
        eng = self.engine
        if not eng.has_rules:
            self._run_fast(to)
            return
        while not self._finished and eng.htime < to:
            if not self._solved:
                self._solve()
            eng.stop_at = to
            dt = eng.advance()
            self._solved = False
            if dt == 0:
                self._finished = True

    def _run_fast(self, to: int) -> None:
        """The same loop as :meth:`advance` in one Numba call per buffer of records."""
        eng = self.engine
        recs = self._records
        while not self._finished and eng.htime < to:
            rec = recs.buffer()
            code, it, nrec, solved, finished, node, _ = eng.run_to(to, self._solved, self._mode, rec, recs.n)
            recs.n = nrec
            self._solved, self._finished = bool(solved), bool(finished)
            if code == C.ILL_CONDITIONED:
                recs.flush(self.iterations)
                raise self._ill(it, 0.0, node)
            if code != -1:
                break
            recs.flush(self.iterations)
        recs.flush(self.iterations)

    def finish(self) -> None:
        """Run to the end of the duration (solving the last time)."""
        self.advance(self.engine.duration)
        if not self._solved and not self._finished and self.engine.htime <= self.engine.duration:
            self._solve()
        self._finished = True

    def link_index(self, link_id: str) -> int:
        """Position of water link ``link_id`` in the link arrays (and the results' ``link`` axis).

        Raises
        ------
        NetworkError
            The network has no such pipe, pump or valve.
        """
        if link_id not in self._link_pos:
            raise NetworkError(f"water link {link_id!r} is not in network {self.network.name!r}")
        return self._link_pos[link_id]

    _link = link_index

    def link_status(self, link_id: str) -> str:
        """Current status of a link: ``"OPEN"``, ``"CLOSED"`` or ``"ACTIVE"`` (a valve controlling).

        Examples
        --------
        >>> import twin
        >>> sim = HydraulicSimulation(twin.datasets.sample_city(), duration_s=3600)
        >>> sim.link_status("P1")
        'OPEN'
        """
        s = int(self.engine.st.status[self.link_index(link_id)])
        return ("CLOSED", "OPEN", "ACTIVE")[_STATUS_OUT.get(s, 1)]

    def is_link_open(self, link_id: str) -> bool:
        """Whether a link is open (or active) now."""
        return self.link_status(link_id) != "CLOSED"

    def hold_link(self, link_id: str, status: str | None) -> None:
        """Hold a link ``"CLOSED"`` or ``"OPEN"`` from the current time on; ``None`` releases it.

        While held, the link's simple controls and rule actions cannot change it (a pump without
        power stays off whatever its tank controls say). Releasing gives the link back to its
        controls with its current status; the next control or rule that fires acts on it again.
        :meth:`set_link_status` and :meth:`set_link_setting` still act on a held link.

        Examples
        --------
        >>> import twin
        >>> sim = HydraulicSimulation(twin.datasets.sample_city(), duration_s=7200)
        >>> sim.hold_link("P1", "CLOSED")
        >>> sim.advance(3600); sim.link_status("P1"), sim.held_links
        ('CLOSED', {'P1': 'CLOSED'})
        >>> sim.hold_link("P1", None); sim.held_links
        {}
        """
        k = self.link_index(link_id)
        if status is None:
            self.engine.hold(k, None)
            return
        word = str(status).upper()
        if word not in ("OPEN", "CLOSED"):
            raise ValueError(f"hold_link({link_id!r}, {status!r}): status must be 'OPEN', 'CLOSED' or None")
        self.engine.hold(k, C.OPEN if word == "OPEN" else C.CLOSED)

    @property
    def held_links(self) -> dict[str, str]:
        """Links held by :meth:`hold_link`: ``{link id: "OPEN" | "CLOSED"}``."""
        ids = self.arrays.link_ids
        return {str(ids[k]): ("OPEN" if s == C.OPEN else "CLOSED") for k, s in self.engine.held.items()}

    def set_link_status(self, link_id: str, is_open: bool) -> None:
        """Open or close a pipe, pump or valve from the current time on."""
        self.engine.set_status(self._link(link_id), bool(is_open))

    def set_link_setting(self, link_id: str, value: float) -> None:
        """Set a pump speed (1) or valve setting (SI: m for PRV/PSV/PBV, m3/s for FCV)."""
        from twin.solvers.water.model import valve_setting

        k = self._link(link_id)
        self.engine.set_setting(k, valve_setting(int(self.model.net.ltype[k]), float(value), self.model.factors))

    def set_demand_multiplier(self, multiplier: float) -> None:
        """Multiply every junction demand by ``multiplier`` (replaces the file's DEMAND MULTIPLIER)."""
        self.engine.dmult = float(multiplier)

    def results(self, *, report_only: bool = True) -> xr.Dataset:
        """Finish the run and return the results Dataset (report times, or every solve)."""
        self.finish()
        return _dataset(self, report_only)


class _Records:
    """Solved states of a run: chunks of rows (one per solve), filled by the kernel or per solve."""

    KEYS = ("head", "flow", "status", "setting", "demand", "requested", "delivered", "emitter", "volume")

    def __init__(self, model: Model) -> None:
        self.dims = (model.n_nodes, len(model.net.n1), model.n_junctions)
        self.chunks: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []
        self.rec: Any = None
        self.n = 0
        self.cap = 64

    def buffer(self) -> Any:
        """Record buffers with free rows (``self.n`` rows already used)."""
        if self.rec is None or self.n >= self.rec.time.size:
            self.flush(None)
            self.rec = new_rec(self.cap, *self.dims)
            self.cap = min(self.cap * 2, 4096)
        return self.rec

    def flush(self, iterations: list[int] | None) -> None:
        """Move the used rows of the buffers to ``chunks`` (and their iterations to the list)."""
        if self.rec is None or self.n == 0:
            return
        n, r = self.n, self.rec
        if 2 * n >= r.time.size:    # mostly used: keep views and let the next call allocate anew
            self.chunks.append((r.time[:n], {k: getattr(r, k)[:n] for k in self.KEYS}))
            self.rec = None
        else:
            self.chunks.append((r.time[:n].copy(), {k: getattr(r, k)[:n].copy() for k in self.KEYS}))
        if iterations is not None:
            iterations.extend(r.iters[:n].tolist())
        self.n = 0

    def append_state(self, eng: Engine, it: int) -> None:
        """One row from the engine's current state (the per-step path)."""
        self.flush(None)
        st = eng.st
        flow = np.where(st.status <= C.CLOSED, 0.0, st.flow)
        row = dict(head=st.head, flow=flow, status=st.status, setting=st.setting, demand=st.ndem,
                   requested=st.dfull, delivered=st.dflow, emitter=st.eflow, volume=eng.volume)
        self.chunks.append((np.array([eng.htime], np.int64), {k: v[None, :].copy() for k, v in row.items()}))

    def arrays(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """All rows: times and one 2-D array per key."""
        self.flush(None)
        if not self.chunks:
            nn, nl, nj = self.dims
            size = dict(head=nn, demand=nn, volume=nn, requested=nj, delivered=nj, emitter=nj)
            return np.zeros(0, np.int64), {k: np.zeros((0, size.get(k, nl))) for k in self.KEYS}
        if len(self.chunks) == 1:
            return self.chunks[0]
        return (np.concatenate([c[0] for c in self.chunks]),
                {k: np.concatenate([c[1][k] for c in self.chunks]) for k in self.KEYS})


def _setting_si(sim: HydraulicSimulation, setting: np.ndarray) -> np.ndarray:
    net, f = sim.model.net, sim.model.factors
    out = np.where(setting == C.MISSING, np.nan, setting).astype(float)
    press = np.isin(net.ltype, (C.PRV, C.PSV, C.PBV))
    out[:, press] /= f.pressure
    out[:, net.ltype == C.FCV] /= f.flow
    out[:, net.ltype <= C.PIPE] = np.nan
    return out


def _dataset(sim: HydraulicSimulation, report_only: bool) -> xr.Dataset:
    from twin.results import Variable, make_dataset, provenance

    m, f, w = sim.model, sim.model.factors, sim.arrays
    times, rows = sim._records.arrays()
    if report_only:
        t = m.times
        rep = (times >= t["report_start_s"]) & ((times - t["report_start_s"]) % max(t["report_timestep_s"], 1) == 0)
        if rep.any():
            times = times[rep]
            rows = {k: v[rep] for k, v in rows.items()}
    elif sim._mode != REC_ALL:
        raise ValueError("every solve was not recorded: use HydraulicSimulation(..., record='all')")
    get = rows.__getitem__
    head = get("head")
    el = m.net.el
    nj = m.n_junctions
    tanks = m.tank_index
    area = np.pi * m.net.diam ** 2 / 4.0
    flow = get("flow")
    velocity = np.where(area > 0, np.abs(flow) / np.where(area > 0, area, 1.0), 0.0) / f.length
    velocity[:, m.net.ltype == C.PUMP] = 0.0
    status = _STATUS_TABLE[get("status")]
    pressure = (head - el) / f.length
    pressure[:, m.reservoir_index] = 0.0
    nvar = lambda dims, v, u, ln: Variable(dims, v, u, ln)  # noqa: E731
    variables = {
        "head": nvar(("time", "node"), head / f.length, "m", "hydraulic head"),
        "pressure": nvar(("time", "node"), pressure, "m", "pressure head (tank: water level)"),
        "demand": nvar(("time", "node"), get("demand") / f.flow, "m3/s",
                       "delivered junction outflow incl. leaks; net inflow at tanks and reservoirs"),
        "demand_requested": nvar(("time", "junction"), get("requested") / f.flow, "m3/s",
                                 "requested junction demand (patterns and multiplier applied)"),
        "demand_delivered": nvar(("time", "junction"), get("delivered") / f.flow, "m3/s",
                                 "delivered junction demand (less than requested under PDA)"),
        "leak_flow": nvar(("time", "junction"), get("emitter") / f.flow, "m3/s", "emitter / leak outflow"),
        "flow": nvar(("time", "link"), flow / f.flow, "m3/s", "link flow (start to end node)"),
        "velocity": nvar(("time", "link"), velocity, "m/s", "mean flow velocity"),
        "headloss": nvar(("time", "link"), (head[:, m.net.n1] - head[:, m.net.n2]) / f.length, "m",
                         "head drop from start to end node (negative across a pump)"),
        "status": nvar(("time", "link"), status, "1", "link status: 0 closed, 1 open, 2 active"),
        "setting": nvar(("time", "link"), _setting_si(sim, get("setting")), "1",
                        "pump speed (1), valve setting (m for PRV/PSV/PBV, m3/s for FCV, K for TCV)"),
        "tank_level": nvar(("time", "tank"), (head[:, tanks] - el[tanks]) / f.length, "m", "tank water level"),
        "tank_volume": nvar(("time", "tank"), get("volume")[:, tanks] / f.volume, "m3", "tank water volume"),
    }
    coords = {"time": times, "node": w.node_ids, "junction": w.node_ids[:nj], "link": w.link_ids,
              "tank": w.node_ids[tanks]}
    ds = make_dataset(variables, coords, coord_units={"time": "s"},
                      attrs=provenance(sim.network, solver="twin GGA (EPANET 2.2 rules)",
                                       solves=int(sim.engine.clk[NSOLVES]),
                                       max_iterations=int(sim.engine.clk[MAXIT])))
    kinds = np.array(["junction", "reservoir", "tank"])[np.asarray(w.node_kind)]
    lk = np.array(["pipe", "pump", "valve"])[np.asarray(w.link_kind)]
    return ds.assign_coords(node_kind=("node", kinds), link_kind=("link", lk))


def hydraulics(network: "Network", *, duration_s: float | None = None, report_only: bool = True) -> xr.Dataset:
    """Run the water hydraulics of ``network`` (EPANET-equivalent GGA, extended period).

    Parameters
    ----------
    network : Network
        A network with a water layer (junctions, reservoirs/tanks, pipes, pumps, valves).
    duration_s : float, optional
        Simulated duration in seconds; default the network's own (0 is a snapshot).
    report_only : bool
        Return the reporting times only (default) or every hydraulic solve.

    Returns
    -------
    xarray.Dataset
        ``head``, ``pressure``, ``demand``, ``demand_requested``, ``demand_delivered``,
        ``leak_flow`` at nodes; ``flow``, ``velocity``, ``headloss``, ``status``, ``setting`` at
        links; ``tank_level``, ``tank_volume``; coordinate ``time`` in s from the start.

    Raises
    ------
    NetworkError
        Unconnected node, no source, unknown asset, or a pump curve that cannot be fitted.
    ConvergenceError
        The matrix is singular at a junction (names it).

    Examples
    --------
    >>> import twin
    >>> from twin.hydraulics import hydraulics
    >>> ds = hydraulics(twin.datasets.sample_city(), duration_s=0)
    >>> float(ds.pressure.where(ds.node_kind == "junction").min()) > 20.0  # m at every junction
    True
    """
    sim = HydraulicSimulation(network, duration_s=duration_s, record="report" if report_only else "all")
    return sim.results(report_only=report_only)


# ---------------------------------------------------------------------------------------- batch
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
