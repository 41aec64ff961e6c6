"""A small hand-built city whose cascade is known: feeder line L1 trips, bus MV2 loses power,
pump PU1 runs 2 h on backup then stops, tank T1 drains, pressures fall, a power crew repairs L1
and the pump restarts."""

from __future__ import annotations

from tests.conftest import build_small_city
from twin.model import Network
from twin.sim import CrewSpec, Event, RunConfig

#: When the line trips (s) and how long the repair takes (h).
TRIP_S = 3600.0
REPAIR_H = 4.0


def cascade_city() -> Network:
    """The conftest small city with a smaller tank (so it drains within hours) and constant demand."""
    net = build_small_city()
    net = net.set("tank", "T1", diameter_m=4.0, initial_level_m=3.0)
    net = net.with_table("pattern", [dict(id=f"D:{k}", pattern="D", period=k, multiplier=1.0) for k in range(3)])
    net = net.couple("line", "L1", "accessed_via", "node", "1")
    return net.couple("load", "LD1", "located_in", "district", "D1")


def cascade_config(**changes: object) -> RunConfig:
    """8 h at 15 min, one power crew at road node 3, PDA with 40 m required pressure (also the KPI threshold)."""
    base = dict(duration_s=8 * 3600.0, step_s=900.0, seed=1,
                crews=CrewSpec({"power": 1}, repair_hours={"power": REPAIR_H}, depot={"power": "3"}),
                water_settings={"demand_model": "PDA", "minimum_pressure_m": 0.0, "required_pressure_m": 40.0},
                pressure_threshold_m=40.0)
    base.update(changes)
    return RunConfig(**base)  # type: ignore[arg-type]


def cascade_events() -> list[Event]:
    """The line trip."""
    return [Event(TRIP_S, "outage", "line:L1", note="feeder trip")]
