"""Grid adapter of the engine: flips service masks on the compiled grid and re-solves the power
flow only when the topology or the load changed."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from twin.errors import ConvergenceError, ScenarioError
from twin.model.compiled.grid import ElementArrays, GridArrays
from twin.grid.flow import prepare, solve_case
from twin.results import Variable, make_dataset
from twin.solvers.grid.build import build_case

if TYPE_CHECKING:
    from twin.model.network import Network

__all__ = ["GridAdapter", "GridRecorder"]

_ELEMENTS = ("line", "transformer", "branch", "load", "static_generator", "generator", "external_grid", "shunt")


class GridAdapter:
    """The grid layer during a run: service masks, load multiplier, last solved state.

    Parameters
    ----------
    network : Network
        The city; compiled once here.
    load_multiplier : float
        Multiplier of every load's ``p_mw`` and ``q_mvar`` (a heat wave: 1.25).

    Examples
    --------
    >>> import twin
    >>> grid = GridAdapter(twin.datasets.sample_city())
    >>> grid.set_out("line", "F7-1", True)
    >>> bool(grid.solve().all())
    False
    """

    kinds = ("bus", "switch") + _ELEMENTS

    def __init__(self, network: "Network", load_multiplier: float = 1.0) -> None:
        self.g, self._case0 = prepare(network)
        self._bus_type = network.bus.bus_type.to_numpy()
        side = network.transformer.tap_side.fillna("").str.lower().to_numpy()
        self._tap_side = np.where(side == "hv", 1, np.where(side == "lv", -1, 0))
        self.bus_ids = [str(b) for b in self.g.bus_ids]
        self._pos = {k: {str(x): i for i, x in enumerate(getattr(self.g, k).ids)} for k in _ELEMENTS}
        self._pos["bus"] = {b: i for i, b in enumerate(self.bus_ids)}
        self._pos["switch"] = {str(x): i for i, x in enumerate(self.g.switch_ids)}
        self.bus_on = np.asarray(self.g.bus_in_service, bool).copy()
        self.on = {k: np.asarray(getattr(self.g, k).in_service, bool).copy() for k in _ELEMENTS}
        self.switch_closed = np.asarray(self.g.switch_closed, bool).copy()
        self.load_p = np.asarray(self.g.load.p_mw, float).copy()
        self.multiplier = float(load_multiplier)
        self.profile = 1.0
        self.case = self._case0
        self.v: np.ndarray | None = None
        self.converged = True
        self.dirty = True
        self.solve_time_s = 0.0
        self.n_solves = 0

    def has(self, kind: str, asset_id: str) -> bool:
        """Whether the grid holds asset ``kind:asset_id``."""
        return kind in self._pos and asset_id in self._pos[kind]

    def _index(self, kind: str, asset_id: str) -> int:
        if not self.has(kind, asset_id):
            raise ScenarioError(f"grid has no {kind} {asset_id!r}")
        return self._pos[kind][asset_id]

    def set_out(self, kind: str, asset_id: str, out: bool) -> None:
        """Take an asset out of service (``out``) or put it back; a switch out is open."""
        i = self._index(kind, asset_id)
        if kind == "bus":
            self.bus_on[i] = not out and bool(self.g.bus_in_service[i])
        elif kind == "switch":
            self.switch_closed[i] = not out and bool(self.g.switch_closed[i])
        else:
            self.on[kind][i] = not out and bool(getattr(self.g, kind).in_service[i])
        self.dirty = True

    def set_switch(self, switch_id: str, closed: bool) -> None:
        """Open or close a switch (operator switching)."""
        self.switch_closed[self._index("switch", switch_id)] = bool(closed)
        self.dirty = True

    def set_load(self, load_id: str, p_mw: float) -> None:
        """Change one load's active power set point (MW; reactive power scales with it)."""
        self.load_p[self._index("load", load_id)] = float(p_mw)
        self.dirty = True

    def set_multiplier(self, value: float) -> None:
        """Change the multiplier of every load."""
        if float(value) != self.multiplier:
            self.multiplier = float(value)
            self.dirty = True

    def set_profile(self, factor: float) -> None:
        """Set the time-of-day factor of every load (applied on top of the multiplier).

        Examples
        --------
        >>> import twin
        >>> grid = GridAdapter(twin.datasets.sample_city(), 1.2)
        >>> grid.set_profile(0.5)
        >>> round(grid.load_factor, 6)
        0.6
        """
        if float(factor) != self.profile:
            self.profile = float(factor)
            self.dirty = True

    @property
    def load_factor(self) -> float:
        """Multiplier of every load now: the demand multiplier times the time-of-day factor."""
        return self.multiplier * self.profile

    def _arrays(self) -> GridArrays:
        elements = {}
        for k in _ELEMENTS:
            el = getattr(self.g, k)
            cols = dict(el.columns)
            cols["in_service"] = self.on[k]
            if k == "load":
                base = np.asarray(el.p_mw, float)
                ratio = np.divide(self.load_p, base, out=np.ones_like(base), where=base != 0)
                cols["p_mw"], cols["q_mvar"] = self.load_p, np.asarray(el.q_mvar, float) * ratio
            elements[k] = ElementArrays(kind=k, ids=el.ids, columns=cols)
        return replace(self.g, bus_in_service=self.bus_on, switch_closed=self.switch_closed, elements=elements)

    def solve(self) -> np.ndarray:
        """Re-solve when something changed; return ``energised`` per bus (bus table order)."""
        if self.dirty:
            start = time.perf_counter()
            self.case = build_case(self._arrays(), bus_type=self._bus_type, tap_side=self._tap_side)
            self._solve_power_flow()
            self.solve_time_s += time.perf_counter() - start
            self.n_solves += 1
            self.dirty = False
        return self.energised

    def _solve_power_flow(self) -> None:
        case = self.case
        scale = np.full(len(self.g.load), self.load_factor)
        sbus = case.sbus(scale)
        init: np.ndarray | str = "auto"
        if self.v is not None and len(self.v) == case.n_bus:
            init = np.where(np.abs(self.v) > 0, self.v, 1.0 + 0j)
        try:
            res, self.case = solve_case(self.g, case, init=init, sbus=sbus)
            if not res.converged and not isinstance(init, str):
                res, self.case = solve_case(self.g, case, init="auto", sbus=sbus)
        except (ConvergenceError, ValueError, ZeroDivisionError, np.linalg.LinAlgError):
            res = None
        self.converged = bool(res is not None and res.converged)
        self.v = res.v if self.converged and res is not None else None

    @property
    def energised(self) -> np.ndarray:
        """Whether each bus (table order) is energised in the current topology."""
        return np.asarray(self.case.energised[self.case.bus_map], bool)

    def vm_pu(self) -> np.ndarray:
        """Voltage magnitude per bus (NaN when de-energised or not converged)."""
        if self.v is None:
            return np.full(len(self.bus_ids), np.nan)
        vb = np.abs(self.v[self.case.bus_map])
        return np.where(self.energised, vb, np.nan)

    def load_served(self) -> tuple[np.ndarray, np.ndarray]:
        """Demanded and served active power per load (MW) at the current multiplier and profile."""
        demanded = np.where(self.on["load"], self.load_p * self.load_factor * np.asarray(self.g.load.scaling), 0.0)
        served = np.where(self.energised[np.asarray(self.g.load.bus)], demanded, 0.0)
        return demanded, served


