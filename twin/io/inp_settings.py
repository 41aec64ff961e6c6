"""``settings["water"]`` <-> the .inp sections that hold model-wide settings.

[TITLE], [OPTIONS], [TIMES], [REPORT], the global lines of [ENERGY] and [REACTIONS],
[SOURCES], [LABELS] and [BACKDROP] become plain JSON-serialisable values in SI units and
seconds (keys documented in ``docs/water-settings.md``). EPANET's defaults fill what a file
leaves out, and EPANET's adjustments are applied (e.g. a hydraulic step longer than the
pattern step is cut to it), so the settings describe the model EPANET would run.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Container

from twin.errors import NetworkError
from twin.io.inp_sections import (
    InpFile, InpLine, SectionReader, format_number, format_si, keyword, parse_hours, to_number,
)
from twin.units import FLOW_UNITS, PRESSURE_UNITS, EpanetUnits, epanet_units

__all__ = ["clock", "default_settings", "read_settings", "read_sources", "settings_sections", "wall_factor"]

_MINPDIFF = 0.1  # EPANET's least gap between required and minimum pressure (file units)
_HEADLOSS = {"H-W": "H-W", "D-W": "D-W", "C-M": "C-M"}
_STATISTIC = (("NONE", "NONE"), ("NO", "NONE"), ("AVERAGE", "AVERAGE"), ("AVG", "AVERAGE"),
              ("MIN", "MINIMUM"), ("MAX", "MAXIMUM"), ("RANGE", "RANGE"))
_SOURCE_TYPES = (("CONC", "CONCEN"), ("MASS", "MASS"), ("SETP", "SETPOINT"), ("FLOW", "FLOWPACED"))
_TIME_KEYS = ("duration_s", "hydraulic_timestep_s", "quality_timestep_s", "rule_timestep_s",
              "pattern_timestep_s", "pattern_start_s", "report_timestep_s", "report_start_s",
              "start_clocktime_s")


def default_settings(flow_units: str = "LPS") -> dict[str, Any]:
    """EPANET's defaults for every ``settings["water"]`` key (SI units, seconds).

    Examples
    --------
    >>> d = default_settings("GPM")
    >>> d["headloss"], d["pressure_units"], d["hydraulic_timestep_s"], d["default_pattern"]
    ('H-W', 'PSI', 3600, '1')
    """
    units = epanet_units(flow_units)
    return {
        "title": [], "flow_units": units.flow_units, "pressure_units": units.pressure_units,
        "headloss": "H-W", "hydraulics_mode": None, "hydraulics_file": None,
        "quality_parameter": "NONE", "quality_chemical": None, "quality_units": None, "trace_node": None,
        "viscosity": 1.0, "diffusivity": 1.0, "specific_gravity": 1.0, "trials": 200, "accuracy": 0.001,
        "unbalanced": "STOP", "unbalanced_trials": 0, "default_pattern": "1", "demand_multiplier": 1.0,
        "emitter_exponent": 0.5, "emitter_backflow": True, "quality_tolerance": 0.01, "map_file": None,
        "check_frequency": 2, "max_check": 10, "damp_limit": 0.0, "head_error_m": 0.0,
        "flow_change_m3s": 0.0, "demand_model": "DDA", "minimum_pressure_m": 0.0,
        "required_pressure_m": _MINPDIFF * units.pressure, "pressure_exponent": 0.5,
        "duration_s": 0, "hydraulic_timestep_s": 3600, "quality_timestep_s": 360, "rule_timestep_s": 360,
        "pattern_timestep_s": 3600, "pattern_start_s": 0, "report_timestep_s": 3600, "report_start_s": 0,
        "start_clocktime_s": 0, "statistic": "NONE",
        "global_efficiency_pct": 75.0, "global_price": 0.0, "global_price_pattern": None, "demand_charge": 0.0,
        "bulk_order": 1.0, "wall_order": 1.0, "tank_order": 1.0, "global_bulk": 0.0, "global_wall": 0.0,
        "limiting_potential": 0.0, "roughness_correlation": 0.0,
        "sources": [], "report": [], "labels": [], "backdrop": [],
    }


# ============================================================================ reading


def read_settings(inp: InpFile, patterns: Container[str]) -> tuple[dict[str, Any], EpanetUnits]:
    """All settings of a file except [SOURCES] (which need the nodes), and the file's units.

    Raises
    ------
    InputFileError
        A malformed line; names the file, the line and the section.

    Examples
    --------
    >>> from twin.io.inp_sections import read_sections
    >>> settings, units = read_settings(read_sections("tests/data/water/Net1.inp"), {"1"})
    >>> settings["flow_units"], units.system, settings["duration_s"]
    ('GPM', 'US', 86400)
    """
    raw = _read_options(inp)
    units = epanet_units(raw.pop("flow_units", "GPM"), raw.pop("pressure_units", None))
    settings = default_settings(units.flow_units)
    settings["pressure_units"] = units.pressure_units
    settings.update(_options_to_si(raw, units))
    settings["title"] = [ln.text for ln in inp.data("TITLE")]
    settings.update(_read_times(inp))
    settings.update(_read_energy(inp, patterns))
    settings.update(_read_reactions(inp, units))
    settings["report"] = [list(ln.tokens) for ln in inp.data("REPORT")]
    settings["backdrop"] = [list(ln.tokens) for ln in inp.data("BACKDROP")]
    settings["labels"] = _read_labels(inp)
    return settings, units


def _read_options(inp: InpFile) -> dict[str, Any]:
    """[OPTIONS] values in the file's own units (pressures and flows not yet converted)."""
    sec = SectionReader(inp.path, "OPTIONS")
    out: dict[str, Any] = {}
    for line in inp.data("OPTIONS"):
        if len(line.tokens) < 2 and any(keyword(line.tokens[0], m[0]) for m in _VALUE_OPTIONS + _CHOICES):
            continue  # EPANET accepts an option without a value
        if not _option_choice(sec, line, out):
            _option_value(sec, line, out)
    return out


