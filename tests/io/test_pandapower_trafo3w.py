"""Three-winding transformers from pandapower: star bus + three windings, against pandapower.runpp.

Every comparison is at every pandapower bus (voltages), at the star point (pandapower's
``vm_internal_pu`` / ``va_internal_degree``) and at the three terminals of each trafo3w
(``res_trafo3w`` powers, currents and loading).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from twin.errors import NetworkError
from twin.grid.flow import power_flow
from twin.io.pandapower import from_pandapower

pp = pytest.importorskip("pandapower")
pn = pytest.importorskip("pandapower.networks")

V_TOL, A_TOL, S_TOL, I_TOL = 1e-8, 1e-6, 1e-6, 1e-9  # p.u., degree, MW/Mvar, kA
SIDES = ("hv", "mv", "lv")


def _runpp(pnet, **kw) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.runpp(pnet, **kw)


def _trafo3w_results(res, pnet):
    """twin's results laid out as pandapower's res_trafo3w columns (one row per trafo3w)."""
    out = {}
    for side in SIDES:
        ids = [f"trafo3w:{i}:{side}" for i in pnet.trafo3w.index]
        t = res.sel(transformer=ids)
        end = "from" if side == "hv" else "to"
        out[f"p_{side}_mw"] = t[f"transformer_p_{end}_mw"].values
        out[f"q_{side}_mvar"] = t[f"transformer_q_{end}_mvar"].values
        out[f"i_{side}_ka"] = t[f"transformer_i_{end}_ka"].values
    t3 = pnet.trafo3w
    out["loading_percent"] = np.max([out[f"i_{s}_ka"] * t3[f"vn_{s}_kv"].to_numpy() * np.sqrt(3)
                                     / t3[f"sn_{s}_mva"].to_numpy() * 100 for s in SIDES], axis=0)
    star = [f"trafo3w:{i}:star" for i in t3.index]
    out["vm_internal_pu"] = res.vm_pu.sel(bus=star).values
    out["va_internal_degree"] = res.va_degree.sel(bus=star).values
    return out


def compare(pnet, res) -> dict[str, float]:
    """Largest differences twin - pandapower; asserts energised buses agree and tolerances hold."""
    ids = [str(i) for i in pnet.bus.index]
    rb = pnet.res_bus
    dark = np.isnan(rb.vm_pu.to_numpy())
    assert np.array_equal(dark, ~res.energised.sel(bus=ids).values)
    diff = {"vm_pu": np.abs(res.vm_pu.sel(bus=ids).values - rb.vm_pu.to_numpy())[~dark].max(),
            "va_degree": np.abs(res.va_degree.sel(bus=ids).values - rb.va_degree.to_numpy())[~dark].max()}
    ours, ref = _trafo3w_results(res, pnet), pnet.res_trafo3w
    on = ~np.isnan(ref.vm_internal_pu.to_numpy())
    for col, values in ours.items():
        theirs = np.nan_to_num(ref[col].to_numpy()) if not col.endswith(("_pu", "_degree")) else ref[col].to_numpy()
        mine = values if not col.endswith(("_pu", "_degree")) else values[on]
        theirs = theirs if not col.endswith(("_pu", "_degree")) else theirs[on]
        diff[col] = float(np.abs(mine - theirs).max()) if len(mine) else 0.0
    for col, d in diff.items():
        tol = (V_TOL if col.startswith("vm") else A_TOL if col.startswith("va") else I_TOL if col.endswith("_ka")
               else S_TOL)
        assert d <= tol, f"{col}: |twin - pandapower| = {d:.3g} > {tol:g}"
    return diff


def multivoltage():
    """pandapower's example_multivoltage with the elements twin has no model for taken out of service."""
    pnet = pn.example_multivoltage()
    pnet.impedance["in_service"] = False
    pnet.xward["in_service"] = False
    return pnet


def small(**t3) -> "pp.pandapowerNet":
    """110 kV source, a line to a trafo3w 110/20/10 kV, a parallel 110/20 kV trafo, loads on MV and LV."""
    net = pp.create_empty_network(sn_mva=1.0)
    b0, b1 = pp.create_bus(net, 110.0), pp.create_bus(net, 110.0)
    mv, lv = pp.create_bus(net, 20.0), pp.create_bus(net, 10.0)
    mv2 = pp.create_bus(net, 20.0)
    pp.create_ext_grid(net, b0, vm_pu=1.02)
    pp.create_line_from_parameters(net, b0, b1, 5.0, 0.06, 0.4, 10.0, 0.6)
    params = dict(sn_hv_mva=40.0, sn_mv_mva=25.0, sn_lv_mva=20.0, vn_hv_kv=110.0, vn_mv_kv=20.0, vn_lv_kv=10.0,
                  vk_hv_percent=11.0, vk_mv_percent=7.0, vk_lv_percent=9.0, vkr_hv_percent=0.3,
                  vkr_mv_percent=0.25, vkr_lv_percent=0.35, pfe_kw=30.0, i0_percent=0.2, shift_mv_degree=0.0,
                  shift_lv_degree=0.0, tap_side="hv", tap_neutral=0, tap_min=-9, tap_max=9, tap_step_percent=1.5,
                  tap_pos=0, tap_changer_type="Ratio")
    params.update(t3)
    pp.create_transformer3w_from_parameters(net, b1, mv, lv, **params, name="T3")
    pp.create_transformer_from_parameters(net, b0, mv2, 25.0, 110.0, 20.0, 0.4, 12.0, 20.0, 0.1)
    pp.create_line_from_parameters(net, mv2, mv, 2.0, 0.2, 0.1, 200.0, 0.4)
    pp.create_load(net, mv, 8.0, 2.0)
    pp.create_load(net, lv, 6.0, 2.5)
    pp.create_sgen(net, lv, 1.5, -0.3)
    return net


