"""AC and DC power flow of a network's grid layer, with results as an ``xarray.Dataset``.

Bus and line results carry plain names (``vm_pu[bus]``, ``loading_percent[line]``, but
``line_energised`` beside the bus's ``energised``); transformer and MATPOWER-branch results carry
their kind as a prefix (``transformer_loading_percent``, ``branch_p_from_mw``), since one Dataset
cannot hold two variables of one name. Use
:func:`element_results` to get one kind's results with plain names.

Conventions: powers in MW/Mvar, bus ``p_mw``/``q_mvar`` is the net consumption at the bus (as
pandapower's ``res_bus``), branch powers flow into the branch at each end, currents in kA,
voltages in p.u. and degrees. De-energised buses have NaN voltages and zero powers.
"""

from __future__ import annotations

import weakref
from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp
import xarray as xr

from twin.errors import AssetNotFoundError, ConvergenceError
from twin.model.compiled.grid import GridArrays, compile_grid
from twin.model.network import Network
from twin.results import Variable, make_dataset, provenance
from twin.solvers.grid.build import PowerFlowCase, build_case
from twin.solvers.grid.newton import JacobianPattern, NewtonResult, newton_raphson
from twin.solvers.grid.ybus import branch_flows

__all__ = ["element_results", "power_flow", "prepare"]

_ALGORITHMS = ("nr", "dc", "fdxb", "fdbx")
_DEFAULT_MAX_IT = {"nr": 10, "fdxb": 30, "fdbx": 30, "dc": 1}
#: init="auto" starts from DC angles when a branch shifts the phase by this much (degree) or more.
_DC_SHIFT_DEGREE = 20.0

#: Prepared cases per Network object (networks are immutable: edits return a new Network), with
#: solver caches (Jacobian pattern and symbolic LU, DC start): a repeated power flow of one network
#: neither recompiles nor analyses again.
_PREPARED: "weakref.WeakKeyDictionary[Network, dict[str, tuple[GridArrays, PowerFlowCase, dict[str, Any]]]]" = (
    weakref.WeakKeyDictionary())


def prepared(network: Network, convention: str | None = None) -> tuple[GridArrays, PowerFlowCase, dict[str, Any]]:
    """:func:`prepare` remembered per network object, with a solver cache for :func:`solve_case`."""
    key = str(convention)
    try:
        entry = _PREPARED.setdefault(network, {})
    except TypeError:  # not weak-referenceable: no caching
        entry = {}
    if key not in entry:
        entry[key] = (*prepare(network, convention=convention), {})
    return entry[key]


def prepare(network: Network, *, convention: str | None = None) -> tuple[GridArrays, PowerFlowCase]:
    """Compile ``network``'s grid and build its per-unit case (reusable across solves).

    ``convention`` is ``"matpower"`` for networks read from MATPOWER files (bus types of the
    file decide PV/PQ/REF) and ``"pandapower"`` otherwise (elements decide); None picks it from
    ``network.settings["grid"]["source_format"]``.

    Examples
    --------
    >>> import twin
    >>> g, case = prepare(twin.datasets.sample_city())
    >>> bool(case.energised.any())
    True
    """
    settings = network.settings.get("grid", {})
    if convention is None:
        convention = "matpower" if settings.get("source_format") == "matpower" else "pandapower"
    g = compile_grid(network)
    side = network.transformer.tap_side.fillna("").str.lower().to_numpy()
    tap_side = np.where(side == "hv", 1, np.where(side == "lv", -1, 0))
    case = build_case(g, convention=convention, bus_type=network.bus.bus_type.to_numpy(), tap_side=tap_side)
    return g, case


def initial_voltages(g: GridArrays, case: PowerFlowCase, init: str | np.ndarray) -> np.ndarray:
    """Initial complex voltages on internal buses: ``"flat"``, ``"case"`` (bus table) or an array.

    Set points (generators, external grids) override magnitudes at PV and REF buses and the
    angle at REF buses, as MATPOWER and pandapower do.
    """
    if isinstance(init, np.ndarray):
        v = np.array(init, dtype=complex)
    elif init == "flat":
        v = np.ones(case.n_bus, dtype=complex)
    elif init == "case":
        v = np.ones(case.n_bus, dtype=complex)
        v[case.bus_map] = g.vm_pu_init * np.exp(1j * np.deg2rad(g.va_degree_init))
    else:
        raise ValueError(f"init must be 'flat', 'case', 'dc' or an array of voltages, got {init!r}")
    ctrl = (case.kind == 1) | (case.kind == 2)
    vm = np.where(ctrl, case.vm_set, np.abs(v))
    va = np.where(case.kind == 2, case.va_set, np.angle(v))
    v = vm * np.exp(1j * va)
    v[~case.energised] = 0.0
    return v


