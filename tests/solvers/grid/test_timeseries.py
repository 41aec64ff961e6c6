"""Time series over load profiles: each step equals a cold solve with the scaled loads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.solvers.grid.conftest import feeder
from twin.errors import AssetNotFoundError
from twin.grid.flow import power_flow


def _profiles(net, steps: int = 96):
    t = pd.date_range("2026-07-14", periods=steps, freq="15min")
    day = 0.6 + 0.5 * np.sin(np.linspace(0, 2 * np.pi, steps)) ** 2
    loads = pd.DataFrame(np.outer(day, np.ones(len(net.load))), index=t, columns=net.load.index)
    pv = pd.DataFrame({"PV1": np.clip(np.sin(np.linspace(-np.pi / 2, 3 * np.pi / 2, steps)), 0, None)}, index=t)
    return {"load": loads, "static_generator": pv}


@pytest.fixture(scope="module")
def series():
    net = feeder()
    return net, _profiles(net), power_flow(net, profiles=_profiles(net))


def test_series_shape_and_units(series) -> None:
    net, prof, res = series
    assert res.vm_pu.dims == ("time", "bus") and res.sizes["time"] == 96
    assert res.loading_percent.dims == ("time", "line") and res.converged.all()
    assert all("units" in v.attrs for v in res.data_vars.values())
    assert res.iterations.values[1:].mean() < 3  # warm starts


@pytest.mark.parametrize("k", [0, 37, 95])
def test_step_equals_cold_solve(series, k: int) -> None:
    net, prof, res = series
    scaled = net.set("load", list(net.load.index), p_mw=net.load.p_mw * prof["load"].iloc[k].to_numpy(),
                     q_mvar=net.load.q_mvar * prof["load"].iloc[k].to_numpy())
    scaled = scaled.set("static_generator", "PV1", p_mw=1.2 * prof["static_generator"].iloc[k, 0])
    cold = power_flow(scaled)
    step = res.isel(time=k)
    np.testing.assert_allclose(step.vm_pu.values, cold.vm_pu.values, atol=1e-9)
    np.testing.assert_allclose(step.p_from_mw.values, cold.p_from_mw.values, atol=1e-7)
    np.testing.assert_allclose(step.external_grid_p_mw.values, cold.external_grid_p_mw.values, atol=1e-7)
    assert float(step.unserved_mw) == pytest.approx(cold.attrs["unserved_mw"])


def test_unknown_profile_column_is_named() -> None:
    net = feeder()
    bad = {"load": pd.DataFrame({"NOPE": [1.0, 1.1]})}
    with pytest.raises(AssetNotFoundError, match="NOPE"):
        power_flow(net, profiles=bad)
