"""Scenario files (``scenarios/*.toml``) validated with pydantic; errors name the file, the key
and what was expected."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import tomllib
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from twin.errors import ScenarioError

__all__ = ["Scenario", "load_scenario", "parse_at", "parse_duration", "scenario_from_dict"]

_STRICT = ConfigDict(extra="forbid")


def parse_duration(text: str | float | int) -> float:
    """Seconds in a duration: ``"24h"``, ``"15min"``, ``"90s"``, ``"1h30min"`` or a number of seconds.

    Examples
    --------
    >>> parse_duration("15min"), parse_duration("1h30min"), parse_duration(60)
    (900.0, 5400.0, 60.0)
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    try:
        return float(pd.Timedelta(str(text).strip()).total_seconds())
    except (ValueError, TypeError):
        raise ValueError(f"expected a duration such as '24h', '15min' or '90s', got {text!r}") from None


def parse_at(text: str | float | int, start: _dt.datetime) -> float:
    """Seconds from ``start`` of an event time: a clock time ``"14:00"`` (the first one at or
    after the start), an offset ``"+2h"``, or an ISO date-time.

    Examples
    --------
    >>> import datetime as dt
    >>> parse_at("14:00", dt.datetime(2026, 7, 14)), parse_at("+90min", dt.datetime(2026, 7, 14))
    (50400.0, 5400.0)
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    s = str(text).strip()
    if s.startswith("+"):
        return parse_duration(s[1:])
    if len(s) <= 8 and ":" in s:
        try:
            clock = _dt.time.fromisoformat(s)
        except ValueError:
            raise ValueError(f"expected a clock time 'HH:MM', got {text!r}") from None
        at = _dt.datetime.combine(start.date(), clock)
        return (at - start).total_seconds() % 86400.0
    try:
        return (_dt.datetime.fromisoformat(s) - start).total_seconds()
    except ValueError:
        raise ValueError(f"expected a clock time 'HH:MM', an offset like '+2h' or an ISO date-time, got {text!r}") \
            from None


class DemandSpec(BaseModel):
    """Demand multipliers of the run (a heat wave raises water and grid demand)."""

    model_config = _STRICT
    water_multiplier: float = Field(1.0, gt=0)
    grid_multiplier: float = Field(1.0, gt=0)
    traffic_multiplier: float = Field(1.0, gt=0)


class ProfilesSpec(BaseModel):
    """Time-of-day profiles: 24 hourly multipliers (hour 0 = 00:00-01:00 first) on top of the
    demand multipliers; water's applies on top of the network's own demand patterns.

    Examples
    --------
    >>> ProfilesSpec(grid_load=[1.0] * 24).layers()["grid"][:2]
    (1.0, 1.0)
    """

    model_config = _STRICT
    grid_load: list[float] | None = None
    water_demand: list[float] | None = None
    traffic_demand: list[float] | None = None

    @field_validator("grid_load", "water_demand", "traffic_demand")
    @classmethod
    def _hourly(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and len(v) != 24:
            raise ValueError(f"expected 24 hourly multipliers (hour 0 first), got {len(v)}")
        if v is not None and min(v) <= 0:
            raise ValueError(f"expected multipliers > 0, got {min(v)}")
        return v

    def layers(self) -> dict[str, tuple[float, ...]]:
        """The profiles by layer (``grid``, ``water``, ``traffic``), those given only."""
        pairs = (("grid", self.grid_load), ("water", self.water_demand), ("traffic", self.traffic_demand))
        return {layer: tuple(float(x) for x in v) for layer, v in pairs if v is not None}


class WaterSpec(BaseModel):
    """Water settings: demand model and the pressures that define service."""

    model_config = _STRICT
    demand_model: Literal["DDA", "PDA"] = "PDA"
    minimum_pressure_m: float = Field(0.0, ge=0)
    required_pressure_m: float = Field(15.0, gt=0)


class TrafficSpec(BaseModel):
    """Traffic assignment settings."""

    model_config = _STRICT
    rgap: float = Field(1e-4, gt=0)


class EventSpec(BaseModel):
    """One scheduled event (see :class:`twin.sim.Event`)."""

    model_config = _STRICT
    at: str | float
    kind: Literal["outage", "restoration", "switching", "setpoint", "demand"]
    asset: str = ""
    value: float | bool | None = None
    until: str | float | None = None
    duration: str | float | None = None
    repair: bool = True
    layer: Literal["", "water", "grid", "traffic"] = ""
    note: str = ""

    @field_validator("asset")
    @classmethod
    def _asset_form(cls, v: str) -> str:
        if v and ":" not in v:
            raise ValueError(f"expected 'kind:id' such as 'line:F7-1', got {v!r}")
        return v


class FragilitySpec(BaseModel):
    """Lognormal fragility curve: median intensity and log standard deviation."""

    model_config = _STRICT
    median: float = Field(gt=0)
    beta: float = Field(0.5, gt=0)


class HazardSpec(BaseModel):
    """A hazard footprint: a polygon (network CRS) or a district, an intensity, fragility per kind."""

    model_config = _STRICT
    name: str
    at: str | float
    kind: str = "flood"
    polygon: list[tuple[float, float]] | None = None
    district: str | None = None
    intensity: float = Field(gt=0)
    units: str = "m"
    fragility: dict[str, FragilitySpec]

    @field_validator("polygon")
    @classmethod
    def _ring(cls, v: list[tuple[float, float]] | None) -> list[tuple[float, float]] | None:
        if v is not None and len(v) < 3:
            raise ValueError(f"expected at least 3 [x, y] points, got {len(v)}")
        return v


class CrewsSpec(BaseModel):
    """Repair crews per discipline, their priority rule, repair hours and depots."""

    model_config = _STRICT
    power: int = Field(0, ge=0)
    water: int = Field(0, ge=0)
    roads: int = Field(0, ge=0)
    priority: Literal["served_population", "load", "fifo"] = "served_population"
    repair_hours: dict[str, float] = Field(default_factory=dict)
    depot: dict[str, str] = Field(default_factory=dict)


class KpiSpec(BaseModel):
    """KPI options."""

    model_config = _STRICT
    by: Literal["district", "asset"] = "district"
    pressure_threshold_m: float = Field(15.0, gt=0)


class Scenario(BaseModel):
    """A scenario file.

    Examples
    --------
    >>> s = Scenario(name="x", description="quiet day", duration="2h", step="15min")
    >>> s.duration_s, s.step_s
    (7200.0, 900.0)
    """

    model_config = _STRICT
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    network: str = "sample_city"
    start: _dt.datetime = _dt.datetime(2026, 1, 1)
    duration: str | float = "24h"
    step: str | float = "15min"
    seed: int | None = None
    layers: list[Literal["grid", "water", "traffic"]] = Field(default_factory=lambda: ["grid", "water", "traffic"])  # type: ignore[arg-type]
    demand: DemandSpec = Field(default_factory=lambda: DemandSpec.model_validate({}))
    profiles: ProfilesSpec = Field(default_factory=lambda: ProfilesSpec.model_validate({}))
    water: WaterSpec = Field(default_factory=lambda: WaterSpec.model_validate({}))
    traffic: TrafficSpec = Field(default_factory=lambda: TrafficSpec.model_validate({}))
    events: list[EventSpec] = Field(default_factory=list)
    hazards: list[HazardSpec] = Field(default_factory=list)
    random_failures: dict[str, float] = Field(default_factory=dict)
    crews: CrewsSpec | None = None
    kpis: KpiSpec = Field(default_factory=lambda: KpiSpec.model_validate({}))
    source: str = Field("", exclude=True)

    @field_validator("duration", "step")
    @classmethod
    def _positive(cls, v: str | float) -> str | float:
        if parse_duration(v) <= 0:
            raise ValueError(f"expected a positive duration, got {v!r}")
        return v

    @property
    def duration_s(self) -> float:
        """Duration (s)."""
        return parse_duration(self.duration)

    @property
    def step_s(self) -> float:
        """Reporting step (s)."""
        return parse_duration(self.step)

    def fingerprint(self) -> str:
        """SHA-256 of the scenario's content (for provenance and comparisons); sections left at
        their defaults that older files did not have (``profiles``) do not change it."""
        data = self.model_dump(mode="json")
        if not self.profiles.layers():
            data.pop("profiles")
        text = json.dumps(data, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def _key(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def scenario_error(err: ValidationError, path: str) -> ScenarioError:
    """A :class:`ScenarioError` naming the file, each key and what was expected."""
    lines = []
    for e in err.errors():
        key = _key(tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith(("function-", "literal")))))
        msg = e["msg"].removeprefix("Value error, ")
        got = f"; got {e['input']!r}" if e["type"] != "missing" and not isinstance(e["input"], dict) \
            and "got" not in msg else ""
        if e["type"] == "extra_forbidden":
            msg, got = "unknown key (check its spelling)", ""
        lines.append(f"{path}: [{key}] {msg}{got}")
    return ScenarioError("\n".join(lines))


def load_scenario(path: str | PathLike[str]) -> Scenario:
    """Read and validate a scenario TOML file.

    Raises
    ------
    ScenarioError
        Naming the file, the key and what was expected.

    Examples
    --------
    >>> s = load_scenario("scenarios/substation-outage-heatwave.toml")  # doctest: +SKIP
    >>> s.name  # doctest: +SKIP
    'substation-outage-heatwave'
    """
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{p}: no such scenario file") from None
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{p}: not valid TOML: {err}") from None
    return scenario_from_dict(data, str(p))


def scenario_from_dict(data: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate a scenario given as a mapping (``source`` names it in errors).

    Examples
    --------
    >>> scenario_from_dict({"name": "a", "description": "b"}).step
    '15min'
    """
    try:
        scenario = Scenario.model_validate({**data, "source": source})
    except ValidationError as err:
        raise scenario_error(err, source) from None
    for i, ev in enumerate(scenario.events):
        for key, value in (("at", ev.at), ("until", ev.until)):
            if value is None:
                continue
            try:
                parse_at(value, scenario.start)
            except ValueError as exc:
                raise ScenarioError(f"{source}: [events[{i}].{key}] {exc}") from None
        if ev.kind == "demand" and (not ev.layer or ev.value is None):
            raise ScenarioError(f"{source}: [events[{i}]] a demand event needs layer and value (a multiplier)")
        if ev.kind != "demand" and not ev.asset:
            raise ScenarioError(f"{source}: [events[{i}].asset] expected 'kind:id' for a {ev.kind} event")
    return scenario
