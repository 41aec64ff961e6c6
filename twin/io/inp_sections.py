"""Lexing of EPANET .inp files: sections, lines, tokens, numbers, clock times.

An .inp file is a list of ``[SECTION]`` blocks. Each data line is split into tokens at blank
space (a token that starts with ``"`` runs to the next ``"``), and everything after ``;`` is a
comment. Keywords are matched case-insensitively by their leading letters as EPANET does
(``Hydraulic Timestep`` matches ``HYDR``); ids are case-sensitive and kept as written.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Iterator

from twin.errors import InputFileError

__all__ = ["SECTIONS", "InpFile", "InpLine", "SectionReader", "file_guard", "format_number", "format_si",
           "id_range", "keyword", "parse_hours", "read_sections", "to_number", "tokenize"]

#: Every section EPANET knows, in the order twin writes them.
SECTIONS: tuple[str, ...] = (
    "TITLE", "JUNCTIONS", "RESERVOIRS", "TANKS", "PIPES", "PUMPS", "VALVES", "DEMANDS", "STATUS",
    "PATTERNS", "CURVES", "CONTROLS", "RULES", "ENERGY", "EMITTERS", "LEAKAGE", "QUALITY", "SOURCES",
    "REACTIONS", "MIXING", "OPTIONS", "TIMES", "REPORT", "COORDINATES", "VERTICES", "LABELS",
    "BACKDROP", "TAGS", "ROUGHNESS", "END",
)
_ALIASES = {"COORDS": "COORDINATES", "COORDINATE": "COORDINATES", "VERTEX": "VERTICES"}
_TOKEN = re.compile(r'"([^"]*)"?|(\S+)')
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_LEADING_INT = re.compile(r"\s*[+-]?\d+")


@dataclass(slots=True)
class InpLine:
    """One line of a section: 1-based line number, tokens, text before ``;`` and the comment."""

    number: int
    tokens: list[str]
    text: str
    comment: str


class _Tracked(list):  # type: ignore[type-arg]
    """A list of lines that records, while iterated, which line is being parsed."""

    def __init__(self, items: list[InpLine], owner: "InpFile", section: str) -> None:
        super().__init__(items)
        self._owner = owner
        self._section = section

    def __iter__(self) -> Iterator[InpLine]:
        for item in super().__iter__():
            self._owner.current = (self._section, item)
            yield item


@dataclass
class InpFile:
    """The lines of an .inp file grouped by section (comment-only lines included).

    Iterating over :meth:`lines` or :meth:`data` records the line being parsed in
    ``current``, so that :class:`file_guard` can name it if parsing fails unexpectedly.
    """

    path: str
    sections: dict[str, list[InpLine]] = field(default_factory=dict)
    current: tuple[str, InpLine] | None = None

    def lines(self, section: str) -> list[InpLine]:
        """Lines of one section in file order (empty when the file has none)."""
        return _Tracked(self.sections.get(section, []), self, section)

    def data(self, section: str) -> list[InpLine]:
        """Lines of one section that hold tokens (comments and blank lines dropped)."""
        return _Tracked([ln for ln in self.sections.get(section, []) if ln.tokens], self, section)


def tokenize(line: str) -> tuple[list[str], str, str]:
    """Split a line into tokens, the text before the comment and the comment.

    Examples
    --------
    >>> tokenize(' J1  10.5  "a b" ; note ')
    (['J1', '10.5', 'a b'], 'J1  10.5  "a b"', 'note')
    """
    text, sep, comment = line.partition(";")
    text = text.strip()
    if '"' in text:
        tokens = [a if b == "" else b for a, b in _TOKEN.findall(text)]
    else:
        tokens = text.split()
    return tokens, text, comment.strip() if sep else ""


def read_sections(path: str | PathLike[str]) -> InpFile:
    """Read an .inp file and group its lines by section.

    Lines before the first section and after ``[END]`` are ignored, as EPANET does.

    Raises
    ------
    InputFileError
        The file cannot be read, or a section header is not an EPANET section.

    Examples
    --------
    >>> inp = read_sections("tests/data/water/Net1.inp")
    >>> len(inp.data("PIPES")), inp.data("PIPES")[0].tokens[:3]
    (12, ['10', '10', '11'])
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read the file: {exc.strerror or exc}", path=p) from None
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        content = raw.decode("latin-1")
    out = InpFile(str(p))
    current: list[InpLine] | None = None
    for number, line in enumerate(content.splitlines(), start=1):
        tokens, text, comment = tokenize(line)
        if tokens and text.startswith("["):
            name = _section_name(text)
            if name is None:
                raise InputFileError(f"unknown section {text.split()[0]!r}; EPANET sections are "
                                     f"{', '.join(SECTIONS)}", path=p, line=number, field=text.split()[0])
            if name == "END":
                break
            current = out.sections.setdefault(name, [])
            continue
        if current is not None and (tokens or comment):
            current.append(InpLine(number, tokens, text, comment))
    return out


