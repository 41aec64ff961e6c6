"""Import a pandapower net as a twin :class:`~twin.model.Network` (grid layer only).

twin's grid tables use pandapower's column names and units, so the import is element by
element: ``bus``, ``line``, ``trafo`` (with ratio tap changers) -> ``transformer``, ``switch``
(bus-bus, bus-line, bus-trafo and bus-trafo3w), ``load``, ``sgen`` -> ``static_generator``,
``gen`` -> ``generator``, ``ext_grid`` -> ``external_grid`` and ``shunt``. Ids are the pandapower
indices as strings; the pandapower ``name`` is kept as the extra column ``name``. ``net.sn_mva``
and ``net.f_hz`` become ``settings["grid"]["base_mva"]`` and ``["f_hz"]``.

Three-winding transformers (``trafo3w``) are modelled as pandapower models them internally
(``build_branch._trafo_df_from_trafo3w``): a star-point bus ``trafo3w:<i>:star`` at the nominal
voltage of the HV bus, and three two-winding transformers ``trafo3w:<i>:hv`` (HV bus -> star),
``trafo3w:<i>:mv`` and ``trafo3w:<i>:lv`` (star -> MV / LV bus). The pairwise short-circuit
voltages are turned into star values (wye-delta on the HV rating); the magnetising branch sits on
the winding of ``loss_side`` (a column of the trafo3w table, else the ``trafo3w_losses`` argument,
as ``pandapower.runpp``'s option of that name; ``"star"`` puts it as the shunt
``trafo3w:<i>:star`` at the star bus); ``shift_mv_degree`` / ``shift_lv_degree`` go to the MV / LV
windings; the tap changer goes to the winding of ``tap_side``, or, with ``tap_at_star_point``, to
that winding's star end with pandapower's corrected step. pandapower's ``res_trafo3w`` reads as:
``p_hv_mw`` = ``transformer_p_from_mw`` of ``:hv``, ``p_mv_mw`` / ``p_lv_mw`` =
``transformer_p_to_mw`` of ``:mv`` / ``:lv`` (likewise ``q`` and ``i``), ``vm_internal_pu`` =
``vm_pu`` of the star bus; its ``loading_percent`` is the largest terminal current times
``vn_<side>_kv * sqrt(3) / sn_<side>_mva``, whereas each winding's ``transformer_loading_percent``
also counts the current at its star end. A switch with ``et="t3"`` becomes a bus-transformer
switch on the winding at its bus. As in pandapower, a tap changer whose ``tap_changer_type`` is
unset is ignored.

What cannot be represented faithfully is refused with a :class:`~twin.errors.NetworkError`
naming the table and the row: wards, impedances, DC lines, storage, motors, voltage-dependent
(ZIP) loads, ideal phase shifters, tap-dependent impedance tables and three-winding transformers
whose star-equivalent winding has a non-positive reactance (twin's transformer needs
``vk_percent > 0``; a negative star-equivalent ``vkr_percent``, common, is kept). Line and
transformer derating factors ``df`` are folded into ``max_i_ka`` (lines); shunts rated at another
voltage than their bus are rescaled to the bus voltage.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from twin.errors import NetworkError
from twin.model.network import Network

__all__ = ["from_pandapower"]

_UNSUPPORTED = ("ward", "xward", "impedance", "dcline", "storage", "motor", "svc", "ssc", "tcsc",
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
    # pandapower >= 3 ignores the tap of a transformer without a tap changer type
    changer = tr["tap_changer_type"] if "tap_changer_type" in tr else None
    out = []
    for i, t in tr.iterrows():
        tapped = isinstance(side[i], str) and side[i] in ("hv", "lv") and (changer is None or not pd.isna(changer[i]))
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
    bad = ~sw.et.isin(["b", "l", "t", "t3"])
    if bad.any():
        first = sw.index[bad.to_numpy()][0]
        raise NetworkError(f"pandapower switch {first}: element type {sw.et[first]!r} is not supported "
                           "(use b, l, t or t3)")
    out = []
    for i, s in sw.iterrows():
        et, element = str(s.et), str(s.element)
        if et == "t3":  # the bus-transformer switch of the winding at that bus
            et, element = "t", _trafo3w_winding(pnet, i, s.bus, s.element)
        out.append(dict(id=str(i), bus=str(s.bus), element=element, et=et, closed=bool(s.closed),
                        switch_type=None if pd.isna(s.get("type")) else str(s.get("type"))))
    return out


def _trafo3w_winding(pnet: Any, switch: Any, bus: Any, element: Any) -> str:
    """Id of the trafo3w winding transformer a ``t3`` switch at ``bus`` opens."""
    t3 = pnet["trafo3w"]
    if element not in t3.index:
        raise NetworkError(f"pandapower switch {switch}: trafo3w {element} does not exist")
    for side in _SIDES:
        if t3.at[element, f"{side}_bus"] == bus:
            return f"trafo3w:{element}:{side}"
    raise NetworkError(f"pandapower switch {switch}: bus {bus} is not a terminal of trafo3w {element}")


_SIDES = ("hv", "mv", "lv")


def _trafo3w_star_values(t3: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Star-equivalent vk_percent and vkr_percent (3 x n, rows hv, mv, lv) on each winding's rating.

    pandapower's ``_calculate_sc_voltages_of_equivalent_transformers``: the pairwise values
    (hv-mv on min(sn_hv, sn_mv), mv-lv, hv-lv) are brought to the HV rating, turned from delta to
    star, and each star value is brought back to its winding's rating.
    """
    vk = np.stack([t3[f"vk_{s}_percent"].to_numpy(float) for s in _SIDES])
    vkr = np.stack([t3[f"vkr_{s}_percent"].to_numpy(float) for s in _SIDES])
    sn = np.stack([t3[f"sn_{s}_mva"].to_numpy(float) for s in _SIDES])

    def to_hv_base(z: np.ndarray) -> np.ndarray:
        return sn[0] * np.array([z[0] / np.minimum(sn[0], sn[1]), z[1] / np.minimum(sn[1], sn[2]),
                                 z[2] / np.minimum(sn[0], sn[2])])

    def wye_delta(z: np.ndarray) -> np.ndarray:
        return 0.5 * sn / sn[0] * np.array([z[0] + z[2] - z[1], z[1] + z[0] - z[2], z[2] + z[1] - z[0]])

    vk_d, vkr_d = to_hv_base(vk), to_hv_base(vkr)
    vkr_y = wye_delta(vkr_d)
    vki_y = wye_delta(np.sqrt(vk_d ** 2 - vkr_d ** 2))
    return np.sign(vki_y) * np.hypot(vki_y, vkr_y), vkr_y


