"""Read MATPOWER version 2 case files (``.m``) as data, without running MATLAB.

A MATPOWER case file is a MATLAB function that fills a struct ``mpc``. Most cases only assign
literal matrices (``mpc.bus = [...]``); twin reads those. A few cases compute values in MATLAB
code after the data (MATPOWER's ``case33bw`` and ``case69`` convert ohms and kW to per unit and
MW). Such a file is refused with :class:`~twin.errors.UnsupportedFileError` naming the line and
the statement, rather than read with the wrong numbers: run it in MATPOWER (or Octave) and save
the result with ``savecase``, then read that file.

Mapping to twin's grid tables (ids are MATPOWER bus numbers as strings):

* ``bus`` row -> ``bus`` (``zone`` is the MATPOWER area; the loss zone is kept as the extra
  column ``loss_zone``; ``mpc.bus_name`` becomes the extra column ``name``);
* non-zero ``Pd``/``Qd`` -> one ``load`` ``load:<bus>``;
* non-zero ``Gs``/``Bs`` -> one ``shunt`` ``shunt:<bus>`` with ``p_mw = Gs`` and
  ``q_mvar = -Bs`` (both consumed at 1 p.u., as MATPOWER defines them);
* ``gen`` rows -> ``generator`` ``gen:1``, ``gen:2``, ... in row order (``slack`` for the
  generators at a REF bus; ``mpc.gentype``/``mpc.genfuel`` become extra columns);
* ``branch`` rows -> ``branch`` ``branch:1``, ... in per unit on ``baseMVA``.

``settings["grid"]`` holds ``base_mva``, ``f_hz`` (60.0: MATPOWER files carry no frequency, so
it is assumed and ``f_hz_assumed`` is True), ``source_format`` (``"matpower"``), ``version``,
``case_name``, and ``gencost`` / ``areas`` (lists of rows) where the file has them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.errors import InputFileError, SchemaError, UnsupportedFileError
from twin.model.network import Network
from twin.model.tables import make_table

__all__ = ["read_matpower"]

# A MATLAB numeric literal as written in case files (no expressions, no complex numbers).
_NUMBER = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Inf|inf|NaN|nan)")
_FUNCTION = re.compile(r"function\s+(?:\[\s*(\w+)\s*\]|(\w+))\s*=\s*(\w+)\s*(?:\(\s*\))?\s*[;,]?\s*$")
_END = re.compile(r"(?:end|endfunction|return)\s*;?")
_ASSIGN = re.compile(r"\s*(\w+)\.(\w+)\s*=\s*")
_SCALAR = re.compile(r"""('(?:[^']|'')*'|"(?:[^"]|"")*"|[^;,\s]+)\s*(?:[;,]\s*|$)""")
_END_OF_VALUE = re.compile(r"\s*(?:[;,]\s*|$)")
_CELL_TOKEN = re.compile(r"""\s*('(?:[^']|'')*'|"(?:[^"]|"")*"|[;,]|\})""")
_TRANSPOSE_BEFORE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_])}.'")

# Minimum columns of the version 2 matrices (MATPOWER's caseformat) and their names.
_BUS_COLUMNS = ("bus_i", "type", "Pd", "Qd", "Gs", "Bs", "area", "Vm", "Va", "baseKV", "zone", "Vmax", "Vmin")
_GEN_COLUMNS = ("bus", "Pg", "Qg", "Qmax", "Qmin", "Vg", "mBase", "status", "Pmax", "Pmin")
_BRANCH_COLUMNS = ("fbus", "tbus", "r", "x", "b", "rateA", "rateB", "rateC", "ratio", "angle", "status")
_BUS_TYPES = {1: "PQ", 2: "PV", 3: "REF", 4: "ISOLATED"}
_KNOWN = {"version", "baseMVA", "bus", "gen", "branch", "gencost", "areas", "bus_name", "gentype", "genfuel"}


@dataclass
class _Section:
    """One ``mpc.<name> = value`` assignment: a matrix, a cell array of text, or a scalar."""

    name: str
    kind: str  # "matrix", "cell" or "scalar"
    line: int
    value: Any = None
    row_lines: list[int] = field(default_factory=list)