def power_flow(network: Network, *, algorithm: str = "nr", init: str = "auto", enforce_q_lims: bool = False,
               tolerance_mva: float = 1e-8, max_iteration: int | None = None,
               profiles: Mapping[str, Any] | None = None, convention: str | None = None) -> xr.Dataset:
    """Solve the power flow of ``network``'s grid.

    Parameters
    ----------
    network : Network
        The city (or grid) network.
    algorithm : {"nr", "dc", "fdxb", "fdbx"}
        Newton-Raphson (polar, MATPOWER ``newtonpf``), DC power flow, or fast-decoupled.
    init : {"auto", "flat", "case", "dc"}
        Start from 1 p.u. / 0 degree, from the bus table's ``vm_pu``/``va_degree``, or from DC angles.
        ``"auto"`` (default) is ``"dc"`` when an in-service branch shifts the phase by
        ``_DC_SHIFT_DEGREE`` (20 degree) or more (a 150 degree Dyn5 transformer diverges from a
        flat start) and ``"flat"`` otherwise (MATPOWER's phase shifters of a few degrees).
    enforce_q_lims : bool
        Switch PV buses whose generators exceed their reactive limits to PQ at the limit
        (MATPOWER's ``pf.enforce_q_lims``), repeating until none does.
    tolerance_mva : float
        Convergence tolerance on the largest bus power mismatch (MVA); MATPOWER's default
        ``pf.tol = 1e-8`` p.u. is ``1e-8 * base_mva`` MVA.
    max_iteration : int, optional
        Iteration limit (default 10 for NR, 30 for fast-decoupled).
    profiles : mapping, optional
        Time series: ``{"load": frame, "static_generator": frame}``, each a pandas DataFrame
        (rows: time steps, columns: element ids) of multipliers of the element's ``p_mw`` and
        ``q_mvar`` (missing columns: 1). Each step starts warm from the previous one, and the
        results gain a ``time`` dimension (see :func:`twin.solvers.grid.timeseries`).
    convention : {"pandapower", "matpower"}, optional
        Bus-kind convention (see :func:`prepare`).

    Returns
    -------
    xarray.Dataset
        ``vm_pu``, ``va_degree``, ``p_mw``, ``q_mvar``, ``energised`` on ``bus``; flows, currents and
        loading on ``line`` (plain names), ``transformer`` and ``branch`` (prefixed names); source
        injections on ``external_grid`` and ``generator``. Attributes: ``converged``,
        ``iterations``, ``max_mismatch_mva``, ``unserved_mw``, ``n_islands`` and provenance.

    Raises
    ------
    ConvergenceError
        When the solver does not converge (the message gives the iterations and mismatch).
    NetworkError
        On impossible element data (zero impedance, vkr above vk), naming the element.

    Examples
    --------
    >>> import twin
    >>> from twin.grid.flow import power_flow
    >>> res = power_flow(twin.datasets.sample_city())
    >>> bool(res.attrs["converged"]), res.vm_pu.attrs["units"]
    (True, 'p.u.')
    """
    if algorithm not in _ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; use one of {', '.join(_ALGORITHMS)}")
    g, case, cache = prepared(network, convention)
    if profiles is not None:
        return _run_profiles(network, g, case, profiles, algorithm=algorithm, init=init,
                             tolerance_mva=tolerance_mva, max_iteration=max_iteration, cache=cache)
    res, case = solve_case(g, case, algorithm=algorithm, init=init, enforce_q_lims=enforce_q_lims,
                           tolerance_mva=tolerance_mva, max_iteration=max_iteration, cache=cache)
    check_converged(res, case, network.name, algorithm)
    variables, coords = result_variables(g, case, res.v, case.sbus(), dc=algorithm == "dc")
    attrs = provenance(network, solver=algorithm, converged=res.converged, iterations=res.iterations,
                       max_mismatch_mva=res.max_mismatch * case.base_mva, **_summary(g, case),
                       tolerance_mva=tolerance_mva, enforce_q_lims=int(enforce_q_lims), init=str(init))
    return make_dataset(variables, coords, attrs=attrs)


