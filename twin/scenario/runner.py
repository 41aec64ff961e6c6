"""Run a scenario on a network: the engine, then KPIs; save and load results (netCDF + CSV/JSON)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Literal

import pandas as pd
import xarray as xr

from twin.errors import AssetNotFoundError, ScenarioError, TwinError
from twin.scenario.spec import Scenario, load_scenario, parse_at

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from twin.model.network import Network
    from twin.scenario.ensemble import Ensemble
    from twin.sim import Event, RunConfig

__all__ = ["RunResult", "load_result", "run", "run_many"]

LAYER_FILES = ("grid", "water", "traffic")


@dataclass
class RunResult:
    """What a scenario run produced.

    Attributes
    ----------
    name : str
        Scenario name.
    datasets : dict of layer -> xarray.Dataset
        ``grid``, ``water``, ``traffic`` results over ``time`` (s from the start).
    events : DataFrame
        The event log: ``id, time_s, time_h, asset, kind, cause, detail``.
    kpis : dict of name -> DataFrame
        ``summary`` (kpi, value, unit), ``district`` (scorecard), ``equity`` (population-weighted
        mean and worst district per KPI), ``asset`` (per junction, load and signal).
    timings : dict
        Wall time, time in each solver, engine overhead.
    """

    name: str
    datasets: dict[str, xr.Dataset]
    events: pd.DataFrame
    kpis: dict[str, pd.DataFrame]
    timings: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def summary_text(self) -> str:
        """The KPI summary as a readable table."""
        s = self.kpis["summary"]
        width = max(len(k) for k in s.kpi) if len(s) else 10
        lines = [f"scenario: {self.name}"]
        lines += [f"  {k:<{width}}  {v:>14.6g} {u}" for k, v, u in zip(s.kpi, s.value, s.unit)]
        return "\n".join(lines)

    def save(self, directory: str | PathLike[str]) -> Path:
        """Write ``<layer>.nc``, ``events.csv``, ``kpi_summary.csv/json``, ``kpi_district.csv``,
        ``kpi_equity.csv``, ``kpi_asset.csv`` and ``run.json`` into ``directory`` (created)."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        for layer, ds in self.datasets.items():
            ds.to_netcdf(out / f"{layer}.nc")
        self.events.to_csv(out / "events.csv", index=False)
        s = self.kpis["summary"]
        s.to_csv(out / "kpi_summary.csv", index=False)
        (out / "kpi_summary.json").write_text(json.dumps(
            {k: {"value": None if pd.isna(v) else float(v), "unit": u} for k, v, u in zip(s.kpi, s.value, s.unit)},
            indent=2) + "\n")
        for name in ("district", "equity"):
            if name in self.kpis:
                self.kpis[name].to_csv(out / f"kpi_{name}.csv")
        if "asset" in self.kpis:
            self.kpis["asset"].to_csv(out / "kpi_asset.csv", index=False)
        (out / "run.json").write_text(json.dumps({"name": self.name, **self.info, "timings": self.timings},
                                                 indent=2, default=str) + "\n")
        return out


def load_result(directory: str | PathLike[str]) -> RunResult:
    """Read a result folder written by :meth:`RunResult.save`."""
    d = Path(directory)
    if not (d / "kpi_summary.csv").exists():
        raise ScenarioError(f"{d}: not a result folder (no kpi_summary.csv); write one with 'twin run'")
    datasets = {}
    for layer in LAYER_FILES:
        if (d / f"{layer}.nc").exists():
            with xr.open_dataset(d / f"{layer}.nc") as ds:
                datasets[layer] = ds.load()
    events = pd.read_csv(d / "events.csv", keep_default_na=False) if (d / "events.csv").exists() else pd.DataFrame()
    kpis = {"summary": pd.read_csv(d / "kpi_summary.csv")}
    for name in ("district", "equity"):
        if (d / f"kpi_{name}.csv").exists():
            kpis[name] = pd.read_csv(d / f"kpi_{name}.csv", index_col=0, keep_default_na=False, na_values=[""])
    if (d / "kpi_asset.csv").exists():
        kpis["asset"] = pd.read_csv(d / "kpi_asset.csv", keep_default_na=False, na_values=[""])
    info = json.loads((d / "run.json").read_text()) if (d / "run.json").exists() else {}
    return RunResult(str(info.pop("name", d.name)), datasets, events, kpis, info.pop("timings", {}), info)


