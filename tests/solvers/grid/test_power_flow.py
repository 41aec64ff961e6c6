"""power_flow: results Dataset, power balance, islands, switches and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from tests.solvers.grid.conftest import feeder, two_bus
from twin.errors import NetworkError
from twin.grid.flow import element_results, power_flow


@pytest.fixture(scope="module")
def feeder_result():
    return power_flow(feeder())


def test_every_variable_has_units_and_long_name(feeder_result) -> None:
    for name, var in feeder_result.data_vars.items():
        assert "units" in var.attrs and var.attrs["long_name"], name
    assert feeder_result.attrs["converged"] and "network_hash" in feeder_result.attrs


def test_power_balance_closes(feeder_result) -> None:
    r = feeder_result
    losses = float(r.pl_mw.sum() + r.transformer_pl_mw.sum())
    # bus consumption includes the external grid as a negative consumption: all of it is losses
    assert float(r.p_mw.sum()) == pytest.approx(-losses, abs=1e-7)
    net = feeder()
    served = net.load.p_mw[net.load.bus.isin(r.bus.values[r.energised.values])].sum()
    assert float(r.external_grid_p_mw.sum()) == pytest.approx(served - 1.2 + losses, abs=1e-7)  # 1.2 MW PV


def test_open_switch_islands_the_spur(feeder_result) -> None:
    r = feeder_result
    assert not r.energised.sel(bus="SPUR") and not r.energised.sel(bus="FAR")
    assert np.isnan(r.vm_pu.sel(bus="FAR")) and r.p_mw.sel(bus="FAR") == 0
    assert r.attrs["unserved_mw"] == pytest.approx(1.2)
    assert bool(r.line_energised.sel(line="L7"))  # energised from N5, open at SPUR: charging only
    assert abs(float(r.p_from_mw.sel(line="L7"))) < 1e-5 and float(r.q_from_mvar.sel(line="L7")) < 0
    assert abs(float(r.p_to_mw.sel(line="L7"))) < 1e-9 and not r.line_energised.sel(line="L8")


def test_bus_coupler_fuses_buses(feeder_result) -> None:
    assert float(feeder_result.vm_pu.sel(bus="S1")) == float(feeder_result.vm_pu.sel(bus="S2"))


def test_element_results_plain_names(feeder_result) -> None:
    tr = element_results(feeder_result, "transformer")
    assert {"p_from_mw", "loading_percent", "energised"} <= set(tr.data_vars) and tr.sizes == {"transformer": 1}


def test_bus_without_source_is_deenergised_not_singular() -> None:
    net = two_bus().set("external_grid", "X", in_service=False)
    r = power_flow(net)
    assert not r.energised.any() and r.attrs["unserved_mw"] == pytest.approx(50.0)
    assert np.isnan(r.vm_pu).all() and r.attrs["converged"]


def test_out_of_service_line_splits_grid() -> None:
    r = power_flow(feeder().set("line", "L5", in_service=False))
    assert not r.energised.sel(bus="N4") and not r.energised.sel(bus="N5")
    assert r.attrs["unserved_mw"] == pytest.approx(2.5 + 1.0 + 0.8 + 0.4)


def test_zero_impedance_branch_is_named() -> None:
    with pytest.raises(NetworkError, match="branch 'AB'.*zero"):
        power_flow(two_bus(x_pu=0.0))


def test_transformer_with_vkr_above_vk_is_named() -> None:
    with pytest.raises(NetworkError, match="transformer 'T1'.*vkr_percent"):
        power_flow(feeder().set("transformer", "T1", vkr_percent=20.0))


def test_inputs_not_mutated_and_deterministic() -> None:
    net = feeder()
    before = net.fingerprint()
    a, b = power_flow(net), power_flow(net)
    assert net.fingerprint() == before
    assert np.array_equal(a.vm_pu.values, b.vm_pu.values, equal_nan=True)


def test_unknown_algorithm() -> None:
    with pytest.raises(ValueError, match="algorithm"):
        power_flow(two_bus(), algorithm="gauss")


def test_dc_is_lossless() -> None:
    r = power_flow(feeder(), algorithm="dc")
    assert float(r.pl_mw.sum()) == pytest.approx(0.0, abs=1e-12)
    assert (r.q_from_mvar == 0).all()