def solve_case(g: GridArrays, case: PowerFlowCase, *, algorithm: str = "nr", init: Any = "auto",
               enforce_q_lims: bool = False, tolerance_mva: float = 1e-8, max_iteration: int | None = None,
               sbus: np.ndarray | None = None, pattern: JacobianPattern | None = None,
               cache: dict[str, Any] | None = None) -> tuple[NewtonResult, PowerFlowCase]:
    """Solve one prepared case; returns the solver result and the case (PV buses changed by Q limits).

    ``cache`` (a dict owned by the caller, one per case) keeps the Jacobian pattern with its
    symbolic LU and the DC start of the case's own injections between calls.
    """
    max_it = _DEFAULT_MAX_IT[algorithm] if max_iteration is None else int(max_iteration)
    tol = tolerance_mva / case.base_mva
    own_sbus = sbus is None
    sbus = case.sbus() if sbus is None else sbus
    if cache is not None and pattern is None and algorithm == "nr":
        if "pattern" not in cache:
            cache["pattern"] = JacobianPattern.build(case.ybus, case.kind)
        pattern = cache["pattern"]
    if isinstance(init, str) and init == "auto":
        init = "dc" if np.any(np.abs(case.pi[5][case.branch_on]) >= _DC_SHIFT_DEGREE) else "flat"
    if isinstance(init, str) and init == "dc" or algorithm == "dc":
        from twin.solvers.grid.dc import dc_voltages

        if cache is not None and own_sbus:
            if "dc_v0" not in cache:
                order: list = []
                cache["dc_v0"] = dc_voltages(case, sbus, order)
                if pattern is not None and not pattern.lu and not pattern.order and order:
                    pattern.order[:] = order  # the DC factors' ordering serves the Jacobian's LU
            v0 = cache["dc_v0"]
        else:
            v0 = dc_voltages(case, sbus)
        if algorithm == "dc":
            return NewtonResult(v0.copy(), 0, 1, 0.0), case
    else:
        v0 = initial_voltages(g, case, init)
    res = _solve(case, sbus, v0, algorithm, tol, max_it, pattern)
    if enforce_q_lims and res.converged:
        from twin.solvers.grid.qlimits import enforce_reactive_limits

        res, case = enforce_reactive_limits(g, case, res, lambda c, s, v: _solve(c, s, v, algorithm, tol, max_it))
    return res, case


def _solve(case: PowerFlowCase, sbus: np.ndarray, v0: np.ndarray, algorithm: str, tol: float, max_it: int,
           pattern: JacobianPattern | None = None) -> NewtonResult:
    if algorithm == "nr":
        return newton_raphson(case.ybus, sbus, v0, case.kind, tol=tol, max_iteration=max_it, pattern=pattern)
    from twin.solvers.grid.decoupled import fast_decoupled

    return fast_decoupled(case, sbus, v0, variant=algorithm, tol=tol, max_iteration=max_it)


def check_converged(res: NewtonResult, case: PowerFlowCase, name: str, algorithm: str) -> None:
    """Raise :class:`ConvergenceError` naming the iterations and the mismatch when ``res`` failed."""
    if res.converged:
        return
    why = {1: "reached the iteration limit", 2: "met a singular Jacobian", 3: "diverged"}.get(res.status, "failed")
    raise ConvergenceError(
        f"power flow ({algorithm}) of network {name!r} {why} after {res.iterations} iterations; largest "
        f"mismatch {res.max_mismatch * case.base_mva:.3g} MVA. Check for very long lines, vkr > vk, "
        "bad voltage set points, or try init='dc' / a larger max_iteration",
        iterations=res.iterations, residual=res.max_mismatch * case.base_mva)


def _summary(g: GridArrays, case: PowerFlowCase) -> dict[str, Any]:
    ld = case.elements["load"]
    dark = ld["on"] & ~case.energised[ld["bus"]]
    islands = np.unique(case.island[case.energised]).size
    return {"unserved_mw": float(np.sum(ld["s"].real[dark])), "n_islands": int(islands),
            "deenergised_buses": int(np.sum(~case.energised[case.bus_map]))}


