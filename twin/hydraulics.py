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

    def __init__(self, network: "Network", *, duration_s: float | None = None) -> None:
        self.network = network
        self.model, rules, self.arrays = prepare(network)
        if duration_s is not None:
            self.model.times["duration_s"] = int(round(duration_s))
        self.engine = Engine(self.model, rules)
        self._link_pos = {k: i for i, k in enumerate(self.arrays.link_ids)}
        self._solved = False
        self._finished = False
        self._records: list[tuple[int, dict[str, np.ndarray]]] = []
        self.iterations: list[int] = []

    @property
    def time_s(self) -> int:
        """Current simulation time (s from the start)."""
        return int(self.engine.htime)

    @property
    def duration_s(self) -> int:
        """Simulated duration (s)."""
        return int(self.engine.duration)

    def _solve(self) -> None:
        eng = self.engine
        code, it, err, node = eng.solve()
        if code == C.ILL_CONDITIONED:
            raise ConvergenceError(f"hydraulics at t = {eng.htime} s: the matrix is singular at water node "
                                   f"{self.arrays.node_ids[node]!r} (EPANET error 110); check that it is "
                                   "connected to a source", iterations=it, residual=err)
        self.iterations.append(it)
        self._records.append((int(eng.htime), _snapshot(eng)))
        self._solved = True

    def advance(self, to_time_s: float) -> None:
        """Solve every hydraulic event before ``to_time_s`` and stop there (s from the start)."""
        to = min(int(round(to_time_s)), self.engine.duration)
        eng = self.engine
        while not self._finished and eng.htime < to:
            if not self._solved:
                self._solve()
            eng.stop_at = to
            dt = eng.advance()
            self._solved = False
            if dt == 0:
                self._finished = True

    def finish(self) -> None:
        """Run to the end of the duration (solving the last time)."""
        self.advance(self.engine.duration)
        if not self._solved and not self._finished and self.engine.htime <= self.engine.duration:
            self._solve()
        self._finished = True

    def _link(self, link_id: str) -> int:
        if link_id not in self._link_pos:
            raise NetworkError(f"water link {link_id!r} is not in network {self.network.name!r}")
        return self._link_pos[link_id]

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


def _snapshot(eng: Engine) -> dict[str, np.ndarray]:
    st = eng.st
    closed = st.status <= C.CLOSED
    flow = np.where(closed, 0.0, st.flow)
    return dict(head=st.head.copy(), flow=flow, status=st.status.copy(), setting=st.setting.copy(),
                demand=st.ndem.copy(), requested=st.dfull.copy(), delivered=st.dflow.copy(),
                emitter=st.eflow.copy(), volume=eng.volume.copy())


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
    recs = sim._records
    if report_only:
        t = m.times
        rep = [r for r in recs if r[0] >= t["report_start_s"] and
               (r[0] - t["report_start_s"]) % max(t["report_timestep_s"], 1) == 0]
        recs = rep or recs
    times = np.array([r[0] for r in recs], np.int64)
    get = lambda key: np.array([r[1][key] for r in recs])  # noqa: E731
    head = get("head")
    el = m.net.el
    nj = m.n_junctions
    tanks = m.tank_index
    area = np.pi * m.net.diam ** 2 / 4.0
    flow = get("flow")
    velocity = np.where(area > 0, np.abs(flow) / np.where(area > 0, area, 1.0), 0.0) / f.length
    velocity[:, m.net.ltype == C.PUMP] = 0.0
    status = np.vectorize(lambda s: _STATUS_OUT.get(int(s), 1))(get("status")) if len(recs) else get("status")
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
                                       solves=len(sim._records), max_iterations=max(sim.iterations or [0])))
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
    sim = HydraulicSimulation(network, duration_s=duration_s)
    return sim.results(report_only=report_only)