def _option_choice(sec: SectionReader, line: InpLine, out: dict[str, Any]) -> bool:
    """Options whose value is a word; False when the line holds a numeric option."""
    tok = line.tokens
    word = tok[1].upper() if len(tok) > 1 else ""
    if keyword(tok[0], "UNIT"):
        if word not in FLOW_UNITS:
            raise sec.error(line, f"unknown flow units {word!r}; expected one of {', '.join(FLOW_UNITS)}")
        out["flow_units"] = word
    elif keyword(tok[0], "PRES") and not word.startswith("EXPO"):
        press = "METERS" if word in ("M", "METER", "METRES") else word
        if press not in PRESSURE_UNITS:
            raise sec.error(line, f"unknown pressure units {word!r}; expected one of {', '.join(PRESSURE_UNITS)}")
        out["pressure_units"] = press
    elif keyword(tok[0], "HEADL"):
        if word not in _HEADLOSS:
            raise sec.error(line, f"unknown headloss formula {word!r}; expected H-W, D-W or C-M")
        out["headloss"] = word
    elif keyword(tok[0], "HYDR"):
        if len(tok) < 3 or word not in ("USE", "SAVE"):
            raise sec.error(line, "expected: HYDRAULICS USE|SAVE filename")
        out["hydraulics_mode"], out["hydraulics_file"] = word, tok[2]
    elif keyword(tok[0], "QUAL"):
        out.update(_quality_option(tok))
    elif keyword(tok[0], "MAP"):
        out["map_file"] = tok[1] if len(tok) > 1 else None
    elif keyword(tok[0], "UNBA"):
        out.update(_unbalanced_option(sec, line))
    elif keyword(tok[0], "PATT"):
        if len(tok) > 1:
            out["default_pattern"] = tok[1]
    elif keyword(tok[0], "DEMA") and word.startswith("MODE"):
        model = tok[2].upper() if len(tok) > 2 else ""
        if model not in ("DDA", "PDA"):
            raise sec.error(line, f"demand model must be DDA or PDA, got {model!r}")
        out["demand_model"] = model
    elif keyword(tok[0], "BACK") and word.startswith("ALLOW"):
        flag = tok[2].upper() if len(tok) > 2 else ""
        if flag not in ("YES", "NO"):
            raise sec.error(line, f"BACKFLOW ALLOWED must be YES or NO, got {flag!r}")
        out["emitter_backflow"] = flag == "YES"
    elif not keyword(tok[0], "VERI"):
        return False
    return True


