"""AC power flow against pandapower.runpp, element by element (same tolerances as vs MATPOWER)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.solvers.grid.conftest import feeder
from twin.io.pandapower import from_pandapower
from twin.grid.flow import power_flow

pp = pytest.importorskip("pandapower")
pn = pytest.importorskip("pandapower.networks")

V_TOL, S_TOL = 1e-6, 1e-4
_PAIRS = {
    "line": [("p_from_mw", "p_from_mw"), ("q_from_mvar", "q_from_mvar"), ("p_to_mw", "p_to_mw"),
             ("q_to_mvar", "q_to_mvar"), ("i_ka", "i_ka"), ("loading_percent", "loading_percent")],
    "trafo": [("transformer_p_from_mw", "p_hv_mw"), ("transformer_q_from_mvar", "q_hv_mvar"),
              ("transformer_p_to_mw", "p_lv_mw"), ("transformer_q_to_mvar", "q_lv_mvar"),
              ("transformer_i_from_ka", "i_hv_ka"), ("transformer_i_to_ka", "i_lv_ka"),
              ("transformer_loading_percent", "loading_percent")],
    "ext_grid": [("external_grid_p_mw", "p_mw"), ("external_grid_q_mvar", "q_mvar")],
}
_DIMS = {"line": "line", "trafo": "transformer", "ext_grid": "external_grid"}


def _runpp(pnet) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.runpp(pnet)


def _compare(res, pnet, index: dict[str, dict[str, int]] | None = None) -> None:
    """Compare twin results with pandapower's res_* tables (twin ids -> pandapower indices)."""
    def rows(table: str, dim: str):
        ids = res[dim].values
        pos = [index[dim][i] for i in ids] if index else [int(i) for i in ids]
        return pnet[f"res_{table}"].loc[pos]

    rb = rows("bus", "bus")
    dark = np.isnan(rb.vm_pu.to_numpy())
    assert np.array_equal(dark, ~res.energised.values)
    assert np.abs(res.vm_pu.values[~dark] - rb.vm_pu.to_numpy()[~dark]).max() <= V_TOL
    assert np.abs(res.va_degree.values[~dark] - rb.va_degree.to_numpy()[~dark]).max() <= V_TOL * 57.3
    for ours, theirs in (("p_mw", "p_mw"), ("q_mvar", "q_mvar")):
        assert np.abs(res[ours].values[~dark] - rb[theirs].to_numpy()[~dark]).max() <= S_TOL, ours
    for table, pairs in _PAIRS.items():
        if res.sizes[_DIMS[table]] == 0:
            continue
        ref = rows(table, _DIMS[table])
        for ours, theirs in pairs:
            tol = 1e-6 if "_ka" in ours else S_TOL
            diff = np.abs(res[ours].values - np.nan_to_num(ref[theirs].to_numpy()))
            assert diff.max() <= tol, f"{table}.{theirs}: {diff.max():.3g}"


@pytest.mark.parametrize("make", [pn.mv_oberrhein, lambda: pn.create_cigre_network_mv(with_der="pv_wind")],
                         ids=["mv_oberrhein", "cigre_mv_pv_wind"])
def test_pandapower_grids(make) -> None:
    pnet = make()
    net = from_pandapower(pnet)
    res = power_flow(net)
    _runpp(pnet)
    _compare(res, pnet)


def test_mv_oberrhein_has_two_islands() -> None:
    res = power_flow(from_pandapower(pn.mv_oberrhein()))
    assert res.attrs["n_islands"] == 2


def test_pandapower_with_open_trafo_switch_and_lv_taps() -> None:
    pnet = pn.create_cigre_network_mv(with_der="pv_wind")
    pnet.trafo["tap_side"] = "lv"
    pnet.trafo["tap_neutral"] = 0
    pnet.trafo["tap_pos"] = [2, -3]
    pnet.trafo["tap_step_percent"] = 1.25
    pnet.trafo["tap_step_degree"] = [0.0, 5.0]
    pnet.trafo["tap_changer_type"] = "Ratio"
    pnet.switch.loc[pnet.switch.et == "t", "closed"] = [True, False]
    res = power_flow(from_pandapower(pnet))
    _runpp(pnet)
    _compare(res, pnet)


def test_tap_without_tap_changer_type_is_ignored_as_in_pandapower() -> None:
    """pandapower 3 applies no tap when ``tap_changer_type`` is unset, whatever ``tap_pos`` says."""
    pnet = pn.example_simple()
    pnet.trafo["tap_pos"] = 2           # 2 x 1.5 % on hv: moves voltages by ~3e-3 p.u. when applied
    pnet.trafo["tap_changer_type"] = None
    res = power_flow(from_pandapower(pnet))
    _runpp(pnet)
    rb = pnet.res_bus
    assert np.abs(res.vm_pu.values - rb.vm_pu.to_numpy()).max() <= V_TOL
    assert np.abs(res.va_degree.values - rb.va_degree.to_numpy()).max() <= V_TOL * 57.3
    assert np.abs(res.p_from_mw.values - pnet.res_line.p_from_mw.to_numpy()).max() <= S_TOL