# ---------------------------------------------------------------------------- lexing


def _strip_comment(text: str) -> tuple[str, bool]:
    """Code part of one line and whether it continues (``...``) on the next line."""
    if "'" not in text and '"' not in text:
        code = text.split("%", 1)[0]
    else:
        code = _strip_comment_quoted(text)
    cut = code.find("...")
    if cut >= 0:
        return code[:cut], True
    return code, False


def _strip_comment_quoted(text: str) -> str:
    """Cut a line at its first ``%`` outside a string literal."""
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                if i + 1 < len(text) and text[i + 1] == quote:
                    i += 1  # doubled quote inside a string
                else:
                    quote = ""
        elif ch == "%":
            return text[:i]
        elif ch == '"' or (ch == "'" and (i == 0 or text[i - 1] not in _TRANSPOSE_BEFORE)):
            quote = ch
        i += 1
    return text


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Code of each line without comments, continuation lines joined: (first line number, code)."""
    out: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    depth = 0  # nesting of %{ ... %} block comments
    for number, raw in enumerate(text.splitlines(), start=1):
        marker = raw.strip()
        if marker in ("%{", "%}") or depth:
            depth = max(depth + (marker == "%{") - (marker == "%}"), 0)
            continue
        code, continued = _strip_comment(raw)
        if pending is not None:
            pending = (pending[0], pending[1] + " " + code)
        else:
            pending = (number, code)
        if not continued:
            out.append(pending)
            pending = None
    if pending is not None:
        out.append(pending)
    return out


# ---------------------------------------------------------------------------- statements


def _unsupported(path: Path, line: int, statement: str, why: str) -> UnsupportedFileError:
    shown = " ".join(statement.split())
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return UnsupportedFileError(
        f"statement `{shown}` {why}; twin reads MATPOWER case files as data (only "
        "`function mpc = name` and `mpc.X = [...]` / `mpc.X = value` assignments). Values computed "
        "in MATLAB code cannot be read faithfully: run the case in MATPOWER or Octave, save it with "
        "savecase, and read the saved file", path=path, line=line)


def _parse_sections(path: Path, text: str) -> tuple[dict[str, _Section], str | None]:
    """Every assignment of the file, by field name, and the case (function) name."""
    lines = _logical_lines(text)
    sections: dict[str, _Section] = {}
    struct, case_name, seen_code, ended = "mpc", None, False, 0
    i = 0
    while i < len(lines):
        number, code = lines[i]
        stripped = code.strip()
        i += 1
        if not stripped:
            continue
        if ended:
            raise _unsupported(path, number, stripped, f"follows the end of the function (line {ended})")
        match = _FUNCTION.match(stripped)
        if match:
            if seen_code:
                raise _unsupported(path, number, stripped, "defines a function after other statements")
            struct, case_name, seen_code = match.group(1) or match.group(2), match.group(3), True
            continue
        seen_code = True
        if _END.fullmatch(stripped):
            ended = number
            continue
        pos = 0
        while pos < len(code) and code[pos:].strip():
            section, i, number, code, pos = _parse_assignment(path, lines, i, number, code, pos, struct)
            if section.name in sections:
                raise _unsupported(path, section.line, f"{struct}.{section.name} = ...",
                                   f"assigns {struct}.{section.name} a second time (first on line "
                                   f"{sections[section.name].line})")
            sections[section.name] = section
    return sections, case_name


def _parse_assignment(path: Path, lines: list[tuple[int, str]], i: int, number: int, code: str,
                      pos: int, struct: str) -> tuple[_Section, int, int, str, int]:
    """Parse one assignment starting at ``code[pos:]``; return it and where parsing goes on."""
    match = _ASSIGN.match(code, pos)
    if match is None or match.group(1) != struct:
        raise _unsupported(path, number, code[pos:], "is MATLAB code, not a data assignment")
    name, start = match.group(2), match.end()
    opener = code[start:start + 1]
    if opener == "[":
        section = _Section(name, "matrix", number, [], [])
        i, number, code, pos = _read_matrix(path, lines, i, number, code, start + 1, section)
    elif opener == "{":
        section = _Section(name, "cell", number, [], [])
        i, number, code, pos = _read_cell(path, lines, i, number, code, start + 1, section)
    else:
        scalar = _SCALAR.match(code, start)
        if scalar is None:
            raise _unsupported(path, number, code[pos:], "is an expression, not a literal value")
        section = _Section(name, "scalar", number, _scalar_value(path, number, name, scalar.group(1)))
        return section, i, number, code, scalar.end()
    end = _END_OF_VALUE.match(code, pos)
    if end is None:
        raise _unsupported(path, number, code[pos - 1:], f"goes on after the value of {struct}.{name}")
    return section, i, number, code, end.end()


def _scalar_value(path: Path, line: int, name: str, token: str) -> float | str:
    if token[0] in "'\"":
        return token[1:-1].replace(token[0] * 2, token[0])
    if _NUMBER.fullmatch(token):
        return float(token)
    raise _unsupported(path, line, f"{name} = {token}", "is an expression, not a literal value")


def _read_matrix(path: Path, lines: list[tuple[int, str]], i: int, number: int, code: str,
                 pos: int, section: _Section) -> tuple[int, int, str, int]:
    """Collect the rows of ``[ ... ]`` from ``code[pos:]`` on; return where the text goes on."""
    while True:
        close = code.find("]", pos)
        body = code[pos:] if close < 0 else code[pos:close]
        for piece in body.split(";"):
            tokens = [t for t in re.split(r"[\s,]+", piece) if t]
            if tokens:
                section.value.append(_row_values(path, number, section.name, tokens))
                section.row_lines.append(number)
        if close >= 0:
            return i, number, code, close + 1
        if i >= len(lines):
            raise InputFileError(f"matrix {section.name} opened on line {section.line} is not closed "
                                 "with ']'", path=path, line=section.line, field=section.name)
        number, code = lines[i]
        pos, i = 0, i + 1


def _row_values(path: Path, line: int, name: str, tokens: list[str]) -> list[float]:
    for token in tokens:
        if not _NUMBER.fullmatch(token):
            raise UnsupportedFileError(
                f"value {token!r} of {name} is not a number literal (MATLAB expressions and variables "
                "are code, not data); run the case in MATPOWER and save it with savecase",
                path=path, line=line, field=name)
    return [float(t) for t in tokens]


def _read_cell(path: Path, lines: list[tuple[int, str]], i: int, number: int, code: str,
               pos: int, section: _Section) -> tuple[int, int, str, int]:
    """Collect the text entries of ``{ ... }`` (one per row) from ``code[pos:]`` on."""
    while True:
        while pos < len(code) and code[pos:].strip():
            token = _CELL_TOKEN.match(code, pos)
            if token is None:
                raise _unsupported(path, number, code[pos:], f"is not a text entry of {section.name}")
            pos, text = token.end(), token.group(1)
            if text == "}":
                return i, number, code, pos
            if text not in ";,":
                section.value.append(text[1:-1].replace(text[0] * 2, text[0]))
                section.row_lines.append(number)
        if i >= len(lines):
            raise InputFileError(f"cell array {section.name} opened on line {section.line} is not "
                                 "closed with '}'", path=path, line=section.line, field=section.name)
        number, code = lines[i]
        pos, i = 0, i + 1


# ---------------------------------------------------------------------------- checks


def _matrix(path: Path, sections: dict[str, _Section], name: str,
            columns: tuple[str, ...]) -> tuple[np.ndarray, list[int]]:
    """A section as a 2-D float array (and the line of each row), checked for shape."""
    section = sections.get(name)
    if section is None:
        raise InputFileError(f"the file has no mpc.{name} matrix; a MATPOWER version 2 case needs "
                             "baseMVA, bus, gen and branch", path=path, field=name)
    if section.kind != "matrix":
        raise InputFileError(f"mpc.{name} must be a numeric matrix [...]", path=path,
                             line=section.line, field=name)
    rows = section.value
    width = len(rows[0]) if rows else len(columns)
    for row, line in zip(rows, section.row_lines):
        if len(row) != width:
            raise InputFileError(f"row has {len(row)} values, expected {width} like the first row of "
                                 f"mpc.{name} (line {section.row_lines[0]})", path=path, line=line,
                                 field=name)
    if width < len(columns):
        raise InputFileError(f"mpc.{name} has {width} columns; MATPOWER version 2 needs at least "
                             f"{len(columns)} ({' '.join(columns)})", path=path, line=section.line,
                             field=name)
    return np.array(rows, dtype=float).reshape(len(rows), width), section.row_lines


def _scalar(path: Path, sections: dict[str, _Section], name: str) -> _Section:
    section = sections.get(name)
    if section is None:
        raise InputFileError(f"the file has no mpc.{name}; a MATPOWER version 2 case needs "
                             "version, baseMVA, bus, gen and branch", path=path, field=name)
    if section.kind != "scalar":
        raise InputFileError(f"mpc.{name} must be a single value", path=path, line=section.line,
                             field=name)
    return section


def _check_version(path: Path, sections: dict[str, _Section]) -> None:
    if "version" not in sections:
        raise UnsupportedFileError("the file has no mpc.version; MATPOWER reads such a case as "
                                   "version 1, which twin does not read (add mpc.version = '2' if "
                                   "the matrices follow the version 2 format)", path=path,
                                   field="version")
    section = _scalar(path, sections, "version")
    if str(section.value).strip() not in ("2", "2.0"):
        raise UnsupportedFileError(f"MATPOWER case format version {section.value!r} is not read; "
                                   "only version '2' is (convert it with MATPOWER's loadcase and "
                                   "savecase)", path=path, line=section.line, field="version")


def _bus_ids(path: Path, values: np.ndarray, lines: list[int], name: str, column: str) -> list[str]:
    """Bus numbers as id strings; each must be a positive whole number."""
    bad = ~((values > 0) & (np.mod(values, 1.0) == 0.0))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InputFileError(f"{column} {values[k]:g} is not a positive whole bus number", path=path,
                             line=lines[k], field=name)
    return [str(int(v)) for v in values]


def _check_refs(path: Path, ids: list[str], known: pd.Index, lines: list[int], name: str,
                column: str) -> None:
    missing = ~pd.Index(ids).isin(known)
    if missing.any():
        k = int(np.flatnonzero(missing)[0])
        raise InputFileError(f"{column} {ids[k]} is not a bus of mpc.bus", path=path, line=lines[k],
                             field=name)


def _check_min(path: Path, values: np.ndarray, lines: list[int], name: str, column: str,
               minimum: float) -> None:
    bad = values < minimum
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InputFileError(f"{column} must be >= {minimum:g}, got {values[k]:g}", path=path,
                             line=lines[k], field=name)


# ---------------------------------------------------------------------------- tables


def _bus_tables(path: Path, sections: dict[str, _Section]) -> dict[str, pd.DataFrame]:
    """The bus, load and shunt tables from mpc.bus (and mpc.bus_name)."""
    bus, lines = _matrix(path, sections, "bus", _BUS_COLUMNS)
    ids = _bus_ids(path, bus[:, 0], lines, "bus", "bus_i")
    index = pd.Index(ids)
    if index.has_duplicates:
        k = int(np.flatnonzero(index.duplicated())[0])
        raise InputFileError(f"bus number {ids[k]} appears twice", path=path, line=lines[k], field="bus")
    types = []
    for code, line in zip(bus[:, 1], lines):
        if code not in _BUS_TYPES:
            raise InputFileError(f"bus type {code:g} is not 1 (PQ), 2 (PV), 3 (REF) or 4 (isolated)",
                                 path=path, line=line, field="bus")
        types.append(_BUS_TYPES[int(code)])
    _check_min(path, bus[:, 9], lines, "bus", "baseKV", 0.0)
    table = pd.DataFrame({
        "id": ids, "vn_kv": bus[:, 9], "bus_type": types, "vm_pu": bus[:, 7], "va_degree": bus[:, 8],
        "min_vm_pu": bus[:, 12], "max_vm_pu": bus[:, 11], "zone": [_label(v) for v in bus[:, 6]],
        "in_service": bus[:, 1] != 4, "loss_zone": [_label(v) for v in bus[:, 10]],
    })
    names = _text_column(path, sections, "bus_name", len(ids), "mpc.bus")
    if names is not None:
        table["name"] = names
    load_at = (bus[:, 2] != 0) | (bus[:, 3] != 0)
    shunt_at = (bus[:, 4] != 0) | (bus[:, 5] != 0)
    at = np.array(ids, dtype=object)
    loads = pd.DataFrame({"id": ["load:" + b for b in at[load_at]], "bus": at[load_at],
                          "p_mw": bus[load_at, 2], "q_mvar": bus[load_at, 3]})
    shunts = pd.DataFrame({"id": ["shunt:" + b for b in at[shunt_at]], "bus": at[shunt_at],
                           "p_mw": bus[shunt_at, 4], "q_mvar": -bus[shunt_at, 5]})
    return {"bus": table, "load": loads, "shunt": shunts}


def _label(value: float) -> str:
    """An area or zone number as text (``1``, not ``1.0``)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _text_column(path: Path, sections: dict[str, _Section], name: str, rows: int,
                 of: str) -> list[str] | None:
    section = sections.get(name)
    if section is None:
        return None
    if section.kind != "cell" or len(section.value) != rows:
        count = len(section.value) if section.kind == "cell" else "not a cell array of"
        raise InputFileError(f"mpc.{name} has {count} entries; it needs one text per row of {of} "
                             f"({rows} rows)", path=path, line=section.line, field=name)
    return [str(v) for v in section.value]