def _quality_option(tok: list[str]) -> dict[str, Any]:
    if len(tok) < 2:
        return {}
    word = tok[1].upper()
    if word.startswith("NONE"):
        return {"quality_parameter": "NONE"}
    if word.startswith("AGE"):
        return {"quality_parameter": "AGE"}
    if word.startswith("TRAC"):
        return {"quality_parameter": "TRACE", "trace_node": tok[2] if len(tok) > 2 else None}
    name = "Chemical" if word.startswith("CHEM") else tok[1]
    return {"quality_parameter": "CHEMICAL", "quality_chemical": name,
            "quality_units": tok[2] if len(tok) > 2 else "mg/L"}


def _unbalanced_option(sec: SectionReader, line: InpLine) -> dict[str, Any]:
    tok = line.tokens
    word = tok[1].upper() if len(tok) > 1 else ""
    if word.startswith("STOP"):
        return {"unbalanced": "STOP", "unbalanced_trials": 0}
    if word.startswith("CONT"):
        trials = int(sec.number(line, 2, "extra trials", minimum=0)) if len(tok) > 2 else 0
        return {"unbalanced": "CONTINUE", "unbalanced_trials": trials}
    raise sec.error(line, f"UNBALANCED must be STOP or CONTINUE [n], got {word!r}")


#: Numeric options: (stem of the first word, key, kind) where kind is "any", ">=0" or ">0".
_VALUE_OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("TOLE", "quality_tolerance", ">=0"), ("DIFF", "diffusivity", ">=0"), ("DAMP", "damp_limit", "any"),
    ("FLOWC", "flow_change", ">=0"), ("HEADE", "head_error", ">=0"), ("MINI", "minimum_pressure", ">=0"),
    ("REQU", "required_pressure", ">=0"), ("PRES", "pressure_exponent", ">=0"),
    ("VISC", "viscosity", ">0"), ("SPEC", "specific_gravity", ">0"), ("TRIA", "trials", ">0"),
    ("ACCU", "accuracy", ">0"), ("HTOL", "htol", ">0"), ("QTOL", "qtol", ">0"), ("RQTOL", "rqtol", ">0"),
    ("CHECKF", "check_frequency", ">0"), ("MAXC", "max_check", ">0"), ("EMIT", "emitter_exponent", ">0"),
    ("DEMA", "demand_multiplier", ">0"),
)
_CHOICES = tuple((stem, "", "") for stem in ("UNIT", "PRES", "HEADL", "HYDR", "QUAL", "MAP", "UNBA", "PATT",
                                             "DEMA", "BACK", "VERI", "SEGM"))
_TWO_WORD = ("SPEC", "EMIT", "DEMA", "MINI", "REQU", "PRES")


def _option_value(sec: SectionReader, line: InpLine, out: dict[str, Any]) -> None:
    tok = line.tokens
    if keyword(tok[0], "SEGM"):
        return
    match = next((m for m in _VALUE_OPTIONS if keyword(tok[0], m[0])), None)
    if match is None:
        raise sec.error(line, f"unknown option {' '.join(tok[:2])!r}")
    stem, key, kind = match
    index = 2 if stem in _TWO_WORD else 1
    if len(tok) <= index:
        return  # EPANET accepts an option without a value
    value = sec.number(line, index, key.replace("_", " "), minimum=0.0 if kind == ">=0" else None,
                       positive=kind == ">0")
    if key == "accuracy":
        value = min(max(value, 1e-5), 1e-1)
    if key in ("trials", "check_frequency", "max_check"):
        value = int(value)
    if key == "rqtol" and value >= 1.0:
        raise sec.error(line, f"RQTOL must be < 1, got {tok[index]!r}")
    if key in ("minimum_pressure", "required_pressure"):
        _pressure_limits(sec, line, out, key, value)
        return
    out[key] = value