def result_variables(g: GridArrays, case: PowerFlowCase, v: np.ndarray, sbus: np.ndarray, *, dc: bool = False,
                     scales: Mapping[str, np.ndarray | None] | None = None
                     ) -> tuple[dict[str, Variable], dict[str, np.ndarray]]:
    """Result variables (MW, Mvar, kA, p.u., degree, %) and coordinates of one solved state.

    With ``dc``, branch flows are the DC model's (lossless, no reactive power) at 1 p.u.
    ``scales`` holds the profile multipliers (steps x elements) of ``"load"`` and
    ``"static_generator"`` when ``v`` holds several steps.
    """
    out: dict[str, Variable] = {}
    on = case.branch_on
    lead = ("time",) if v.ndim == 2 else ()
    sf: np.ndarray
    st: np.ndarray
    if dc:
        from twin.solvers.grid.dc import dc_solution

        _, flows, pbus = dc_solution(case, sbus)
        v = np.where(case.energised, np.exp(1j * np.angle(v)), 0.0)
        sf, st = flows + 0j, -flows + 0j
        s_inj: np.ndarray = np.where(case.energised, case.ysh.real, 0.0) + 0j
        np.add.at(s_inj, case.f, flows)
        np.add.at(s_inj, case.t, -flows)
        shunt: np.ndarray = np.where(case.energised, case.ysh.real, 0.0) + 0j
    else:
        sf, st = branch_flows(v, case.f, case.t, *case.y)
        s_inj = v * np.conj((case.ybus @ v.T).T)
        shunt = np.where(case.energised, np.abs(v) ** 2 * np.conj(case.ysh), 0.0)
    sources = _source_variables(case, s_inj, sbus, lead)
    own = None
    if np.bincount(case.bus_map, minlength=1).max() > 1:  # fused buses: each reports its own elements
        own = _element_consumption(g, case, v, sources, scales or {}, dc)
    out.update(_bus_variables(case, v, (shunt - s_inj) * case.base_mva, lead, own))
    sf, st = np.where(on, sf, 0.0) * case.base_mva, np.where(on, st, 0.0) * case.base_mva
    for kind in ("line", "transformer", "branch"):
        sl = case.slices[kind]
        out.update(_branch_variables(g, case, kind, v, sf[..., sl], st[..., sl], sl, lead))
    out.update(sources)
    coords = {"bus": g.bus_ids, "line": g.line.ids, "transformer": g.transformer.ids, "branch": g.branch.ids,
              "external_grid": g.external_grid.ids, "generator": g.generator.ids}
    return out, coords


def _element_consumption(g: GridArrays, case: PowerFlowCase, v: np.ndarray, sources: Mapping[str, Variable],
                         scales: Mapping[str, np.ndarray | None], dc: bool) -> np.ndarray:
    """Net consumption (MVA) of the elements at each original bus, as pandapower's ``res_bus``.

    Loads and static generators at their (scaled) set points, shunts at the bus voltage, and
    generators and external grids at their results; zero at de-energised buses.
    """
    n0 = len(case.bus_map)
    lead = v.shape[:-1]
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    for name, sign in (("load", 1.0), ("static_generator", -1.0)):
        el = case.elements[name]
        on = el["on"] & case.energised[el["bus"]]
        scale = scales.get(name)
        s = el["s"] * (1.0 if scale is None else np.asarray(scale, float))
        parts.append((getattr(g, name).bus, sign * np.where(on, s, 0.0)))
    for name, dim in (("generator", "generator"), ("external_grid", "external_grid")):
        p, q = sources[f"{dim}_p_mw"].values, sources[f"{dim}_q_mvar"].values
        parts.append((getattr(g, name).bus, -(np.asarray(p) + 1j * np.asarray(q))))
    sh = g.shunt
    sh_on = np.asarray(sh.in_service, bool) & case.energised[case.bus_map[sh.bus]]
    y = np.where(sh_on, (sh.p_mw + 1j * sh.q_mvar) * sh.step, 0.0)
    vm2 = np.ones(lead + (len(sh_on),)) if dc else np.abs(v[..., case.bus_map[sh.bus]]) ** 2
    parts.append((sh.bus, (y.real if dc else y) * vm2))
    own = np.zeros(lead + (n0,), dtype=complex)
    for bus, s in parts:
        bus = np.asarray(bus, dtype=np.int64)
        if len(bus):
            s = np.broadcast_to(s, lead + (len(bus),))
            own += (sp.csr_matrix((np.ones(len(bus)), (bus, np.arange(len(bus)))), shape=(n0, len(bus)))
                    @ s.reshape(-1, len(bus)).T).T.reshape(lead + (n0,))
    if dc:
        own = own.real + 0j
    return own