def _generator_table(path: Path, sections: dict[str, _Section], buses: pd.DataFrame) -> pd.DataFrame:
    gen, lines = _matrix(path, sections, "gen", _GEN_COLUMNS)
    at = _bus_ids(path, gen[:, 0], lines, "gen", "bus")
    _check_refs(path, at, pd.Index(buses["id"]), lines, "gen", "bus")
    ref = set(buses.loc[buses["bus_type"] == "REF", "id"])
    table = pd.DataFrame({
        "id": [f"gen:{k}" for k in range(1, len(at) + 1)], "bus": at, "p_mw": gen[:, 1],
        "q_mvar": gen[:, 2], "vm_pu": gen[:, 5], "min_q_mvar": gen[:, 4], "max_q_mvar": gen[:, 3],
        "min_p_mw": gen[:, 9], "max_p_mw": gen[:, 8], "sn_mva": gen[:, 6],
        "slack": [b in ref for b in at], "in_service": gen[:, 7] > 0,
    })
    for name, column in (("gentype", "gen_type"), ("genfuel", "fuel")):
        values = _text_column(path, sections, name, len(at), "mpc.gen")
        if values is not None:
            table[column] = values
    return table


def _branch_table(path: Path, sections: dict[str, _Section], buses: pd.DataFrame) -> pd.DataFrame:
    branch, lines = _matrix(path, sections, "branch", _BRANCH_COLUMNS)
    known = pd.Index(buses["id"])
    ends = []
    for col, column in ((0, "fbus"), (1, "tbus")):
        ids = _bus_ids(path, branch[:, col], lines, "branch", column)
        _check_refs(path, ids, known, lines, "branch", column)
        ends.append(ids)
    for col in (5, 6, 7):
        _check_min(path, branch[:, col], lines, "branch", _BRANCH_COLUMNS[col], 0.0)
    wide = branch.shape[1] >= 13
    return pd.DataFrame({
        "id": [f"branch:{k}" for k in range(1, len(lines) + 1)], "from_bus": ends[0], "to_bus": ends[1],
        "r_pu": branch[:, 2], "x_pu": branch[:, 3], "b_pu": branch[:, 4], "rate_a_mva": branch[:, 5],
        "rate_b_mva": branch[:, 6], "rate_c_mva": branch[:, 7], "tap_ratio": branch[:, 8],
        "shift_degree": branch[:, 9],
        "angle_min_degree": branch[:, 11] if wide else np.full(len(lines), -360.0),
        "angle_max_degree": branch[:, 12] if wide else np.full(len(lines), 360.0),
        "in_service": branch[:, 10] > 0,
    })


