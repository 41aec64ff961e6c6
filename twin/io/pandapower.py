"""Import a pandapower net as a twin :class:`~twin.model.Network` (grid layer only).

twin's grid tables use pandapower's column names and units, so the import is element by
element: ``bus``, ``line``, ``trafo`` (with ratio tap changers) -> ``transformer``, ``switch``
(bus-bus, bus-line and bus-trafo), ``load``, ``sgen`` -> ``static_generator``, ``gen`` ->
``generator``, ``ext_grid`` -> ``external_grid`` and ``shunt``. Ids are the pandapower indices as
strings; the pandapower ``name`` is kept as the extra column ``name``. ``net.sn_mva`` and
``net.f_hz`` become ``settings["grid"]["base_mva"]`` and ``["f_hz"]``.

What cannot be represented faithfully is refused with a :class:`~twin.errors.NetworkError`
naming the table and the row: in-service three-winding transformers, wards, impedances, DC
lines, storage, motors, voltage-dependent (ZIP) loads, ideal phase shifters and tap-dependent
impedance tables. Line and transformer derating factors ``df`` are folded into ``max_i_ka``
(lines); shunts rated at another voltage than their bus are rescaled to the bus voltage.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from twin.errors import NetworkError
from twin.model.network import Network

__all__ = ["from_pandapower"]

_UNSUPPORTED = ("trafo3w", "ward", "xward", "impedance", "dcline", "storage", "motor", "svc", "ssc", "tcsc",
                "vsc", "asymmetric_load", "asymmetric_sgen")


def _col(df: pd.DataFrame, name: str, default: Any) -> pd.Series:
    """A column of ``df``, or ``default`` everywhere when it is missing; NaN filled with ``default``."""
    if name not in df:
        return pd.Series(default, index=df.index)
    out = df[name]
    return out.where(out.notna(), default) if out.dtype == object else out.fillna(default)


def _ids(index: pd.Index) -> list[str]:
    return [str(i) for i in index]


def _point(geo: Any) -> Any:
    """A shapely Point from a pandapower 3 ``geo`` GeoJSON string (None when absent)."""
    if not isinstance(geo, str):
        return None
    from shapely.geometry import shape

    try:
        return shape(json.loads(geo))
    except (ValueError, TypeError, KeyError):
        return None


def _check_supported(pnet: Any) -> None:
    for table in _UNSUPPORTED:
        df = pnet[table] if table in pnet else None
        if df is not None and len(df) and _col(df, "in_service", True).astype(bool).any():
            first = df.index[_col(df, "in_service", True).astype(bool).to_numpy()][0]
            raise NetworkError(f"pandapower {table} {first} ({len(df)} rows in that table) cannot be imported: "
                               f"twin has no {table} model; take it out of service or replace it")
    load = pnet["load"]
    for c in ("const_z_percent", "const_i_percent", "const_z_p_percent", "const_i_p_percent",
              "const_z_q_percent", "const_i_q_percent"):
        if c in load and (load[c].fillna(0) != 0).any():
            first = load.index[(load[c].fillna(0) != 0).to_numpy()][0]
            raise NetworkError(f"pandapower load {first}: {c} is set; twin models constant-power loads only")
    trafo = pnet["trafo"]
    if "tap_changer_type" in trafo and (trafo.tap_changer_type == "Ideal").any():
        first = trafo.index[(trafo.tap_changer_type == "Ideal").to_numpy()][0]
        raise NetworkError(f"pandapower trafo {first}: ideal phase-shifting tap changers are not supported")
    if "tap_dependency_table" in trafo and trafo.tap_dependency_table.fillna(False).astype(bool).any():
        first = trafo.index[trafo.tap_dependency_table.fillna(False).astype(bool).to_numpy()][0]
        raise NetworkError(f"pandapower trafo {first}: tap-dependent impedance tables are not supported")


def _buses(pnet: Any) -> list[dict[str, Any]]:
    bus = pnet["bus"]
    geo = _col(bus, "geo", None)
    return [dict(id=str(i), vn_kv=float(b.vn_kv), in_service=bool(b.in_service), name=_name(b),
                 zone=None if pd.isna(_col(bus, "zone", None)[i]) else str(bus.zone[i]),
                 min_vm_pu=float(_col(bus, "min_vm_pu", 0.9)[i]), max_vm_pu=float(_col(bus, "max_vm_pu", 1.1)[i]),
                 geometry=_point(geo[i])) for i, b in bus.iterrows()]


def _name(row: pd.Series) -> str | None:
    name = row.get("name")
    return None if name is None or (isinstance(name, float) and np.isnan(name)) else str(name)


def _lines(pnet: Any) -> list[dict[str, Any]]:
    line = pnet["line"]
    g_us = _col(line, "g_us_per_km", 0.0)
    df = _col(line, "df", 1.0)
    return [dict(id=str(i), from_bus=str(r.from_bus), to_bus=str(r.to_bus), length_km=float(r.length_km),
                 r_ohm_per_km=float(r.r_ohm_per_km), x_ohm_per_km=float(r.x_ohm_per_km),
                 c_nf_per_km=float(r.c_nf_per_km), g_us_per_km=float(g_us[i]), max_i_ka=float(r.max_i_ka * df[i]),
                 parallel=int(r.parallel), in_service=bool(r.in_service), name=_name(r))
            for i, r in line.iterrows()]


def _transformers(pnet: Any) -> list[dict[str, Any]]:
    tr = pnet["trafo"]
    side = _col(tr, "tap_side", None)
    out = []
    for i, t in tr.iterrows():
        tapped = isinstance(side[i], str) and side[i] in ("hv", "lv")
        num = (lambda c, d=0.0: float(_col(tr, c, d)[i]) if tapped else d)  # noqa: E731
        out.append(dict(
            id=str(i), hv_bus=str(t.hv_bus), lv_bus=str(t.lv_bus), sn_mva=float(t.sn_mva),
            vn_hv_kv=float(t.vn_hv_kv), vn_lv_kv=float(t.vn_lv_kv), vk_percent=float(t.vk_percent),
            vkr_percent=float(t.vkr_percent), pfe_kw=float(t.pfe_kw), i0_percent=float(t.i0_percent),
            shift_degree=float(_col(tr, "shift_degree", 0.0)[i]), tap_side=side[i] if tapped else None,
            tap_neutral=int(num("tap_neutral")), tap_min=int(num("tap_min")), tap_max=int(num("tap_max")),
            tap_step_percent=num("tap_step_percent"), tap_step_degree=num("tap_step_degree"),
            tap_pos=int(round(num("tap_pos", num("tap_neutral")))), parallel=int(t.parallel),
            in_service=bool(t.in_service), name=_name(t)))
    return out


def _switches(pnet: Any) -> list[dict[str, Any]]:
    sw = pnet["switch"]
    bad = ~sw.et.isin(["b", "l", "t"])
    if bad.any():
        first = sw.index[bad.to_numpy()][0]
        raise NetworkError(f"pandapower switch {first}: element type {sw.et[first]!r} is not supported "
                           "(use b, l or t)")
    return [dict(id=str(i), bus=str(s.bus), element=str(s.element), et=str(s.et), closed=bool(s.closed),
                 switch_type=None if pd.isna(s.get("type")) else str(s.get("type"))) for i, s in sw.iterrows()]


def _injections(pnet: Any) -> dict[str, list[dict[str, Any]]]:
    load, sgen, gen, ext, sh = (pnet[k] for k in ("load", "sgen", "gen", "ext_grid", "shunt"))
    vn = pnet["bus"].vn_kv
    tables: dict[str, list[dict[str, Any]]] = {}
    for kind, df in (("load", load), ("static_generator", sgen)):
        tables[kind] = [dict(id=str(i), bus=str(r.bus), p_mw=float(r.p_mw), q_mvar=float(r.q_mvar),
                             scaling=float(_col(df, "scaling", 1.0)[i]), in_service=bool(r.in_service),
                             name=_name(r)) for i, r in df.iterrows()]
    tables["generator"] = [dict(id=str(i), bus=str(r.bus), p_mw=float(r.p_mw * _col(gen, "scaling", 1.0)[i]),
                                vm_pu=float(r.vm_pu), min_q_mvar=float(_col(gen, "min_q_mvar", -1e9)[i]),
                                max_q_mvar=float(_col(gen, "max_q_mvar", 1e9)[i]),
                                sn_mva=float(_col(gen, "sn_mva", 0.0)[i]), slack=bool(_col(gen, "slack", False)[i]),
                                in_service=bool(r.in_service), name=_name(r)) for i, r in gen.iterrows()]
    tables["external_grid"] = [dict(id=str(i), bus=str(r.bus), vm_pu=float(r.vm_pu),
                                    va_degree=float(_col(ext, "va_degree", 0.0)[i]), in_service=bool(r.in_service),
                                    name=_name(r)) for i, r in ext.iterrows()]
    ratio = (vn.reindex(sh.bus).to_numpy() / _col(sh, "vn_kv", np.nan).fillna(0).replace(0, np.nan).to_numpy()) ** 2
    tables["shunt"] = [dict(id=str(i), bus=str(r.bus), p_mw=float(r.p_mw * np.nan_to_num(ratio[k], nan=1.0)),
                            q_mvar=float(r.q_mvar * np.nan_to_num(ratio[k], nan=1.0)), step=int(r.step),
                            in_service=bool(r.in_service), name=_name(r)) for k, (i, r) in enumerate(sh.iterrows())]
    return tables


def from_pandapower(pnet: Any, *, name: str | None = None) -> Network:
    """A twin Network holding the grid of a pandapower net.

    Parameters
    ----------
    pnet : pandapower.pandapowerNet
        The pandapower network (not modified).
    name : str, optional
        Network name (default: the pandapower net's name, or ``"pandapower"``).

    Returns
    -------
    Network
        Grid tables only; ids are pandapower indices as strings.

    Raises
    ------
    NetworkError
        For elements twin cannot model faithfully (see the module docstring), naming the row.

    Examples
    --------
    >>> import pandapower.networks as pn
    >>> net = from_pandapower(pn.create_cigre_network_mv(with_der="pv_wind"))
    >>> len(net.bus), len(net.static_generator)
    (15, 9)
    """
    _check_supported(pnet)
    tables: dict[str, Any] = {"bus": _buses(pnet), "line": _lines(pnet), "transformer": _transformers(pnet),
                              "switch": _switches(pnet)}
    tables.update(_injections(pnet))
    tables = {k: v for k, v in tables.items() if v}
    label = name or (pnet.name if isinstance(getattr(pnet, "name", None), str) and pnet.name else "pandapower")
    settings = {"grid": {"base_mva": float(pnet.sn_mva), "f_hz": float(pnet.f_hz), "source_format": "pandapower"}}
    return Network(tables, name=label, settings=settings)
