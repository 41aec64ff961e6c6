"""The twin command line: info output and exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

import twin
from twin.cli import main


def test_info_lists_counts_crs_couplings_and_problems(small_city, tmp_path, capsys):
    path = twin.io.write_network(small_city, tmp_path / "city.gpkg")
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "network: small_city" in out
    assert "crs: EPSG:3067" in out
    assert "water: junction 2, reservoir 1, tank 1, pipe 2, pump 1" in out
    assert "pump fed_by bus: 1" in out and "signal fed_by bus: 1" in out
    assert "problems: 0" in out


def test_info_reports_problems(small_city, tmp_path, capsys):
    broken = small_city.set("load", "LD1", bus="MV1")
    loads = broken.load.copy()
    loads.loc["LD1", "bus"] = "NOWHERE"
    path = twin.io.write_network(broken.with_table("load", loads), tmp_path / "broken.gpkg")
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "problems: 1" in out and "load 'LD1': bus 'NOWHERE' is not a bus" in out


@pytest.mark.parametrize("name, text, expected", [
    ("missing.gpkg", None, "missing.gpkg: no such file or folder"),
    ("notes.txt", "hello", "notes.txt: unknown file type"),
    ("fake.gpkg", "not a database", "fake.gpkg: cannot open as GeoPackage"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, name, text, expected):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("twin: error: ") and expected in err


def test_console_script_is_installed(small_city, tmp_path):
    path = twin.io.write_network(small_city, tmp_path / "city.gpkg")
    done = subprocess.run([sys.executable, "-m", "twin.cli", "info", str(path)], capture_output=True, text=True)
    assert done.returncode == 0 and "network: small_city" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "twin.cli", "info", str(tmp_path / "x.gpkg")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("twin: error:")


def test_info_reads_tntp_units_from_the_original_header(capsys):
    from pathlib import Path

    from twin.cli import load_any, tntp_units

    data = Path(__file__).parent / "data" / "traffic"
    assert tntp_units(data / "Anaheim" / "Anaheim_net.tntp") == {"length_unit": "ft", "time_unit": "min"}
    assert tntp_units(data / "ChicagoSketch" / "ChicagoSketch_net.tntp") == {"length_unit": "mi", "time_unit": "min"}
    assert tntp_units(data / "SiouxFalls" / "SiouxFalls_net.tntp") == {}
    anaheim = load_any(str(data / "Anaheim" / "Anaheim_net.tntp"))
    assert anaheim.settings["traffic"]["length_unit"] == "ft"
    assert anaheim.link.loc["1-117", "length_m"] == pytest.approx(5280 * 0.3048)  # one mile in feet
    assert main(["info", str(data / "Anaheim" / "Anaheim_net.tntp")]) == 0
    assert "traffic: node 416" in capsys.readouterr().out