def _grid_settings(path: Path, sections: dict[str, _Section], case_name: str | None) -> dict[str, Any]:
    base = _scalar(path, sections, "baseMVA")
    if not isinstance(base.value, float) or not base.value > 0:
        raise InputFileError(f"baseMVA must be a number > 0, got {base.value!r}", path=path,
                             line=base.line, field="baseMVA")
    if "dcline" in sections and sections["dcline"].value:
        raise UnsupportedFileError("mpc.dcline (DC lines) has no equivalent in twin's grid tables; "
                                   "remove it, or model each DC line as a pair of generators",
                                   path=path, line=sections["dcline"].line, field="dcline")
    settings: dict[str, Any] = {"base_mva": base.value, "f_hz": 60.0, "f_hz_assumed": True,
                                "source_format": "matpower", "version": "2", "case_name": case_name}
    for name in ("gencost", "areas"):
        if name in sections:
            matrix, _ = _matrix(path, sections, name, ())
            settings[name] = matrix.tolist()
    ignored = sorted(set(sections) - _KNOWN - {"dcline"})
    if ignored:
        settings["ignored_fields"] = ignored
    return settings


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read the file: {exc.strerror or exc}", path=path) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:  # comments of some cases are Latin-1 (accented names)
        return data.decode("latin-1")