def _pressure_limits(sec: SectionReader, line: InpLine, out: dict[str, Any], key: str, value: float) -> None:
    """EPANET's rule: required pressure exceeds minimum pressure by at least 0.1 (file units)."""
    pmin = out.get("minimum_pressure", 0.0)
    preq = out.get("required_pressure", _MINPDIFF)
    if key == "minimum_pressure":
        if preq == _MINPDIFF:
            preq = value + _MINPDIFF
        elif preq - value < _MINPDIFF:
            raise sec.error(line, f"minimum pressure {value:g} is not at least 0.1 below the required pressure")
        out["minimum_pressure"], out["required_pressure"] = value, preq
    else:
        if value - pmin < _MINPDIFF:
            raise sec.error(line, f"required pressure {value:g} must exceed the minimum pressure by >= 0.1")
        out["required_pressure"] = value


def _options_to_si(raw: dict[str, Any], units: EpanetUnits) -> dict[str, Any]:
    out = dict(raw)
    # EPANET's default required pressure is 0.1 in the file's pressure unit (kPa, psi, ...)
    out.setdefault("required_pressure", _MINPDIFF)
    for key, quantity in (("minimum_pressure", "pressure"), ("required_pressure", "pressure"),
                          ("head_error", "length"), ("flow_change", "flow")):
        if key in out:
            suffix = "_m3s" if quantity == "flow" else "_m"
            out[key + suffix] = units.to_si(quantity, out.pop(key))
    for key, threshold in (("viscosity", 1e-3), ("diffusivity", 1e-4)):
        if key in out and out[key] <= threshold:  # an absolute value in ft2/s or m2/s
            out[key] = out[key] * units.length**2
    return out


def _read_times(inp: InpFile) -> dict[str, Any]:
    sec = SectionReader(inp.path, "TIMES")
    t: dict[str, Any] = {"duration_s": 0, "hydraulic_timestep_s": 3600, "quality_timestep_s": 0,
                         "rule_timestep_s": 0, "pattern_timestep_s": 3600, "pattern_start_s": 0,
                         "report_timestep_s": 3600, "report_start_s": 0, "start_clocktime_s": 0,
                         "statistic": "NONE"}
    for line in inp.data("TIMES"):
        tok = line.tokens
        sec.need(line, 2, "<parameter> <value> [units]")
        if keyword(tok[0], "STAT"):
            t["statistic"] = _statistic(sec, line)
            continue
        key = _time_key(tok)
        if key is None:
            raise sec.error(line, f"unknown time parameter {' '.join(tok[:-1])!r}")
        seconds = _time_seconds(sec, line)
        if key != "minimum_traveltime":
            t[key] = seconds % 86400 if key == "start_clocktime_s" else seconds
    return _adjust_times(t)


def _statistic(sec: SectionReader, line: InpLine) -> str:
    word = line.tokens[-1].upper()
    for stem, name in _STATISTIC:
        if word.startswith(stem):
            return name
    raise sec.error(line, f"unknown statistic {line.tokens[-1]!r}; expected NONE, AVERAGE, MINIMUM, MAXIMUM, RANGE")


def _time_key(tok: list[str]) -> str | None:
    second = tok[1].upper() if len(tok) > 2 else ""
    for stem, key in (("DURA", "duration_s"), ("HYDR", "hydraulic_timestep_s"), ("QUAL", "quality_timestep_s"),
                      ("RULE", "rule_timestep_s"), ("MINI", "minimum_traveltime")):
        if keyword(tok[0], stem):
            return key
    for stem, prefix in (("PATT", "pattern"), ("REPO", "report")):
        if keyword(tok[0], stem):
            if second.startswith("TIME"):
                return prefix + "_timestep_s"
            return prefix + "_start_s" if second.startswith("STAR") else None
    return "start_clocktime_s" if keyword(tok[0], "STAR") else None


