"""Water adapter of the engine over :class:`twin.water.HydraulicSimulation`: advance to the
time of a change, close or reopen links (a pump without power stays off whatever its controls
say), change the demand multiplier; results at the engine's step."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import xarray as xr

from twin.errors import ScenarioError

if TYPE_CHECKING:
    from twin.model.network import Network

__all__ = ["WaterAdapter", "water_network"]


def water_network(network: "Network", duration_s: float, step_s: float,
                  settings: Mapping[str, Any] | None = None) -> "Network":
    """``network`` with water settings for a run: report at every step, solve at least per step.

    Examples
    --------
    >>> import twin
    >>> net = water_network(twin.datasets.sample_city(), 7200, 900)
    >>> net.settings["water"]["report_timestep_s"]
    900
    """
    water = dict(network.settings.get("water", {}))
    step = int(round(step_s))
    water.update(duration_s=int(round(duration_s)), report_timestep_s=step, report_start_s=0,
                 hydraulic_timestep_s=min(int(water.get("hydraulic_timestep_s", step) or step), step))
    water.update(dict(settings or {}))
    all_settings = {k: dict(v) for k, v in network.settings.items()}
    all_settings["water"] = water
    return network.replace(settings=all_settings)


class WaterAdapter:
    """The water layer during a run.

    Parameters
    ----------
    network : Network
        The city.
    duration_s, step_s : float
        Run duration and reporting step (s).
    demand_multiplier : float
        Multiplier of every junction demand.
    settings : mapping, optional
        Water settings to override (``demand_model="PDA"``, ``required_pressure_m``...).

    Examples
    --------
    >>> import twin
    >>> water = WaterAdapter(twin.datasets.sample_city(), 3600, 900)
    >>> water.at(1800); water.set_out("pump", "P1", True)
    >>> int(water.dataset().sizes["time"])
    5
    """

    kinds = ("pipe", "pump", "valve")

    def __init__(self, network: "Network", duration_s: float, step_s: float, demand_multiplier: float = 1.0,
                 settings: Mapping[str, Any] | None = None) -> None:
        from twin.water.simulation import HydraulicSimulation

        self.sim = HydraulicSimulation(water_network(network, duration_s, step_s, settings), duration_s=duration_s)
        self.sim.set_demand_multiplier(demand_multiplier)
        self.link_ids = [str(x) for x in self.sim.arrays.link_ids]
        self._kind = {}
        for kind in self.kinds:
            for x in network.table(kind).index:
                self._kind[str(x)] = kind
        self._open_before: dict[str, bool] = {}
        self.solve_time_s = 0.0

    def has(self, kind: str, asset_id: str) -> bool:
        """Whether the water layer holds link ``kind:asset_id``."""
        return self._kind.get(asset_id) == kind

    def at(self, time_s: float) -> None:
        """Solve up to ``time_s`` so that a change made now applies from ``time_s`` on."""
        start = time.perf_counter()
        self.sim.advance(time_s)
        self.solve_time_s += time.perf_counter() - start

    def set_out(self, kind: str, asset_id: str, out: bool) -> None:
        """Close a pipe, pump or valve and hold it closed (``out``), or give it back to its controls."""
        if not self.has(kind, asset_id):
            raise ScenarioError(f"water network has no {kind} {asset_id!r}; the engine can take pipes, pumps "
                                "and valves out of service")
        if out:
            if asset_id not in self.sim.held_links:
                self._open_before[asset_id] = self.sim.is_link_open(asset_id)
            self.sim.hold_link(asset_id, "CLOSED")
        else:
            self.sim.hold_link(asset_id, None)
            self.sim.set_link_status(asset_id, self._open_before.pop(asset_id, True) or kind == "pipe")

    def set_setting(self, asset_id: str, value: float) -> None:
        """Change a pump speed or valve setting (SI)."""
        self.sim.set_link_setting(asset_id, value)

    def set_multiplier(self, value: float) -> None:
        """Change the demand multiplier from now on."""
        self.sim.set_demand_multiplier(float(value))

    def dataset(self) -> xr.Dataset:
        """Finish the run and return the water results at the report steps."""
        start = time.perf_counter()
        ds = self.sim.results(report_only=True)
        self.solve_time_s += time.perf_counter() - start
        return ds


_WATER_CAUSES = ("stopped", "outage", "failure", "setpoint", "demand", "tank_empty", "restarted", "repaired",
                 "restoration")


def _latest_water_cause(engine: Any, time_s: float) -> int | None:
    """The id of the latest event before ``time_s`` that touched the water layer."""
    from twin.sim.couplings import layer_of

    best: int | None = None
    for eid, t, asset, kind, _, _ in engine.log._rows:
        if t > time_s or kind not in _WATER_CAUSES:
            continue
        if layer_of(asset.partition(":")[0]) == "water" or asset.startswith("water:"):
            if best is None or t >= engine.log.time_of(best):
                best = eid
    return best


def log_water_events(engine: Any, ds: xr.Dataset) -> None:
    """Add what the hydraulics showed to the event log: tanks emptying and refilling, pressure
    falling below the run's threshold at more junctions than just before the first event, and
    recovering.

    Each entry's cause is the latest event before it that touched the water layer.
    """
    times = ds.time.values.astype(float)
    tanks = engine.network.tank
    for tid in ds.tank.values:
        level = ds.tank_level.sel(tank=tid).values
        low = level <= float(tanks.loc[str(tid), "min_level_m"]) + 0.01
        for k in np.flatnonzero(np.diff(low.astype(int)) != 0) + 1:
            kind = "tank_empty" if low[k] else "tank_refilling"
            engine.log.add(times[k], f"tank:{tid}", kind, _latest_water_cause(engine, times[k]),
                           f"level {level[k]:.2f} m")
    threshold = engine.config.pressure_threshold_m
    p = ds.pressure.sel(node=ds.junction.values).values
    wants = ds.demand_requested.values > 0
    below = ((p < threshold) & wants).sum(axis=1)
    first = min((row[1] for row in engine.log._rows), default=np.inf)
    before = np.flatnonzero(times < first)
    base = below[before[-1]] if len(before) else below[0]
    bad = (below > base) & (times >= first)
    for k in np.flatnonzero(np.diff(bad.astype(int)) != 0) + 1:
        kind = "low_pressure" if bad[k] else "pressure_recovered"
        engine.log.add(times[k], "water:pressure", kind, _latest_water_cause(engine, times[k]),
                       f"{int(below[k])} junctions below {threshold:g} m (before: {int(base)})")