def read_matpower(path: str | PathLike[str], *, name: str | None = None) -> Network:
    """Read a MATPOWER version 2 case file (``.m``) into a grid Network.

    Parameters
    ----------
    path : str or PathLike
        The case file, e.g. ``case9.m``.
    name : str, optional
        Network name (default: the case's function name, else the file name).

    Returns
    -------
    Network
        Tables ``bus``, ``load``, ``shunt``, ``generator`` and ``branch`` (per unit on
        ``settings["grid"]["base_mva"]``); see the module documentation for the mapping.
        ``f_hz`` is assumed to be 60 Hz: MATPOWER files do not state a frequency.

    Raises
    ------
    InputFileError
        A required section (version, baseMVA, bus, gen, branch) is missing, a row has the wrong
        number of values, or a value is invalid; the message names the file, line and section.
    UnsupportedFileError
        The file computes values in MATLAB code (any statement other than ``mpc.X = [...]`` or
        ``mpc.X = value``), is not version 2, or has DC lines.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> case = pathlib.Path(tempfile.mkdtemp()) / "case2.m"
    >>> _ = case.write_text(
    ...     "function mpc = case2\\nmpc.version = '2';\\nmpc.baseMVA = 100;\\n"
    ...     "mpc.bus = [1 3 0 0 0 0 1 1 0 20 1 1.1 0.9; 2 1 10 5 0 0 1 1 0 20 1 1.1 0.9];\\n"
    ...     "mpc.gen = [1 10 0 50 -50 1.0 100 1 50 0];\\n"
    ...     "mpc.branch = [1 2 0.01 0.05 0 100 100 100 0 0 1 -360 360];\\n")
    >>> net = read_matpower(case)
    >>> net.name, list(net.load.index), float(net.load.loc["load:2", "p_mw"])
    ('case2', ['load:2'], 10.0)
    >>> bool(net.generator.loc["gen:1", "slack"]), net.settings["grid"]["base_mva"]
    (True, 100.0)
    """
    path = Path(path)
    sections, case_name = _parse_sections(path, _read_text(path))
    _check_version(path, sections)
    settings = _grid_settings(path, sections, case_name)
    tables = _bus_tables(path, sections)
    tables["generator"] = _generator_table(path, sections, tables["bus"])
    tables["branch"] = _branch_table(path, sections, tables["bus"])
    try:
        built = {kind: make_table(kind, frame) for kind, frame in tables.items()}
    except SchemaError as exc:
        raise InputFileError(str(exc), path=path) from None
    return Network(built, settings={"grid": settings}, name=name or case_name or path.stem)