def _network(name: str, source: str) -> "Network":
    from twin import datasets, io

    if name == "sample_city":
        return datasets.sample_city()
    p = Path(name)
    if not p.is_absolute() and source and not source.startswith("<"):
        p = Path(source).parent / p
    if not p.exists():
        raise ScenarioError(f"{source}: [network] expected 'sample_city' or a path to a network file; "
                            f"{str(p)!r} does not exist")
    if p.suffix.lower() == ".inp":
        return io.read_inp(p)
    return io.read_network(p)


def _events(scenario: Scenario, network: "Network") -> list["Event"]:
    from twin.sim import Event, parse_asset

    out = []
    for i, ev in enumerate(scenario.events):
        at = parse_at(ev.at, scenario.start)
        until = parse_at(ev.until, scenario.start) if ev.until is not None else None
        if ev.duration is not None:
            from twin.scenario.spec import parse_duration

            until = at + parse_duration(ev.duration)
        if ev.asset:
            try:
                network.asset(*parse_asset(ev.asset))
            except (AssetNotFoundError, TwinError) as err:
                raise ScenarioError(f"{scenario.source}: [events[{i}].asset] {err}") from None
        if not 0 <= at <= scenario.duration_s:
            raise ScenarioError(f"{scenario.source}: [events[{i}].at] {ev.at!r} is {at / 3600:g} h from the start; "
                                f"expected a time within the run (0 to {scenario.duration_s / 3600:g} h)")
        out.append(Event(at, ev.kind, ev.asset, ev.value, until, ev.repair, ev.layer, ev.note))
    return out


def _hazards(scenario: Scenario, network: "Network") -> tuple[Any, ...]:
    from shapely.geometry import Polygon

    from twin.sim.hazards import Fragility, Hazard

    out = []
    for i, h in enumerate(scenario.hazards):
        if h.polygon is not None:
            shape = Polygon(h.polygon)
        elif h.district is not None and h.district in network.district.index:
            shape = network.district.geometry[h.district]
        else:
            raise ScenarioError(f"{scenario.source}: [hazards[{i}]] expected a polygon or a district id of the "
                                f"network ({', '.join(network.district.index[:10])}); got district={h.district!r}")
        for kind in h.fragility:
            if kind not in network.tables:
                raise ScenarioError(f"{scenario.source}: [hazards[{i}].fragility.{kind}] not an asset kind")
        out.append(Hazard(h.name, parse_at(h.at, scenario.start), shape, h.intensity,
                          {k: Fragility(f.median, f.beta) for k, f in h.fragility.items()}))
    return tuple(out)


def config_of(scenario: Scenario, network: "Network", *, progress: bool = False) -> "RunConfig":
    """The engine settings of a scenario."""
    from twin.sim import CrewSpec, RunConfig

    crews = None
    if scenario.crews is not None:
        c = scenario.crews
        crews = CrewSpec({"power": c.power, "water": c.water, "roads": c.roads}, c.priority, c.repair_hours, c.depot)
    for kind in scenario.random_failures:
        if kind not in network.tables:
            raise ScenarioError(f"{scenario.source}: [random_failures.{kind}] not an asset kind")
    d = scenario.demand
    return RunConfig(scenario.duration_s, scenario.step_s, seed=scenario.seed, layers=tuple(scenario.layers),
                     multipliers={"water": d.water_multiplier, "grid": d.grid_multiplier,
                                  "traffic": d.traffic_multiplier},
                     water_settings=scenario.water.model_dump(), traffic_rgap=scenario.traffic.rgap, crews=crews,
                     hazards=_hazards(scenario, network), failure_rates=dict(scenario.random_failures),
                     pressure_threshold_m=scenario.kpis.pressure_threshold_m, profiles=scenario.profiles.layers(),
                     start_of_day_s=_seconds_of_day(scenario.start), progress=progress)