class GridRecorder:
    """Per-step grid results: voltages, energised buses, demanded and served load."""

    def __init__(self, grid: GridAdapter, n_steps: int) -> None:
        self.grid = grid
        nb, nl = len(grid.bus_ids), len(grid.g.load)
        self.vm = np.full((n_steps, nb), np.nan)
        self.energised = np.zeros((n_steps, nb), bool)
        self.demanded = np.zeros((n_steps, nl))
        self.served = np.zeros((n_steps, nl))
        self.converged = np.zeros(n_steps, bool)

    def record(self, k: int) -> None:
        """Store the current state as step ``k``."""
        g = self.grid
        self.vm[k], self.energised[k] = g.vm_pu(), g.energised
        self.demanded[k], self.served[k] = g.load_served()
        self.converged[k] = g.converged

    def dataset(self, time_s: np.ndarray, attrs: dict) -> xr.Dataset:
        """The grid results of the run."""
        d = ("time", "bus")
        variables = {
            "vm_pu": Variable(d, self.vm, "p.u.", "voltage magnitude"),
            "energised": Variable(d, self.energised, "", "bus is energised"),
            "load_p_mw": Variable(("time", "load"), self.demanded, "MW", "active power demanded by the load"),
            "served_p_mw": Variable(("time", "load"), self.served, "MW", "active power served to the load"),
            "unserved_mw": Variable(("time",), (self.demanded - self.served).sum(axis=1), "MW",
                                    "load on de-energised buses"),
            "converged": Variable(("time",), self.converged, "", "power flow converged"),
        }
        coords: dict[str, Any] = {"time": time_s, "bus": self.grid.bus_ids, "load": [str(x) for x in self.grid.g.load.ids]}
        return make_dataset(variables, coords, attrs=attrs, coord_units={"time": "s"})