def _bus_variables(case: PowerFlowCase, v: np.ndarray, s: np.ndarray, lead: tuple[str, ...] = (),
                   own: np.ndarray | None = None) -> dict[str, Variable]:
    """Bus voltages and net consumption ``s`` (MVA, loads + shunts - sources) on the bus dimension.

    ``own`` (MVA per original bus) is the consumption of each bus's own elements, given when buses
    are fused: each fused bus then reports its own elements (as pandapower), and the first of them
    also the rest of the internal bus's consumption (the solver's mismatch).
    """
    vb = v[..., case.bus_map]
    on = case.energised[case.bus_map]
    # fused buses share one internal bus: report its consumption once, on the first of them
    first = np.zeros(len(case.bus_map), dtype=bool)
    first[np.unique(case.bus_map, return_index=True)[1]] = True
    sb = np.where(first & on, s[..., case.bus_map], 0.0)
    if own is not None:
        size = np.bincount(case.bus_map, minlength=case.n_bus)
        fused = size[case.bus_map] > 1
        group = np.zeros(own.shape[:-1] + (case.n_bus,), dtype=complex)
        np.add.at(group.T, case.bus_map[fused], own[..., fused].T)
        rest = np.where(first, s[..., case.bus_map] - group[..., case.bus_map], 0.0)
        sb = np.where(fused & on, own + rest, sb)
    d = lead + ("bus",)
    return {
        "vm_pu": Variable(d, np.where(on, np.abs(vb), np.nan), "p.u.", "voltage magnitude"),
        "va_degree": Variable(d, np.where(on, np.rad2deg(np.angle(vb)), np.nan), "degree", "voltage angle"),
        "p_mw": Variable(d, sb.real, "MW", "net active power consumed at the bus"),
        "q_mvar": Variable(d, sb.imag, "Mvar", "net reactive power consumed at the bus"),
        "energised": Variable(("bus",), on, "", "bus is energised (its island has a source)"),
    }


def _branch_variables(g: GridArrays, case: PowerFlowCase, kind: str, v: np.ndarray, sf: np.ndarray,
                      st: np.ndarray, sl: slice, lead: tuple[str, ...] = ()) -> dict[str, Variable]:
    f, t = case.f[sl], case.t[sl]
    on = case.branch_on[sl]
    with np.errstate(divide="ignore", invalid="ignore"):
        i_f = np.where(on, np.abs(sf) / (np.abs(v[..., f]) * case.base_kv[f] * np.sqrt(3)), 0.0)
        i_t = np.where(on, np.abs(st) / (np.abs(v[..., t]) * case.base_kv[t] * np.sqrt(3)), 0.0)
    i_f, i_t = np.nan_to_num(i_f), np.nan_to_num(i_t)  # an end on an open switch carries nothing
    el = getattr(g, kind)
    if kind == "line":
        loading = np.maximum(i_f, i_t) / (el.max_i_ka * el.parallel) * 100.0
    elif kind == "transformer":
        loading = np.maximum(i_f * el.vn_hv_kv, i_t * el.vn_lv_kv) * np.sqrt(3) / el.sn_mva * 100.0 / el.parallel
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            loading = np.where(el.rate_a_mva > 0, np.maximum(np.abs(sf), np.abs(st)) / el.rate_a_mva * 100, np.nan)
    pre = "" if kind == "line" else kind + "_"
    d = lead + (kind,)
    side = ("HV", "LV") if kind == "transformer" else ("from", "to")
    return {
        pre + "p_from_mw": Variable(d, sf.real, "MW", f"active power into the {kind} at its {side[0]} end"),
        pre + "q_from_mvar": Variable(d, sf.imag, "Mvar", f"reactive power into the {kind} at its {side[0]} end"),
        pre + "p_to_mw": Variable(d, st.real, "MW", f"active power into the {kind} at its {side[1]} end"),
        pre + "q_to_mvar": Variable(d, st.imag, "Mvar", f"reactive power into the {kind} at its {side[1]} end"),
        pre + "pl_mw": Variable(d, sf.real + st.real, "MW", f"active power losses of the {kind}"),
        pre + "i_from_ka": Variable(d, i_f, "kA", f"current at the {side[0]} end"),
        pre + "i_to_ka": Variable(d, i_t, "kA", f"current at the {side[1]} end"),
        pre + "i_ka": Variable(d, np.maximum(i_f, i_t), "kA", "larger of the two end currents"),
        pre + "loading_percent": Variable(d, loading, "%", f"{kind} loading (of the thermal or rated limit)"),
        kind + "_energised": Variable((kind,), on, "", f"{kind} is in service and energised"),
    }


