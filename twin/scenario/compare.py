"""Compare two result sets with per-variable tolerances: a readable table, a Markdown and JSON
report, pass or fail (for CI)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import pandas as pd
import xarray as xr

from twin.results import strip_run_attrs

if TYPE_CHECKING:
    from twin.scenario.runner import RunResult

__all__ = ["Comparison", "DEFAULT_TOLERANCES", "compare", "compare_results", "tolerance_for"]

#: Tolerances by variable (``atol`` in the variable's unit, ``rtol``); ``default`` for the rest.
#: Keys may be ``layer:variable``, ``variable``, ``kpi:name`` or ``default``.
DEFAULT_TOLERANCES: Mapping[str, Mapping[str, float]] = {
    "default": {"atol": 1e-9, "rtol": 1e-6},
    "pressure": {"atol": 1e-3, "rtol": 0.0},
    "head": {"atol": 1e-3, "rtol": 0.0},
    "tank_level": {"atol": 1e-3, "rtol": 0.0},
    "flow": {"atol": 1e-6, "rtol": 1e-6},
    "vm_pu": {"atol": 1e-6, "rtol": 0.0},
    "flow_vph": {"atol": 1e-2, "rtol": 1e-4},
    "travel_time_s": {"atol": 1e-2, "rtol": 1e-4},
}
_COLUMNS = ["item", "max_abs", "max_rel", "where", "atol", "rtol", "ok", "note"]


def tolerance_for(name: str, layer: str, tolerances: Mapping[str, Mapping[str, float]]) -> tuple[float, float]:
    """``(atol, rtol)`` for one variable: ``layer:name``, then ``name``, then ``default``.

    Examples
    --------
    >>> tolerance_for("pressure", "water", DEFAULT_TOLERANCES)
    (0.001, 0.0)
    """
    for key in (f"{layer}:{name}", name, "default"):
        if key in tolerances:
            t = tolerances[key]
            return float(t.get("atol", 0.0)), float(t.get("rtol", 0.0))
    return 0.0, 0.0


def _diff(a: np.ndarray, b: np.ndarray, atol: float, rtol: float) -> tuple[float, float, int, bool]:
    """Largest absolute and relative difference, where, and whether all are within tolerance."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(same, 0.0, np.abs(a - b))
        d = np.where(np.isnan(d), np.inf, d)
        rel = np.where(same, 0.0, d / np.maximum(np.abs(b), 1e-300))
    if d.size == 0:
        return 0.0, 0.0, -1, True
    i = int(np.argmax(d))
    ok = bool(np.all(d <= atol + rtol * np.abs(np.nan_to_num(b, nan=0.0, posinf=0.0, neginf=0.0))))
    return float(d.flat[i]), float(np.max(rel)), i, ok


def _where(da: xr.DataArray, flat: int) -> str:
    if flat < 0 or not da.dims:
        return ""
    idx = np.unravel_index(flat, da.shape)
    return ", ".join(f"{d}={da[d].values[i]}" if d in da.coords else f"{d}={i}" for d, i in zip(da.dims, idx))


def _compare_dataset(layer: str, a: xr.Dataset, b: xr.Dataset, tol: Mapping[str, Mapping[str, float]]) -> list[dict]:
    rows = []
    for name in sorted(set(a.data_vars) | set(b.data_vars)):
        item = f"{layer}:{name}"
        if name not in a.data_vars or name not in b.data_vars:
            rows.append(dict(item=item, ok=False, note="only in " + ("new" if name in a.data_vars else "base")))
            continue
        va, vb = a[name], b[name]
        atol, rtol = tolerance_for(str(name), layer, tol)
        if va.shape != vb.shape or va.dims != vb.dims:
            rows.append(dict(item=item, atol=atol, rtol=rtol, ok=False, note=f"shape {va.shape} vs {vb.shape}"))
            continue
        if va.dtype.kind not in "biuf":
            ok = bool((va.values == vb.values).all())
            rows.append(dict(item=item, atol=atol, rtol=rtol, ok=ok, note="" if ok else "values differ"))
            continue
        dmax, rmax, i, ok = _diff(va.values, vb.values, atol, rtol)
        rows.append(dict(item=item, max_abs=dmax, max_rel=rmax, where=_where(vb, i) if dmax > 0 else "",
                         atol=atol, rtol=rtol, ok=ok))
    return rows