def _check_trafo3w(t3: pd.DataFrame) -> None:
    """Refuse trafo3w rows twin's transformer cannot reproduce, naming the row and the value."""
    for i, t in t3.iterrows():
        for s in _SIDES:
            for c in (f"sn_{s}_mva", f"vn_{s}_kv", f"vk_{s}_percent"):
                if not t[c] > 0:
                    raise NetworkError(f"pandapower trafo3w {i}: {c}={t[c]} must be > 0")
            c = f"vkr_{s}_percent"
            if not 0 <= t[c] <= t[f"vk_{s}_percent"]:
                raise NetworkError(f"pandapower trafo3w {i}: {c}={t[c]} must lie in [0, vk_{s}_percent="
                                   f"{t[f'vk_{s}_percent']}]")
        for c in ("pfe_kw", "i0_percent"):
            if not _num(t, c, 0.0) >= 0:
                raise NetworkError(f"pandapower trafo3w {i}: {c}={t[c]} must be >= 0")
        if bool(_num(t, "tap_dependency_table", False)):
            raise NetworkError(f"pandapower trafo3w {i}: tap-dependent impedance tables are not supported")
        side = t.get("tap_side")
        if isinstance(side, str) and side not in _SIDES:
            raise NetworkError(f"pandapower trafo3w {i}: tap_side={side!r} must be hv, mv or lv")
        if isinstance(side, str) and t.get("tap_changer_type") == "Ideal":
            raise NetworkError(f"pandapower trafo3w {i}: ideal phase-shifting tap changers are not supported")
    vk, vkr = _trafo3w_star_values(t3)
    for k, i in enumerate(t3.index):
        for j, s in enumerate(_SIDES):
            if not vk[j, k] > 0:
                raise NetworkError(
                    f"pandapower trafo3w {i}: its star-equivalent {s} winding has a non-positive reactance "
                    f"(vk_percent={vk[j, k]:.6g}, from the pairwise vk_*/vkr_* and sn_*_mva); twin's "
                    "transformer needs vk_percent > 0")