def _time_seconds(sec: SectionReader, line: InpLine) -> int:
    """A [TIMES] value in whole seconds, rounded as EPANET does."""
    tok = line.tokens
    hours = to_number(tok[-1])
    if hours is None:
        hours = parse_hours(tok[-1])
    if hours is None and len(tok) > 2:
        hours = parse_hours(tok[-2], tok[-1])
    if hours is None or hours < 0:
        raise sec.error(line, f"invalid time {' '.join(tok[-2:])!r}; use hours, h:mm[:ss] or a value with units")
    return int(3600.0 * hours + 0.5)


def _adjust_times(t: dict[str, Any]) -> dict[str, Any]:
    """EPANET's adjustments of the time steps (``adjustdata``)."""
    if t["pattern_timestep_s"] <= 0:
        t["pattern_timestep_s"] = 3600
    if t["report_timestep_s"] == 0:
        t["report_timestep_s"] = t["pattern_timestep_s"]
    if t["hydraulic_timestep_s"] <= 0:
        t["hydraulic_timestep_s"] = 3600
    t["hydraulic_timestep_s"] = min(t["hydraulic_timestep_s"], t["pattern_timestep_s"], t["report_timestep_s"])
    if t["report_start_s"] > t["duration_s"]:
        t["report_start_s"] = 0
    hstep = t["hydraulic_timestep_s"]
    if t["quality_timestep_s"] == 0:
        t["quality_timestep_s"] = hstep // 10
    if t["rule_timestep_s"] == 0:
        t["rule_timestep_s"] = hstep // 10
    t["rule_timestep_s"] = min(t["rule_timestep_s"], hstep)
    t["quality_timestep_s"] = min(t["quality_timestep_s"], hstep)
    return t


def _read_energy(inp: InpFile, patterns: Container[str]) -> dict[str, Any]:
    """Global [ENERGY] lines (PUMP lines are read with the pumps)."""
    sec = SectionReader(inp.path, "ENERGY")
    out: dict[str, Any] = {}
    for line in inp.data("ENERGY"):
        tok = line.tokens
        sec.need(line, 3, "GLOBAL PRICE|PATTERN|EFFIC value, PUMP id PRICE|PATTERN|EFFIC value or DEMAND CHARGE value")
        if keyword(tok[0], "DEMA"):
            out["demand_charge"] = sec.number(line, 2, "demand charge", minimum=0.0)
        elif keyword(tok[0], "GLOB"):
            out.update(_global_energy(sec, line, patterns))
        elif not keyword(tok[0], "PUMP"):
            raise sec.error(line, f"unknown energy keyword {tok[0]!r}; expected GLOBAL, PUMP or DEMAND")
    return out


def _global_energy(sec: SectionReader, line: InpLine, patterns: Container[str]) -> dict[str, Any]:
    tok, n = line.tokens, len(line.tokens)
    if keyword(tok[n - 2], "PRIC"):
        return {"global_price": sec.number(line, n - 1, "price", minimum=0.0)}
    if keyword(tok[n - 2], "PATT"):
        if tok[n - 1] not in patterns:
            raise sec.error(line, f"pattern {tok[n - 1]!r} is not defined in [PATTERNS]")
        return {"global_price_pattern": tok[n - 1]}
    if keyword(tok[n - 2], "EFFI"):
        return {"global_efficiency_pct": sec.number(line, n - 1, "efficiency", positive=True)}
    raise sec.error(line, f"unknown energy parameter {tok[n - 2]!r}; expected PRICE, PATTERN or EFFICIENCY")


def wall_factor(order: float, units: EpanetUnits) -> float:
    """SI factor of a wall reaction coefficient: ft/day -> m/day (order 1), /ft2 -> /m2 (order 0).

    Examples
    --------
    >>> wall_factor(1.0, epanet_units("GPM")), wall_factor(1.0, epanet_units("LPS"))
    (0.3048, 1.0)
    """
    return units.length if order == 1.0 else 1.0 / units.length**2


