"""N-1 contingency analysis: DC screening with PTDF/LODF, then AC verification of the critical outages.

Every in-service line, transformer, MATPOWER branch and generator is taken out in turn. The DC
screen estimates every post-outage branch flow with one rank-one LODF update per outage (and
PTDF columns for generator outages); outages whose estimated loading reaches
``max_loading_percent - screening_margin_percent``, or that split an island, are verified with a
full AC Newton-Raphson solve started from the base-case voltages. Every AC solve reuses the base
``Ybus`` pattern (the outaged branch leaves explicit zeros) and one Jacobian pattern over all
buses with its symbolic LU: bus kinds changed by the outage (PV -> PQ, a new reference) and
islands left without a source are pinned rows, not a new analysis. Results are per contingency:
loading, overloads, voltage violations, islanded (unserved) load.

The DC screen and the AC solves run in ``nogil`` Numba kernels (:mod:`twin.solvers.grid.outages`)
on a thread pool (``workers``), each thread with its own work arrays; results go straight into
preallocated arrays and one Dataset is built at the end. Plain branch outages solve on the base
case's Jacobian pattern; generator and islanding outages on the all-bus pattern with pinned
unknowns. Newton steps after the first refactor may reuse the last factors (chord steps) while
each cuts the mismatch tenfold; the convergence test is unchanged, so the solution agrees with a
full re-solve to the tolerance (``iterations`` counts the steps). An outage the kernel cannot
solve takes the one-at-a-time path and, failing that, a solve of the rebuilt case.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp
import xarray as xr
from scipy.sparse.linalg import splu

from twin.model.network import Network
from twin.parallel import run_pulled, thread_count
from twin.grid.flow import initial_voltages, prepare, result_variables, solve_case
from twin.results import Variable, make_dataset, provenance
from twin.solvers.grid.build import BRANCH_KINDS, PowerFlowCase, with_outage
from twin.solvers.grid.dc import dc_matrices, dc_solution
from twin.solvers.grid.newton import JacobianPattern, _bus_ordered_lu, jacobian, newton_raphson
from twin.solvers.grid.sparse_lu import SymbolicLU
from twin.solvers.grid.topology import energised_buses, islands
from twin.solvers.grid.ybus import branch_loading

__all__ = ["contingencies"]

_KINDS = ("line", "transformer", "branch", "generator")
_BLOCK = 256  # outages per dense LODF block (memory: n_branch x _BLOCK)
def _ratings_mva(g: Any, case: PowerFlowCase) -> np.ndarray:
    """Thermal rating of every stacked branch in MVA (inf where unlimited)."""
    ln, tr, br = g.line, g.transformer, g.branch
    r_line = np.sqrt(3) * ln.max_i_ka * ln.parallel * np.asarray(g.vn_kv)[ln.from_bus]
    r_tr = tr.sn_mva * tr.parallel
    r_br = np.where(br.rate_a_mva > 0, br.rate_a_mva, np.inf)
    return np.concatenate([r_line, r_tr, r_br]).astype(float)


def _outage_list(g: Any, case: PowerFlowCase, elements: Sequence[str]) -> list[tuple[str, int]]:
    """(kind, position) of every in-service element to take out."""
    out: list[tuple[str, int]] = []
    for kind in elements:
        if kind not in _KINDS:
            raise ValueError(f"unknown element kind {kind!r}; use some of {', '.join(_KINDS)}")
        if kind == "generator":
            gen = case.elements["generator"]
            out += [(kind, int(i)) for i in np.flatnonzero(gen["on"] & case.energised[gen["bus"]])]
        else:
            sl = case.slices[kind]
            out += [(kind, int(i)) for i in np.flatnonzero(case.branch_on[sl])]
    return out


def _dc_screen(case: PowerFlowCase, outages: list[tuple[str, int]], ratings: np.ndarray, workers: int = 1
               ) -> tuple[np.ndarray, np.ndarray]:
    """Estimated max DC loading (%) and islanding flag per outage.

    Branch outages: LODF (post-outage flow = base flow + PTDF transfer of the outaged flow);
    generator outages: the island's reference picks up the lost generation (a PTDF column). Each
    outage is one sparse solve with the factors of the reduced ``Bbus`` (no dense PTDF), in the
    Numba kernel :func:`~twin.solvers.grid.outages.dc_screen` on ``workers`` threads.
    """
    from twin.solvers.grid.outages import dc_screen

    r, x, _, _, ratio, shift = case.pi
    on = case.branch_on
    bbus, _, _ = dc_matrices(case.n_bus, case.f, case.t, x, ratio, shift, on)
    _, flows, _ = dc_solution(case, case.sbus())
    n = len(outages)
    loading = np.full(n, np.nan)
    island = np.zeros(n, dtype=bool)
    if n == 0:
        return loading, island
    solve = np.flatnonzero((case.kind == 0) | (case.kind == 1))
    red = np.full(case.n_bus, -1, dtype=np.int64)
    red[solve] = np.arange(len(solve))
    b = np.where(on, 1.0 / np.where(on, x * ratio, 1.0), 0.0)
    rated = np.isfinite(ratings) & on
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(rated, 100.0 * case.base_mva / np.where(rated, ratings, 1.0), np.nan)
    gen = case.elements["generator"]
    jobs = np.array([(case.slices[k].start + i, -1) if k != "generator" else (-1, i) for k, i in outages],
                    dtype=np.int64).reshape(-1, 2)
    if len(solve):
        lu = splu(bbus[solve][:, solve].tocsc(), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                  options={"SymmetricMode": True})
        lo, up = lu.L.tocsc(), lu.U.tocsc()
        lo.sort_indices()
        up.sort_indices()
        lc, uc = lo.tocoo(), up.tocoo()
        strict_l, strict_u = lc.row > lc.col, uc.row < uc.col
        lmat = sp.csc_matrix((lc.data[strict_l], (lc.row[strict_l], lc.col[strict_l])), shape=lo.shape)
        umat = sp.csc_matrix((uc.data[strict_u], (uc.row[strict_u], uc.col[strict_u])), shape=up.shape)
        factors = (lmat.indptr.astype(np.int64), lmat.indices.astype(np.int64), lmat.data,
                   umat.indptr.astype(np.int64), umat.indices.astype(np.int64), umat.data, up.diagonal().copy(),
                   np.argsort(lu.perm_r).astype(np.int64), np.argsort(lu.perm_c).astype(np.int64))
    else:
        e = np.zeros(1, dtype=np.int64)
        factors = (e, e[:0], np.zeros(0), e, e[:0], np.zeros(0), np.zeros(0), e[:0], e[:0])
    f, t = np.ascontiguousarray(case.f, dtype=np.int64), np.ascontiguousarray(case.t, dtype=np.int64)
    gen_bus = np.ascontiguousarray(gen["bus"], dtype=np.int64)
    gen_p = np.ascontiguousarray(gen["s"].real / case.base_mva, dtype=float)
    flows = np.ascontiguousarray(flows, dtype=float)

    def part(sl: slice) -> None:
        dc_screen(jobs[sl], len(solve), red, *factors, f, t, b, flows, scale, gen_bus, gen_p, loading[sl],
                  island[sl])

    parts = max(1, min(workers, n // 256))
    if parts > 1:
        bounds = np.linspace(0, n, parts + 1).astype(int)
        with ThreadPoolExecutor(parts) as pool:
            for fut in [pool.submit(part, slice(bounds[k], bounds[k + 1])) for k in range(parts)]:
                fut.result()
    else:
        part(slice(0, n))
    return loading, island


def _metrics(g: Any, case: PowerFlowCase, v: np.ndarray, limit: float, vmin: np.ndarray,
             vmax: np.ndarray) -> dict[str, Any]:
    """Loading, overloads, voltage band and unserved load of one solved state."""
    variables, _ = result_variables(g, case, v, case.sbus())
    loads, names = [], []
    for kind in BRANCH_KINDS:
        pre = "" if kind == "line" else kind + "_"
        val = np.nan_to_num(np.asarray(variables[pre + "loading_percent"].values, float))
        loads.append(val)
        names += [f"{kind}:{i}" for i in getattr(g, kind).ids]
    load = np.concatenate(loads)
    vm = np.asarray(variables["vm_pu"].values)
    lit = np.isfinite(vm)
    ld = case.elements["load"]
    dark = ld["on"] & ~case.energised[ld["bus"]]
    worst = int(np.argmax(load)) if len(load) else -1
    return {
        "max_loading_percent": float(load.max(initial=0.0)),
        "worst_element": names[worst] if worst >= 0 and load[worst] > 0 else "",
        "n_overloads": int(np.sum(load > limit)),
        "min_vm_pu": float(vm[lit].min()) if lit.any() else np.nan,
        "max_vm_pu": float(vm[lit].max()) if lit.any() else np.nan,
        "n_voltage_violations": int(np.sum(lit & ((vm < vmin - 1e-9) | (vm > vmax + 1e-9)))),
        "unserved_mw": float(np.sum(ld["s"].real[dark])),
    }


def _verify(g: Any, case: PowerFlowCase, v_base: np.ndarray, kind: str, i: int, tol: float, max_it: int,
            limit: float, vmin: np.ndarray, vmax: np.ndarray) -> dict[str, Any]:
    """AC solve of one outage from the base voltages."""
    if kind == "generator":
        c = with_outage(case, generators=[i])
    else:
        c = with_outage(case, branches=[case.slices[kind].start + i])
    v0 = np.where(c.energised, v_base, 0.0)
    fresh = c.energised & (np.abs(v0) == 0)
    v0[fresh] = 1.0
    ctrl = (c.kind == 1) | (c.kind == 2)
    v0[ctrl] = c.vm_set[ctrl] * np.exp(1j * np.angle(v0[ctrl]))
    res = newton_raphson(c.ybus, c.sbus(), v0, c.kind, tol=tol, max_iteration=max_it)
    out = {"converged": res.converged, "iterations": res.iterations}
    if res.converged:
        out.update(_metrics(g, c, res.v, limit, vmin, vmax))
    return out


class _FastVerifier:
    """AC verification of every outage on the base ``Ybus`` pattern and one symbolic LU.

    A branch outage subtracts the branch's four terms from a copy of the base ``Ybus`` data (the
    pattern stays, with explicit zeros); a generator outage changes the injections and the bus
    kinds (PV -> PQ, or a new reference). The Jacobian pattern covers an angle and a magnitude at
    every bus (:meth:`JacobianPattern.build` with ``full``): unknowns fixed by the outage's bus
    kinds, including every bus of an island left without a source, are pinned, so all outages
    share the base pattern and its symbolic LU and each solve is a few numeric refactorizations
    from the base voltages. Metrics are computed straight from the voltages (no result tables).
    """

    def __init__(self, g: Any, case: PowerFlowCase, v_base: np.ndarray, tol: float, max_it: int, limit: float,
                 vmin: np.ndarray, vmax: np.ndarray) -> None:
        self.g, self.case, self.v_base, self.tol, self.max_it = g, case, v_base, tol, max_it
        self.limit, self.vmin, self.vmax = limit, vmin, vmax
        self.pattern = JacobianPattern.build(case.ybus, case.kind, full=True)
        self.sbus = case.sbus()
        self.sbus_all = self.sbus  # outages only de-energise more buses: zero those per outage
        gen = case.elements["generator"]
        self.ok = (case.branch_on if case.branch_ok is None else case.branch_ok).copy()
        self.bus_ok = case.energised if case.bus_ok is None else case.bus_ok
        self.labels = islands(case.n_bus, case.f[self.ok], case.t[self.ok])[1]
        self.raw_kind = self._raw_kind(gen["on"])
        y = case.ybus
        f, t = case.f, case.t
        self.pos = np.stack([_csr_positions(y, f, f), _csr_positions(y, f, t), _csr_positions(y, t, f),
                             _csr_positions(y, t, t)])
        self.names = np.array([f"{k}:{i}" for k in BRANCH_KINDS for i in getattr(g, k).ids], dtype=object)
        ln, tr, br = g.line, g.transformer, g.branch
        sl = case.slices
        n = len(f)
        self.a_f, self.a_t, self.c = np.ones(n), np.ones(n), np.zeros(n)
        self.c[sl["line"]] = 100.0 / (ln.max_i_ka * ln.parallel)
        self.a_f[sl["transformer"]], self.a_t[sl["transformer"]] = tr.vn_hv_kv, tr.vn_lv_kv
        self.c[sl["transformer"]] = np.sqrt(3) * 100.0 / (tr.sn_mva * tr.parallel)
        with np.errstate(divide="ignore"):
            self.rate = np.where(br.rate_a_mva > 0, 100.0 / np.where(br.rate_a_mva > 0, br.rate_a_mva, 1.0), np.nan)
        self.kv_f, self.kv_t = case.base_kv[f] * np.sqrt(3), case.base_kv[t] * np.sqrt(3)
        self.rate_all = np.zeros(n)
        self.rate_all[sl["branch"]] = self.rate

    def _raw_kind(self, gen_on: np.ndarray) -> np.ndarray:
        """Bus kinds from the sources before island analysis (as :func:`with_outage`)."""
        gen, ext = self.case.elements["generator"], self.case.elements["external_grid"]
        kind = np.zeros(self.case.n_bus, dtype=np.int64)
        ctrl = gen_on & (gen["kind"] > 0)
        np.maximum.at(kind, gen["bus"][ctrl], gen["kind"][ctrl])
        kind[ext["bus"][ext["on"]]] = 2
        return kind

    def outage(self, kind: str, i: int, island: bool) -> dict[str, Any]:
        """AC solve and metrics of one outage (``island``: the branch may split an island)."""
        c = self.case
        ybus, sbus, energised, bus_kind, ok = c.ybus, self.sbus, c.energised, c.kind, self.ok
        if kind == "generator":
            energised, bus_kind, sbus = self._generator_outage(i)
        else:
            row = c.slices[kind].start + i
            data = c.ybus.data.copy()
            np.subtract.at(data, self.pos[:, row], np.array([c.y[0][row], c.y[1][row], c.y[2][row], c.y[3][row]]))
            ybus = sp.csr_matrix((data, c.ybus.indices, c.ybus.indptr), shape=c.ybus.shape)
            ok = ok.copy()
            ok[row] = False
            if island:
                energised, bus_kind, _ = energised_buses(c.n_bus, c.f[ok], c.t[ok], self.raw_kind, self.bus_ok)
                if not np.array_equal(energised, c.energised):
                    sbus = np.where(energised, self.sbus_all, 0.0)
        v0 = self.v_base.copy()
        res = newton_raphson(ybus, sbus, v0, bus_kind, tol=self.tol, max_iteration=self.max_it, pattern=self.pattern)
        if not res.converged and kind != "generator" and not island:  # the DC screen missed a split
            return self.outage(kind, i, True)
        out: dict[str, Any] = {"converged": res.converged, "iterations": res.iterations}
        if res.converged:
            v = np.where(energised, res.v, 0.0)
            out.update(self.metrics(v, ok & energised[c.f], energised))
        return out

    def _ensure_lu(self, pattern: JacobianPattern, kind: np.ndarray) -> bool:
        """The symbolic LU of ``pattern`` (bus-ordered, else SuperLU's), checked on the base Jacobian."""
        if pattern.lu:
            return True
        jac = jacobian(self.case.ybus, self.v_base, pattern, kind)
        lu = _bus_ordered_lu(self.case.ybus, pattern)
        if lu is None or not lu.factor(jac.data):
            lu = SymbolicLU.analyse(jac)
        if lu is None:
            return False
        pattern.lu[:] = [lu]
        return True

    def _generator_outage(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(energised buses, bus kinds, injections in p.u.) with generator ``i`` out of service."""
        c = self.case
        gen = c.elements["generator"]
        gen_on = gen["on"].copy()
        gen_on[i] = False
        energised, bus_kind, _ = energised_buses(c.n_bus, c.f, c.t, self._raw_kind(gen_on), self.bus_ok,
                                                 labels=self.labels)
        sbus = self.sbus_all.copy()
        sbus[gen["bus"][i]] -= gen["s"][i] / c.base_mva
        sbus[~energised] = 0.0
        return energised, bus_kind, sbus

    def _special(self, kind: str, i: int, island: bool) -> tuple[int, np.ndarray, np.ndarray, np.ndarray] | None:
        """(branch row or -1, sbus, bus kinds, energised) of an outage that changes kinds or islands;
        None for a plain branch outage (base injections and kinds)."""
        c = self.case
        if kind == "generator":
            energised, bus_kind, sbus = self._generator_outage(i)
            return -1, sbus, bus_kind, energised
        row = c.slices[kind].start + i
        if not island:
            return None
        ok = self.ok.copy()
        ok[row] = False
        energised, bus_kind, _ = energised_buses(c.n_bus, c.f[ok], c.t[ok], self.raw_kind, self.bus_ok)
        sbus = self.sbus if np.array_equal(energised, c.energised) else np.where(energised, self.sbus_all, 0.0)
        return row, sbus, bus_kind, energised

    def run(self, jobs: list[tuple[str, int, bool]], workers: int, reuse: bool = True
            ) -> tuple[np.ndarray, np.ndarray]:
        """AC solves and metrics of ``jobs`` ((kind, position, may island)) on ``workers`` threads.

        Returns ``out_f`` (max loading %, min vm, max vm, unserved MW, mismatch) and ``out_i``
        (status, iterations, worst branch or -1, overloads, voltage violations) per job; status
        -1 (unusable pivot) or > 0 is left to the caller's slow path.
        """
        from twin.solvers.grid.outages import Workspace, solve_outage

        c = self.case
        n = len(jobs)
        out_f = np.full((n, 5), np.nan)
        out_i = np.zeros((n, 6), dtype=np.int64)
        out_i[:, 0] = -1
        base_pat = JacobianPattern.build(c.ybus, c.kind)
        pats = {"base": base_pat if self._ensure_lu(base_pat, c.kind) else None,
                "full": self.pattern if self._ensure_lu(self.pattern, c.kind) else None}
        if pats["full"] is None:
            return out_f, out_i
        y = c.ybus
        yp, yi = y.indptr.astype(np.int64), y.indices.astype(np.int64)
        yx_base = np.ascontiguousarray(y.data, dtype=np.complex128)
        y4 = np.ascontiguousarray(np.stack(c.y).astype(np.complex128))
        yb = tuple(np.ascontiguousarray(a, dtype=np.complex128) for a in c.y)
        ld = c.elements["load"]
        ld_bus = np.ascontiguousarray(ld["bus"], dtype=np.int64)
        ld_p = np.where(ld["on"], ld["s"].real, 0.0)
        bus_map = np.ascontiguousarray(c.bus_map, dtype=np.int64)
        vmin, vmax = np.asarray(self.vmin, float), np.asarray(self.vmax, float)
        base_kind = np.ascontiguousarray(c.kind, dtype=np.int64)
        v_base = np.ascontiguousarray(self.v_base, dtype=np.complex128)
        sbus0 = np.ascontiguousarray(self.sbus, dtype=np.complex128)
        energised0 = np.ascontiguousarray(c.energised)
        first_rated = c.slices["branch"].start
        tol, max_it, limit = float(self.tol), int(self.max_it), float(self.limit)
        chunk = 8

        def one(j: int, ws: dict[str, Any]) -> None:
            kind, i, island = jobs[j]
            spec = self._special(kind, i, island)
            if spec is None:
                row, sbus, bus_kind, energised = c.slices[kind].start + i, sbus0, base_kind, energised0
                key = "base" if pats["base"] is not None else "full"
            else:
                row, sbus, bus_kind, energised = spec
                sbus = np.ascontiguousarray(sbus, dtype=np.complex128)
                bus_kind = np.ascontiguousarray(bus_kind, dtype=np.int64)
                key = "full"
            pat = pats[key]
            if key not in ws:
                ws[key] = Workspace(yx_base, c.n_bus, len(c.f), pat)
            w, lu = ws[key], pat.lu[0]
            solve_outage(row, self.pos, y4, yp, yi, yx_base, w.yx, sbus, v_base, w.v, w.v_prev, bus_kind,
                         energised, pat.va_pos, pat.vm_pos, pat.n_va, pat.indptr, w.f, w.dx, lu.prow,
                         lu.qcol, lu.dest, lu.bp, lu.bi, w.bx, lu.lp, lu.li, w.lx, lu.up, lu.ui, w.ux, w.ud, w.work,
                         w.y, tol, max_it, reuse, c.f, c.t, *yb, self.ok, w.on, float(c.base_mva), self.kv_f,
                         self.kv_t, self.a_f, self.a_t, self.c, self.rate_all, first_rated, w.load, bus_map, vmin,
                         vmax, ld_bus, ld_p, limit, out_f[j], out_i[j])

        run_pulled(n, one, workers if n >= 4 * chunk else 1, chunk=chunk)
        return out_f, out_i

    def metrics(self, v: np.ndarray, on: np.ndarray, energised: np.ndarray) -> dict[str, Any]:
        """As :func:`_metrics`, from the voltages, the in-service branches and the energised buses."""
        c = self.case
        load = np.empty(len(c.f))
        branch_loading(v, c.f, c.t, *c.y, on, c.base_mva, self.kv_f, self.kv_t, self.a_f, self.a_t, self.c,
                       self.rate_all, c.slices["branch"].start, load)
        lit = energised[c.bus_map]
        vm = np.where(lit, np.abs(v[c.bus_map]), np.nan)
        ld = c.elements["load"]
        worst = int(np.argmax(load)) if len(load) else -1
        return {
            "max_loading_percent": float(load.max(initial=0.0)),
            "worst_element": str(self.names[worst]) if worst >= 0 and load[worst] > 0 else "",
            "n_overloads": int(np.sum(load > self.limit)),
            "min_vm_pu": float(vm[lit].min()) if lit.any() else np.nan,
            "max_vm_pu": float(vm[lit].max()) if lit.any() else np.nan,
            "n_voltage_violations": int(np.sum(lit & ((vm < self.vmin - 1e-9) | (vm > self.vmax + 1e-9)))),
            "unserved_mw": float(np.sum(ld["s"].real[ld["on"] & ~energised[ld["bus"]]])),
        }


def _workers(workers: int | None, n: int) -> int:
    """Threads for ``n`` outage solves: ``workers``, or by default (None or 0) the cores this process
    may run on, at most one per 8 outages. On an idle 2-core machine two threads solve
    case2869pegase's N-1 2.0x faster than one; on a saturated one the extra thread retires
    (:mod:`twin.parallel`, benchmarks/results_grid.md)."""
    return thread_count(workers, n, per_thread=8)


def _csr_positions(a: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Position in ``a.data`` of each (row, col) entry (sorted indices; -1 where absent)."""
    out = np.full(len(rows), -1, dtype=np.int64)
    for k, (i, j) in enumerate(zip(rows.tolist(), cols.tolist())):
        lo, hi = a.indptr[i], a.indptr[i + 1]
        p = lo + int(np.searchsorted(a.indices[lo:hi], j))
        if p < hi and a.indices[p] == j:
            out[k] = p
    return out


def contingencies(network: Network, *, elements: Sequence[str] = _KINDS, max_loading_percent: float = 100.0,
                  screening_margin_percent: float = 10.0, verify: str = "critical", tolerance_mva: float = 1e-8,
                  max_iteration: int = 10, workers: int | None = None) -> xr.Dataset:
    """N-1 contingency analysis of ``network``'s grid.

    Parameters
    ----------
    network : Network
        The network; its base case must converge.
    elements : sequence of str
        Element kinds to take out: ``line``, ``transformer``, ``branch``, ``generator``.
    max_loading_percent : float
        Loading limit of lines, transformers and branches (% of thermal / rated / RATE_A).
    screening_margin_percent : float
        AC-verify the outages whose DC-estimated loading reaches ``max_loading_percent`` minus
        this margin (and every islanding outage).
    verify : {"critical", "all", "none"}
        Which outages get an AC solve.
    tolerance_mva, max_iteration : float, int
        Newton-Raphson settings of the AC solves.
    workers : int, optional
        Threads solving outages at once (default None or 0: the cores this process may run on,
        at most one per 8 outages; 1: no threads). The DC screen and the AC solves run in Numba
        without the GIL, so more threads use more cores; results do not depend on it. An extra
        thread stops taking outages when the process does not get the cores (a machine busy
        with other work), so more threads are not slower than one.

    Returns
    -------
    xarray.Dataset
        On the ``contingency`` dimension (ids ``"<kind>:<element id>"``): ``outage_kind``,
        ``dc_max_loading_percent``, ``islanding``, ``verified``, ``converged``, ``iterations``,
        ``max_loading_percent``, ``worst_element``, ``n_overloads``, ``min_vm_pu``, ``max_vm_pu``,
        ``n_voltage_violations``, ``unserved_mw`` (NaN / empty where not verified).

    Examples
    --------
    >>> import twin
    >>> from twin.grid.contingency import contingencies
    >>> res = contingencies(twin.datasets.sample_city(), verify="all")
    >>> int(res.verified.sum()) == res.sizes["contingency"]
    True
    """
    if verify not in ("critical", "all", "none"):
        raise ValueError(f"verify must be 'critical', 'all' or 'none', got {verify!r}")
    g, case = prepare(network)
    base, case = solve_case(g, case, tolerance_mva=tolerance_mva, max_iteration=max_iteration)
    from twin.grid.flow import check_converged

    check_converged(base, case, network.name, "nr")
    outages = _outage_list(g, case, elements)
    n_workers = _workers(workers, len(outages))
    dc_load, island = _dc_screen(case, outages, _ratings_mva(g, case), n_workers)
    threshold = max_loading_percent - screening_margin_percent
    critical = island | (np.nan_to_num(dc_load) >= threshold)
    todo = {"all": np.ones(len(outages), bool), "none": np.zeros(len(outages), bool), "critical": critical}[verify]
    vmin = np.asarray(network.bus.min_vm_pu, float)
    vmax = np.asarray(network.bus.max_vm_pu, float)
    tol = tolerance_mva / case.base_mva
    fast = _FastVerifier(g, case, base.v, tol, max_iteration, max_loading_percent, vmin, vmax)
    chosen = np.flatnonzero(todo)
    out_f, out_i = fast.run([(outages[j][0], outages[j][1], bool(island[j])) for j in chosen],
                            n_workers if len(chosen) >= 64 else 1)
    rows: list[dict[str, Any]] = [{} for _ in outages]
    for m, j in enumerate(chosen):
        k, i = outages[j]
        if out_i[m, 0] == 0:
            worst = int(out_i[m, 2])
            rows[j] = {"converged": True, "iterations": int(out_i[m, 1]), "max_loading_percent": float(out_f[m, 0]),
                       "worst_element": str(fast.names[worst]) if worst >= 0 else "",
                       "n_overloads": int(out_i[m, 3]), "min_vm_pu": float(out_f[m, 1]),
                       "max_vm_pu": float(out_f[m, 2]), "n_voltage_violations": int(out_i[m, 4]),
                       "unserved_mw": float(out_f[m, 3])}
            continue
        row = fast.outage(k, i, bool(island[j]))  # the one-at-a-time path (island search, new analysis)
        if not row["converged"]:  # confirm with a solve on the rebuilt case
            row = _verify(g, case, base.v, k, i, tol, max_iteration, max_loading_percent, vmin, vmax)
        rows[j] = row
    ids = [f"{k}:{getattr(g, k).ids[i]}" for k, i in outages]
    return _dataset(network, outages, ids, dc_load, island, todo, rows, max_loading_percent, threshold)


def _dataset(network: Network, outages: list[tuple[str, int]], ids: list[str], dc_load: np.ndarray,
             island: np.ndarray, todo: np.ndarray, rows: list[dict[str, Any]], limit: float,
             threshold: float) -> xr.Dataset:
    def col(name: str, fill: Any, dtype: Any = float) -> np.ndarray:
        return np.array([r.get(name, fill) for r in rows], dtype=dtype)

    d = ("contingency",)
    variables = {
        "outage_kind": Variable(d, np.array([k for k, _ in outages], dtype=str), "", "kind of the outaged element"),
        "dc_max_loading_percent": Variable(d, dc_load, "%", "largest branch loading estimated by the DC screen"),
        "islanding": Variable(d, island, "", "the outage splits an island (DC screen)"),
        "verified": Variable(d, todo, "", "an AC power flow was solved for this outage"),
        "converged": Variable(d, col("converged", False, bool), "", "the AC power flow converged"),
        "iterations": Variable(d, col("iterations", 0, np.int64), "1", "Newton iterations of the AC solve"),
        "max_loading_percent": Variable(d, col("max_loading_percent", np.nan), "%", "largest AC branch loading"),
        "worst_element": Variable(d, col("worst_element", "", object).astype(str), "", "most loaded branch"),
        "n_overloads": Variable(d, col("n_overloads", 0, np.int64), "1", f"branches loaded above {limit} %"),
        "min_vm_pu": Variable(d, col("min_vm_pu", np.nan), "p.u.", "lowest energised bus voltage"),
        "max_vm_pu": Variable(d, col("max_vm_pu", np.nan), "p.u.", "highest energised bus voltage"),
        "n_voltage_violations": Variable(d, col("n_voltage_violations", 0, np.int64), "1",
                                         "energised buses outside their voltage band"),
        "unserved_mw": Variable(d, col("unserved_mw", np.nan), "MW", "load on buses de-energised by the outage"),
    }
    attrs = provenance(network, solver="n-1 dc screen + ac newton-raphson", max_loading_percent=limit,
                       screening_threshold_percent=threshold, n_contingencies=len(outages),
                       n_verified=int(todo.sum()))
    return make_dataset(variables, {"contingency": np.array(ids, dtype=object)}, attrs=attrs)
