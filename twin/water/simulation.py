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

__all__ = ["HydraulicSimulation", "build_engine", "hydraulics"]


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


def _leakage(network: "Network", w: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """Each link's leak area (mm² per 100 m) and expansion (mm² per m), or None without leaks."""
    pipes = network.tables.get("pipe") if hasattr(network.tables, "get") else None
    cols = ("leak_area_mm2_per_100m", "leak_expansion_mm2_per_m")
    if pipes is None or not all(c in pipes.columns for c in cols):
        return None
    vals = pipes[list(cols)].apply(lambda c: c.astype(float)).fillna(0.0)
    vals = vals[(vals > 0).any(axis=1)]
    if vals.empty:
        return None
    pos = {str(k): i for i, k in enumerate(w.link_ids)}
    area, expansion = np.zeros(len(w.link_ids)), np.zeros(len(w.link_ids))
    for pid, row in vals.iterrows():
        if str(pid) in pos:
            area[pos[str(pid)]], expansion[pos[str(pid)]] = row[cols[0]], row[cols[1]]
    return area, expansion


def _overflow(network: "Network", w: Any) -> np.ndarray | None:
    """Per-node flags of the tanks that may overflow (the tank table's ``overflow``), or None."""
    tanks = network.tables.get("tank") if hasattr(network.tables, "get") else None
    if tanks is None or "overflow" not in tanks.columns or not tanks["overflow"].fillna(False).astype(bool).any():
        return None
    spill = {str(t) for t, f in tanks["overflow"].fillna(False).astype(bool).items() if f}
    return np.array([str(n) in spill for n in w.node_ids], np.bool_)


def prepare(network: "Network") -> tuple[Model, Rules, Any]:
    """Compile ``network``'s water layer to an internal-unit model, its rules and the arrays."""
    from twin.model.compiled.water import compile_water

    w = compile_water(network)
    _check_topology(w)
    settings = _settings(network)
    node_pos = {n: i for i, n in enumerate(w.node_ids)}
    link_pos = {k: i for i, k in enumerate(w.link_ids)}
    try:
        model = build_model(w, settings, _controls(network, node_pos, link_pos), _leakage(network, w),
                            _overflow(network, w))
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
        """The same loop as :meth:`advance` in one Numba call per buffer of records.

        Rows stay in the record buffer across calls (a call of one step adds one row); only a
        full buffer is moved to the chunks.
        """
        eng = self.engine
        recs = self._records
        while not self._finished and eng.htime < to:
            rec = recs.buffer()
            code, it, nrec, solved, finished, node, _ = eng.run_to(to, self._solved, self._mode, rec, recs.n)
            recs.n = nrec
            self._solved, self._finished = bool(solved), bool(finished)
            recs.note_iterations(self.iterations)
            if code == C.ILL_CONDITIONED:
                raise self._ill(it, 0.0, node)
            if code != -1:
                break

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
        self.n = 0          # rows of ``rec`` used
        self.noted = 0      # rows of ``rec`` whose iterations are in the simulation's list
        self.cap = 64

    def buffer(self) -> Any:
        """Record buffers with free rows (``self.n`` rows already used)."""
        rec = self.rec
        if rec is None or self.n >= rec.time.size:
            self.flush(None)
            self.rec = rec = new_rec(self.cap, *self.dims)
            self.cap = min(self.cap * 2, 4096)
        return rec

    def note_iterations(self, iterations: list[int]) -> None:
        """Append the iterations of the rows recorded since the last call to ``iterations``."""
        if self.n > self.noted:
            iterations.extend(self.rec.iters[self.noted:self.n].tolist())
            self.noted = self.n

    def flush(self, iterations: list[int] | None) -> None:
        """Move the used rows of the buffers to ``chunks`` (and their new iterations to the list).

        The buffers are given up: the next :meth:`buffer` allocates new ones. The rows are kept
        as views when they fill most of the buffers and copied otherwise (not to hold on to
        mostly empty buffers).
        """
        if iterations is not None:
            self.note_iterations(iterations)
        if self.rec is None or self.n == 0:
            return
        n, r = self.n, self.rec
        if 2 * n >= r.time.size:
            self.chunks.append((r.time[:n], {k: getattr(r, k)[:n] for k in self.KEYS}))
        else:
            self.chunks.append((r.time[:n].copy(), {k: getattr(r, k)[:n].copy() for k in self.KEYS}))
        self.rec = None
        self.n = 0
        self.noted = 0

    def append_state(self, eng: Engine, it: int) -> None:
        """One row from the engine's current state (the per-step path)."""
        self.flush(None)
        st = eng.st
        flow = np.where(st.status <= C.CLOSED, 0.0, st.flow)
        row = dict(head=st.head, flow=flow, status=st.status, setting=st.setting, demand=st.ndem,
                   requested=st.dfull, delivered=st.dflow, emitter=st.eflow + st.qfa + st.qva, volume=eng.volume)
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
        "leak_flow": nvar(("time", "junction"), get("emitter") / f.flow, "m3/s", "emitter and pipe leakage (EPANET 2.3 FAVAD) outflow"),
        "flow": nvar(("time", "link"), flow / f.flow, "m3/s", "link flow (start to end node)"),
        "velocity": nvar(("time", "link"), velocity, "m/s", "mean flow velocity"),
        "headloss": nvar(("time", "link"), (head[:, m.net.n1] - head[:, m.net.n2]) / f.length, "m",
                         "head drop from start to end node (negative across a pump)"),
        "status": nvar(("time", "link"), status, "1", "link status: 0 closed, 1 open, 2 active"),
        "setting": nvar(("time", "link"), _setting_si(sim, get("setting")), "1",
                        "pump speed (1), valve setting (m for PRV/PSV/PBV, m3/s for FCV, K for TCV, % open for PCV)"),
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
    >>> from twin.water.simulation import hydraulics
    >>> ds = hydraulics(twin.datasets.sample_city(), duration_s=0)
    >>> float(ds.pressure.where(ds.node_kind == "junction").min()) > 20.0  # m at every junction
    True
    """
    sim = HydraulicSimulation(network, duration_s=duration_s, record="report" if report_only else "all")
    return sim.results(report_only=report_only)
