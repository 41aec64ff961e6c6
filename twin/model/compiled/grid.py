"""Compile the grid layer to flat arrays (MW, Mvar, kV, ohm, p.u.) for the power-flow solver."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

import numpy as np
import pandas as pd

from twin.model.compiled.common import frozen, ids, positions

if TYPE_CHECKING:
    from twin.model.network import Network

#: Columns compiled per grid element kind (bus references become ``<column>`` index arrays).
_FIELDS: Mapping[str, tuple[str, ...]] = {
    "line": ("from_bus", "to_bus", "length_km", "r_ohm_per_km", "x_ohm_per_km", "c_nf_per_km", "g_us_per_km",
             "max_i_ka", "parallel", "in_service"),
    "transformer": ("hv_bus", "lv_bus", "sn_mva", "vn_hv_kv", "vn_lv_kv", "vk_percent", "vkr_percent", "pfe_kw",
                    "i0_percent", "shift_degree", "tap_neutral", "tap_min", "tap_max", "tap_step_percent",
                    "tap_step_degree", "tap_pos", "parallel", "in_service"),
    "branch": ("from_bus", "to_bus", "r_pu", "x_pu", "b_pu", "rate_a_mva", "tap_ratio", "shift_degree",
               "in_service"),
    "load": ("bus", "p_mw", "q_mvar", "scaling", "in_service"),
    "static_generator": ("bus", "p_mw", "q_mvar", "scaling", "in_service"),
    "generator": ("bus", "p_mw", "q_mvar", "vm_pu", "min_q_mvar", "max_q_mvar", "slack", "in_service"),
    "external_grid": ("bus", "vm_pu", "va_degree", "in_service"),
    "shunt": ("bus", "p_mw", "q_mvar", "step", "in_service"),
}
_BUS_REFS = {"from_bus", "to_bus", "hv_bus", "lv_bus", "bus"}


@dataclass(frozen=True, eq=False)
class ElementArrays:
    """One grid element kind as arrays: ``ids`` plus one array per compiled column
    (bus references as integer bus positions)."""

    kind: str
    ids: np.ndarray
    columns: Mapping[str, np.ndarray]

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.columns[name]
        except KeyError:
            raise AttributeError(f"{self.kind} arrays have no column {name!r}") from None

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, eq=False)
class GridArrays:
    """The grid layer as flat, read-only arrays.

    ``tap_side_hv`` is True where a transformer's tap changer is on the HV side. Switches are
    given as ``switch_bus``, ``switch_element`` (bus, line or transformer position),
    ``switch_et`` (0 bus, 1 line, 2 transformer) and ``switch_closed``.
    """

    base_mva: float
    f_hz: float
    bus_ids: np.ndarray
    vn_kv: np.ndarray
    bus_in_service: np.ndarray
    vm_pu_init: np.ndarray
    va_degree_init: np.ndarray
    elements: Mapping[str, ElementArrays]
    tap_side_hv: np.ndarray
    switch_ids: np.ndarray
    switch_bus: np.ndarray
    switch_element: np.ndarray
    switch_et: np.ndarray
    switch_closed: np.ndarray

    def __getattr__(self, name: str) -> ElementArrays:
        try:
            return self.elements[name]
        except KeyError:
            raise AttributeError(f"GridArrays has no element kind {name!r}") from None

    @property
    def n_buses(self) -> int:
        """Number of buses."""
        return len(self.bus_ids)


def compile_grid(net: "Network") -> GridArrays:
    """Compile the grid layer of ``net`` to :class:`GridArrays`.

    ``base_mva`` and ``f_hz`` come from ``net.settings["grid"]`` (defaults 1 MVA and 50 Hz,
    as pandapower).

    Examples
    --------
    >>> import twin
    >>> g = twin.model.compile_grid(twin.datasets.sample_city())
    >>> g.n_buses == len(twin.datasets.sample_city().bus)
    True
    """
    t = net.tables
    bus = t["bus"]
    lookup = pd.Index(bus.index)
    elements = {kind: _element(t[kind], kind, cols, lookup) for kind, cols in _FIELDS.items()}
    sw = t["switch"]
    et_code = sw.et.map({"b": 0, "l": 1, "t": 2}).to_numpy()
    target = np.full(len(sw), -1, dtype=np.int64)
    for code, kind in ((0, "bus"), (1, "line"), (2, "transformer")):
        mask = et_code == code
        if mask.any():
            target[mask] = positions(sw.element[mask], pd.Index(t[kind].index), "element", "switch")
    settings = net.settings.get("grid", {})
    return GridArrays(
        base_mva=float(settings.get("base_mva", 1.0)),
        f_hz=float(settings.get("f_hz", 50.0)),
        bus_ids=ids(bus.index),
        vn_kv=frozen(bus.vn_kv.to_numpy(float)),
        bus_in_service=frozen(bus.in_service.to_numpy(bool), bool),
        vm_pu_init=frozen(bus.vm_pu.to_numpy(float)),
        va_degree_init=frozen(bus.va_degree.to_numpy(float)),
        elements=elements,
        tap_side_hv=frozen((t["transformer"].tap_side == "hv").to_numpy(bool), bool),
        switch_ids=ids(sw.index),
        switch_bus=positions(sw.bus, lookup, "bus", "switch"),
        switch_element=frozen(target, np.int64),
        switch_et=frozen(np.nan_to_num(et_code.astype(float), nan=-1), np.int8),
        switch_closed=frozen(sw.closed.to_numpy(bool), bool),
    )


def _element(table: pd.DataFrame, kind: str, cols: tuple[str, ...], lookup: pd.Index) -> ElementArrays:
    columns = {}
    for c in cols:
        if c in _BUS_REFS:
            columns[c] = positions(table[c], lookup, c, kind)
        else:
            columns[c] = frozen(table[c].to_numpy(), table[c].dtype)
    return ElementArrays(kind=kind, ids=ids(table.index), columns=columns)
