"""Key performance indicators of a run: water served demand (total and equitable) and pressure
deficit hours, grid unserved energy and customer outage hours, traffic delay against the
undisturbed network, time to full restoration; per asset and per district with population
weights for an equity view.

Every function takes the run's layer Datasets (as :func:`twin.run` returns them) and the
network; times are integrated with the left rectangle rule over the reporting step.

References
----------
Balakrishnan, S. and Cassottana, B. (2022). InfraRisk: an open-source simulation platform for
resilience analysis in interconnected power-water-transport networks (ECS/PCS serviceability).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import pandas as pd
import xarray as xr

if TYPE_CHECKING:
    from twin.model.network import Network

__all__ = ["DOWN_KINDS", "UP_KINDS", "by_asset", "equity", "grid_kpis", "link_kpis", "restoration", "scorecard",
           "summary", "traffic_kpis", "water_kpis"]

#: Event-log kinds that take an asset down, and those that bring it back.
DOWN_KINDS: tuple[str, ...] = ("outage", "failure", "de-energised", "stopped", "dark", "unpowered")
UP_KINDS: tuple[str, ...] = ("restoration", "repaired", "energised", "restarted", "lit", "repowered")


def step_weights(time_s: np.ndarray) -> np.ndarray:
    """Seconds each reporting time stands for (left rectangle rule; the last time counts 0).

    Examples
    --------
    >>> step_weights(np.array([0, 900, 1800])).tolist()
    [900.0, 900.0, 0.0]
    """
    t = np.asarray(time_s, dtype=float)
    return np.append(np.diff(t), 0.0) if len(t) else t


def _district_population(network: "Network") -> pd.Series:
    d = network.district
    return d.population.astype(float) if len(d) else pd.Series(dtype=float)


def water_kpis(ds: xr.Dataset, network: "Network", threshold_m: float = 15.0) -> pd.DataFrame:
    """Per junction: requested and delivered volume (m3), served ratio, pressure-deficit hours.

    Examples
    --------
    >>> import twin
    >>> city = twin.datasets.sample_city()
    >>> ds = twin.hydraulics(city, duration_s=7200)
    >>> t = water_kpis(ds, city)
    >>> float(t.served_ratio.min()) > 0.99
    True
    """
    from twin.sim.couplings import districts_of

    w = step_weights(ds.time.values)[:, None]
    req = ds.demand_requested.values
    dlv = ds.demand_delivered.values
    p = ds.pressure.sel(node=ds.junction.values).values
    requested = (req * w).sum(axis=0)
    delivered = (np.minimum(dlv, req) * w).sum(axis=0)
    deficit = (((p < threshold_m) & (req > 0)) * w).sum(axis=0) / 3600.0
    ids = [str(j) for j in ds.junction.values]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(requested > 0, delivered / requested, np.nan)
    out = pd.DataFrame({"requested_m3": requested, "delivered_m3": delivered, "served_ratio": ratio,
                        "pressure_deficit_h": deficit}, index=pd.Index(ids, name="junction"))
    out["district"] = districts_of(network, "junction").reindex(out.index).fillna("")
    return out


def grid_kpis(ds: xr.Dataset, network: "Network") -> pd.DataFrame:
    """Per load: customers, unserved energy (MWh), outage hours and customer outage hours.

    Customers of a load are its district's population shared by load (loads ``located_in``
    districts); without districts every load counts one customer.

    Examples
    --------
    >>> import twin
    >>> from twin.sim import RunConfig, simulate
    >>> city = twin.datasets.sample_city()
    >>> res = simulate(city, RunConfig(3600, 900, layers=("grid",)))
    >>> float(grid_kpis(res.datasets["grid"], city).unserved_mwh.sum())
    0.0
    """
    from twin.sim.couplings import districts_of

    w = step_weights(ds.time.values)[:, None]
    demanded, served = ds.load_p_mw.values, ds.served_p_mw.values
    ids = [str(x) for x in ds["load"].values]
    unserved = ((demanded - served) * w).sum(axis=0) / 3600.0
    hours = (((demanded > 0) & (served <= 0)) * w).sum(axis=0) / 3600.0
    dist = districts_of(network, "load").reindex(ids).fillna("")
    pop = _district_population(network)
    p = network.load.p_mw.reindex(ids).astype(float)
    share = p / p.groupby(dist).transform("sum").replace(0.0, np.nan)
    customers = (share * dist.map(pop).astype(float)).fillna(1.0 if pop.empty else 0.0)
    out = pd.DataFrame({"district": dist.to_numpy(), "customers": customers.to_numpy(), "unserved_mwh": unserved,
                        "outage_h": hours}, index=pd.Index(ids, name="load"))
    out["customer_outage_h"] = out.customers * out.outage_h
    return out


def traffic_kpis(ds: xr.Dataset, network: "Network") -> pd.DataFrame:
    """Per signal: hours dark and its district; the run's delay is :func:`summary`'s.

    Examples
    --------
    >>> import twin
    >>> from twin.sim import RunConfig, simulate
    >>> city = twin.datasets.sample_city()
    >>> res = simulate(city, RunConfig(1800, 900, layers=("traffic",)))
    >>> float(traffic_kpis(res.datasets["traffic"], city).dark_h.sum())
    0.0
    """
    from twin.sim.couplings import districts_of

    w = step_weights(ds.time.values)[:, None]
    ids = [str(x) for x in ds.signal.values]
    dark = (ds.signal_dark.values * w).sum(axis=0) / 3600.0
    dist = districts_of(network, "signal").reindex(ids).fillna("")
    return pd.DataFrame({"district": dist.to_numpy(), "dark_h": dark}, index=pd.Index(ids, name="signal"))


def link_kpis(ds: xr.Dataset, network: "Network") -> pd.DataFrame:
    """Per road link: vehicle hours travelled, extra vehicle hours against the undisturbed network
    at the same demand (negative where traffic moved away) and the district the link lies in
    (by its geometry).

    Needs the ``base_flow_vph`` and ``base_travel_time_s`` the engine records; summed over the
    links, ``delay_vh`` is the run's delay before it is clipped at zero per step.

    Examples
    --------
    >>> import twin
    >>> from twin.sim import Event, RunConfig, simulate
    >>> city = twin.datasets.sample_city()
    >>> res = simulate(city, RunConfig(3600, 900, layers=("grid", "traffic")), [Event(900, "outage", "line:F7-1")])
    >>> t = link_kpis(res.datasets["traffic"], city)
    >>> bool(t.delay_vh.sum() > 0), sorted(t.columns)
    (True, ['delay_vh', 'district', 'vehicle_h'])
    """
    from twin.sim.couplings import districts_of

    w = step_weights(ds.time.values)[:, None] / 3600.0
    ids = [str(x) for x in ds.link.values]

    def vehicle_hours(flow: str, time: str) -> np.ndarray:
        t = ds[time].values
        return (ds[flow].values * np.where(np.isfinite(t), t, 0.0) / 3600.0 * w).sum(axis=0)

    travelled = vehicle_hours("flow_vph", "travel_time_s")
    if "base_flow_vph" in ds:
        delay = travelled - vehicle_hours("base_flow_vph", "base_travel_time_s")
    else:
        delay = np.full(len(ids), np.nan)
    dist = districts_of(network, "link").reindex(ids).fillna("")
    return pd.DataFrame({"district": dist.to_numpy(), "vehicle_h": travelled, "delay_vh": delay},
                        index=pd.Index(ids, name="link"))


def traffic_delay_vh(ds: xr.Dataset) -> float:
    """Extra vehicle hours of the run against the undisturbed network (veh h)."""
    w = step_weights(ds.time.values)
    return float((ds.delay_vh.values * w).sum() / 3600.0)


def restoration(events: pd.DataFrame) -> dict[str, float]:
    """First disruption, time to full restoration (h) and assets still out at the end.

    Returns NaN restoration time when something is still out at the end of the run, and 0
    when nothing was disrupted.

    Examples
    --------
    >>> ev = pd.DataFrame({"time_s": [3600.0, 10800.0], "asset": ["line:L1", "line:L1"],
    ...                    "kind": ["outage", "repaired"]})
    >>> restoration(ev)["time_to_full_restoration_h"]
    2.0
    """
    out_now: set[str] = set()
    first = last = None
    for t, asset, kind in zip(events.time_s, events.asset, events.kind):
        if kind in DOWN_KINDS:
            out_now.add(asset)
            first = t if first is None else first
        elif kind in UP_KINDS:
            out_now.discard(asset)
            last = t
    if first is None:
        return {"first_disruption_h": np.nan, "time_to_full_restoration_h": 0.0, "assets_out_at_end": 0.0}
    done = not out_now and last is not None
    return {"first_disruption_h": first / 3600.0,
            "time_to_full_restoration_h": (last - first) / 3600.0 if done else np.nan,
            "assets_out_at_end": float(len(out_now))}


def by_asset(datasets: Mapping[str, xr.Dataset], network: "Network", threshold_m: float = 15.0) -> pd.DataFrame:
    """KPIs per asset (junctions, loads, signals) in one long table: ``asset, district, kpi, value``.

    Examples
    --------
    >>> import twin
    >>> from twin.sim import RunConfig, simulate
    >>> city = twin.datasets.sample_city()
    >>> res = simulate(city, RunConfig(1800, 900, layers=("grid",)))
    >>> sorted(set(by_asset(res.datasets, city).kpi))[:2]
    ['customer_outage_h', 'customers']
    """
    parts = []
    tables = [("water", "junction", lambda ds: water_kpis(ds, network, threshold_m)),
              ("grid", "load", lambda ds: grid_kpis(ds, network)),
              ("traffic", "signal", lambda ds: traffic_kpis(ds, network)),
              ("traffic", "link", lambda ds: link_kpis(ds, network))]
    for layer, kind, fn in tables:
        if layer in datasets:
            t = fn(datasets[layer])
            t.index = kind + ":" + t.index.astype(str)
            long = t.reset_index(names="asset").melt(id_vars=["asset", "district"], var_name="kpi")
            parts.append(long)
    if not parts:
        return pd.DataFrame(columns=["asset", "district", "kpi", "value"])
    return pd.concat(parts, ignore_index=True)


def scorecard(result: Any, network: "Network | None" = None, threshold_m: float = 15.0,
              by: str = "district") -> pd.DataFrame:
    """KPIs per district with its population (the equity view: see :func:`equity`), or per asset.

    ``result`` is a :class:`~twin.scenario.RunResult` (its tables are returned when no network
    is given) or a mapping of layer Datasets.

    Examples
    --------
    >>> import twin
    >>> from twin.sim import RunConfig, simulate
    >>> city = twin.datasets.sample_city()
    >>> res = simulate(city, RunConfig(1800, 900, layers=("grid",)))
    >>> float(scorecard(res.datasets, city).loc["D1", "customer_outage_h"])
    0.0
    """
    if by not in ("district", "asset"):
        raise ValueError(f"by must be 'district' or 'asset', got {by!r}")
    if network is None:
        if not hasattr(result, "kpis"):
            raise ValueError("give the network, or a RunResult whose KPI tables were computed by twin.run")
        return result.kpis[by]
    datasets = result.datasets if hasattr(result, "datasets") else result
    if by == "asset":
        return by_asset(datasets, network, threshold_m)
    pop = _district_population(network)
    out = pd.DataFrame(index=pd.Index(pop.index.astype(str), name="district"))
    out["population"] = pop.to_numpy()
    if "water" in datasets:
        w = water_kpis(datasets["water"], network, threshold_m)
        g = w.groupby("district")
        out["water_served_ratio"] = g.delivered_m3.sum() / g.requested_m3.sum()
        out["water_equitable_served_ratio"] = g.served_ratio.mean()
        out["pressure_deficit_junction_h"] = g.pressure_deficit_h.sum()
        out["pressure_deficit_mean_h"] = g.pressure_deficit_h.mean()
    if "grid" in datasets:
        gk = grid_kpis(datasets["grid"], network).groupby("district")
        out["unserved_energy_mwh"] = gk.unserved_mwh.sum()
        out["customer_outage_h"] = gk.customer_outage_h.sum()
    if "traffic" in datasets:
        out["signal_dark_h"] = traffic_kpis(datasets["traffic"], network).groupby("district").dark_h.sum()
        if "base_flow_vph" in datasets["traffic"]:
            links = link_kpis(datasets["traffic"], network)
            out["traffic_delay_vh"] = links.groupby("district").delay_vh.sum()
    return out.fillna({c: 0.0 for c in out.columns if c not in ("water_served_ratio",
                                                                  "water_equitable_served_ratio")})


def equity(card: pd.DataFrame) -> pd.DataFrame:
    """Population-weighted mean and worst district of every KPI of a :func:`scorecard`.

    Examples
    --------
    >>> card = pd.DataFrame({"population": [100.0, 300.0], "customer_outage_h": [0.0, 4.0]},
    ...                     index=["A", "B"])
    >>> float(equity(card).loc["customer_outage_h", "population_weighted_mean"])
    3.0
    """
    rows = {}
    weights = card.population.astype(float)
    for col in card.columns.drop("population"):
        v = card[col].astype(float)
        ok = v.notna() & (weights > 0)
        mean = float(np.average(v[ok], weights=weights[ok])) if ok.any() else np.nan
        worse_high = not col.endswith("ratio")
        worst = v.idxmax() if worse_high else v.idxmin()
        rows[col] = {"population_weighted_mean": mean, "worst_district": worst if v.notna().any() else "",
                     "worst_value": float(v.max() if worse_high else v.min())}
    return pd.DataFrame.from_dict(rows, orient="index")


def summary(datasets: Mapping[str, xr.Dataset], network: "Network", events: pd.DataFrame | None = None,
            threshold_m: float = 15.0) -> pd.DataFrame:
    """Scalar KPIs of a run as rows ``kpi, value, unit``.

    Examples
    --------
    >>> import twin
    >>> from twin.sim import RunConfig, simulate
    >>> city = twin.datasets.sample_city()
    >>> res = simulate(city, RunConfig(1800, 900, layers=("grid",)))
    >>> float(summary(res.datasets, city, res.events).set_index("kpi").loc["unserved_energy_mwh", "value"])
    0.0
    """
    rows: list[tuple[str, float, str]] = []
    if "water" in datasets:
        w = water_kpis(datasets["water"], network, threshold_m)
        total = w.delivered_m3.sum() / w.requested_m3.sum() if w.requested_m3.sum() > 0 else np.nan
        rows += [("water_served_ratio", float(total), "1"),
                 ("water_equitable_served_ratio", float(w.served_ratio.clip(0, 1).mean()), "1"),
                 ("water_unserved_m3", float(w.requested_m3.sum() - w.delivered_m3.sum()), "m3"),
                 ("pressure_deficit_junction_h", float(w.pressure_deficit_h.sum()), "h")]
    if "grid" in datasets:
        g = grid_kpis(datasets["grid"], network)
        rows += [("unserved_energy_mwh", float(g.unserved_mwh.sum()), "MWh"),
                 ("customer_outage_h", float(g.customer_outage_h.sum()), "h")]
    if "traffic" in datasets:
        t = traffic_kpis(datasets["traffic"], network)
        rows += [("traffic_delay_vh", traffic_delay_vh(datasets["traffic"]), "veh h"),
                 ("signal_dark_h", float(t.dark_h.sum()), "h")]
    if events is not None:
        r = restoration(events)
        rows += [("time_to_full_restoration_h", r["time_to_full_restoration_h"], "h"),
                 ("assets_out_at_end", r["assets_out_at_end"], "1"),
                 ("events", float(len(events)), "1")]
    return pd.DataFrame(rows, columns=["kpi", "value", "unit"])
