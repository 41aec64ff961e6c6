"""Hazards and random failures: a footprint polygon with an intensity and fragility curves per
asset kind, and failures drawn from per-asset yearly rates (seeded)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Generator, Mapping, TYPE_CHECKING

import geopandas as gpd
import numpy as np
import simpy

from twin.errors import ScenarioError

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from twin.model.network import Network

__all__ = ["Fragility", "Hazard", "exposed_assets", "failure_probability"]

_SECONDS_PER_YEAR = 365.25 * 86400.0


@dataclass(frozen=True)
class Fragility:
    """A lognormal fragility curve: P(failure | intensity x) = Phi(ln(x / median) / beta).

    Examples
    --------
    >>> round(Fragility(0.5, 0.4).probability(0.5), 3)
    0.5
    """

    median: float
    beta: float = 0.5

    def probability(self, intensity: float) -> float:
        """Probability of failure at ``intensity`` (same units as ``median``)."""
        if intensity <= 0:
            return 0.0
        return 0.5 * (1.0 + math.erf(math.log(intensity / self.median) / (self.beta * math.sqrt(2.0))))


@dataclass(frozen=True)
class Hazard:
    """A hazard footprint: assets inside ``footprint`` at ``time_s`` fail with their kind's fragility.

    Parameters
    ----------
    name : str
        Label in the event log (``hazard:<name>``).
    time_s : float
        When it strikes (s from the start).
    footprint : shapely geometry
        Polygon in the network's CRS.
    intensity : float
        Intensity inside the footprint (flood depth in m, wind speed, ...).
    fragility : mapping kind -> Fragility
        Asset kinds at risk and their curves.
    """

    name: str
    time_s: float
    footprint: "BaseGeometry"
    intensity: float
    fragility: Mapping[str, Fragility] = field(default_factory=dict)


def failure_probability(hazard: Hazard, kind: str) -> float:
    """Probability that one exposed asset of ``kind`` fails.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> h = Hazard("flood", 0.0, box(0, 0, 1, 1), 1.0, {"bus": Fragility(0.5, 0.4)})
    >>> failure_probability(h, "bus") > 0.9, failure_probability(h, "pipe")
    (True, 0.0)
    """
    f = hazard.fragility.get(kind)
    return 0.0 if f is None else f.probability(hazard.intensity)


def exposed_assets(network: "Network", hazard: Hazard) -> list[tuple[str, str]]:
    """Assets of the kinds at risk whose geometry meets the footprint, as ``(kind, id)``.

    Examples
    --------
    >>> import twin
    >>> city = twin.datasets.sample_city()
    >>> h = Hazard("flood", 0.0, city.district.geometry["D3"], 0.8, {"signal": Fragility(0.3)})
    >>> len(exposed_assets(city, h)) > 0
    True
    """
    out: list[tuple[str, str]] = []
    for kind in hazard.fragility:
        table = network.table(kind)
        if not isinstance(table, gpd.GeoDataFrame):
            raise ScenarioError(f"hazard {hazard.name!r}: {kind} has no geometry; fragility applies to mapped assets")
        hit = table.geometry.intersects(hazard.footprint).to_numpy()
        out.extend((kind, str(i)) for i in table.index[hit])
    return out


def _strike(engine: Any, hazard: Hazard, failed: list[tuple[str, str]]) -> Generator[simpy.Event, Any, None]:
    yield engine.env.timeout(max(hazard.time_s - engine.env.now, 0.0))
    hid = engine.log.add(engine.env.now, f"hazard:{hazard.name}", "hazard", None,
                         f"intensity {hazard.intensity:g}; {len(failed)} assets failed")
    for kind, aid in failed:
        eid = engine.log.add(engine.env.now, f"{kind}:{aid}", "failure", hid, "inside the footprint")
        engine.fail(f"{kind}:{aid}", eid)


def schedule_hazards(engine: Any, hazards: tuple[Hazard, ...]) -> None:
    """Draw which exposed assets fail (engine's rng) and schedule each hazard's strike."""
    for hazard in hazards:
        exposed = exposed_assets(engine.network, hazard)
        p = np.array([failure_probability(hazard, k) for k, _ in exposed])
        draws = engine.rng.random(len(exposed))
        failed = [a for a, u, q in zip(exposed, draws, p) if u < q]
        engine.env.process(_strike(engine, hazard, failed))


def random_failures(network: "Network", rates_per_year: Mapping[str, float], duration_s: float,
                    rng: np.random.Generator) -> list[tuple[float, str, str]]:
    """First failure time of each asset within the run from exponential lifetimes.

    Examples
    --------
    >>> import twin
    >>> rng = np.random.default_rng(1)
    >>> out = random_failures(twin.datasets.sample_city(), {"pipe": 50.0}, 86400, rng)
    >>> all(0 <= t <= 86400 for t, _, _ in out)
    True
    """
    out: list[tuple[float, str, str]] = []
    for kind, rate in sorted(rates_per_year.items()):
        if rate < 0:
            raise ScenarioError(f"failure rate of {kind} must be >= 0 per year, got {rate!r}")
        ids = network.table(kind).index
        if rate == 0 or not len(ids):
            continue
        t = rng.exponential(_SECONDS_PER_YEAR / rate, size=len(ids))
        out.extend((float(ti), kind, str(i)) for ti, i in zip(t, ids) if ti <= duration_s)
    return sorted(out)


def _random(engine: Any, t: float, kind: str, aid: str) -> Generator[simpy.Event, Any, None]:
    yield engine.env.timeout(max(t - engine.env.now, 0.0))
    eid = engine.log.add(engine.env.now, f"{kind}:{aid}", "failure", None, "random failure")
    engine.fail(f"{kind}:{aid}", eid)


def schedule_random_failures(engine: Any, rates_per_year: Mapping[str, float]) -> None:
    """Schedule random failures drawn from per-asset yearly rates."""
    for t, kind, aid in random_failures(engine.network, rates_per_year, engine.config.duration_s, engine.rng):
        engine.env.process(_random(engine, t, kind, aid))