def _seconds_of_day(start: Any) -> float:
    return float(start.hour * 3600 + start.minute * 60 + start.second)


def run(network: "Network | None", scenario: Scenario | str | PathLike[str], *, progress: bool = False) -> RunResult:
    """Run a scenario on a network and compute its KPIs.

    Parameters
    ----------
    network : Network or None
        The city; None loads the scenario's own ``network``.
    scenario : Scenario or path
        A validated scenario or the path of its TOML file.
    progress : bool
        Show a progress bar over the steps.

    Returns
    -------
    RunResult

    Examples
    --------
    >>> import twin
    >>> from twin.scenario.spec import scenario_from_dict
    >>> spec = scenario_from_dict({"name": "trip", "description": "feeder trip", "duration": "2h",
    ...     "layers": ["grid", "traffic"], "events": [{"at": "00:30", "kind": "outage", "asset": "line:F7-1"}]})
    >>> res = run(twin.datasets.sample_city(), spec)
    >>> bool(res.kpis["summary"].set_index("kpi").loc["unserved_energy_mwh", "value"] > 0)
    True
    """
    from twin import kpi
    from twin.sim import Engine

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if network is None:
        network = _network(scenario.network, scenario.source)
    wall = time.perf_counter()
    engine = Engine(network, config_of(scenario, network, progress=progress), _events(scenario, network))
    sim = engine.run()
    attrs = {"scenario": scenario.name, "scenario_hash": scenario.fingerprint(),
             "start": scenario.start.isoformat()}
    for ds in sim.datasets.values():
        ds.attrs.update(attrs)
    threshold = scenario.kpis.pressure_threshold_m
    card = kpi.scorecard(sim.datasets, network, threshold)
    kpis = {"summary": kpi.summary(sim.datasets, network, sim.events, threshold), "district": card,
            "equity": kpi.equity(card), "asset": kpi.by_asset(sim.datasets, network, threshold)}
    timings = {**sim.timings, "total_s": time.perf_counter() - wall}
    return RunResult(scenario.name, sim.datasets, sim.events, kpis, timings,
                     {"description": scenario.description, **attrs, "seed": scenario.seed})


def run_many(network: "Network | None", scenarios: Iterable[Scenario | str | PathLike[str]], *,
             executor: "Literal['serial', 'processes', 'dask'] | Executor" = "serial", address: str | None = None,
             workers: int | None = None, batch_size: "int | Literal['auto']" = "auto",
             seed: int | None = None) -> "Ensemble":
    """Run several scenarios, serially, on a local process pool or on Dask; a failing one leaves
    the others' results (see :func:`twin.scenario.ensemble.run_ensemble` for the parameters).

    Returns an :class:`~twin.scenario.ensemble.Ensemble`: a mapping scenario name -> RunResult,
    or the :class:`~twin.scenario.ensemble.ScenarioFailure` it raised, with the results combined
    along a ``scenario`` dimension (``.datasets()``) and KPI tables with a scenario column
    (``.kpis()``, ``.summary_table()``).

    Examples
    --------
    >>> import twin
    >>> from twin.scenario.spec import scenario_from_dict
    >>> ok = scenario_from_dict({"name": "ok", "description": "calm", "duration": "30min", "layers": ["grid"]})
    >>> bad = scenario_from_dict({"name": "bad", "description": "no such line", "duration": "30min",
    ...     "layers": ["grid"], "events": [{"at": "00:15", "kind": "outage", "asset": "line:NOPE"}]})
    >>> ens = run_many(twin.datasets.sample_city(), [ok, bad])
    >>> sorted(ens.results), sorted(ens.failures)
    (['ok'], ['bad'])
    """
    from twin.scenario.ensemble import run_ensemble

    return run_ensemble(network, scenarios, executor=executor, address=address, workers=workers,
                        batch_size=batch_size, seed=seed)