def emitter_factor(exponent: float, units: EpanetUnits) -> float:
    """SI factor (m3/s per m**exponent) of an [EMITTERS] coefficient in a file with these units.

    EPANET 2.3 reads an emitter coefficient in flow units per psi**exponent (US flow units) or
    per m**exponent (SI flow units) whatever the file's PRESSURE option says (measured with the
    2.3.5 toolkit: LPS files with PRESSURE KPA, BAR or PSI give the emitter flow of PRESSURE
    METERS), so the factor uses the unit system's default pressure unit.

    Examples
    --------
    >>> emitter_factor(0.5, epanet_units("LPS", "KPA")) == emitter_factor(0.5, epanet_units("LPS"))
    True
    >>> round(emitter_factor(0.5, epanet_units("LPS", "KPA")), 12)
    0.001
    """
    return epanet_units(units.flow_units).emitter(exponent)


def _read_reactions(inp: InpFile, units: EpanetUnits) -> dict[str, Any]:
    """Global [REACTIONS] lines (BULK/WALL/TANK lines are read with the pipes and tanks)."""
    sec = SectionReader(inp.path, "REACTIONS")
    out: dict[str, Any] = {}
    for line in inp.data("REACTIONS"):
        tok = line.tokens
        if len(tok) < 3:
            continue  # EPANET skips short lines here
        value = sec.number(line, len(tok) - 1, "value")
        second = tok[1].upper()
        if keyword(tok[0], "ORDE"):
            key = next((k for s, k in (("BULK", "bulk_order"), ("TANK", "tank_order"), ("WALL", "wall_order"))
                        if second.startswith(s)), None)
            if key is None or (key == "wall_order" and value not in (0.0, 1.0)):
                raise sec.error(line, "expected ORDER BULK|TANK value or ORDER WALL 0|1")
            out[key] = value
        elif keyword(tok[0], "GLOB"):
            if not (second.startswith("BULK") or second.startswith("WALL")):
                raise sec.error(line, f"expected GLOBAL BULK|WALL value, got {second!r}")
            out["global_bulk" if second.startswith("BULK") else "global_wall"] = value
        elif keyword(tok[0], "LIMI"):
            out["limiting_potential"] = value
        elif keyword(tok[0], "ROUG"):
            out["roughness_correlation"] = value
        elif not any(keyword(tok[0], s) for s in ("BULK", "WALL", "TANK")):
            raise sec.error(line, f"unknown reaction keyword {tok[0]!r}")
    if "global_wall" in out:
        out["global_wall"] *= wall_factor(out.get("wall_order", 1.0), units)
    return out


def _read_labels(inp: InpFile) -> list[dict[str, Any]]:
    sec = SectionReader(inp.path, "LABELS")
    labels = []
    for line in inp.data("LABELS"):
        sec.need(line, 3, 'x y "label" [anchor node]')
        labels.append({"x": sec.number(line, 0, "x"), "y": sec.number(line, 1, "y"), "text": line.tokens[2],
                       "anchor": line.tokens[3] if len(line.tokens) > 3 else None})
    return labels


def read_sources(inp: InpFile, nodes: Container[str], patterns: Container[str]) -> list[dict[str, Any]]:
    """[SOURCES] as a list of ``{node, type, strength, pattern}`` (a later line for a node replaces it).

    Examples
    --------
    >>> from twin.io.inp_sections import InpLine
    >>> inp = InpFile("x.inp", {"SOURCES": [InpLine(9, ["R1", "MASS", "2.5"], "", "")]})
    >>> read_sources(inp, {"R1"}, set())
    [{'node': 'R1', 'type': 'MASS', 'strength': 2.5, 'pattern': None}]
    """
    sec = SectionReader(inp.path, "SOURCES")
    out: dict[str, dict[str, Any]] = {}
    for line in inp.data("SOURCES"):
        tok = line.tokens
        sec.need(line, 2, "node [CONCEN|MASS|SETPOINT|FLOWPACED] quality [pattern]")
        if tok[0] not in nodes:
            raise sec.error(line, f"node {tok[0]!r} is not defined")
        kind = next((name for stem, name in _SOURCE_TYPES if keyword(tok[1], stem)), None)
        i = 1 if kind is None else 2
        strength = sec.number(line, i, "source quality")
        pattern = tok[i + 1] if len(tok) > i + 1 and tok[i + 1] != "*" else None
        if pattern is not None and pattern not in patterns:
            raise sec.error(line, f"pattern {pattern!r} is not defined in [PATTERNS]")
        out[tok[0]] = {"node": tok[0], "type": kind or "CONCEN", "strength": strength, "pattern": pattern}
    return list(out.values())


