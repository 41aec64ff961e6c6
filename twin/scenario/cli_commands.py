"""The ``twin run`` and ``twin compare`` subcommands (registered by :func:`twin.cli.build_parser`).

Exit codes: 0 ok, 1 a difference beyond tolerance, 2 bad input, 3 some scenarios failed.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path
from typing import Any

__all__ = ["add_commands"]

EXIT_OK, EXIT_REGRESSION, EXIT_BAD_INPUT, EXIT_PARTIAL = 0, 1, 2, 3


def _scenario_files(paths: list[str]) -> list[Path]:
    from twin.errors import ScenarioError

    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(p.glob("*.toml")))
        elif p.exists():
            files.append(p)
        else:
            raise ScenarioError(f"{p}: no such scenario file or folder")
    if not files:
        raise ScenarioError(f"no scenario files (*.toml) in {', '.join(paths)}")
    return files


def _cmd_run(args: argparse.Namespace) -> int:
    from twin.scenario import load_scenario, run_many

    files = _scenario_files(args.scenarios)
    specs = [load_scenario(f) for f in files]  # validate all before running any
    out = Path(args.out)
    if args.progress and len(specs) == 1:
        return _run_one_with_progress(specs[0], out, args.quiet)
    ensemble = run_many(None, specs, executor=args.executor, workers=args.workers, address=args.address)
    for name in ensemble:
        target = out if len(specs) == 1 else out / name
        if name in ensemble.failures:
            f = ensemble.failures[name]
            print(f"twin: scenario {name} failed: {f.error_type}: {f.message}", file=sys.stderr)
            continue
        res = ensemble.results[name]
        res.save(target)
        _print_result(res, target, args.quiet)
    if len(specs) > 1:
        out.mkdir(parents=True, exist_ok=True)
        ensemble.summary_table().to_csv(out / "ensemble_summary.csv")
    failed = len(ensemble.failures)
    if failed:
        return EXIT_PARTIAL if failed < len(specs) else EXIT_BAD_INPUT
    return EXIT_OK


def _run_one_with_progress(spec: Any, out: Path, quiet: bool) -> int:
    from twin.errors import TwinError
    from twin.scenario import run

    try:
        res = run(None, spec, progress=True)
    except (TwinError, ValueError) as err:
        print(f"twin: scenario {spec.name} failed: {' '.join(str(err).split())}", file=sys.stderr)
        return EXIT_BAD_INPUT
    res.save(out)
    _print_result(res, out, quiet)
    return EXIT_OK


def _print_result(res: Any, target: Path, quiet: bool) -> None:
    if not quiet:
        print(res.summary_text())
        print(f"  results: {target}  ({res.timings.get('total_s', 0.0):.2f} s)")


def _tolerances(path: str | None) -> dict[str, Any] | None:
    from twin.errors import ScenarioError

    if path is None:
        return None
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ScenarioError(f"{path}: cannot read tolerances: {err}") from None
    for key, value in data.items():
        if not isinstance(value, dict) or set(value) - {"atol", "rtol"}:
            raise ScenarioError(f"{path}: [{key}] expected a table with atol and/or rtol, got {value!r}")
    return data


def _pairs(base: Path, new: Path) -> list[tuple[Path, Path]]:
    from twin.errors import ScenarioError

    for p in (base, new):
        if not p.is_dir():
            raise ScenarioError(f"{p}: no such result folder")
    if (base / "kpi_summary.csv").exists():
        return [(base, new)]
    subs = sorted(d.name for d in base.iterdir() if (d / "kpi_summary.csv").exists())
    if not subs:
        raise ScenarioError(f"{base}: no results (kpi_summary.csv) in it or its subfolders")
    return [(base / s, new / s) for s in subs]


def _cmd_compare(args: argparse.Namespace) -> int:
    from twin.scenario import compare

    tol = _tolerances(args.tolerances)
    passed = True
    md, js = [], []
    for b, n in _pairs(Path(args.base), Path(args.new)):
        cmp = compare(b, n, tol, rtol=args.rtol, atol=args.atol)
        passed &= cmp.passed
        print(cmp.text(only_failures=not args.verbose))
        md.append(cmp.markdown())
        js.append(cmp.to_dict())
    if args.report:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text("\n".join(md), encoding="utf-8")
    if args.json:
        import json

        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(js if len(js) > 1 else js[0], indent=2) + "\n", encoding="utf-8")
    return EXIT_OK if passed else EXIT_REGRESSION


def add_commands(sub: Any) -> None:
    """Add ``run`` and ``compare`` to the ``twin`` subparsers."""
    r = sub.add_parser("run", help="run scenario files (TOML) and write netCDF results and a KPI summary")
    r.add_argument("scenarios", nargs="+", help="scenario .toml files or folders of them")
    r.add_argument("--out", required=True, help="result folder (one subfolder per scenario when several)")
    r.add_argument("--quiet", action="store_true", help="do not print the KPI summary")
    r.add_argument("--progress", action="store_true", help="show a progress bar (one scenario, serial)")
    r.add_argument("--executor", choices=("serial", "processes", "dask"), default="serial",
                   help="run the scenarios one after the other, on a local process pool or on Dask")
    r.add_argument("--workers", type=int, default=None, help="worker processes (default: usable cores)")
    r.add_argument("--address", default=None, help="scheduler address of a running Dask cluster")
    r.set_defaults(func=_cmd_run)
    c = sub.add_parser("compare", help="compare two result folders; exit 1 on a difference beyond tolerance")
    c.add_argument("base", help="baseline result folder")
    c.add_argument("new", help="new result folder")
    c.add_argument("--rtol", type=float, default=None, help="relative tolerance for every variable")
    c.add_argument("--atol", type=float, default=None, help="absolute tolerance for every variable")
    c.add_argument("--tolerances", default=None, help="TOML file: [variable] atol = ..., rtol = ...")
    c.add_argument("--report", default=None, help="write a Markdown report here")
    c.add_argument("--json", default=None, help="write a JSON report here")
    c.add_argument("--verbose", action="store_true", help="list every item, not only failures")
    c.set_defaults(func=_cmd_compare)