def _check(pnet, **kw) -> dict[str, float]:
    res = power_flow(from_pandapower(pnet, **{k: v for k, v in kw.items() if k == "trafo3w_losses"}))
    _runpp(pnet, **kw)
    return compare(pnet, res)


@pytest.mark.slow
def test_example_multivoltage_every_bus_and_winding() -> None:
    pnet = multivoltage()
    assert len(pnet.trafo3w) == 1
    net = from_pandapower(pnet)
    res = power_flow(net)
    _runpp(pnet)
    diff = compare(pnet, res)
    assert diff["vm_pu"] <= V_TOL and diff["p_lv_mw"] <= S_TOL
    # twin's own per-winding loading: its largest equals pandapower's trafo3w loading (no magnetising here)
    winding = res.transformer_loading_percent.sel(transformer=[f"trafo3w:0:{s}" for s in SIDES]).values
    assert abs(winding.max() - pnet.res_trafo3w.loading_percent[0]) <= 1e-6


def test_ids_trace_back_to_the_trafo3w() -> None:
    pnet = small(tap_pos=2)
    net = from_pandapower(pnet)
    tr = net.transformer
    assert list(tr.index[-3:]) == ["trafo3w:0:hv", "trafo3w:0:mv", "trafo3w:0:lv"]
    assert (tr.loc["trafo3w:0:hv", ["hv_bus", "lv_bus"]].tolist() == ["1", "trafo3w:0:star"])
    assert (tr.loc["trafo3w:0:lv", ["hv_bus", "lv_bus"]].tolist() == ["trafo3w:0:star", "3"])
    assert net.bus.loc["trafo3w:0:star", "vn_kv"] == 110.0
    assert set(tr.loc[tr.index.str.startswith("trafo3w"), "name"]) == {"T3"}
    # magnetising on the HV winding (runpp's trafo3w_losses="hv"), tap on the HV terminal
    assert tr.loc["trafo3w:0:hv", "pfe_kw"] == 30.0 and tr.loc["trafo3w:0:mv", "pfe_kw"] == 0.0
    assert tr.loc["trafo3w:0:hv", "tap_side"] == "hv" and tr.loc["trafo3w:0:hv", "tap_pos"] == 2
    assert tr.loc["trafo3w:0:mv"].isna()["tap_side"]


@pytest.mark.parametrize("star", [False, True], ids=["terminal", "star_point"])
@pytest.mark.parametrize("side,pos,degree", [("hv", 3, 0.0), ("mv", -4, 0.0), ("lv", 5, 0.0), ("hv", -2, 3.0),
                                             ("lv", 2, 10.0)])
def test_tap_changer(side, pos, degree, star) -> None:
    pnet = small(tap_side=side, tap_pos=pos, tap_step_degree=degree, tap_at_star_point=star)
    _check(pnet)


def test_star_point_tap_without_step_degree_is_ignored_as_in_pandapower() -> None:
    """pandapower's star-point correction turns a NaN tap_step_degree into a NaN (no-op) step."""
    pnet = small(tap_side="mv", tap_pos=4, tap_at_star_point=True)
    pnet.trafo3w["tap_step_degree"] = np.nan
    _check(pnet)
    neutral = small(tap_side="mv", tap_pos=0)
    _runpp(neutral)
    assert np.allclose(pnet.res_bus.vm_pu, neutral.res_bus.vm_pu, atol=1e-12)


def test_unset_tap_changer_type_is_ignored_as_in_pandapower() -> None:
    pnet = small(tap_pos=5)
    pnet.trafo3w["tap_changer_type"] = None
    _check(pnet)
    assert from_pandapower(pnet).transformer.loc["trafo3w:0:hv"].isna()["tap_side"]


def test_phase_shift_on_lv_and_mv() -> None:
    pnet = small(shift_lv_degree=150.0, tap_side="lv", tap_pos=-3)
    diff = _check(pnet)
    assert abs(pnet.res_trafo3w.va_lv_degree[0] - pnet.res_trafo3w.va_hv_degree[0]) > 100  # the shift is felt
    assert diff["va_degree"] <= A_TOL
    pnet = small(shift_mv_degree=30.0, shift_lv_degree=-30.0)
    pnet.trafo.shift_degree = 30.0  # keep the 110/20 kV loop consistent
    _check(pnet)


