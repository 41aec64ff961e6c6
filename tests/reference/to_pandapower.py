"""Reference converter: a twin Network's grid layer to a pandapower net.

Used only by the tests. twin's grid tables are pandapower's by design (same column names and
units), so the conversion is one ``pp.create_*`` call per row; pandapower's element indices
are kept in ``net.<table>["name"]`` as the twin ids, and :func:`to_pandapower` returns the id ->
index maps so results can be read back by twin id.
"""

from __future__ import annotations

import numpy as np
import pandapower as pp

from twin.model import Network


def _opt(value: object) -> object:
    """None for a missing value (NaN or None), else the value."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value


def to_pandapower(net: Network) -> tuple[pp.pandapowerNet, dict[str, dict[str, int]]]:
    """Build a pandapower net from the grid tables.

    Returns
    -------
    net : pandapowerNet
    index : dict
        Table kind -> {twin id: pandapower index}.
    """
    settings = dict(net.settings.get("grid", {}))
    pnet = pp.create_empty_network(name=net.name, f_hz=float(settings.get("f_hz", 50.0)),
                                   sn_mva=float(settings.get("base_mva", 1.0)))
    idx: dict[str, dict[str, int]] = {k: {} for k in ("bus", "line", "transformer", "switch", "load",
                                                       "static_generator", "generator", "external_grid",
                                                       "shunt")}
    for bid, b in net.bus.iterrows():
        idx["bus"][bid] = pp.create_bus(pnet, vn_kv=float(b.vn_kv), name=bid, in_service=bool(b.in_service),
                                        min_vm_pu=float(b.min_vm_pu), max_vm_pu=float(b.max_vm_pu),
                                        zone=_opt(b.zone))
    bus = idx["bus"]
    for lid, r in net.line.iterrows():
        idx["line"][lid] = pp.create_line_from_parameters(
            pnet, bus[r.from_bus], bus[r.to_bus], length_km=float(r.length_km), r_ohm_per_km=float(r.r_ohm_per_km),
            x_ohm_per_km=float(r.x_ohm_per_km), c_nf_per_km=float(r.c_nf_per_km), g_us_per_km=float(r.g_us_per_km),
            max_i_ka=float(r.max_i_ka), parallel=int(r.parallel), in_service=bool(r.in_service), name=lid)
    for tid, t in net.transformer.iterrows():
        tap = _opt(t.tap_side)
        idx["transformer"][tid] = pp.create_transformer_from_parameters(
            pnet, bus[t.hv_bus], bus[t.lv_bus], sn_mva=float(t.sn_mva), vn_hv_kv=float(t.vn_hv_kv),
            vn_lv_kv=float(t.vn_lv_kv), vk_percent=float(t.vk_percent), vkr_percent=float(t.vkr_percent),
            pfe_kw=float(t.pfe_kw), i0_percent=float(t.i0_percent), shift_degree=float(t.shift_degree),
            tap_side=tap, tap_neutral=int(t.tap_neutral) if tap else np.nan,
            tap_min=int(t.tap_min) if tap else np.nan, tap_max=int(t.tap_max) if tap else np.nan,
            tap_step_percent=float(t.tap_step_percent) if tap else np.nan,
            tap_step_degree=float(t.tap_step_degree) if tap else np.nan,
            tap_pos=int(t.tap_pos) if tap else np.nan, parallel=int(t.parallel), in_service=bool(t.in_service),
            tap_changer_type="Ratio" if tap else None, name=tid)
    _injections(net, pnet, idx)
    _switches(net, pnet, idx)
    return pnet, idx


def _injections(net: Network, pnet: pp.pandapowerNet, idx: dict) -> None:
    bus = idx["bus"]
    for i, r in net.load.iterrows():
        idx["load"][i] = pp.create_load(pnet, bus[r.bus], p_mw=float(r.p_mw), q_mvar=float(r.q_mvar),
                                        scaling=float(r.scaling), in_service=bool(r.in_service), name=i)
    for i, r in net.static_generator.iterrows():
        idx["static_generator"][i] = pp.create_sgen(pnet, bus[r.bus], p_mw=float(r.p_mw), q_mvar=float(r.q_mvar),
                                                    scaling=float(r.scaling), in_service=bool(r.in_service), name=i)
    for i, r in net.generator.iterrows():
        idx["generator"][i] = pp.create_gen(pnet, bus[r.bus], p_mw=float(r.p_mw), vm_pu=float(r.vm_pu),
                                            min_q_mvar=float(r.min_q_mvar), max_q_mvar=float(r.max_q_mvar),
                                            slack=bool(r.slack), in_service=bool(r.in_service), name=i)
    for i, r in net.external_grid.iterrows():
        idx["external_grid"][i] = pp.create_ext_grid(pnet, bus[r.bus], vm_pu=float(r.vm_pu),
                                                     va_degree=float(r.va_degree), in_service=bool(r.in_service),
                                                     name=i)
    for i, r in net.shunt.iterrows():
        idx["shunt"][i] = pp.create_shunt(pnet, bus[r.bus], q_mvar=float(r.q_mvar), p_mw=float(r.p_mw),
                                          step=int(r.step), in_service=bool(r.in_service), name=i)


def _switches(net: Network, pnet: pp.pandapowerNet, idx: dict) -> None:
    for i, s in net.switch.iterrows():
        kind = {"b": "bus", "l": "line", "t": "transformer"}[s.et]
        idx["switch"][i] = pp.create_switch(pnet, idx["bus"][s.bus], idx[kind][s.element], et=s.et,
                                            closed=bool(s.closed), type=_opt(s.switch_type), name=i)


def run_power_flow(net: Network, **kwargs: object) -> pp.pandapowerNet:
    """Convert and run ``pandapower.runpp``; results in ``res_bus``, ``res_line``, ... with the
    twin ids in each table's ``name`` column."""
    pnet, _ = to_pandapower(net)
    pp.runpp(pnet, **kwargs)
    return pnet
