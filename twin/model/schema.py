"""Declared schema of every asset table: columns, types, units, defaults and references.

Every table of a :class:`~twin.model.Network` is a GeoDataFrame (or a plain table for
non-spatial data such as patterns) indexed by a string asset ``id``. Its columns come from
the schema below. Water and traffic are in SI units; the grid is in MW, Mvar, kV and p.u.,
as pandapower users expect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

#: Layers of the city model, in the order they are reported.
LAYERS: tuple[str, ...] = ("water", "grid", "traffic", "city")


@dataclass(frozen=True)
class Column:
    """One declared column of an asset table.

    Parameters
    ----------
    name : str
        Column name (units as a suffix where they are not implied: ``length_m``).
    dtype : {"float", "int", "bool", "str"}
        Value type. ``str`` columns may be missing (``None``) unless ``required``.
    unit : str
        Unit of the values (``"1"`` for dimensionless, ``""`` for text).
    description : str
        What the value means, in the field's own words.
    required : bool
        Whether every row must have a value (no default is filled in).
    default : Any
        Value filled in where a non-required column is missing.
    references : tuple of str
        Table kinds whose ids this column refers to (e.g. a pipe's ``start_node``).
    minimum : float, optional
        Smallest valid value (inclusive), checked on load.
    """

    name: str
    dtype: str
    unit: str = "1"
    description: str = ""
    required: bool = False
    default: Any = None
    references: tuple[str, ...] = ()
    minimum: float | None = None
    positive: bool = False


@dataclass(frozen=True)
class TableSchema:
    """Schema of one asset kind: its layer, geometry type and columns."""

    kind: str
    layer: str
    geometry: str | None
    columns: tuple[Column, ...]
    description: str = ""
    by_name: Mapping[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", MappingProxyType({c.name: c for c in self.columns}))

    @property
    def names(self) -> list[str]:
        """Column names in declared order."""
        return [c.name for c in self.columns]

    def units(self) -> dict[str, str]:
        """Mapping column -> unit."""
        return {c.name: c.unit for c in self.columns}


def _c(name: str, dtype: str, unit: str = "1", description: str = "", **kw: Any) -> Column:
    return Column(name, dtype, unit, description, **kw)


_WATER_NODES = ("junction", "reservoir", "tank")
_WATER_LINKS = ("pipe", "pump", "valve")

_SCHEMAS: list[TableSchema] = [
    # ------------------------------------------------------------------ water
    TableSchema("junction", "water", "Point", (
        _c("elevation_m", "float", "m", "elevation above datum", required=True),
        _c("emitter_coefficient", "float", "m3/s/m^emitter_exponent",
           "emitter discharge coefficient K in q = K p^gamma (0: no emitter)", default=0.0, minimum=0.0),
        _c("initial_quality", "float", "1", "initial water quality (units of the quality option)", default=0.0),
    ), "demand node whose head is computed"),
    TableSchema("reservoir", "water", "Point", (
        _c("head_m", "float", "m", "total head (fixed grade)", required=True),
        _c("head_pattern", "str", "", "pattern multiplying the head", references=("pattern",)),
        _c("initial_quality", "float", "1", "initial water quality", default=0.0),
    ), "fixed-grade source node"),
    TableSchema("tank", "water", "Point", (
        _c("elevation_m", "float", "m", "bottom elevation", required=True),
        _c("initial_level_m", "float", "m", "initial water level above the bottom", required=True, minimum=0.0),
        _c("min_level_m", "float", "m", "minimum level", default=0.0, minimum=0.0),
        _c("max_level_m", "float", "m", "maximum level", required=True, minimum=0.0),
        _c("diameter_m", "float", "m", "nominal diameter (cylindrical tank)", default=0.0, minimum=0.0),
        _c("min_volume_m3", "float", "m3", "volume at minimum level", default=0.0, minimum=0.0),
        _c("volume_curve", "str", "", "volume curve (level m -> volume m3)", references=("curve",)),
        _c("overflow", "bool", "", "tank may overflow when full", default=False),
        _c("initial_quality", "float", "1", "initial water quality", default=0.0),
    ), "storage node with a variable level"),
    TableSchema("pipe", "water", "LineString", (
        _c("start_node", "str", "", "upstream node id", required=True, references=_WATER_NODES),
        _c("end_node", "str", "", "downstream node id", required=True, references=_WATER_NODES),
        _c("length_m", "float", "m", "pipe length", required=True, positive=True),
        _c("diameter_m", "float", "m", "internal diameter", required=True, positive=True),
        _c("roughness", "float", "1",
           "Hazen-Williams C (1), Darcy-Weisbach roughness height (m) or Manning n (s/m^(1/3)), "
           "per the water setting headloss", required=True, positive=True),
        _c("minor_loss", "float", "1", "minor loss coefficient K", default=0.0, minimum=0.0),
        _c("initial_status", "str", "", "OPEN, CLOSED or CV (check valve)", default="OPEN"),
        _c("bulk_coeff", "float", "1/day", "bulk reaction coefficient (blank: global)"),
        _c("wall_coeff", "float", "1/day", "wall reaction coefficient (blank: global)"),
    ), "pressurised pipe"),
    TableSchema("pump", "water", "LineString", (
        _c("start_node", "str", "", "suction node id", required=True, references=_WATER_NODES),
        _c("end_node", "str", "", "discharge node id", required=True, references=_WATER_NODES),
        _c("head_curve", "str", "", "head curve (flow m3/s -> head m)", references=("curve",)),
        _c("power_kw", "float", "kW", "constant power (when no head curve)", minimum=0.0),
        _c("speed", "float", "1", "relative speed setting", default=1.0, minimum=0.0),
        _c("speed_pattern", "str", "", "pattern of relative speed", references=("pattern",)),
        _c("initial_status", "str", "", "OPEN or CLOSED", default="OPEN"),
        _c("efficiency_curve", "str", "", "efficiency curve (flow m3/s -> %)", references=("curve",)),
        _c("energy_price", "float", "1/kWh", "energy price (blank: global)"),
        _c("price_pattern", "str", "", "energy price pattern", references=("pattern",)),
    ), "pump adding head between two nodes"),
    TableSchema("valve", "water", "LineString", (
        _c("start_node", "str", "", "upstream node id", required=True, references=_WATER_NODES),
        _c("end_node", "str", "", "downstream node id", required=True, references=_WATER_NODES),
        _c("diameter_m", "float", "m", "valve diameter", required=True, positive=True),
        _c("valve_type", "str", "", "PRV, PSV, PBV, FCV, TCV, GPV or PCV", required=True),
        _c("setting", "float", "1",
           "pressure (m) for PRV/PSV/PBV, flow (m3/s) for FCV, loss coefficient for TCV, "
           "open % for PCV; 0 for GPV", default=0.0),
        _c("curve", "str", "", "headloss curve (GPV) or loss-vs-opening curve (PCV)", references=("curve",)),
        _c("minor_loss", "float", "1", "minor loss coefficient K", default=0.0, minimum=0.0),
        _c("initial_status", "str", "", "ACTIVE (use the setting), OPEN or CLOSED", default="ACTIVE"),
    ), "control valve"),
    TableSchema("demand", "water", None, (
        _c("junction", "str", "", "junction id", required=True, references=("junction",)),
        _c("base_demand_m3s", "float", "m3/s", "base demand of this category", required=True),
        _c("pattern", "str", "", "demand pattern (blank: the default pattern)", references=("pattern",)),
        _c("category", "str", "", "demand category name"),
    ), "one demand category of a junction (a junction may have several, in order)"),
    TableSchema("pattern", "water", None, (
        _c("pattern", "str", "", "pattern id", required=True),
        _c("period", "int", "1", "period index from 0 (pattern step each)", required=True, minimum=0),
        _c("multiplier", "float", "1", "multiplier for this period", required=True),
    ), "time pattern of multipliers, one row per period"),
    TableSchema("curve", "water", None, (
        _c("curve", "str", "", "curve id", required=True),
        _c("curve_type", "str", "", "HEAD, EFFICIENCY, VOLUME, HEADLOSS, VALVE or GENERIC", default="GENERIC"),
        _c("point", "int", "1", "point index from 0", required=True, minimum=0),
        _c("x", "float", "SI", "x value in SI (flow m3/s, level m, % open)", required=True),
        _c("y", "float", "SI", "y value in SI (head m, efficiency %, volume m3, headloss m)", required=True),
    ), "data curve, one row per point"),
    TableSchema("control", "water", None, (
        _c("link", "str", "", "controlled link id", required=True, references=_WATER_LINKS),
        _c("status", "str", "", "OPEN, CLOSED, ACTIVE, or blank when a setting is given"),
        _c("setting", "float", "1", "setting value in SI (as the valve setting / pump speed)"),
        _c("condition", "str", "", "TIME, CLOCKTIME, BELOW or ABOVE", required=True),
        _c("node", "str", "", "node whose level/pressure is tested", references=_WATER_NODES),
        _c("threshold", "float", "m",
           "tank level (m) or junction pressure (m) for BELOW/ABOVE"),
        _c("time_s", "float", "s", "elapsed time (TIME) or time of day (CLOCKTIME) in seconds"),
        _c("enabled", "bool", "", "control is enabled", default=True),
    ), "simple control: one row per [CONTROLS] line, id = its order"),
    TableSchema("rule", "water", None, (
        _c("rule", "str", "", "rule id", required=True),
        _c("clause", "int", "1", "clause index within the rule", required=True, minimum=0),
        _c("keyword", "str", "", "IF, AND, OR, THEN, ELSE or PRIORITY", required=True),
        _c("object", "str", "", "NODE, JUNCTION, TANK, RESERVOIR, LINK, PIPE, PUMP, VALVE or SYSTEM"),
        _c("object_id", "str", "", "asset id of the object (blank for SYSTEM)"),
        _c("attribute", "str", "", "attribute tested or set (LEVEL, PRESSURE, STATUS, SETTING, TIME, ...)"),
        _c("relation", "str", "", "=, <>, <, >, <=, >=, IS, NOT, BELOW, ABOVE"),
        _c("value", "str", "", "value as written; numbers are converted to SI (m, m3/s, s)"),
    ), "rule-based control, one row per clause, in order"),
    # ------------------------------------------------------------------ grid
    TableSchema("bus", "grid", "Point", (
        _c("vn_kv", "float", "kV", "nominal (base) voltage", required=True, minimum=0.0),
        _c("bus_type", "str", "", "PQ, PV, REF or ISOLATED as given by the source (informative)", default="PQ"),
        _c("vm_pu", "float", "p.u.", "initial voltage magnitude", default=1.0),
        _c("va_degree", "float", "degree", "initial voltage angle", default=0.0),
        _c("min_vm_pu", "float", "p.u.", "lower voltage limit", default=0.9),
        _c("max_vm_pu", "float", "p.u.", "upper voltage limit", default=1.1),
        _c("zone", "str", "", "area or zone label"),
        _c("in_service", "bool", "", "bus is in service", default=True),
    ), "electrical node"),
    TableSchema("line", "grid", "LineString", (
        _c("from_bus", "str", "", "from bus id", required=True, references=("bus",)),
        _c("to_bus", "str", "", "to bus id", required=True, references=("bus",)),
        _c("length_km", "float", "km", "length", required=True, positive=True),
        _c("r_ohm_per_km", "float", "ohm/km", "series resistance", required=True, minimum=0.0),
        _c("x_ohm_per_km", "float", "ohm/km", "series reactance", required=True),
        _c("c_nf_per_km", "float", "nF/km", "shunt capacitance", default=0.0, minimum=0.0),
        _c("g_us_per_km", "float", "uS/km", "shunt conductance", default=0.0, minimum=0.0),
        _c("max_i_ka", "float", "kA", "thermal current limit", required=True, positive=True),
        _c("parallel", "int", "1", "number of parallel systems", default=1, minimum=1),
        _c("in_service", "bool", "", "line is in service", default=True),
    ), "overhead line or cable (pi model, pandapower parameters)"),
    TableSchema("transformer", "grid", "LineString", (
        _c("hv_bus", "str", "", "high-voltage bus id", required=True, references=("bus",)),
        _c("lv_bus", "str", "", "low-voltage bus id", required=True, references=("bus",)),
        _c("sn_mva", "float", "MVA", "rated apparent power", required=True, positive=True),
        _c("vn_hv_kv", "float", "kV", "rated high-side voltage", required=True, positive=True),
        _c("vn_lv_kv", "float", "kV", "rated low-side voltage", required=True, positive=True),
        _c("vk_percent", "float", "%", "short-circuit voltage", required=True, positive=True),
        _c("vkr_percent", "float", "%", "real part of the short-circuit voltage (may be negative on a "
           "star-equivalent winding of a three-winding transformer)", required=True),
        _c("pfe_kw", "float", "kW", "iron losses", default=0.0, minimum=0.0),
        _c("i0_percent", "float", "%", "open-loop current", default=0.0, minimum=0.0),
        _c("shift_degree", "float", "degree", "phase shift", default=0.0),
        _c("tap_side", "str", "", "hv or lv (blank: no tap changer)"),
        _c("tap_neutral", "int", "1", "neutral tap position", default=0),
        _c("tap_min", "int", "1", "lowest tap position", default=0),
        _c("tap_max", "int", "1", "highest tap position", default=0),
        _c("tap_step_percent", "float", "%", "voltage change per tap step", default=0.0),
        _c("tap_step_degree", "float", "degree", "angle change per tap step", default=0.0),
        _c("tap_pos", "int", "1", "current tap position", default=0),
        _c("parallel", "int", "1", "number of parallel units", default=1, minimum=1),
        _c("in_service", "bool", "", "transformer is in service", default=True),
    ), "two-winding transformer (pandapower parameters)"),
    TableSchema("branch", "grid", "LineString", (
        _c("from_bus", "str", "", "from bus id", required=True, references=("bus",)),
        _c("to_bus", "str", "", "to bus id", required=True, references=("bus",)),
        _c("r_pu", "float", "p.u.", "series resistance on the grid base_mva", required=True),
        _c("x_pu", "float", "p.u.", "series reactance on the grid base_mva", required=True),
        _c("b_pu", "float", "p.u.", "total line charging susceptance", default=0.0),
        _c("rate_a_mva", "float", "MVA", "long-term rating (0: unlimited)", default=0.0, minimum=0.0),
        _c("rate_b_mva", "float", "MVA", "short-term rating (0: unlimited)", default=0.0, minimum=0.0),
        _c("rate_c_mva", "float", "MVA", "emergency rating (0: unlimited)", default=0.0, minimum=0.0),
        _c("tap_ratio", "float", "1", "off-nominal turns ratio at the from side (0: line, i.e. 1)", default=0.0),
        _c("shift_degree", "float", "degree", "phase shift at the from side", default=0.0),
        _c("angle_min_degree", "float", "degree", "minimum angle difference", default=-360.0),
        _c("angle_max_degree", "float", "degree", "maximum angle difference", default=360.0),
        _c("in_service", "bool", "", "branch is in service", default=True),
    ), "branch in per unit on the system base (MATPOWER's branch model)"),
    TableSchema("switch", "grid", "LineString", (
        _c("bus", "str", "", "bus the switch is connected to", required=True, references=("bus",)),
        _c("element", "str", "", "other bus id (et=b) or line id (et=l) or transformer id (et=t)",
           required=True),
        _c("et", "str", "", "element type: b (bus-bus), l (bus-line), t (bus-transformer)", required=True),
        _c("closed", "bool", "", "switch is closed", default=True),
        _c("switch_type", "str", "", "LS, CB, LBS, DS (informative)"),
    ), "switch between a bus and another bus, a line or a transformer"),
    TableSchema("load", "grid", "Point", (
        _c("bus", "str", "", "bus id", required=True, references=("bus",)),
        _c("p_mw", "float", "MW", "active power consumed", required=True),
        _c("q_mvar", "float", "Mvar", "reactive power consumed", default=0.0),
        _c("scaling", "float", "1", "scaling factor", default=1.0),
        _c("in_service", "bool", "", "load is in service", default=True),
    ), "PQ load"),
    TableSchema("static_generator", "grid", "Point", (
        _c("bus", "str", "", "bus id", required=True, references=("bus",)),
        _c("p_mw", "float", "MW", "active power injected", required=True),
        _c("q_mvar", "float", "Mvar", "reactive power injected", default=0.0),
        _c("scaling", "float", "1", "scaling factor", default=1.0),
        _c("in_service", "bool", "", "in service", default=True),
    ), "PQ injection (PV array, small generation)"),
    TableSchema("generator", "grid", "Point", (
        _c("bus", "str", "", "bus id", required=True, references=("bus",)),
        _c("p_mw", "float", "MW", "active power set point", required=True),
        _c("q_mvar", "float", "Mvar", "reactive power (initial / when fixed)", default=0.0),
        _c("vm_pu", "float", "p.u.", "voltage set point", default=1.0),
        _c("min_q_mvar", "float", "Mvar", "reactive lower limit", default=-1e9),
        _c("max_q_mvar", "float", "Mvar", "reactive upper limit", default=1e9),
        _c("min_p_mw", "float", "MW", "active lower limit", default=0.0),
        _c("max_p_mw", "float", "MW", "active upper limit", default=1e9),
        _c("sn_mva", "float", "MVA", "machine base (MATPOWER mBase)", default=0.0),
        _c("slack", "bool", "", "generator is the reference (slack) of its island", default=False),
        _c("in_service", "bool", "", "in service", default=True),
    ), "voltage-controlled (PV) generator"),
    TableSchema("external_grid", "grid", "Point", (
        _c("bus", "str", "", "bus id", required=True, references=("bus",)),
        _c("vm_pu", "float", "p.u.", "voltage set point", default=1.0),
        _c("va_degree", "float", "degree", "angle set point", default=0.0),
        _c("in_service", "bool", "", "in service", default=True),
    ), "connection to the upstream grid (slack)"),
    TableSchema("shunt", "grid", "Point", (
        _c("bus", "str", "", "bus id", required=True, references=("bus",)),
        _c("p_mw", "float", "MW", "active power consumed at v = 1 p.u.", default=0.0),
        _c("q_mvar", "float", "Mvar", "reactive power consumed at v = 1 p.u. (negative: capacitive)",
           default=0.0),
        _c("step", "int", "1", "number of steps in service", default=1, minimum=0),
        _c("in_service", "bool", "", "in service", default=True),
    ), "shunt admittance"),
    # ------------------------------------------------------------------ traffic
    TableSchema("node", "traffic", "Point", (
        _c("control", "str", "", "intersection control: signal, priority, none", default="none"),
    ), "road intersection or zone centroid"),
    TableSchema("link", "traffic", "LineString", (
        _c("from_node", "str", "", "tail node id", required=True, references=("node",)),
        _c("to_node", "str", "", "head node id", required=True, references=("node",)),
        _c("capacity_vph", "float", "veh/h", "capacity", required=True, positive=True),
        _c("length_m", "float", "m", "length", required=True, minimum=0.0),
        _c("free_flow_time_s", "float", "s", "free-flow travel time", required=True, minimum=0.0),
        _c("bpr_alpha", "float", "1", "BPR coefficient B", default=0.15, minimum=0.0),
        _c("bpr_beta", "float", "1", "BPR power", default=4.0, minimum=0.0),
        _c("speed_limit_mps", "float", "m/s", "speed limit", default=0.0, minimum=0.0),
        _c("toll", "float", "1", "toll (network's currency unit)", default=0.0),
        _c("link_type", "int", "1", "link type code", default=1),
        _c("lanes", "int", "1", "number of lanes", default=1, minimum=0),
        _c("in_service", "bool", "", "link is open", default=True),
    ), "directed road link with a BPR cost"),
    TableSchema("signal", "traffic", "Point", (
        _c("node", "str", "", "signalised intersection node", required=True, references=("node",)),
        _c("dark_capacity_factor", "float", "1",
           "share of approach capacity left when the signal is dark (all-way stop)", default=0.5,
           minimum=0.0),
    ), "traffic signal controller at an intersection"),
    TableSchema("zone", "traffic", "Geometry", (
        _c("centroid_node", "str", "", "node where the zone's trips enter and leave", required=True,
           references=("node",)),
        _c("district", "str", "", "district the zone lies in", references=("district",)),
    ), "traffic analysis zone"),
    TableSchema("trips", "traffic", None, (
        _c("origin", "str", "", "origin zone id", required=True, references=("zone",)),
        _c("destination", "str", "", "destination zone id", required=True, references=("zone",)),
        _c("trips_vph", "float", "veh/h", "demand in the assignment period", required=True, minimum=0.0),
    ), "origin-destination demand, one row per pair"),
    # ------------------------------------------------------------------ city
    TableSchema("district", "city", "Geometry", (
        _c("name", "str", "", "district name"),
        _c("population", "float", "persons", "residents", default=0.0, minimum=0.0),
    ), "area for scorecards and equity weights"),
]

#: Schema of every table kind, by kind.
SCHEMAS: Mapping[str, TableSchema] = MappingProxyType({s.kind: s for s in _SCHEMAS})

#: Tables whose rows are points of a named series: other tables refer to the series by this
#: column's value (a demand's ``pattern`` names a pattern, not one row of it).
SERIES_KEY: Mapping[str, str] = MappingProxyType({"pattern": "pattern", "curve": "curve", "rule": "rule"})

#: Coupling relations: relation -> (allowed source kinds, allowed destination kinds).
#: ``None`` means any asset kind.
RELATIONS: Mapping[str, tuple[tuple[str, ...] | None, tuple[str, ...]]] = MappingProxyType({
    "fed_by": (("pump", "signal", "valve", "tank", "reservoir", "junction", "node"), ("bus",)),
    "accessed_via": (None, ("node",)),
    "located_in": (None, ("district",)),
})

#: Columns of the couplings table.
COUPLING_COLUMNS: tuple[Column, ...] = (
    _c("src_kind", "str", "", "kind of the dependent asset", required=True),
    _c("src", "str", "", "id of the dependent asset", required=True),
    _c("relation", "str", "", "fed_by, accessed_via or located_in", required=True),
    _c("dst_kind", "str", "", "kind of the asset depended upon", required=True),
    _c("dst", "str", "", "id of the asset depended upon", required=True),
    _c("backup_hours", "float", "h", "autonomy of a battery or generator after dst fails (fed_by)",
       default=0.0, minimum=0.0),
)


def kinds(layer: str | None = None) -> list[str]:
    """Table kinds, optionally of one layer, in declared order.

    Examples
    --------
    >>> kinds("grid")[:3]
    ['bus', 'line', 'transformer']
    """
    return [s.kind for s in _SCHEMAS if layer is None or s.layer == layer]


def schema(kind: str) -> TableSchema:
    """The schema of one table kind; raises ``KeyError`` naming the known kinds."""
    try:
        return SCHEMAS[kind]
    except KeyError:
        from twin.errors import AssetNotFoundError

        raise AssetNotFoundError(f"unknown table kind {kind!r}; known kinds: {', '.join(SCHEMAS)}") from None