@pytest.mark.parametrize("losses", ["hv", "lv", "star"])
def test_magnetising_branch_side(losses) -> None:
    _check(small(tap_pos=1, i0_percent=1.5, pfe_kw=80.0), trafo3w_losses=losses)


def test_loss_side_column_overrides_the_option() -> None:
    pnet = small(i0_percent=1.5, pfe_kw=80.0)
    pnet.trafo3w["loss_side"] = "mv"
    net = from_pandapower(pnet)
    assert net.transformer.loc["trafo3w:0:mv", "pfe_kw"] == 80.0
    assert net.transformer.loc["trafo3w:0:hv", "pfe_kw"] == 0.0
    _check(pnet)


def test_out_of_service_trafo3w() -> None:
    """LV is fed only through the trafo3w (dark), MV is still fed through the 110/20 kV trafo."""
    pnet = small(tap_pos=2)
    pnet.trafo3w["in_service"] = False
    res = power_flow(from_pandapower(pnet))
    _runpp(pnet)
    compare(pnet, res)
    assert not res.energised.sel(bus="3") and res.energised.sel(bus="2")
    assert not res.energised.sel(bus="trafo3w:0:star")
    assert not res.transformer_energised.sel(transformer=[f"trafo3w:0:{s}" for s in SIDES]).any()


@pytest.mark.parametrize("side", SIDES)
def test_open_t3_switch(side) -> None:
    pnet = small(tap_side="lv", tap_pos=1)
    bus = int(pnet.trafo3w[f"{side}_bus"][0])
    pp.create_switch(pnet, bus, 0, et="t3", closed=False)
    pp.create_switch(pnet, 2, 0, et="t3", closed=True)
    net = from_pandapower(pnet)
    sw = net.switch
    assert sw.et.tolist() == ["t", "t"]
    assert sw.element.tolist() == [f"trafo3w:0:{side}", "trafo3w:0:mv"]
    res = power_flow(net)
    _runpp(pnet)
    compare(pnet, res)
    # the star point is fed from HV or (through the 110/20 kV trafo) from MV: only LV can go dark
    assert bool(res.energised.sel(bus="3")) == (side != "lv")


def test_switch_at_a_bus_not_on_the_trafo3w_is_refused() -> None:
    pnet = small()
    pp.create_switch(pnet, 1, 0, et="t3", closed=False)
    pnet.switch.loc[0, "bus"] = 0  # pandapower's create_switch would refuse it; a hand-edited net
    with pytest.raises(NetworkError, match="switch 0: bus 0 is not a terminal of trafo3w 0"):
        from_pandapower(pnet)


@pytest.mark.parametrize("column,value,message", [
    ("vk_hv_percent", 0.0, r"trafo3w 0: vk_hv_percent=0.0 must be > 0"),
    ("vk_mv_percent", -5.0, r"trafo3w 0: vk_mv_percent=-5.0 must be > 0"),
    ("sn_lv_mva", 0.0, r"trafo3w 0: sn_lv_mva=0.0 must be > 0"),
    ("vkr_lv_percent", 12.0, r"trafo3w 0: vkr_lv_percent=12.0 must lie in \[0, vk_lv_percent=9.0\]"),
    ("vkr_hv_percent", -0.1, r"trafo3w 0: vkr_hv_percent=-0.1 must lie in"),
    ("pfe_kw", -1.0, r"trafo3w 0: pfe_kw=-1.0 must be >= 0"),
    ("tap_side", "xv", r"trafo3w 0: tap_side='xv' must be hv, mv or lv"),
    ("tap_changer_type", "Ideal", r"trafo3w 0: ideal phase-shifting"),
])
def test_bad_input_names_the_trafo3w(column, value, message) -> None:
    pnet = small()
    pnet.trafo3w[column] = value
    with pytest.raises(NetworkError, match=message):
        from_pandapower(pnet)


def test_negative_star_reactance_is_refused_with_the_winding() -> None:
    # vk_mv (the MV-LV pair) much larger than the other two: the star HV winding gets a negative reactance
    pnet = small(vk_hv_percent=4.0, vk_mv_percent=30.0, vk_lv_percent=4.0)
    with pytest.raises(NetworkError, match="trafo3w 0: its star-equivalent hv winding has a non-positive"):
        from_pandapower(pnet)


@pytest.mark.slow
def test_negative_star_resistance_is_kept() -> None:
    pnet = multivoltage()
    net = from_pandapower(pnet)
    assert net.transformer.loc["trafo3w:0:lv", "vkr_percent"] < 0


def test_bad_trafo3w_losses_option() -> None:
    with pytest.raises(NetworkError, match="trafo3w_losses='mid'"):
        from_pandapower(small(), trafo3w_losses="mid")