def _source_variables(case: PowerFlowCase, s_inj: np.ndarray, sbus: np.ndarray, lead: tuple[str, ...] = ()
                      ) -> dict[str, Variable]:
    """Injections of external grids and generators: what the slack and PV buses had to supply.

    ``s_inj`` is the computed net injection of all non-shunt elements at each bus (p.u.).
    Reactive power is shared among the voltage-controlling elements of a bus in proportion to
    their reactive ranges (external grids: none), equally where the bus's total range is zero,
    as MATPOWER's and pandapower's ``pfsoln``.
    """
    need = (s_inj - sbus) * case.base_mva  # what voltage-controlling elements supply beyond set points
    gen, ext = case.elements["generator"], case.elements["external_grid"]
    gctrl = gen["on"] & (gen["kind"] > 0) & case.energised[gen["bus"]]
    xon = ext["on"] & case.energised[ext["bus"]]
    share = np.zeros(case.n_bus)
    np.add.at(share, gen["bus"][gctrl], 1.0)
    np.add.at(share, ext["bus"][xon], 1.0)
    slack_count = np.zeros(case.n_bus)
    np.add.at(slack_count, ext["bus"][xon], 1.0)
    np.add.at(slack_count, gen["bus"][gctrl & (case.kind[gen["bus"]] == 2) & (gen["kind"] == 2)], 1.0)
    slack_count = np.where((slack_count == 0) & (case.kind == 2), share, slack_count)
    g_range = np.where(gctrl, gen["qmax"] - gen["qmin"], 0.0)
    range_tot = np.bincount(gen["bus"], g_range, minlength=case.n_bus)
    qmin_tot = np.bincount(gen["bus"], np.where(gctrl, gen["qmin"], 0.0), minlength=case.n_bus)
    with np.errstate(divide="ignore", invalid="ignore"):
        q_each = np.where(share > 0, need.imag / share, 0.0)
        p_each = np.where(slack_count > 0, need.real / slack_count, 0.0)
        # share of each generator in its bus's Q: range_i / range, plus qmin_i - qmin_tot * range_i / range
        wg = np.where(range_tot[gen["bus"]] > 0, g_range / range_tot[gen["bus"]], 0.0)
    g_prop = range_tot[gen["bus"]] > 0
    gq_ctrl = np.where(g_prop, need.imag[..., gen["bus"]] * wg + (gen["qmin"] - qmin_tot[gen["bus"]] * wg),
                       q_each[..., gen["bus"]])
    gp = np.where(gen["on"] & case.energised[gen["bus"]], gen["s"].real, 0.0)
    gq = np.where(gctrl, gq_ctrl, np.where(gen["on"] & case.energised[gen["bus"]], gen["s"].imag, 0))
    is_slack_gen = gctrl & (case.kind[gen["bus"]] == 2) & ((gen["kind"] == 2) | (slack_count[gen["bus"]] == share[
        gen["bus"]]))
    gp = np.where(is_slack_gen, gp + p_each[..., gen["bus"]], gp)
    xp = np.where(xon, p_each[..., ext["bus"]], 0.0)
    xq = np.where(xon & (range_tot[ext["bus"]] == 0), q_each[..., ext["bus"]], 0.0)
    dx, dg = lead + ("external_grid",), lead + ("generator",)
    return {
        "external_grid_p_mw": Variable(dx, xp, "MW", "active power supplied by the external grid"),
        "external_grid_q_mvar": Variable(dx, xq, "Mvar", "reactive power supplied"),
        "generator_p_mw": Variable(dg, gp, "MW", "active power generated"),
        "generator_q_mvar": Variable(dg, gq, "Mvar", "reactive power generated"),
    }


