"""The SimPy engine: one environment, one clock, layers re-solved only when something they depend
on changed, cascades through the couplings and an event log with causes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Generator, Iterable, Mapping, TYPE_CHECKING

import numpy as np
import simpy
import xarray as xr

from twin.errors import ScenarioError
from twin.results import provenance
from twin.sim.couplings import Dependencies, layer_of
from twin.sim.events import Event, EventLog, parse_asset

if TYPE_CHECKING:
    import pandas as pd

    from twin.model.network import Network
    from twin.sim.crews import CrewSpec
    from twin.sim.hazards import Hazard

__all__ = ["Engine", "RunConfig", "SimResult", "simulate"]

#: Event-log words for an asset that loses / regains its power supply, by kind.
_POWER_WORDS = {"pump": ("stopped", "restarted"), "signal": ("dark", "lit"), "valve": ("stopped", "restarted")}


@dataclass(frozen=True)
class RunConfig:
    """Settings of one engine run.

    Parameters
    ----------
    duration_s, step_s : float
        Simulated duration and reporting step (s).
    seed : int, optional
        Seed of random failures and fragility draws.
    layers : tuple of str
        Layers to simulate (``grid``, ``water``, ``traffic``).
    multipliers : mapping layer -> float
        Demand multipliers at the start (water demand, grid load, traffic trips).
    water_settings : mapping
        Water settings to override (e.g. ``demand_model="PDA"``).
    traffic_rgap : float
        Relative gap of each traffic assignment.
    crews : CrewSpec, optional
        Repair crews; without them failed assets stay out unless an event restores them.
    hazards : tuple of Hazard
        Hazard footprints.
    failure_rates : mapping kind -> float
        Random failures per asset per year.
    pressure_threshold_m : float
        Pressure below which a junction counts as under-served (log and KPIs).
    profiles : mapping layer -> sequence of 24 floats
        Hourly time-of-day multipliers (hour 0 first) applied on top of the layer's demand
        multiplier: grid load, water demand (on top of the network's own patterns), traffic trips.
    start_of_day_s : float
        Clock time of the start (s after midnight); places the run on the profiles.
    progress : bool
        Show a progress bar (tqdm) over the steps.

    Examples
    --------
    >>> RunConfig(3600, 900).n_steps
    5
    """

    duration_s: float
    step_s: float
    seed: int | None = None
    layers: tuple[str, ...] = ("grid", "water", "traffic")
    multipliers: Mapping[str, float] = field(default_factory=dict)
    water_settings: Mapping[str, Any] = field(default_factory=dict)
    traffic_rgap: float = 1e-4
    crews: "CrewSpec | None" = None
    hazards: tuple["Hazard", ...] = ()
    failure_rates: Mapping[str, float] = field(default_factory=dict)
    pressure_threshold_m: float = 15.0
    profiles: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    start_of_day_s: float = 0.0
    progress: bool = False

    def profile_factor(self, layer: str, time_s: float) -> float:
        """The time-of-day multiplier of ``layer`` at ``time_s`` from the start (1 without a profile).

        Examples
        --------
        >>> cfg = RunConfig(7200, 900, profiles={"grid": tuple(range(1, 25))}, start_of_day_s=3600)
        >>> cfg.profile_factor("grid", 0), cfg.profile_factor("grid", 3600), cfg.profile_factor("water", 0)
        (2.0, 3.0, 1.0)
        """
        values = self.profiles.get(layer)
        if not values:
            return 1.0
        hour = int((self.start_of_day_s + time_s) // 3600.0) % len(values)
        return float(values[hour])

    @property
    def n_steps(self) -> int:
        """Number of reporting times, both ends included."""
        return int(np.floor(self.duration_s / self.step_s + 1e-9)) + 1

    @property
    def times_s(self) -> np.ndarray:
        """Reporting times (s)."""
        return np.arange(self.n_steps, dtype=np.int64) * int(round(self.step_s))


@dataclass
class SimResult:
    """What an engine run produced: one Dataset per layer, the event log and timings."""

    datasets: dict[str, xr.Dataset]
    events: "pd.DataFrame"
    timings: dict[str, float]


class Engine:
    """One run of the city: SimPy environment, layer adapters, asset states and the event log.

    Parameters
    ----------
    network : Network
        The city (not changed).
    config : RunConfig
        Duration, step, layers, crews, hazards.
    events : iterable of Event
        Scheduled inputs.

    Examples
    --------
    >>> import twin
    >>> from twin.sim import Engine, Event, RunConfig
    >>> eng = Engine(twin.datasets.sample_city(), RunConfig(3600, 900, layers=("grid", "traffic")),
    ...              [Event(900, "outage", "line:F7-1")])
    >>> res = eng.run()
    >>> "dark" in set(res.events.kind)
    True
    """

    def __init__(self, network: "Network", config: RunConfig, events: Iterable[Event] = ()) -> None:
        self.network, self.config = network, config
        self.events = sorted(events, key=lambda e: e.time_s)
        self.env = simpy.Environment()
        self.log = EventLog()
        self.deps = Dependencies.build(network)
        self.rng = np.random.default_rng(config.seed)
        self.adapters: dict[str, Any] = _adapters(network, config)
        self.grid: Any = self.adapters.get("grid")
        self.roads: Any = self.adapters.get("traffic")
        self.water: Any = self.adapters.get("water")
        self._reasons: dict[str, set[str]] = {}
        self._power_gen: dict[str, int] = {}
        self._demand = {layer: float(config.multipliers.get(layer, 1.0)) for layer in self.adapters}
        self._applied = dict(self._demand)
        for layer in self.adapters:
            self._set_multiplier(layer)
        self._energised = self.grid.solve().copy() if self.grid is not None else None
        self._grid_causes: list[int | None] = []
        self._settle_pending = False
        self.crews = None
        if config.crews is not None:
            from twin.sim.crews import Crews

            self.crews = Crews(self, config.crews)
        for ev in self.events:
            self._check_event(ev)

    # ------------------------------------------------------------------ inputs
    def _check_event(self, ev: Event) -> None:
        from twin.sim.events import INPUT_KINDS

        if ev.kind not in INPUT_KINDS:
            raise ScenarioError(f"event kind {ev.kind!r} is not one of {', '.join(INPUT_KINDS)}")
        if ev.kind == "demand":
            return
        kind, aid = parse_asset(ev.asset)
        self.network.asset(kind, aid)
        if not 0 <= ev.time_s <= self.config.duration_s:
            raise ScenarioError(f"event at {ev.time_s:g} s on {ev.asset} lies outside the run "
                                f"(0 to {self.config.duration_s:g} s)")

    def _input(self, ev: Event) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(max(ev.time_s - self.env.now, 0.0))
        apply = {"outage": self._input_outage, "restoration": self._input_restoration,
                 "switching": self._input_switching, "setpoint": self._input_setpoint,
                 "demand": self._input_demand}[ev.kind]
        apply(ev)

    def _input_outage(self, ev: Event) -> None:
        eid = self.log.add(self.env.now, ev.asset, "outage", None, ev.note)
        self.fail(ev.asset, eid, repair=ev.repair and ev.until_s is None)
        if ev.until_s is not None:
            self.env.process(self._timed_restore(ev.asset, ev.until_s, eid))

    def _timed_restore(self, asset: str, at_s: float, cause: int) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(max(at_s - self.env.now, 0.0))
        eid = self.log.add(self.env.now, asset, "restoration", cause, "outage ended")
        self.restore(asset, eid)

    def _input_restoration(self, ev: Event) -> None:
        eid = self.log.add(self.env.now, ev.asset, "restoration", None, ev.note)
        self.restore(ev.asset, eid)

    def _input_switching(self, ev: Event) -> None:
        closed = bool(ev.value)
        eid = self.log.add(self.env.now, ev.asset, "switching", None, ("closed" if closed else "opened") +
                           (f"; {ev.note}" if ev.note else ""))
        if self.grid is not None:
            self.grid.set_switch(parse_asset(ev.asset)[1], closed)
            self._settle_grid(eid)

    def _input_setpoint(self, ev: Event) -> None:
        kind, aid = parse_asset(ev.asset)
        self.log.add(self.env.now, ev.asset, "setpoint", None, f"set to {ev.value}")
        if kind in ("pump", "valve") and self.water is not None:
            self.water.at(self.env.now)
            self.water.set_setting(aid, float(ev.value))
        elif kind == "load" and self.grid is not None:
            self.grid.set_load(aid, float(ev.value))
            self._settle_grid(len(self.log) - 1)
        elif kind not in ("pump", "valve", "load"):
            raise ScenarioError(f"set points apply to pumps, valves and loads, not to {ev.asset}")

    def _input_demand(self, ev: Event) -> None:
        layer = ev.layer
        eid = self.log.add(self.env.now, f"{layer}:demand", "demand", None, f"multiplier {ev.value}")
        if layer in self.adapters:
            self._demand[layer] = float(ev.value)
            self._set_multiplier(layer, eid)

    # ------------------------------------------------------------------ demand and profiles
    def _set_multiplier(self, layer: str, cause: int | None = None) -> None:
        """Give ``layer`` its demand multiplier times its time-of-day factor now."""
        adapter = self.adapters[layer]
        factor = self.config.profile_factor(layer, self.env.now)
        if layer == "grid":
            adapter.set_multiplier(self._demand[layer])
            adapter.set_profile(factor)
            if adapter.dirty and hasattr(self, "_energised"):
                self._settle_grid(cause)
            return
        value = self._demand[layer] * factor
        if value == self._applied[layer]:
            return
        self._applied[layer] = value
        if layer == "water":
            adapter.at(self.env.now)
        adapter.set_multiplier(value)

    def _profiles(self) -> Generator[simpy.Event, Any, None]:
        """Apply the time-of-day profiles at every hour boundary of the run."""
        layers = [layer for layer in self.config.profiles if layer in self.adapters]
        while layers:
            wait = 3600.0 - (self.config.start_of_day_s + self.env.now) % 3600.0
            if self.env.now + wait > self.config.duration_s:
                return
            yield self.env.timeout(wait)
            for layer in layers:
                self._set_multiplier(layer)

    # ------------------------------------------------------------------ asset states
    def is_out(self, asset: str) -> bool:
        """Whether an asset (``"kind:id"``) is out of service now (failed or without power)."""
        return bool(self._reasons.get(asset))

    def _set_reason(self, asset: str, reason: str, on: bool) -> bool:
        """Add or remove one reason for an asset to be out; True when its state flipped."""
        reasons = self._reasons.setdefault(asset, set())
        before = bool(reasons)
        (reasons.add if on else reasons.discard)(reason)
        after = bool(reasons)
        if before != after:
            self._apply_out(asset, after)
        return before != after

    def _apply_out(self, asset: str, out: bool) -> None:
        kind, aid = parse_asset(asset)
        adapter = self.adapters.get(layer_of(kind))
        if adapter is None or not adapter.has(kind, aid):
            return
        if adapter is self.water:
            self.water.at(self.env.now)
        adapter.set_out(kind, aid, out)
        if adapter is self.grid:
            self._settle_grid(len(self.log) - 1)

    def fail(self, asset: str, cause: int, *, repair: bool = True) -> None:
        """Take an asset out (a logged failure ``cause``); send a crew when ``repair``."""
        self._set_reason(asset, "failed", True)
        if repair and self.crews is not None:
            self.crews.request(asset, cause)

    def restore(self, asset: str, cause: int) -> None:
        """Bring a failed asset back (it stays out while it has no power)."""
        self._set_reason(asset, "failed", False)

    # ------------------------------------------------------------------ grid cascade
    def _settle_grid(self, cause: int | None) -> None:
        self._grid_causes.append(cause)
        if not self._settle_pending:
            self._settle_pending = True
            self.env.process(self._settle())

    def _settle(self) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(0)
        self._settle_pending = False
        causes, self._grid_causes = self._grid_causes, []
        energised = self.grid.solve()
        cause = next((c for c in causes if c is not None), None)
        if not self.grid.converged:
            self.log.add(self.env.now, "grid:power_flow", "not_converged", cause, "voltages unknown until next change")
        changed = np.flatnonzero(energised != self._energised)
        self._energised = energised.copy()
        for i in changed:
            self._bus_changed(self.grid.bus_ids[i], bool(energised[i]), cause)

    def _bus_changed(self, bus: str, energised: bool, cause: int | None) -> None:
        eid = self.log.add(self.env.now, f"bus:{bus}", "energised" if energised else "de-energised", cause)
        for kind, aid, backup_h in self.deps.fed_by.get(bus, []):
            asset = f"{kind}:{aid}"
            gen = self._power_gen[asset] = self._power_gen.get(asset, 0) + 1
            if energised:
                self._repower(asset, eid)
            elif backup_h > 0:
                self.log.add(self.env.now, asset, "on_backup", eid, f"{backup_h:g} h of backup")
                self.env.process(self._backup(asset, backup_h * 3600.0, gen, eid))
            else:
                self._unpower(asset, eid)

    def _backup(self, asset: str, seconds: float, gen: int, cause: int) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(seconds)
        if self._power_gen.get(asset) == gen:
            eid = self.log.add(self.env.now, asset, "backup_exhausted", cause)
            self._unpower(asset, eid)

    def _unpower(self, asset: str, cause: int) -> None:
        word = _POWER_WORDS.get(parse_asset(asset)[0], ("unpowered", "repowered"))[0]
        self.log.add(self.env.now, asset, word, cause, "no power")
        self._set_reason(asset, "power", True)

    def _repower(self, asset: str, cause: int) -> None:
        if "power" not in self._reasons.get(asset, set()):
            return
        word = _POWER_WORDS.get(parse_asset(asset)[0], ("unpowered", "repowered"))[1]
        failed = "failed" in self._reasons[asset]
        self.log.add(self.env.now, asset, word if not failed else "power_restored", cause,
                     "power back" + ("; still failed" if failed else ""))
        self._set_reason(asset, "power", False)

    # ------------------------------------------------------------------ run
    def _stepper(self, recorders: dict[str, Any], bar: Any) -> Generator[simpy.Event, Any, None]:
        for k, t in enumerate(self.config.times_s):
            yield self.env.timeout(max(float(t) - self.env.now, 0.0))
            while self.env.peek() <= self.env.now:
                yield self.env.timeout(0)
            if self.roads is not None:
                self.roads.solve()
            for rec in recorders.values():
                rec.record(k)
            if self._road_base is not None:
                self._road_base.record(k)
            if bar is not None:
                bar.update(1)

    def run(self) -> SimResult:
        """Run to the end; return the Datasets, the event log and timings.

        Examples
        --------
        >>> import twin
        >>> res = Engine(twin.datasets.sample_city(), RunConfig(1800, 900, layers=("grid",))).run()
        >>> res.datasets["grid"].sizes["time"]
        3
        """
        wall = time.perf_counter()
        self._solve_start = {k: float(a.solve_time_s) for k, a in self.adapters.items()}
        recorders = _recorders(self.adapters, self.config.n_steps)
        self._road_base = _RoadBase(self.roads, self.config.n_steps) if self.roads is not None else None
        for ev in self.events:
            self.env.process(self._input(ev))
        if self.config.profiles:
            self.env.process(self._profiles())
        self._schedule_failures()
        bar = _progress(self.config) if self.config.progress else None
        stepper = self.env.process(self._stepper(recorders, bar))
        self.env.run(until=stepper)
        if bar is not None:
            bar.close()
        datasets = self._datasets(recorders)
        if "water" in datasets:
            from twin.sim.water import log_water_events

            log_water_events(self, datasets["water"])
        timings = self._timings(time.perf_counter() - wall)
        return SimResult(datasets, self.log.frame(), timings)

    def _schedule_failures(self) -> None:
        from twin.sim.hazards import schedule_hazards, schedule_random_failures

        schedule_hazards(self, self.config.hazards)
        schedule_random_failures(self, self.config.failure_rates)

    def _datasets(self, recorders: dict[str, Any]) -> dict[str, xr.Dataset]:
        attrs = provenance(self.network, solver="twin.sim", seed=self.config.seed, step_s=self.config.step_s,
                           duration_s=self.config.duration_s)
        out = {layer: rec.dataset(self.config.times_s, attrs) for layer, rec in recorders.items()}
        if "traffic" in out and self._road_base is not None:
            out["traffic"] = self._road_base.add_to(out["traffic"])
        if self.water is not None:
            ds = self.water.dataset()
            ds.attrs.update({k: v for k, v in attrs.items() if k not in ds.attrs})
            out["water"] = ds
        return dict(sorted(out.items()))

    def _timings(self, wall_s: float) -> dict[str, float]:
        start = getattr(self, "_solve_start", {})
        solver = {f"{k}_solve_s": float(a.solve_time_s) - start.get(k, 0.0) for k, a in self.adapters.items()}
        total = sum(solver.values())
        return {"wall_s": wall_s, **solver, "engine_s": wall_s - total, "events": float(len(self.log)),
                "grid_solves": float(getattr(self.grid, "n_solves", 0)),
                "traffic_solves": float(getattr(self.roads, "n_solves", 0))}


class _RoadBase:
    """Per step: link flows and travel times of the undisturbed road network at that step's
    demand (the reference of traffic delay per link and per district)."""

    def __init__(self, roads: Any, n_steps: int) -> None:
        self.roads = roads
        m = len(roads.link_ids)
        self.flow, self.time = np.zeros((n_steps, m)), np.zeros((n_steps, m))
        self._key: float | None = None

    def record(self, k: int) -> None:
        """Store the undisturbed state at the current demand as step ``k``."""
        if self._key != self.roads.multiplier or k == 0:
            # TrafficAdapter has no public hook for its cached undisturbed assignment yet.
            x = self.roads._base_state()[0]
            self._x, self._t = x, self.roads.assignment.link_travel_times(x)
            self._key = self.roads.multiplier
        self.flow[k], self.time[k] = self._x, self._t

    def add_to(self, ds: xr.Dataset) -> xr.Dataset:
        """``ds`` with ``base_flow_vph`` and ``base_travel_time_s`` over ``time x link``."""
        return ds.assign(
            base_flow_vph=(("time", "link"), self.flow,
                           {"units": "veh/h", "long_name": "link flow of the undisturbed network"}),
            base_travel_time_s=(("time", "link"), self.time,
                                {"units": "s", "long_name": "link travel time of the undisturbed network"}))


def _adapters(network: "Network", config: RunConfig) -> dict[str, Any]:
    unknown = set(config.layers) - {"grid", "water", "traffic"}
    if unknown:
        raise ScenarioError(f"unknown layer(s) {sorted(unknown)}; use grid, water, traffic")
    m = dict(config.multipliers)
    out: dict[str, Any] = {}
    if "grid" in config.layers and len(network.bus):
        from twin.sim.grid import GridAdapter

        out["grid"] = GridAdapter(network, m.get("grid", 1.0))
    if "water" in config.layers and len(network.junction):
        from twin.sim.water import WaterAdapter

        out["water"] = WaterAdapter(network, config.duration_s, config.step_s, m.get("water", 1.0),
                                    config.water_settings)
    if "traffic" in config.layers and len(network.link):
        from twin.sim.traffic import TrafficAdapter

        out["traffic"] = TrafficAdapter(network, m.get("traffic", 1.0), config.traffic_rgap)
    return out


def _recorders(adapters: Mapping[str, Any], n_steps: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "grid" in adapters:
        from twin.sim.grid import GridRecorder

        out["grid"] = GridRecorder(adapters["grid"], n_steps)
    if "traffic" in adapters:
        from twin.sim.traffic import TrafficRecorder

        out["traffic"] = TrafficRecorder(adapters["traffic"], n_steps)
    return out


def _progress(config: RunConfig) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - optional
        return None
    return tqdm(total=config.n_steps, unit="step", desc="twin run", leave=False)


def simulate(network: "Network", config: RunConfig, events: Iterable[Event] = ()) -> SimResult:
    """Run the engine once: ``Engine(network, config, events).run()``.

    Examples
    --------
    >>> import twin
    >>> res = simulate(twin.datasets.sample_city(), RunConfig(900, 900, layers=("grid",)))
    >>> list(res.datasets)
    ['grid']
    """
    return Engine(network, config, events).run()