def _num(row: pd.Series, name: str, default: Any) -> Any:
    value = row.get(name, default)
    return default if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def _trafo3w_tapped(t: pd.Series, has_type: bool) -> bool:
    """Whether pandapower applies this trafo3w's tap changer (``_calc_tap_from_dataframe``)."""
    if not isinstance(t.get("tap_side"), str):
        return False
    if has_type:  # pandapower 3: only "Ratio" and "Symmetrical" change the voltage (Ideal is refused)
        return t.get("tap_changer_type") in ("Ratio", "Symmetrical")
    return not bool(_num(t, "tap_phase_shifter", False))  # pandapower 2 nets


def _trafo3w_tap(t: pd.Series, side: str, has_type: bool) -> dict[str, Any]:
    """Tap changer columns of the ``side`` winding of one trafo3w (pandapower's
    ``_calculate_3w_tap_changers``): on the terminal end of the tapped winding, or, with
    ``tap_at_star_point``, on its star end with the step ``t / (1 + n t)`` turned by -180 degrees.
    Non-integer positions are folded into the step (neutral 0, position 1) to stay exact."""
    none = dict(tap_side=None, tap_neutral=0, tap_min=0, tap_max=0, tap_step_percent=0.0, tap_step_degree=0.0,
                tap_pos=0)
    if not _trafo3w_tapped(t, has_type) or t["tap_side"] != side:
        return none
    neutral, pos = float(_num(t, "tap_neutral", np.nan)), float(_num(t, "tap_pos", np.nan))
    step, degree = float(_num(t, "tap_step_percent", np.nan)), float(t.get("tap_step_degree", np.nan))
    terminal = "hv" if side == "hv" else "lv"
    if bool(_num(t, "tap_at_star_point", False)):
        with np.errstate(invalid="ignore"):  # NaN step or degree: NaN, as in pandapower (no tap effect)
            c = step * np.exp(1j * np.deg2rad(degree))
            c = 100.0 * c / (100.0 + c * (pos - neutral))
        step, degree = float(np.abs(c)), float(np.rad2deg(np.angle(c)) - 180.0)
        terminal = "lv" if side == "hv" else "hv"
    if not (np.isfinite(step) and np.isfinite(pos) and np.isfinite(neutral)):  # pandapower: no change
        step, degree, pos, neutral = 0.0, 0.0, 0.0, 0.0
    degree = 0.0 if np.isnan(degree) else degree
    if pos != round(pos) or neutral != round(neutral):
        step, pos, neutral = step * (pos - neutral), 1.0, 0.0
    return dict(tap_side=terminal, tap_neutral=int(neutral), tap_pos=int(pos),
                tap_min=int(_num(t, "tap_min", neutral)), tap_max=int(_num(t, "tap_max", neutral)),
                tap_step_percent=step, tap_step_degree=degree)


