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
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp
import xarray as xr

from twin.model.network import Network
from twin.grid.flow import initial_voltages, prepare, result_variables, solve_case
from twin.results import Variable, make_dataset, provenance
from twin.solvers.grid.build import BRANCH_KINDS, PowerFlowCase, with_outage
from twin.solvers.grid.dc import dc_matrices, dc_solution, lodf, ptdf
from twin.solvers.grid.newton import JacobianPattern, newton_raphson
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


def _dc_screen(case: PowerFlowCase, outages: list[tuple[str, int]], ratings: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Estimated max DC loading (%) and islanding flag per outage."""
    r, x, _, _, ratio, shift = case.pi
    on = case.branch_on
    bbus, bf, _ = dc_matrices(case.n_bus, case.f, case.t, x, ratio, shift, on)
    _, flows, _ = dc_solution(case, case.sbus())
    p = ptdf(bbus, bf, case.kind)
    loading = np.full(len(outages), np.nan)
    island = np.zeros(len(outages), dtype=bool)
    rows = np.array([case.slices[k].start + i if k != "generator" else -1 for k, i in outages])
    br_idx = np.flatnonzero(rows >= 0)
    for start in range(0, len(br_idx), _BLOCK):
        sel = br_idx[start:start + _BLOCK]
        k = rows[sel]
        factors, bridge = lodf(p, case.f, case.t, k)
        post = flows[:, None] + np.nan_to_num(factors) * flows[k][None, :]
        post[k, np.arange(len(k))] = 0.0
        loading[sel] = _max_loading(post * case.base_mva, ratings, on)
        island[sel] = bridge
    gen = case.elements["generator"]
    for j, (kind, i) in enumerate(outages):
        if kind == "generator":  # the island's reference picks up the lost generation
            post = flows - p[:, gen["bus"][i]] * gen["s"][i].real / case.base_mva
            loading[j] = _max_loading(post[:, None] * case.base_mva, ratings, on)[0]
    return loading, island


def _max_loading(post: np.ndarray, ratings: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Largest loading (%) per column of post-outage flows (p.u. on ``base_mva`` scaled by the caller)."""
    rated = np.isfinite(ratings) & on
    if not rated.any():
        return np.full(post.shape[1], np.nan)
    return (np.abs(post[rated]) * 100.0 / ratings[rated][:, None]).max(axis=0)


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
            gen = c.elements["generator"]
            gen_on = gen["on"].copy()
            gen_on[i] = False
            energised, bus_kind, _ = energised_buses(c.n_bus, c.f, c.t, self._raw_kind(gen_on), self.bus_ok,
                                                     labels=self.labels)
            sbus = self.sbus_all.copy()
            sbus[gen["bus"][i]] -= gen["s"][i] / c.base_mva
            sbus[~energised] = 0.0
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
                  max_iteration: int = 10) -> xr.Dataset:
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
    dc_load, island = _dc_screen(case, outages, _ratings_mva(g, case))
    threshold = max_loading_percent - screening_margin_percent
    critical = island | (np.nan_to_num(dc_load) >= threshold)
    todo = {"all": np.ones(len(outages), bool), "none": np.zeros(len(outages), bool), "critical": critical}[verify]
    vmin = np.asarray(network.bus.min_vm_pu, float)
    vmax = np.asarray(network.bus.max_vm_pu, float)
    tol = tolerance_mva / case.base_mva
    fast = _FastVerifier(g, case, base.v, tol, max_iteration, max_loading_percent, vmin, vmax)
    rows = []
    for j, (k, i) in enumerate(outages):
        if not todo[j]:
            rows.append({})
        else:
            row = fast.outage(k, i, bool(island[j]))
            if not row["converged"]:  # confirm with a solve on the rebuilt case
                row = _verify(g, case, base.v, k, i, tol, max_iteration, max_loading_percent, vmin, vmax)
            rows.append(row)
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
