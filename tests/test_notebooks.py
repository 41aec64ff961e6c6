"""The notebooks run top to bottom (code cells executed in order, from the notebooks folder)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.chdir(path.parent)
    namespace: dict = {}
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    assert cells, f"{path.name} has no code"
    for i, cell in enumerate(cells):
        exec(compile("".join(cell["source"]), f"{path.name}[cell {i}]", "exec"), namespace)
    import matplotlib.pyplot as plt

    plt.close("all")
    # the tour ends with the heat-wave cascade: power was lost and restored
    kinds = set(namespace["result"].events["kind"])
    assert {"outage", "de-energised"} <= kinds