def _trafo3w(pnet: Any, losses: str) -> dict[str, list[dict[str, Any]]]:
    """Star buses, winding transformers and (``losses="star"``) star shunts of every trafo3w."""
    t3 = pnet["trafo3w"] if "trafo3w" in pnet else None
    out: dict[str, list[dict[str, Any]]] = {"bus": [], "transformer": [], "shunt": []}
    if t3 is None or not len(t3):
        return out
    _check_trafo3w(t3)
    vk, vkr = _trafo3w_star_values(t3)
    bus = pnet["bus"]
    has_type = "tap_changer_type" in t3
    for k, (i, t) in enumerate(t3.iterrows()):
        star, on, name = f"trafo3w:{i}:star", bool(t.in_service), _name(t)
        hv_kv = float(bus.vn_kv[t.hv_bus])
        out["bus"].append(dict(id=star, vn_kv=hv_kv, in_service=on, name=name, zone=None,
                               min_vm_pu=float(_col(bus, "min_vm_pu", 0.9)[t.hv_bus]),
                               max_vm_pu=float(_col(bus, "max_vm_pu", 1.1)[t.hv_bus]), geometry=None))
        loss_side = str(_num(t, "loss_side", losses)).lower()
        for j, s in enumerate(_SIDES):
            mag = loss_side == s
            out["transformer"].append(dict(
                id=f"trafo3w:{i}:{s}", hv_bus=str(t.hv_bus) if s == "hv" else star,
                lv_bus=star if s == "hv" else str(t[f"{s}_bus"]), sn_mva=float(t[f"sn_{s}_mva"]),
                vn_hv_kv=float(t.vn_hv_kv), vn_lv_kv=float(t[f"vn_{s}_kv"]), vk_percent=float(vk[j, k]),
                vkr_percent=float(vkr[j, k]), pfe_kw=float(_num(t, "pfe_kw", 0.0)) if mag else 0.0,
                i0_percent=float(_num(t, "i0_percent", 0.0)) if mag else 0.0,
                shift_degree=0.0 if s == "hv" else float(_num(t, f"shift_{s}_degree", 0.0)),
                **_trafo3w_tap(t, s, has_type), parallel=1, in_service=on, name=name))
        if losses == "star":  # pandapower's build_bus: a shunt at the star point, on the HV rating
            pfe_mw, i0 = float(_num(t, "pfe_kw", 0.0)) * 1e-3, float(_num(t, "i0_percent", 0.0))
            q_mvar = np.sqrt(max((float(t.sn_hv_mva) * i0 / 100.0) ** 2 - pfe_mw ** 2, 0.0))
            scale = (hv_kv / float(t.vn_hv_kv)) ** 2
            out["shunt"].append(dict(id=star, bus=star, p_mw=pfe_mw * scale, q_mvar=q_mvar * scale, step=1,
                                     in_service=on, name=name))
    return out


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


def from_pandapower(pnet: Any, *, name: str | None = None, trafo3w_losses: str = "hv") -> Network:
    """A twin Network holding the grid of a pandapower net.

    Parameters
    ----------
    pnet : pandapower.pandapowerNet
        The pandapower network (not modified).
    name : str, optional
        Network name (default: the pandapower net's name, or ``"pandapower"``).
    trafo3w_losses : {"hv", "mv", "lv", "star"}
        Where a three-winding transformer's magnetising branch goes when its row has no
        ``loss_side`` (``pandapower.runpp``'s option of that name; default ``"hv"`` as there).

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
    losses = str(trafo3w_losses).lower()
    if losses not in (*_SIDES, "star"):
        raise NetworkError(f"trafo3w_losses={trafo3w_losses!r}: use hv, mv, lv or star")
    _check_supported(pnet)
    t3 = _trafo3w(pnet, losses)
    tables: dict[str, Any] = {"bus": _buses(pnet) + t3["bus"], "line": _lines(pnet),
                              "transformer": _transformers(pnet) + t3["transformer"], "switch": _switches(pnet)}
    tables.update(_injections(pnet))
    tables["shunt"] = tables["shunt"] + t3["shunt"]
    tables = {k: v for k, v in tables.items() if v}
    label = name or (pnet.name if isinstance(getattr(pnet, "name", None), str) and pnet.name else "pandapower")
    settings = {"grid": {"base_mva": float(pnet.sn_mva), "f_hz": float(pnet.f_hz), "source_format": "pandapower"}}
    return Network(tables, name=label, settings=settings)