def _compare_kpis(a: pd.DataFrame, b: pd.DataFrame, tol: Mapping[str, Mapping[str, float]]) -> list[dict]:
    sa, sb = a.set_index("kpi").value, b.set_index("kpi").value
    rows = []
    for k in sorted(set(sa.index) | set(sb.index)):
        item = f"kpi:{k}"
        if k not in sa.index or k not in sb.index:
            rows.append(dict(item=item, ok=False, note="only in " + ("new" if k in sa.index else "base")))
            continue
        atol, rtol = tolerance_for(k, "kpi", tol)
        dmax, rmax, _, ok = _diff(np.array([sa[k]]), np.array([sb[k]]), atol, rtol)
        rows.append(dict(item=item, max_abs=dmax, max_rel=rmax, where=f"base {sb[k]:.6g}, new {sa[k]:.6g}",
                         atol=atol, rtol=rtol, ok=ok))
    return rows


def _compare_events(a: pd.DataFrame, b: pd.DataFrame) -> dict:
    def keys(df: pd.DataFrame) -> list[tuple]:
        if df.empty:
            return []
        return sorted(zip(np.round(df.time_s.astype(float), 3), df.asset.astype(str), df.kind.astype(str)))

    ka, kb = keys(a), keys(b)
    if ka == kb:
        return dict(item="events", max_abs=0.0, ok=True, note=f"{len(kb)} events")
    sa, sb = set(ka), set(kb)
    first = sorted(sa ^ sb)[:1]
    note = f"{len(kb)} base vs {len(ka)} new events; first difference: {first[0] if first else 'order'}"
    return dict(item="events", max_abs=float(len(sa ^ sb)), ok=False, note=note)


