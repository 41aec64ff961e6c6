"""Command-line interface: a thin layer over the public API.

Exit codes: 0 ok, 1 regression, 2 bad input, 3 partial failure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from twin.errors import TwinError
from twin.model import Network

EXIT_OK, EXIT_REGRESSION, EXIT_BAD_INPUT, EXIT_PARTIAL = 0, 1, 2, 3


def load_any(path: str) -> Network:
    """Read a network from any supported file, chosen by its name.

    ``sample_city`` is the bundled sample city; ``*.inp`` EPANET; ``*.m`` MATPOWER;
    ``*_net.tntp`` TNTP (with ``*_trips.tntp`` and ``*_node.tntp`` beside it when present);
    ``*.gpkg`` or a folder: a network written by :func:`twin.io.write_network`.

    Examples
    --------
    >>> load_any("sample_city").crs.to_epsg()
    3067
    """
    from twin import datasets, io
    from twin.errors import InputFileError

    if path == "sample_city":
        return datasets.sample_city()
    p = Path(path)
    if not p.exists():
        raise InputFileError("no such file or folder", path=p)
    name = p.name.lower()
    if name.endswith(".inp"):
        return io.read_inp(p)
    if name.endswith(".m"):
        return io.read_matpower(p)
    if name.endswith("_net.tntp"):
        stem = p.name[: -len("_net.tntp")]
        trips = p.with_name(f"{stem}_trips.tntp")
        node = p.with_name(f"{stem}_node.tntp")
        return io.read_tntp(p, trips if trips.exists() else None, node_path=node if node.exists() else None,
                            **tntp_units(p))
    if name.endswith(".gpkg") or p.is_dir():
        return io.read_network(p)
    raise InputFileError("unknown file type; expected .inp, .m, *_net.tntp, .gpkg or a folder of GeoJSON",
                         path=p)


def tntp_units(path: Path) -> dict[str, str]:
    """Length and time units stated in a TNTP file's ``<ORIGINAL HEADER>`` line, if any.

    TNTP files do not declare units, but some keep the original column titles, e.g.
    ``Length (ft)`` (Anaheim) or ``length (miles)`` (ChicagoSketch). Without such a title the
    reader's defaults (miles, minutes) apply.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "x_net.tntp"
    >>> _ = f.write_text("<ORIGINAL HEADER>~ Tail Head Capacity Length (ft) Free Flow Time (min)\\n")
    >>> tntp_units(f)
    {'length_unit': 'ft', 'time_unit': 'min'}
    """
    with open(path, encoding="utf-8", errors="replace") as handle:
        header = next((line for _, line in zip(range(40), handle) if "<ORIGINAL HEADER>" in line.upper()), "")
    text = header.lower().replace(" ", "")
    units: dict[str, str] = {}
    for token, unit in (("length(ft", "ft"), ("length(feet", "ft"), ("length(mi", "mi"), ("length(km", "km")):
        if token in text:
            units["length_unit"] = unit
            break
    for token, unit in (("time(min", "min"), ("fftt(min", "min"), ("time(h", "h"), ("time(s", "s")):
        if token in text:
            units["time_unit"] = unit
            break
    return units


def info_text(net: Network) -> str:
    """A readable summary of a network: counts per kind and layer, CRS, couplings, problems.

    Examples
    --------
    >>> print(info_text(load_any("sample_city")).splitlines()[0])  # doctest: +ELLIPSIS
    network: sample_city
    """
    from twin.model.schema import LAYERS

    lines = [f"network: {net.name}",
             f"crs: {net.crs.to_string() if net.crs is not None else 'none (local coordinates)'}"]
    for layer in LAYERS:
        counts = net.counts(layer)
        counts = counts[counts > 0]
        if len(counts):
            lines.append(f"{layer}: " + ", ".join(f"{k} {n}" for k, n in counts.items()))
    c = net.couplings
    if len(c):
        by = c.groupby(["src_kind", "relation", "dst_kind"]).size()
        lines.append(f"couplings: {len(c)} (" + ", ".join(f"{a} {r} {b}: {n}" for (a, r, b), n in by.items()) + ")")
    else:
        lines.append("couplings: 0")
    for layer, values in net.settings.items():
        shown = {k: v for k, v in values.items() if not isinstance(v, (dict, list))}
        if shown:
            lines.append(f"settings[{layer}]: " + ", ".join(f"{k}={v}" for k, v in list(shown.items())[:12]))
    problems = net.problems()
    lines.append(f"problems: {len(problems)}")
    lines.extend(f"  - {p}" for p in problems)
    return "\n".join(lines)


def _cmd_info(args: argparse.Namespace) -> int:
    print(info_text(load_any(args.path)))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The ``twin`` argument parser."""
    parser = argparse.ArgumentParser(prog="twin", description="Digital twin of a city's water, grid and traffic.")
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="what is in a network file: counts, CRS, couplings, problems")
    info.add_argument("path", help="network file (.inp, .m, *_net.tntp, .gpkg, folder) or 'sample_city'")
    info.set_defaults(func=_cmd_info)
    from twin.scenario.cli_commands import add_commands

    add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``twin`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (TwinError, OSError) as exc:
        message = " ".join(str(exc).split())
        print(f"twin: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
