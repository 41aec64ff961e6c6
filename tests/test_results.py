"""Result datasets: units and long names on every variable, provenance, netCDF round trip."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from twin.errors import TwinError
from twin.results import Variable, make_dataset, provenance, strip_run_attrs


def test_dataset_carries_units_ids_and_provenance(small_city, tmp_path):
    ds = make_dataset(
        {"vm_pu": Variable(("time", "bus"), np.ones((2, 3)), "p.u.", "voltage magnitude"),
         "p_mw": Variable(("bus",), [0.0, 0.1, 0.3], "MW", "active power consumed")},
        {"time": [0.0, 900.0], "bus": list(small_city.bus.index)},
        attrs=provenance(small_city, solver="test", seed=3), coord_units={"time": "s"},
    )
    assert ds.vm_pu.attrs == {"units": "p.u.", "long_name": "voltage magnitude"}
    assert ds.time.attrs["units"] == "s" and ds.bus.values.tolist() == ["HV", "MV1", "MV2"]
    assert ds.attrs["network_hash"] == small_city.fingerprint() and ds.attrs["seed"] == 3
    ds.to_netcdf(tmp_path / "r.nc")
    back = xr.load_dataset(tmp_path / "r.nc")
    xr.testing.assert_identical(strip_run_attrs(back), strip_run_attrs(ds))


def test_variable_without_long_name_is_refused():
    with pytest.raises(TwinError, match="'x' has no long_name"):
        make_dataset({"x": Variable(("a",), [1.0], "m", "")}, {"a": ["1"]})