@dataclass
class Comparison:
    """The outcome of a comparison: one row per variable, KPI and the event log.

    Attributes
    ----------
    table : DataFrame
        ``item, max_abs, max_rel, where, atol, rtol, ok, note``.
    base, new : str
        What was compared.
    """

    table: pd.DataFrame
    base: str = "base"
    new: str = "new"

    @property
    def passed(self) -> bool:
        """True when every item is within tolerance."""
        return bool(self.table.ok.all())

    @property
    def failures(self) -> pd.DataFrame:
        """The rows beyond tolerance."""
        return self.table[~self.table.ok]

    def text(self, *, only_failures: bool = False) -> str:
        """A readable fixed-width table with a verdict line."""
        t = self.failures if only_failures else self.table
        lines = [f"compare {self.base} -> {self.new}: " + ("PASS" if self.passed else
                                                           f"FAIL ({len(self.failures)} beyond tolerance)")]
        if len(t):
            w = max(len("item"), *(len(str(x)) for x in t.item))
            lines.append(f"  {'item':<{w}}  {'max_abs':>10}  {'max_rel':>10}  {'atol':>8}  {'rtol':>8}  "
                         "ok    where/note")
            for r in t.itertuples(index=False):
                info = "; ".join(x for x in (str(r.where or ""), str(r.note or "")) if x)
                lines.append(f"  {r.item:<{w}}  {_num(r.max_abs):>10}  {_num(r.max_rel):>10}  {_num(r.atol):>8}  "
                             f"{_num(r.rtol):>8}  {'ok' if r.ok else 'FAIL':<4}  {info}")
        return "\n".join(lines)

    def markdown(self) -> str:
        """A Markdown report: verdict and a table (failures first)."""
        t = pd.concat([self.failures, self.table[self.table.ok]])
        head = f"# twin compare\n\n`{self.base}` → `{self.new}`: **{'PASS' if self.passed else 'FAIL'}**"
        head += f" ({len(self.failures)} of {len(t)} items beyond tolerance)\n\n"
        rows = ["| item | max abs | max rel | atol | rtol | ok | where / note |", "|---|---|---|---|---|---|---|"]
        for r in t.itertuples(index=False):
            info = "; ".join(x for x in (str(r.where or ""), str(r.note or "")) if x).replace("|", "\\|")
            rows.append(f"| `{r.item}` | {_num(r.max_abs)} | {_num(r.max_rel)} | {_num(r.atol)} | {_num(r.rtol)} | "
                        f"{'✅' if r.ok else '❌'} | {info} |")
        return head + "\n".join(rows) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """The comparison as JSON-ready data."""
        items = json.loads(self.table.to_json(orient="records"))
        return {"base": self.base, "new": self.new, "passed": self.passed, "n_failures": int(len(self.failures)),
                "items": items}

    def write(self, markdown: str | PathLike[str] | None = None, json_path: str | PathLike[str] | None = None
              ) -> None:
        """Write the Markdown and/or JSON report."""
        if markdown is not None:
            Path(markdown).parent.mkdir(parents=True, exist_ok=True)
            Path(markdown).write_text(self.markdown(), encoding="utf-8")
        if json_path is not None:
            Path(json_path).parent.mkdir(parents=True, exist_ok=True)
            Path(json_path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")


def _num(x: Any) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return ""
    return f"{x:.3g}"


def _merge(tolerances: Mapping[str, Mapping[str, float]] | None, rtol: float | None, atol: float | None
           ) -> dict[str, Mapping[str, float]]:
    tol: dict[str, Mapping[str, float]] = dict(DEFAULT_TOLERANCES)
    if rtol is not None or atol is not None:
        tol = {k: {"atol": v["atol"] if atol is None else atol, "rtol": v["rtol"] if rtol is None else rtol}
               for k, v in tol.items()}
    tol.update(dict(tolerances or {}))
    return tol


def compare_results(base: "RunResult", new: "RunResult", tolerances: Mapping[str, Mapping[str, float]] | None = None,
                    *, rtol: float | None = None, atol: float | None = None) -> Comparison:
    """Compare two in-memory results (see :func:`compare`)."""
    tol = _merge(tolerances, rtol, atol)
    rows: list[dict] = []
    for layer in sorted(set(base.datasets) | set(new.datasets)):
        if layer not in base.datasets or layer not in new.datasets:
            rows.append(dict(item=f"{layer}", ok=False, note="layer only in " +
                             ("new" if layer in new.datasets else "base")))
            continue
        rows += _compare_dataset(layer, strip_run_attrs(new.datasets[layer]), strip_run_attrs(base.datasets[layer]),
                                 tol)
    rows += _compare_kpis(new.kpis["summary"], base.kpis["summary"], tol)
    rows.append(_compare_events(new.events, base.events))
    table = pd.DataFrame(rows).reindex(columns=_COLUMNS)
    table["ok"] = table["ok"].astype(bool)
    table[["where", "note"]] = table[["where", "note"]].fillna("").astype(str)
    return Comparison(table, base.name, new.name)


def compare(base_dir: str | PathLike[str], new_dir: str | PathLike[str],
            tolerances: Mapping[str, Mapping[str, float]] | None = None, *, rtol: float | None = None,
            atol: float | None = None) -> Comparison:
    """Compare two result folders written by ``twin run`` / :meth:`RunResult.save`.

    Every numeric variable of every layer is compared with its tolerance (``|new - base| <=
    atol + rtol |base|``, NaN equal to NaN), then each KPI of the summary, then the event log
    (times, assets and kinds). Run attributes (time, host) are ignored.

    Parameters
    ----------
    base_dir, new_dir : path
        Result folders.
    tolerances : mapping, optional
        ``{"pressure": {"atol": 1e-3}, "kpi:traffic_delay_vh": {"rtol": 1e-3}, "default": {...}}``
        on top of :data:`DEFAULT_TOLERANCES`.
    rtol, atol : float, optional
        Override every default tolerance.

    Returns
    -------
    Comparison
    """
    from twin.scenario.runner import load_result

    cmp = compare_results(load_result(base_dir), load_result(new_dir), tolerances, rtol=rtol, atol=atol)
    cmp.base, cmp.new = str(base_dir), str(new_dir)
    return cmp
