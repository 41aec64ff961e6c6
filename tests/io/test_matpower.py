"""MATPOWER reader: every value against PYPOWER's copies of the cases, totals of the PEGASE
cases against an independent numpy load, and refusals of files that are not plain data."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

from twin.errors import InputFileError, UnsupportedFileError
from twin.io.matpower import read_matpower

GRID = Path(__file__).resolve().parents[1] / "data" / "grid"
PYPOWER_CASES = ["case9", "case14", "case30", "case57", "case118", "case300"]
# MATPOWER 8.1 (2025-06-14) set these case300 branches' tap ratio to 1.0; PYPOWER 5.1 has 0.
CASE300_TAP_ONE = [71, 90, 188, 189, 190, 191, 192, 193, 208, 232, 233, 267, 279, 299, 310, 313,
                   315, 316, 318, 320, 324, 325]

MINIMAL = """function mpc = tiny
mpc.version = '2';
mpc.baseMVA = 100;
mpc.bus = [
\t1\t3\t0\t0\t0\t0\t1\t1\t0\t20\t1\t1.1\t0.9;
\t2\t1\t10\t5\t0\t0\t1\t1\t0\t20\t1\t1.1\t0.9;
];
mpc.gen = [
\t1\t10\t0\t50\t-50\t1\t100\t1\t50\t0;
];
mpc.branch = [
\t1\t2\t0.01\t0.05\t0\t100\t100\t100\t0\t0\t1\t-360\t360;
];
"""


def _ppc(case: str) -> dict:
    """PYPOWER's copy of a case, updated where MATPOWER 8.1 changed the data since.

    PYPOWER 5.1 ships older MATPOWER versions of the cases. Each known difference is checked
    to be exactly the old value before it is replaced, so any other difference still fails.
    """
    module = importlib.import_module(f"pypower.{case}")
    ppc = getattr(module, case)()
    ppc = {k: (np.array(v, dtype=float) if k in ("bus", "gen", "branch", "gencost") else v)
           for k, v in ppc.items()}
    gen, branch = ppc["gen"], ppc["branch"]
    if case == "case9":  # MATPOWER 8.1 stores a solved dispatch and voltage set points
        np.testing.assert_array_equal(gen[:, [1, 2, 5]], [[0, 0, 1], [163, 0, 1], [85, 0, 1]])
        gen[:, [1, 2, 5]] = [[72.3, 27.03, 1.04], [163, 6.54, 1.025], [85, -10.95, 1.025]]
    if case in ("case14", "case57", "case118", "case300"):  # "no limit" was 9900, is now 0
        assert (branch[:, 5] == 9900).all()
        branch[:, 5] = 0.0
    if case == "case118":  # branches 86-87 and 68-116 made transformers on 2019-02-15
        assert (branch[[133, 182], 8] == 0).all()
        branch[[133, 182], 8] = 1.0
    if case == "case300":
        assert gen[55, 8] == 2399.01
        gen[55, 8] = 2399.005
        rows = np.array(CASE300_TAP_ONE) - 1
        assert (branch[rows, 8] == 0).all()
        branch[rows, 8] = 1.0
    return ppc


def _write(tmp_path: Path, text: str, name: str = "bad.m") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------- PYPOWER oracle


@pytest.fixture(scope="module", params=PYPOWER_CASES)
def case(request):
    return request.param, read_matpower(GRID / f"{request.param}.m"), _ppc(request.param)


def test_counts_and_settings(case):
    name, net, ppc = case
    assert net.name == name
    assert len(net.bus) == len(ppc["bus"])
    assert len(net.generator) == len(ppc["gen"])
    assert len(net.branch) == len(ppc["branch"])
    grid = net.settings["grid"]
    assert grid["base_mva"] == ppc["baseMVA"]
    assert grid["source_format"] == "matpower" and grid["version"] == "2"
    assert grid["f_hz"] == 60.0 and grid["f_hz_assumed"] is True
    # PYPOWER rounds the cost coefficients to 6 significant digits; MATPOWER 8.1 has 9-10.
    np.testing.assert_allclose(np.array(grid["gencost"]), ppc["gencost"], rtol=5e-6, atol=0)
    assert net.problems() == []


def test_bus_values_equal_pypower(case):
    _, net, ppc = case
    bus = ppc["bus"]
    t = net.bus
    assert list(t.index) == [str(int(b)) for b in bus[:, 0]]
    # Exact equality: both sides parse the same decimal text to the nearest double.
    for column, col in (("vm_pu", 7), ("va_degree", 8), ("vn_kv", 9), ("max_vm_pu", 11),
                        ("min_vm_pu", 12)):
        np.testing.assert_array_equal(t[column].to_numpy(), bus[:, col], err_msg=column)
    types = {1: "PQ", 2: "PV", 3: "REF", 4: "ISOLATED"}
    assert list(t["bus_type"]) == [types[int(v)] for v in bus[:, 1]]
    assert list(t["zone"]) == [str(int(v)) for v in bus[:, 6]]
    assert list(t["loss_zone"]) == [str(int(v)) for v in bus[:, 10]]
    assert list(t["in_service"]) == [int(v) != 4 for v in bus[:, 1]]


def test_loads_and_shunts_equal_pypower(case):
    _, net, ppc = case
    bus = ppc["bus"]
    ids = np.array([str(int(b)) for b in bus[:, 0]])
    has_load = (bus[:, 2] != 0) | (bus[:, 3] != 0)
    assert list(net.load.index) == [f"load:{b}" for b in ids[has_load]]
    assert list(net.load["bus"]) == list(ids[has_load])
    np.testing.assert_array_equal(net.load["p_mw"].to_numpy(), bus[has_load, 2])
    np.testing.assert_array_equal(net.load["q_mvar"].to_numpy(), bus[has_load, 3])
    has_shunt = (bus[:, 4] != 0) | (bus[:, 5] != 0)
    assert list(net.shunt["bus"]) == list(ids[has_shunt])
    np.testing.assert_array_equal(net.shunt["p_mw"].to_numpy(), bus[has_shunt, 4])
    np.testing.assert_array_equal(net.shunt["q_mvar"].to_numpy(), -bus[has_shunt, 5])
    assert net.load["in_service"].all() and net.shunt["in_service"].all()


def test_generator_values_equal_pypower(case):
    _, net, ppc = case
    gen, bus = ppc["gen"], ppc["bus"]
    t = net.generator
    assert list(t.index) == [f"gen:{k}" for k in range(1, len(gen) + 1)]
    assert list(t["bus"]) == [str(int(b)) for b in gen[:, 0]]
    for column, col in (("p_mw", 1), ("q_mvar", 2), ("max_q_mvar", 3), ("min_q_mvar", 4),
                        ("vm_pu", 5), ("sn_mva", 6), ("max_p_mw", 8), ("min_p_mw", 9)):
        np.testing.assert_array_equal(t[column].to_numpy(), gen[:, col], err_msg=column)
    np.testing.assert_array_equal(t["in_service"].to_numpy(), gen[:, 7] > 0)
    ref = {int(b) for b in bus[bus[:, 1] == 3, 0]}
    assert list(t["slack"]) == [int(b) in ref for b in gen[:, 0]]
    assert t["slack"].sum() >= 1


def test_branch_values_equal_pypower(case):
    _, net, ppc = case
    br = ppc["branch"]
    t = net.branch
    assert list(t.index) == [f"branch:{k}" for k in range(1, len(br) + 1)]
    assert list(t["from_bus"]) == [str(int(b)) for b in br[:, 0]]
    assert list(t["to_bus"]) == [str(int(b)) for b in br[:, 1]]
    for column, col in (("r_pu", 2), ("x_pu", 3), ("b_pu", 4), ("rate_a_mva", 5), ("rate_b_mva", 6),
                        ("rate_c_mva", 7), ("tap_ratio", 8), ("shift_degree", 9),
                        ("angle_min_degree", 11), ("angle_max_degree", 12)):
        np.testing.assert_array_equal(t[column].to_numpy(), br[:, col], err_msg=column)
    np.testing.assert_array_equal(t["in_service"].to_numpy(), br[:, 10] > 0)


@pytest.mark.parametrize("name", PYPOWER_CASES + ["case1354pegase", "case2869pegase"])
def test_every_matrix_equals_an_independent_numpy_load(name):
    """Second oracle, independent of PYPOWER's versions: the file's own text, read by numpy."""
    path = GRID / f"{name}.m"
    net = read_matpower(path)
    bus, gen, branch = (_numpy_matrix(path, s) for s in ("bus", "gen", "branch"))
    np.testing.assert_array_equal(net.bus[["vm_pu", "va_degree", "vn_kv", "max_vm_pu", "min_vm_pu"]]
                                  .to_numpy(), bus[:, [7, 8, 9, 11, 12]])
    np.testing.assert_array_equal(
        net.generator[["p_mw", "q_mvar", "max_q_mvar", "min_q_mvar", "vm_pu", "sn_mva", "max_p_mw",
                       "min_p_mw"]].to_numpy(), gen[:, [1, 2, 3, 4, 5, 6, 8, 9]])
    np.testing.assert_array_equal(
        net.branch[["r_pu", "x_pu", "b_pu", "rate_a_mva", "rate_b_mva", "rate_c_mva", "tap_ratio",
                    "shift_degree", "angle_min_degree", "angle_max_degree"]].to_numpy(),
        branch[:, [2, 3, 4, 5, 6, 7, 8, 9, 11, 12]])
    np.testing.assert_array_equal(np.array(net.settings["grid"]["gencost"]),
                                  _numpy_matrix(path, "gencost"))


def test_case14_bus_names_and_case9_loads():
    net = read_matpower(GRID / "case14.m")
    assert net.bus.loc["1", "name"] == "Bus 1     HV"
    assert net.bus.loc["14", "name"] == "Bus 14    LV"
    assert list(net.shunt.index) == ["shunt:9"]
    assert net.shunt.loc["shunt:9", "q_mvar"] == -19.0  # Bs = 19 Mvar injected at 1 p.u.
    case9 = read_matpower(GRID / "case9.m", name="nine")
    assert case9.name == "nine"
    assert list(case9.load.index) == ["load:5", "load:7", "load:9"]
    assert case9.load["p_mw"].sum() == 315.0
    assert list(case9.generator["slack"]) == [True, False, False]


# ---------------------------------------------------------------------------- PEGASE totals


def _numpy_matrix(path: Path, section: str) -> np.ndarray:
    """The rows of ``mpc.<section> = [ ... ];`` loaded with plain string splitting and numpy."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"mpc.{section} = [") + 1
    end = lines.index("];", start)
    rows = [line.split("%")[0].strip().rstrip(";") for line in lines[start:end]]
    return np.loadtxt([r for r in rows if r], ndmin=2)


@pytest.mark.parametrize("case, counts", [
    ("case1354pegase", (1354, 260, 1991)),
    ("case2869pegase", (2869, 510, 4582)),
])
def test_pegase_counts_and_totals(case, counts):
    path = GRID / f"{case}.m"
    net = read_matpower(path)
    assert (len(net.bus), len(net.generator), len(net.branch)) == counts
    bus, gen, branch = (_numpy_matrix(path, s) for s in ("bus", "gen", "branch"))
    assert len(bus) == counts[0] and len(gen) == counts[1] and len(branch) == counts[2]
    # Sums of the same doubles in the same order are bit-identical; allow 1e-9 relative anyway.
    assert net.load["p_mw"].sum() == pytest.approx(bus[:, 2].sum(), rel=1e-12)
    assert net.load["q_mvar"].sum() == pytest.approx(bus[:, 3].sum(), rel=1e-12)
    assert net.shunt["q_mvar"].sum() == pytest.approx(-bus[:, 5].sum(), rel=1e-12)
    assert net.generator["p_mw"].sum() == pytest.approx(gen[:, 1].sum(), rel=1e-12)
    assert net.branch["x_pu"].sum() == pytest.approx(branch[:, 3].sum(), rel=1e-12)
    np.testing.assert_array_equal(net.branch["r_pu"].to_numpy(), branch[:, 2])
    np.testing.assert_array_equal(net.bus["vn_kv"].to_numpy(), bus[:, 9])
    assert net.generator["slack"].sum() == int((bus[:, 1] == 3).sum())
    assert net.problems() == []


# ---------------------------------------------------------------------------- syntax


def test_minimal_case_and_matlab_syntax_variants(tmp_path):
    text = MINIMAL.replace("mpc.branch = [\n", "mpc.branch = [ % comment with 'quote' and ] bracket\n")
    text = text.replace("mpc.baseMVA = 100;", "mpc.baseMVA = 100; mpc.extra_note = 'a % b'; % tail")
    text = text.replace("\t1\t10\t0\t50", "\t1, 10, ...  continued\n 0, 50")
    text += "mpc.gencost = [2 0 0 3 0.1 1 0; ];\nmpc.bus_name = {\n 'One'; 'Two''s' };\n"
    text += "%{\nmpc.baseMVA = 5; block comments are skipped\n%{\nnested\n%}\nstill comment\n%}\nend\n"
    net = read_matpower(_write(tmp_path, text, "tiny.m"))
    assert net.name == "tiny"
    assert list(net.bus["name"]) == ["One", "Two's"]
    assert net.generator.loc["gen:1", "max_q_mvar"] == 50.0
    assert net.settings["grid"]["gencost"] == [[2.0, 0.0, 0.0, 3.0, 0.1, 1.0, 0.0]]
    assert net.settings["grid"]["ignored_fields"] == ["extra_note"]
    one_line = MINIMAL.replace("mpc.bus = [\n\t1", "mpc.bus = [1").replace("0.9;\n\t2", "0.9; 2")
    assert len(read_matpower(_write(tmp_path, one_line, "oneline.m")).bus) == 2


def test_transposed_matrix_and_statement_after_end_are_refused(tmp_path):
    with pytest.raises(UnsupportedFileError, match=r"bad\.m:13: .*goes on after the value"):
        read_matpower(_write(tmp_path, MINIMAL.replace("360;\n];", "360;\n]';")))
    with pytest.raises(UnsupportedFileError, match=r"bad\.m:15: .*follows the end of the function"):
        read_matpower(_write(tmp_path, MINIMAL + "end\nmpc.baseMVA = 10;\n"))


def test_areas_generator_text_and_dc_lines(tmp_path):
    extra = "mpc.areas = [1 1];\nmpc.genfuel = {'coal'};\nmpc.gentype = {'ST'};\n"
    net = read_matpower(_write(tmp_path, MINIMAL + extra))
    assert net.settings["grid"]["areas"] == [[1.0, 1.0]]
    assert net.generator.loc["gen:1", "fuel"] == "coal" and net.generator.loc["gen:1", "gen_type"] == "ST"
    with pytest.raises(InputFileError, match=r"bad\.m:14: \[genfuel\] mpc\.genfuel has 2 entries"):
        read_matpower(_write(tmp_path, MINIMAL + "mpc.genfuel = {'coal'; 'gas'};\n"))
    dcline = "mpc.dcline = [1 2 1 10 10 0 0 1.01 1 0 100 0 0 0 0 0 0];\n"
    with pytest.raises(UnsupportedFileError, match=r"bad\.m:14: \[dcline\] mpc\.dcline"):
        read_matpower(_write(tmp_path, MINIMAL + dcline))
    with pytest.raises(InputFileError, match=r"nothing\.m: cannot read the file"):
        read_matpower(tmp_path / "nothing.m")


def test_isolated_bus_and_out_of_service_elements(tmp_path):
    text = MINIMAL.replace("\t2\t1\t10\t5\t0\t0", "\t2\t4\t10\t5\t0.5\t-2")
    text = text.replace("0\t0\t1\t-360\t360;", "0\t0\t0\t-360\t360;")
    net = read_matpower(_write(tmp_path, text))
    assert net.bus.loc["2", "bus_type"] == "ISOLATED" and not net.bus.loc["2", "in_service"]
    assert net.shunt.loc["shunt:2", "p_mw"] == 0.5 and net.shunt.loc["shunt:2", "q_mvar"] == 2.0
    assert not net.branch.loc["branch:1", "in_service"]


# ---------------------------------------------------------------------------- refusals


def test_case33bw_computes_values_and_is_refused():
    path = GRID / "case33bw.m"
    with pytest.raises(UnsupportedFileError) as err:
        read_matpower(path)
    message = str(err.value)
    assert message.startswith(f"{path}:115: ")
    assert "[PQ, PV, REF, NONE, BUS_I" in message and "savecase" in message
    assert err.value.line == 115 and err.value.path == str(path)


@pytest.mark.parametrize("statement, line", [
    ("mpc.branch(:, 3) = mpc.branch(:, 3) / 2;", 14),
    ("Vbase = 12.66e3;", 14),
    ("mpc.baseMVA = 10 * 10;", 14),
])
def test_code_statements_are_refused(tmp_path, statement, line):
    path = _write(tmp_path, MINIMAL + statement + "\n")
    with pytest.raises(UnsupportedFileError) as err:
        read_matpower(path)
    assert err.value.line == line and str(path) in str(err.value)


def test_expression_inside_matrix_is_refused(tmp_path):
    path = _write(tmp_path, MINIMAL.replace("0.01\t0.05", "0.01 - 0.005\t0.05"))
    with pytest.raises(UnsupportedFileError, match=r"bad\.m:12: \[branch\] value '-'"):
        read_matpower(path)


@pytest.mark.parametrize("section", ["bus", "gen", "branch", "baseMVA"])
def test_missing_section_names_file_and_section(tmp_path, section):
    lines = MINIMAL.splitlines(keepends=True)
    start = next(i for i, l in enumerate(lines) if l.startswith(f"mpc.{section} ="))
    end = start if lines[start].rstrip().endswith(";") else next(
        i for i in range(start, len(lines)) if lines[i].startswith("];"))
    path = _write(tmp_path, "".join(lines[:start] + lines[end + 1:]))
    with pytest.raises(InputFileError) as err:
        read_matpower(path)
    assert not isinstance(err.value, UnsupportedFileError)
    assert err.value.field == section and f"[{section}]" in str(err.value)
    assert str(err.value).startswith(str(path))


def test_wrong_column_count_names_the_line(tmp_path):
    path = _write(tmp_path, MINIMAL.replace("\t1\t1.1\t0.9;\n];", "\t1.1\t0.9;\n];"))
    with pytest.raises(InputFileError) as err:
        read_matpower(path)
    assert err.value.line == 6 and err.value.field == "bus"
    assert "row has 12 values, expected 13" in str(err.value) and "bad.m:6:" in str(err.value)


def test_too_few_columns_and_bad_values(tmp_path):
    short = MINIMAL.replace("\t0\t0\t1\t-360\t360;", ";")
    with pytest.raises(InputFileError, match=r"bad\.m:11: \[branch\] mpc\.branch has 8 columns"):
        read_matpower(_write(tmp_path, short))
    unknown = MINIMAL.replace("\t1\t2\t0.01", "\t1\t7\t0.01")
    with pytest.raises(InputFileError, match=r"bad\.m:12: \[branch\] tbus 7 is not a bus"):
        read_matpower(_write(tmp_path, unknown))
    bad_type = MINIMAL.replace("\t2\t1\t10", "\t2\t5\t10")
    with pytest.raises(InputFileError, match=r"bad\.m:6: \[bus\] bus type 5"):
        read_matpower(_write(tmp_path, bad_type))
    duplicate = MINIMAL.replace("\t2\t1\t10", "\t1\t1\t10")
    with pytest.raises(InputFileError, match=r"bad\.m:6: \[bus\] bus number 1 appears twice"):
        read_matpower(_write(tmp_path, duplicate))
    unclosed = MINIMAL.replace("360;\n];", "360;\n")
    with pytest.raises(InputFileError, match=r"bad\.m:11: \[branch\] matrix branch .* not closed"):
        read_matpower(_write(tmp_path, unclosed))


def test_version_must_be_2(tmp_path):
    with pytest.raises(UnsupportedFileError, match=r"\[version\] .*version 1"):
        read_matpower(_write(tmp_path, MINIMAL.replace("mpc.version = '2';\n", "")))
    with pytest.raises(UnsupportedFileError, match=r"bad\.m:2: \[version\]"):
        read_matpower(_write(tmp_path, MINIMAL.replace("'2'", "'1'")))
