"""Repair crews: one SimPy ``PriorityResource`` per discipline, served by criticality (served
population or load), travelling over the current road network, with repair durations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generator, Mapping, TYPE_CHECKING

import numpy as np
import simpy

from twin.errors import ScenarioError
from twin.sim.couplings import discipline, districts_of, nearest_node

if TYPE_CHECKING:
    from twin.sim.engine import Engine

__all__ = ["CrewSpec", "Crews", "PRIORITY_RULES"]

#: How crews choose the next job: most people affected, most load lost, or first come first served.
PRIORITY_RULES: tuple[str, ...] = ("served_population", "load", "fifo")
#: Repair hours by discipline when the scenario gives none.
DEFAULT_REPAIR_HOURS: Mapping[str, float] = {"power": 3.0, "water": 4.0, "roads": 2.0}
#: Assumed travel time (s) when no road path reaches an asset.
UNREACHABLE_TRAVEL_S = 3600.0
#: Zero-delay rounds a dispatch waits so that failures of the same instant compete by priority.
_SAME_INSTANT_ROUNDS = 3


@dataclass(frozen=True)
class CrewSpec:
    """Repair crews of a run.

    Parameters
    ----------
    counts : mapping discipline -> int
        Crews per discipline (``power``, ``water``, ``roads``).
    priority : {"served_population", "load", "fifo"}
        Which waiting job a free crew takes first.
    repair_hours : mapping, optional
        Repair duration by discipline or by asset kind (h); kind wins.
    depot : mapping discipline -> road node id, optional
        Where each discipline's crews start (default: the first road node).

    Examples
    --------
    >>> CrewSpec({"power": 2}).priority
    'served_population'
    """

    counts: Mapping[str, int]
    priority: str = "served_population"
    repair_hours: Mapping[str, float] = field(default_factory=dict)
    depot: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.priority not in PRIORITY_RULES:
            raise ScenarioError(f"crew priority {self.priority!r} is not one of {', '.join(PRIORITY_RULES)}")
        bad = {k: v for k, v in self.counts.items() if k not in ("power", "water", "roads") or int(v) < 0}
        if bad:
            raise ScenarioError(f"crews {bad}: disciplines are power, water, roads with counts >= 0")

    def hours(self, kind: str) -> float:
        """Repair hours of an asset of ``kind``."""
        d = discipline(kind)
        return float(self.repair_hours.get(kind, self.repair_hours.get(d, DEFAULT_REPAIR_HOURS.get(d, 3.0))))


class Crews:
    """The crews of one run, bound to an engine.

    Examples
    --------
    >>> import twin
    >>> from twin.sim import Engine, Event, RunConfig
    >>> cfg = RunConfig(6 * 3600, 900, layers=("grid", "traffic"), crews=CrewSpec({"power": 1}))
    >>> res = Engine(twin.datasets.sample_city(), cfg, [Event(900, "outage", "line:F7-1")]).run()
    >>> "repaired" in set(res.events.kind)
    True
    """

    def __init__(self, engine: "Engine", spec: CrewSpec) -> None:
        self.engine, self.spec = engine, spec
        net = engine.network
        first = str(net.node.index[0]) if len(net.node) else ""
        self.resources: dict[str, simpy.PriorityResource] = {}
        self.location: dict[str, list[str]] = {}
        self.free: dict[str, list[int]] = {}
        for d, n in spec.counts.items():
            if int(n) <= 0:
                continue
            self.resources[d] = simpy.PriorityResource(engine.env, capacity=int(n))
            self.location[d] = [spec.depot.get(d, first)] * int(n)
            self.free[d] = list(range(int(n)))
        self._pending: list[tuple[float, int, str, int, str]] = []
        self._dispatching = False
        self._population = _population_per_asset(net)
        pop = net.district.population.astype(float) if len(net.district) else None
        self._bus_population = _bus_population(net, pop) if pop is not None else {}

    def request(self, asset: str, failure_id: int) -> bool:
        """Queue a repair of ``asset`` (failed by event ``failure_id``); False if no crew can do it.

        Requests made at one instant are handed to the crews together, most critical first.
        """
        kind = asset.partition(":")[0]
        d = discipline(kind)
        if d not in self.resources:
            return False
        crit = self.criticality(asset)
        qid = self.engine.log.add(self.engine.env.now, asset, "crew_requested", failure_id,
                                  f"{d} crew; criticality {crit:.4g}")
        self._pending.append((-crit, len(self._pending), asset, qid, d))
        if not self._dispatching:
            self._dispatching = True
            self.engine.env.process(self._dispatch())
        return True

    def _dispatch(self) -> Generator[simpy.Event, Any, None]:
        for _ in range(_SAME_INSTANT_ROUNDS):  # let the other failures of this instant queue up
            yield self.engine.env.timeout(0)
        jobs, self._pending, self._dispatching = sorted(self._pending), [], False
        for neg_crit, _, asset, qid, d in jobs:
            self.engine.env.process(self._repair(asset, qid, d, -neg_crit))

    def criticality(self, asset: str) -> float:
        """How much the asset matters under the crews' priority rule (larger first)."""
        rule = self.spec.priority
        if rule == "fifo":
            return 0.0
        if rule == "load":
            return _load_lost(self.engine, asset)
        if asset in self._population:
            return self._population[asset]
        return float(sum(self._bus_population.get(b, 0.0) for b in _lost_buses(self.engine, asset)))

    def _pick(self, d: str, node: str) -> int:
        free = self.free[d]
        times = [self._travel(self.location[d][c], node) for c in free]
        c = free.pop(int(np.argmin(times)))
        return c

    def _travel(self, origin: str, destination: str) -> float:
        roads = self.engine.roads
        if roads is None or not origin or not destination:
            return 0.0
        t = roads.travel_time_s(origin, destination)
        return t if np.isfinite(t) else UNREACHABLE_TRAVEL_S

    def _repair(self, asset: str, qid: int, d: str, crit: float) -> Generator[simpy.Event, Any, None]:
        env, log = self.engine.env, self.engine.log
        kind, _, aid = asset.partition(":")
        node = self.engine.deps.access.get(asset) or nearest_node(self.engine.network, kind, aid) or ""
        with self.resources[d].request(priority=-int(round(crit * 1000))) as req:
            yield req
            c = self._pick(d, node)
            travel = self._travel(self.location[d][c], node)
            did = log.add(env.now, asset, "crew_dispatched", qid,
                          f"{d} crew {c + 1} from node {self.location[d][c]}; travel {travel / 60:.1f} min")
            yield env.timeout(travel)
            aid_ = log.add(env.now, asset, "crew_arrived", did, f"at node {node}")
            yield env.timeout(self.spec.hours(kind) * 3600.0)
            rid = log.add(env.now, asset, "repaired", aid_, f"{d} crew {c + 1}")
            self.engine.restore(asset, rid)
            self.location[d][c] = node or self.location[d][c]
            self.free[d].append(c)


