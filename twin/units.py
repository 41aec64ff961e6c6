"""Unit conversion for EPANET files: flow units, US customary and SI lengths, pressures.

twin stores water data in SI (m, m3/s, m3, kW, m of head). EPANET files use one of eleven
flow units, and the flow unit chooses the unit system of everything else: CFS, GPM, MGD, IMGD
and AFD imply US customary units (ft, in, psi, hp, ft3), the litre and cubic-metre units imply
SI (m, mm, m of head, kW, m3).

Lengths and flows use exact factors (1 ft = 0.3048 m, 1 US gal = 3.785411784 L,
1 imperial gal = 4.54609 L). Pressure and power follow EPANET's own conventions, because an
EPANET file means what EPANET makes of it: EPANET converts a head of 1 ft of water to
0.4333 psi (``PSIperFT``), 1 psi to 6.895 kPa and to 0.068948 bar, and 1 hp to 0.7457 kW.
So a pressure of ``p`` psi is a head of ``p / 0.4333`` ft, i.e. ``p / 0.4333 * 0.3048`` m of water.
(EPANET further divides pressures by its SPECIFIC GRAVITY option to get the head of the fluid;
that factor is a model setting, not a unit, and is left to the solver.)

Examples
--------
>>> u = epanet_units("GPM")
>>> round(u.to_si("flow", 100.0), 9)  # 100 gpm in m3/s
0.00630902
>>> u.to_si("length", 1.0), round(u.to_si("diameter", 12.0), 12)
(0.3048, 0.3048)
>>> round(u.to_si("pressure", 0.4333), 12)  # 0.4333 psi is one foot of water
0.3048
>>> epanet_units("LPS").pressure_units
'METERS'
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping, TypeVar

import numpy as np

__all__ = [
    "ACRE_FOOT", "CUBIC_FOOT", "EPANET_BAR_PER_PSI", "EPANET_KPA_PER_PSI", "EPANET_KW_PER_HP",
    "EPANET_PSI_PER_FOOT", "FLOW_UNITS", "FOOT", "IMPERIAL_GALLON", "INCH", "PRESSURE_UNITS",
    "QUANTITIES", "SI_FLOW_UNITS", "US_FLOW_UNITS", "US_GALLON", "EpanetUnits",
    "default_pressure_units", "epanet_units", "unit_system",
]

#: One international foot in metres (exact).
FOOT = 0.3048
#: One inch in metres (exact).
INCH = 0.0254
#: One cubic foot in cubic metres (exact).
CUBIC_FOOT = FOOT**3
#: One US liquid gallon in cubic metres (exact).
US_GALLON = 3.785411784e-3
#: One imperial gallon in cubic metres (exact).
IMPERIAL_GALLON = 4.54609e-3
#: One acre-foot (43,560 ft3) in cubic metres.
ACRE_FOOT = 43560.0 * CUBIC_FOOT
_DAY = 86400.0

#: EPANET's psi per foot of water head (``PSIperFT`` in EPANET's types.h).
EPANET_PSI_PER_FOOT = 0.4333
#: EPANET's kPa per psi.
EPANET_KPA_PER_PSI = 6.895
#: EPANET's bar per psi.
EPANET_BAR_PER_PSI = 0.068948
#: EPANET's kW per (mechanical) horsepower (``KWperHP``).
EPANET_KW_PER_HP = 0.7457

#: Cubic metres per second in one unit of each EPANET flow unit (exact SI factors).
FLOW_UNITS: Mapping[str, float] = MappingProxyType({
    "CFS": CUBIC_FOOT,
    "GPM": US_GALLON / 60.0,
    "MGD": 1e6 * US_GALLON / _DAY,
    "IMGD": 1e6 * IMPERIAL_GALLON / _DAY,
    "AFD": ACRE_FOOT / _DAY,
    "LPS": 1e-3,
    "LPM": 1e-3 / 60.0,
    "MLD": 1e3 / _DAY,
    "CMH": 1.0 / 3600.0,
    "CMD": 1.0 / _DAY,
    "CMS": 1.0,
})
#: Flow units that imply US customary units for every other quantity.
US_FLOW_UNITS: tuple[str, ...] = ("CFS", "GPM", "MGD", "IMGD", "AFD")
#: Flow units that imply SI units for every other quantity.
SI_FLOW_UNITS: tuple[str, ...] = ("LPS", "LPM", "MLD", "CMH", "CMD", "CMS")

#: Metres of water head in one unit of each EPANET pressure unit (EPANET's conventions).
PRESSURE_UNITS: Mapping[str, float] = MappingProxyType({
    "PSI": FOOT / EPANET_PSI_PER_FOOT,
    "KPA": FOOT / (EPANET_PSI_PER_FOOT * EPANET_KPA_PER_PSI),
    "BAR": FOOT / (EPANET_PSI_PER_FOOT * EPANET_BAR_PER_PSI),
    "METERS": 1.0,
    "FEET": FOOT,
})

#: Quantities known to :class:`EpanetUnits` (``"none"`` is dimensionless).
QUANTITIES: tuple[str, ...] = ("flow", "length", "diameter", "pressure", "volume", "power",
                               "dw_roughness", "none")

_T = TypeVar("_T", float, np.ndarray)


def unit_system(flow_units: str) -> str:
    """``"US"`` or ``"SI"``: the unit system an EPANET flow unit implies.

    Examples
    --------
    >>> unit_system("gpm"), unit_system("CMH")
    ('US', 'SI')
    """
    key = flow_units.upper()
    if key in US_FLOW_UNITS:
        return "US"
    if key in SI_FLOW_UNITS:
        return "SI"
    raise ValueError(f"unknown flow units {flow_units!r}; expected one of {', '.join(FLOW_UNITS)}")


def default_pressure_units(flow_units: str) -> str:
    """EPANET's pressure unit when a file names none: PSI for US flow units, METERS for SI.

    Examples
    --------
    >>> default_pressure_units("CFS"), default_pressure_units("LPS")
    ('PSI', 'METERS')
    """
    return "PSI" if unit_system(flow_units) == "US" else "METERS"


@dataclass(frozen=True)
class EpanetUnits:
    """SI factors of one EPANET file's units: ``si_value = file_value * factor``.

    Parameters
    ----------
    flow_units : str
        EPANET flow unit (``GPM``, ``LPS``, ...).
    pressure_units : str
        EPANET pressure unit (``PSI``, ``KPA``, ``BAR``, ``METERS``, ``FEET``).
    system : str
        ``"US"`` or ``"SI"`` (from the flow unit).
    flow, length, diameter, pressure, volume, power, dw_roughness : float
        m3/s per flow unit; m per ft or m; m per inch or mm; m of head per pressure unit;
        m3 per ft3 or m3; kW per hp or kW; m per millifoot or mm (Darcy-Weisbach roughness).
    """

    flow_units: str
    pressure_units: str
    system: str
    flow: float
    length: float
    diameter: float
    pressure: float
    volume: float
    power: float
    dw_roughness: float

    def factor(self, quantity: str) -> float:
        """SI value of one file unit of ``quantity`` (one of :data:`QUANTITIES`)."""
        if quantity == "none":
            return 1.0
        if quantity not in QUANTITIES:
            raise ValueError(f"unknown quantity {quantity!r}; expected one of {', '.join(QUANTITIES)}")
        return float(getattr(self, quantity))

    def to_si(self, quantity: str, value: _T) -> _T:
        """Convert a value (or array) in the file's units of ``quantity`` to SI.

        Examples
        --------
        >>> epanet_units("CMH").to_si("flow", 3600.0)
        1.0
        """
        return value * self.factor(quantity)

    def from_si(self, quantity: str, value: _T) -> _T:
        """Convert an SI value (or array) of ``quantity`` to the file's units.

        Examples
        --------
        >>> epanet_units("LPS").from_si("diameter", 0.3)
        300.0
        """
        return value / self.factor(quantity)

    def emitter(self, exponent: float) -> float:
        """SI factor of an emitter coefficient ``K`` in ``q = K p**exponent``.

        The file gives ``K`` in flow units per (pressure unit)**exponent; the SI value is in
        m3/s per (m of head)**exponent.

        Examples
        --------
        >>> round(epanet_units("LPS").emitter(0.5), 12)
        0.001
        """
        return self.flow / self.pressure**exponent


def epanet_units(flow_units: str, pressure_units: str | None = None) -> EpanetUnits:
    """The SI factors of an EPANET file with these flow (and pressure) units.

    Parameters
    ----------
    flow_units : str
        One of :data:`FLOW_UNITS` (case-insensitive).
    pressure_units : str, optional
        One of :data:`PRESSURE_UNITS` (``M`` is accepted for ``METERS``); default: EPANET's
        default for the unit system (:func:`default_pressure_units`).

    Returns
    -------
    EpanetUnits

    Examples
    --------
    >>> u = epanet_units("GPM", "KPA")
    >>> u.system, u.pressure_units
    ('US', 'KPA')
    >>> epanet_units("CMD").volume
    1.0
    """
    flow_key = flow_units.upper()
    system = unit_system(flow_key)
    press = (pressure_units or default_pressure_units(flow_key)).upper()
    press = "METERS" if press in ("M", "METER", "METRES", "METRE") else press
    if press not in PRESSURE_UNITS:
        raise ValueError(f"unknown pressure units {pressure_units!r}; expected one of {', '.join(PRESSURE_UNITS)}")
    us = system == "US"
    return EpanetUnits(
        flow_units=flow_key, pressure_units=press, system=system,
        flow=FLOW_UNITS[flow_key],
        length=FOOT if us else 1.0,
        diameter=INCH if us else 1e-3,
        pressure=PRESSURE_UNITS[press],
        volume=CUBIC_FOOT if us else 1.0,
        power=EPANET_KW_PER_HP if us else 1.0,
        dw_roughness=1e-3 * FOOT if us else 1e-3,
    )