# ============================================================================ writing


def _quote(token: str) -> str:
    return f'"{token}"' if (not token or any(c.isspace() for c in token)) else token


def settings_sections(settings: dict[str, Any], units: EpanetUnits) -> dict[str, list[str]]:
    """Lines of [TITLE], [OPTIONS], [TIMES], [REPORT], [ENERGY], [REACTIONS], [SOURCES],
    [LABELS] and [BACKDROP] (global lines only) for ``settings`` written in ``units``.

    Minimum and required pressure are left out when they are not 0.1 pressure units apart
    in ``units`` (EPANET's rule) and the demand model is DDA, where they play no part.

    Examples
    --------
    >>> lines = settings_sections(default_settings("GPM"), epanet_units("GPM"))
    >>> lines["OPTIONS"][:3], lines["TIMES"][0]
    (['UNITS GPM', 'PRESSURE PSI', 'HEADLOSS H-W'], 'DURATION 0:00:00')
    """
    s = {**default_settings(units.flow_units), **settings}
    return {
        "TITLE": [str(t) for t in s["title"]],
        "OPTIONS": _options_lines(s, units),
        "TIMES": _times_lines(s),
        "REPORT": [" ".join(_quote(t) for t in row) for row in s["report"]],
        "ENERGY": _energy_lines(s),
        "REACTIONS": _reaction_lines(s, units),
        "SOURCES": [f"{src['node']} {src['type']} {format_number(src['strength'])} {src['pattern'] or ''}".rstrip()
                    for src in s["sources"]],
        "LABELS": [f"{format_number(lb['x'])} {format_number(lb['y'])} \"{lb['text']}\" {lb['anchor'] or ''}".rstrip()
                   for lb in s["labels"]],
        "BACKDROP": [" ".join(_quote(t) for t in row) for row in s["backdrop"]],
    }


def _options_lines(s: dict[str, Any], units: EpanetUnits) -> list[str]:
    f: Callable[[float], str] = format_number
    pmin, preq = _pressure_pair(s, units)
    lines = [f"UNITS {units.flow_units}", f"PRESSURE {units.pressure_units}", f"HEADLOSS {s['headloss']}"]
    if s["hydraulics_mode"]:
        lines.append(f"HYDRAULICS {s['hydraulics_mode']} {_quote(s['hydraulics_file'])}")
    lines.append("QUALITY " + _quality_text(s))
    lines += [f"VISCOSITY {_absolute(s['viscosity'], 1e-3, units)}",
              f"DIFFUSIVITY {_absolute(s['diffusivity'], 1e-4, units)}",
              f"SPECIFIC GRAVITY {f(s['specific_gravity'])}", f"TRIALS {int(s['trials'])}",
              f"ACCURACY {f(s['accuracy'])}",
              "UNBALANCED " + ("STOP" if s["unbalanced"] == "STOP" else f"CONTINUE {int(s['unbalanced_trials'])}"),
              f"PATTERN {s['default_pattern']}", f"DEMAND MULTIPLIER {f(s['demand_multiplier'])}",
              f"EMITTER EXPONENT {f(s['emitter_exponent'])}", f"TOLERANCE {f(s['quality_tolerance'])}"]
    if s["map_file"]:
        lines.append(f"MAP {_quote(s['map_file'])}")
    lines += [f"CHECKFREQ {int(s['check_frequency'])}", f"MAXCHECK {int(s['max_check'])}",
              f"DAMPLIMIT {f(s['damp_limit'])}", f"HEADERROR {format_si(s['head_error_m'], units.length)}",
              f"FLOWCHANGE {format_si(s['flow_change_m3s'], units.flow)}", f"DEMAND MODEL {s['demand_model']}",
              f"PRESSURE EXPONENT {f(s['pressure_exponent'])}"]
    if float(preq) - float(pmin) >= _MINPDIFF:
        lines += [f"MINIMUM PRESSURE {pmin}", f"REQUIRED PRESSURE {preq}"]
    elif s["demand_model"] == "PDA":
        raise NetworkError(f"required pressure {preq} {units.pressure_units} must exceed the minimum pressure "
                           f"{pmin} by at least 0.1 {units.pressure_units} (EPANET's rule)")
    if not s["emitter_backflow"]:
        lines.append("BACKFLOW ALLOWED NO")
    lines += [f"{key.upper()} {f(s[key])}" for key in ("htol", "qtol", "rqtol") if s.get(key) is not None]
    return lines