def element_results(results: xr.Dataset, kind: str) -> xr.Dataset:
    """The results of one element kind with plain variable names (``loading_percent`` ...).

    Examples
    --------
    >>> import twin
    >>> from twin.grid.flow import power_flow
    >>> res = power_flow(twin.datasets.sample_city())
    >>> "loading_percent" in element_results(res, "transformer")
    True
    """
    names = {str(n): str(n)[len(kind) + 1:] if str(n).startswith(kind + "_") else str(n)
             for n, var in results.data_vars.items() if kind in var.dims}
    return results[list(names)].rename(names)


def _profile_arrays(g: GridArrays, profiles: Mapping[str, Any]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Time coordinate and multipliers (steps x elements) of loads and static generators."""
    unknown = set(profiles) - {"load", "static_generator"}
    if unknown:
        raise ValueError(f"profiles may only hold 'load' and 'static_generator', got {sorted(unknown)}")
    time: np.ndarray | None = None
    scales: dict[str, np.ndarray] = {}
    for kind, frame in profiles.items():
        ids = {x: i for i, x in enumerate(getattr(g, kind).ids)}
        values = np.asarray(frame, dtype=float)
        index = np.asarray(frame.index)
        if time is not None and len(index) != len(time):
            raise ValueError(f"profiles[{kind!r}] has {len(index)} steps, the other profile {len(time)}")
        time = index if time is None else time
        scale = np.ones((len(index), len(ids)))
        for j, col in enumerate(frame.columns):
            if str(col) not in ids:
                raise AssetNotFoundError(f"profiles[{kind!r}]: {kind} {col!r} is not in the network")
            scale[:, ids[str(col)]] = values[:, j]
        scales[kind] = scale
    if time is None:
        raise ValueError("profiles is empty; give {'load': DataFrame of multipliers (time x load id)}")
    return time, scales


def _run_profiles(network: Network, g: GridArrays, case: PowerFlowCase, profiles: Mapping[str, Any], *,
                  algorithm: str, init: Any, tolerance_mva: float, max_iteration: int | None,
                  cache: dict[str, Any] | None = None) -> xr.Dataset:
    """Time series of power flows over load / static-generator multipliers (see :func:`power_flow`)."""
    from twin.solvers.grid.timeseries import solve_series

    if algorithm == "dc":
        raise ValueError("time series need an AC algorithm ('nr', 'fdxb' or 'fdbx')")
    time, scales = _profile_arrays(g, profiles)
    ls, ss = scales.get("load"), scales.get("static_generator")
    max_it = _DEFAULT_MAX_IT[algorithm] if max_iteration is None else int(max_iteration)
    tol = tolerance_mva / case.base_mva
    from twin.solvers.grid.build import injection_steps

    sbus = injection_steps(case, ls, ss, len(time))
    first, _ = solve_case(g, case, algorithm=algorithm, init=init, tolerance_mva=tolerance_mva,
                          max_iteration=max_iteration, sbus=sbus[0], cache=cache)
    solver = None if algorithm == "nr" else (lambda sb, v0: _solve(case, sb, v0, algorithm, tol, max_it))
    pattern = None if cache is None else cache.get("pattern")
    series = solve_series(case, first.v, ls, ss, len(time), tol=tol, max_iteration=max_it, solver=solver,
                          pattern=pattern, sbus=sbus)
    variables, coords = result_variables(g, case, series.v, sbus, scales={"load": ls, "static_generator": ss})
    ld = case.elements["load"]
    dark = ld["on"] & ~case.energised[ld["bus"]]
    unserved = (ld["s"].real * (1.0 if ls is None else ls))[..., dark].sum(axis=-1) * np.ones(len(time))
    variables.update({
        "converged": Variable(("time",), series.converged, "", "power flow converged at this step"),
        "iterations": Variable(("time",), series.iterations, "1", "iterations at this step"),
        "max_mismatch_mva": Variable(("time",), series.max_mismatch * case.base_mva, "MVA", "largest mismatch"),
        "unserved_mw": Variable(("time",), unserved, "MW", "load on de-energised buses"),
    })
    coords = {"time": time, **coords}
    attrs = provenance(network, solver=algorithm, converged=bool(series.converged.all()),
                       iterations=int(series.iterations.sum()), n_steps=len(time),
                       max_mismatch_mva=float(series.max_mismatch.max() * case.base_mva), **_summary(g, case),
                       tolerance_mva=tolerance_mva)
    return make_dataset(variables, coords, attrs=attrs)