def _section_name(text: str) -> str | None:
    head = text.split()[0].strip("[]").upper()
    head = _ALIASES.get(head, head)
    return head if head in SECTIONS else None


def keyword(token: str, stem: str) -> bool:
    """Whether ``token`` starts with ``stem`` ignoring case (EPANET's keyword match).

    Examples
    --------
    >>> keyword("Timestep", "TIME"), keyword("TIM", "TIME")
    (True, False)
    """
    return token.upper().startswith(stem)


def to_number(token: str) -> float | None:
    """The finite number a token spells (``1``, ``-.5``, ``104.``, ``1.0E-03``), else None.

    Examples
    --------
    >>> to_number("1.00E-03"), to_number("-.5"), to_number("12a"), to_number("nan")
    (0.001, -0.5, None, None)
    """
    if not _NUMBER.fullmatch(token):
        return None
    value = float(token)
    return value if math.isfinite(value) else None


def parse_hours(value: str, units: str = "") -> float | None:
    """A time in hours as EPANET reads it, or None when it is not a time.

    ``value`` is decimal (``3.4``) or clock style (``h:mm`` or ``h:mm:ss``); ``units`` is
    empty, ``SEC``, ``MIN``, ``HOURS``, ``DAYS`` (decimal values only), ``AM`` or ``PM``
    (12 AM is midnight, 12 PM noon).

    Examples
    --------
    >>> parse_hours("6:30"), parse_hours("90", "min"), parse_hours("12", "AM"), parse_hours("1:15", "pm")
    (6.5, 1.5, 0.0, 13.25)
    """
    parts = value.split(":")
    if len(parts) > 3:
        return None
    numbers = [to_number(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    y = [float(n) for n in numbers] + [0.0] * (3 - len(numbers))  # type: ignore[arg-type]
    unit = units.upper()
    if len(parts) == 1 and unit:
        for stem, per_hour in (("SEC", 3600.0), ("MIN", 60.0), ("HOU", 1.0)):
            if unit.startswith(stem):
                return y[0] / per_hour
        if unit.startswith("DAY"):
            return y[0] * 24.0
    hours = y[0] + y[1] / 60.0 + y[2] / 3600.0 if len(parts) > 1 else y[0]
    if not unit:
        return hours
    if unit.startswith("AM") or unit.startswith("PM"):
        if hours >= 13.0:
            return None
        if unit.startswith("AM"):
            return hours - 12.0 if hours >= 12.0 else hours
        return hours if hours >= 12.0 else hours + 12.0
    return None


def id_range(ids: list[str], first: str, last: str) -> list[bool]:
    """Which ids lie in EPANET's id range ``first .. last`` (a ``[STATUS]``/``[QUALITY]`` range).

    When both ends start with a positive integer the ids are compared by their leading
    integer, otherwise as strings.

    Examples
    --------
    >>> id_range(["1", "5", "12", "x"], "2", "12")
    [False, True, True, False]
    """
    a, b = _atol(first), _atol(last)
    if a > 0 and b > 0:
        return [a <= _atol(i) <= b for i in ids]
    return [first <= i <= last for i in ids]


def _atol(text: str) -> int:
    match = _LEADING_INT.match(text)
    return int(match.group()) if match else 0


def format_number(value: float) -> str:
    """A float written with full precision (``repr``), integers without a trailing ``.0``.

    Examples
    --------
    >>> format_number(100.0), format_number(0.1), format_number(1e-7)
    ('100', '0.1', '1e-07')
    """
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


class SectionReader:
    """Error reporting and checked number parsing for the lines of one section.

    Examples
    --------
    >>> sec = SectionReader("net.inp", "PIPES")
    >>> line = InpLine(7, ["P1", "J1", "J2", "100", "-3"], "", "")
    >>> sec.number(line, 3, "length", positive=True)
    100.0
    >>> sec.number(line, 4, "diameter", positive=True)
    Traceback (most recent call last):
    ...
    twin.errors.InputFileError: net.inp:7: [PIPES] diameter must be > 0, got '-3'
    """

    def __init__(self, path: str, name: str) -> None:
        self.path = path
        self.name = name

    def error(self, line: InpLine, message: str) -> InputFileError:
        """An :class:`InputFileError` naming the file, the line and this section."""
        return InputFileError(message, path=self.path, line=line.number, field=self.name)

    def need(self, line: InpLine, count: int, form: str) -> None:
        """Raise unless the line has at least ``count`` tokens (``form`` shows the expected layout)."""
        if len(line.tokens) < count:
            raise self.error(line, f"too few fields ({len(line.tokens)}); expected: {form}")

    def number(self, line: InpLine, index: int, what: str, *, minimum: float | None = None,
               positive: bool = False) -> float:
        """Token ``index`` as a number, checked against a bound."""
        if index >= len(line.tokens):
            raise self.error(line, f"{what} is missing")
        token = line.tokens[index]
        value = to_number(token)
        if value is None:
            raise self.error(line, f"{what} must be a number, got {token!r}")
        if positive and not value > 0:
            raise self.error(line, f"{what} must be > 0, got {token!r}")
        if minimum is not None and value < minimum:
            raise self.error(line, f"{what} must be >= {minimum:g}, got {token!r}")
        return value



class file_guard:  # noqa: N801 - a context manager
    """Turn an unexpected parsing exception into an :class:`InputFileError` at the current line.

    Examples
    --------
    >>> inp = InpFile("net.inp", {"PIPES": [InpLine(3, ["P1"], "P1", "")]})
    >>> with file_guard(inp):
    ...     for line in inp.data("PIPES"):
    ...         _ = line.tokens[5]
    Traceback (most recent call last):
    ...
    twin.errors.InputFileError: net.inp:3: [PIPES] cannot read this line (IndexError: list index out of range)
    """

    def __init__(self, inp: InpFile) -> None:
        self.inp = inp

    def __enter__(self) -> InpFile:
        return self.inp

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: object) -> None:
        unexpected = (ValueError, IndexError, KeyError, TypeError, AttributeError)
        if isinstance(exc, unexpected) and not isinstance(exc, InputFileError):
            section, line = self.inp.current if self.inp.current else (None, None)
            raise InputFileError(f"cannot read this line ({type(exc).__name__}: {exc})", path=self.inp.path,
                                 line=None if line is None else line.number, field=section) from exc


def format_si(value: float, factor: float) -> str:
    """The shortest text ``t`` with ``float(t) * factor == value`` (an SI value in file units).

    Reading the text back and converting it with ``factor`` gives ``value`` bit for bit;
    when no decimal text does, the full-precision quotient is written.

    Examples
    --------
    >>> 12 * 0.0254, format_si(12 * 0.0254, 0.0254)
    (0.30479999999999996, '12')
    >>> format_si(0.1, 1.0)
    '0.1'
    """
    value = float(value)
    quotient = value / factor
    if not math.isfinite(quotient):
        raise ValueError(f"cannot write {value!r} / {factor!r} as a number")
    for digits in (15, 16, 17):
        text = f"{quotient:.{digits}g}"
        if float(text) * factor == value:
            return format_number(float(text))
    return format_number(quotient)