def _quality_text(s: dict[str, Any]) -> str:
    param = s["quality_parameter"]
    if param == "TRACE":
        return f"TRACE {s['trace_node']}"
    if param == "CHEMICAL":
        return f"{_quote(s['quality_chemical'] or 'Chemical')} {_quote(s['quality_units'] or 'mg/L')}"
    return param


def _absolute(value: float, threshold: float, units: EpanetUnits) -> str:
    """Viscosity/diffusivity: relative values stay, absolute ones (m2/s) go to file units."""
    return format_number(value) if value > threshold else format_si(value, units.length**2)


def _pressure_pair(s: dict[str, Any], units: EpanetUnits) -> tuple[str, str]:
    """Minimum and required pressure in file units, the gap kept >= 0.1 against round-off."""
    pmin = format_si(s["minimum_pressure_m"], units.pressure)
    preq = format_si(s["required_pressure_m"], units.pressure)
    low, high = float(pmin), float(preq)
    if 0.0 < _MINPDIFF - (high - low) < 1e-9:
        while high - low < _MINPDIFF:
            high = math.nextafter(high, math.inf)
        preq = format_number(high)
    return pmin, preq


def clock(seconds: float) -> str:
    """Whole seconds as ``h:mm:ss`` (hours may exceed 24).

    Examples
    --------
    >>> clock(3600 * 26 + 65)
    '26:01:05'
    """
    total = int(seconds)
    return f"{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def _times_lines(s: dict[str, Any]) -> list[str]:
    names = ("DURATION", "HYDRAULIC TIMESTEP", "QUALITY TIMESTEP", "RULE TIMESTEP", "PATTERN TIMESTEP",
             "PATTERN START", "REPORT TIMESTEP", "REPORT START", "START CLOCKTIME")
    return [f"{name} {clock(s[key])}" for name, key in zip(names, _TIME_KEYS)] + [f"STATISTIC {s['statistic']}"]


def _energy_lines(s: dict[str, Any]) -> list[str]:
    lines = [f"GLOBAL EFFICIENCY {format_number(s['global_efficiency_pct'])}",
             f"GLOBAL PRICE {format_number(s['global_price'])}"]
    if s["global_price_pattern"]:
        lines.append(f"GLOBAL PATTERN {s['global_price_pattern']}")
    lines.append(f"DEMAND CHARGE {format_number(s['demand_charge'])}")
    return lines


def _reaction_lines(s: dict[str, Any], units: EpanetUnits) -> list[str]:
    f = format_number
    wall = format_si(s["global_wall"], wall_factor(s["wall_order"], units))
    return [f"ORDER BULK {f(s['bulk_order'])}", f"ORDER TANK {f(s['tank_order'])}",
            f"ORDER WALL {f(s['wall_order'])}", f"GLOBAL BULK {f(s['global_bulk'])}", f"GLOBAL WALL {wall}",
            f"LIMITING POTENTIAL {f(s['limiting_potential'])}",
            f"ROUGHNESS CORRELATION {f(s['roughness_correlation'])}"]