def _population_per_asset(net: Any) -> dict[str, float]:
    """People served by each water and road asset: its district's population (pumps and
    reservoirs: everyone). Grid assets are valued by the buses they feed (see :class:`Crews`)."""
    out: dict[str, float] = {}
    if not len(net.district):
        return out
    pop = net.district.population.astype(float)
    for kind in ("pipe", "valve", "link", "signal", "node", "junction", "tank"):
        d = districts_of(net, kind)
        out.update({f"{kind}:{i}": float(pop.get(x, 0.0)) for i, x in d.items()})
    out.update({f"pump:{i}": float(pop.sum()) for i in net.pump.index})
    out.update({f"reservoir:{i}": float(pop.sum()) for i in net.reservoir.index})
    return out


def _bus_population(net: Any, pop: Any) -> dict[str, float]:
    loads = net.load
    if not len(loads):
        return {}
    dist = districts_of(net, "load")
    p = loads.p_mw.astype(float)
    share = p / p.groupby(dist).transform("sum").replace(0.0, np.nan)
    people = (share * dist.map(pop).astype(float)).fillna(0.0)
    return people.groupby(loads.bus).sum().to_dict()


def _lost_buses(engine: "Engine", asset: str) -> list[str]:
    """Buses that lose power when ``asset`` alone is out of the intact grid."""
    from twin.sim.grid import GridAdapter

    grid = engine.grid
    kind, _, aid = asset.partition(":")
    if grid is None or not grid.has(kind, aid):
        return []
    probe = GridAdapter.__new__(GridAdapter)
    probe.__dict__.update(grid.__dict__)
    probe.bus_on, probe.switch_closed = grid.g.bus_in_service.copy(), grid.g.switch_closed.copy()
    probe.on = {k: np.asarray(getattr(grid.g, k).in_service, bool).copy() for k in grid.on}
    probe.v, probe.dirty = None, True
    probe.set_out(kind, aid, True)
    from twin.solvers.grid.build import build_case

    case = build_case(probe._arrays(), bus_type=probe._bus_type, tap_side=probe._tap_side)
    energised = case.energised[case.bus_map]
    return [b for b, e in zip(grid.bus_ids, energised) if not e]


def _load_lost(engine: "Engine", asset: str) -> float:
    grid = engine.grid
    if grid is None:
        return 0.0
    lost = set(_lost_buses(engine, asset))
    loads = engine.network.load
    return float(loads.p_mw[loads.bus.isin(lost)].sum())