def test_example_simple_fused_buses_report_their_own_elements() -> None:
    """Buses 1-2 and 3-4 are fused by closed bus-bus switches; the shunt at bus 2 stays at bus 2."""
    pnet = pn.example_simple()
    res = power_flow(from_pandapower(pnet))
    _runpp(pnet)
    _compare(res, pnet)
    assert abs(res.q_mvar.values[2] - pnet.res_bus.q_mvar.at[2]) <= S_TOL
    assert abs(res.q_mvar.values[1]) <= S_TOL


def test_sources_and_loads_on_fused_buses_as_pandapower() -> None:
    """Sources on fused buses: reactive power split by reactive range (an external grid has none)."""
    pnet = pn.example_simple()
    pp.create_gen(pnet, 4, p_mw=1.0, vm_pu=1.03)           # fused with bus 3
    pp.create_load(pnet, 3, p_mw=0.5, q_mvar=0.2)
    pp.create_sgen(pnet, 1, p_mw=0.3, q_mvar=0.1)          # fused with bus 2 (shunt)
    pp.create_ext_grid(pnet, 2, vm_pu=1.02, va_degree=50)  # with a PV generator beside it on bus 1
    pp.create_gen(pnet, 1, p_mw=1.0, vm_pu=1.02, min_q_mvar=-30.0, max_q_mvar=50.0)
    res = power_flow(from_pandapower(pnet))
    _runpp(pnet)
    _compare(res, pnet)
    for ours, theirs in (("generator_p_mw", "p_mw"), ("generator_q_mvar", "q_mvar")):
        assert np.abs(res[ours].values - pnet.res_gen[theirs].to_numpy()).max() <= S_TOL, ours


def test_fused_buses_in_a_time_series_report_their_own_elements() -> None:
    import pandas as pd

    pnet = pn.example_simple()
    pp.create_load(pnet, 1, p_mw=0.5, q_mvar=0.2)
    net = from_pandapower(pnet)
    scale = pd.DataFrame({"1": [1.0, 2.0, 0.5]})  # the new load (id "1"), fused with the shunt's bus 2
    res = power_flow(net, profiles={"load": scale})
    single = power_flow(net)
    assert np.allclose(res.p_mw.values[:, 1], 0.5 * scale["1"].to_numpy(), atol=1e-8)
    assert np.allclose(res.q_mvar.values[:, 1], 0.2 * scale["1"].to_numpy(), atol=1e-8)
    q_shunt = pnet.shunt.q_mvar.at[0] * pnet.shunt.step.at[0]
    assert np.allclose(res.q_mvar.values[:, 2], q_shunt * res.vm_pu.values[:, 2] ** 2, atol=1e-8)
    assert np.allclose(res.q_mvar.values[0], single.q_mvar.values, atol=1e-8)


def _ratio_taps(pnet) -> None:
    """pandapower 3 ignores a tap changer whose tap_changer_type is unset; twin's are "Ratio"."""
    pnet.trafo["tap_changer_type"] = np.where(pnet.trafo.tap_side.notna(), "Ratio", None)


def test_feeder_via_reference_converter() -> None:
    from tests.reference.to_pandapower import to_pandapower

    net = feeder()
    pnet, index = to_pandapower(net)
    _ratio_taps(pnet)
    _runpp(pnet)
    _compare(power_flow(net), pnet, index)


def test_sample_city() -> None:
    import twin
    from tests.reference.to_pandapower import to_pandapower

    city = twin.datasets.sample_city()
    pnet, index = to_pandapower(city)
    _ratio_taps(pnet)
    _runpp(pnet)
    res = power_flow(city)
    assert res.energised.all()
    _compare(res, pnet, index)


def test_unsupported_pandapower_element_is_named() -> None:
    from twin.errors import NetworkError

    pnet = pn.create_cigre_network_mv()
    pp.create_ward(pnet, bus=3, ps_mw=1.0, qs_mvar=0.1, pz_mw=0.0, qz_mvar=0.0)
    with pytest.raises(NetworkError, match="ward 0"):
        from_pandapower(pnet)


def test_from_pandapower_keeps_names_and_base() -> None:
    pnet = pn.create_cigre_network_mv(with_der="pv_wind")
    net = from_pandapower(pnet)
    assert net.settings["grid"]["base_mva"] == pnet.sn_mva
    assert net.bus.loc["1", "name"] == pnet.bus.name[1]
    assert set(net.switch.et) == {"l", "t"}
