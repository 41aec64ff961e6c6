"""Reactive-power limits of generators: PV -> PQ switching, as MATPOWER ``runpf`` with
``pf.enforce_q_lims = 1`` (every violating generator at once, repeated until none violates)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

import numpy as np

from twin.solvers.grid.newton import NewtonResult

__all__ = ["enforce_reactive_limits", "generator_q"]


def generator_q(case: Any, v: np.ndarray, sbus: np.ndarray) -> np.ndarray:
    """Reactive power (Mvar) of each generator: fixed for PQ-kind generators, the bus's need
    shared equally between the voltage-controlling generators and external grids of a bus."""
    gen, ext = case.elements["generator"], case.elements["external_grid"]
    need = (v * np.conj(case.ybus @ v) - sbus).imag * case.base_mva
    ctrl = gen["on"] & (gen["kind"] > 0) & case.energised[gen["bus"]]
    count = np.zeros(case.n_bus)
    np.add.at(count, gen["bus"][ctrl], 1.0)
    np.add.at(count, ext["bus"][ext["on"]], 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(count > 0, need / count, 0.0)
    return np.where(ctrl, share[gen["bus"]], gen["s"].imag)


def enforce_reactive_limits(g: Any, case: Any, res: NewtonResult,
                            solve: Callable[[Any, np.ndarray, np.ndarray], NewtonResult],
                            max_rounds: int = 50) -> tuple[NewtonResult, Any]:
    """Switch PV generators beyond their reactive limits to PQ at the limit and solve again.

    Parameters
    ----------
    g : GridArrays
        Compiled grid (for ``generator.min_q_mvar`` / ``max_q_mvar``).
    case : PowerFlowCase
        The solved case.
    res : NewtonResult
        Its converged solution.
    solve : callable
        ``solve(case, sbus, v0) -> NewtonResult``.
    max_rounds : int
        Limit on switching rounds.

    Returns
    -------
    (NewtonResult, PowerFlowCase)
        The final solution and the case with the switched buses as PQ. Reference buses keep
        their kind (their generators may stay beyond the limits, as MATPOWER warns).
    """
    qmin, qmax = np.asarray(g.generator.min_q_mvar, float), np.asarray(g.generator.max_q_mvar, float)
    for _ in range(max_rounds):
        gen = case.elements["generator"]
        q = generator_q(case, res.v, case.sbus())
        pv_gen = gen["on"] & (gen["kind"] == 1) & (case.kind[gen["bus"]] == 1)
        over, under = pv_gen & (q > qmax + 1e-6), pv_gen & (q < qmin - 1e-6)
        if not (over.any() or under.any()):
            return res, case
        fixed = over | under
        q_fixed = np.where(over, qmax, np.where(under, qmin, q))
        at_bus = np.isin(gen["bus"], gen["bus"][fixed]) & pv_gen  # the whole bus becomes PQ
        new_gen = dict(gen, kind=np.where(at_bus, 0, gen["kind"]),
                       s=np.where(at_bus, gen["s"].real + 1j * q_fixed, gen["s"]))
        kind = case.kind.copy()
        kind[gen["bus"][at_bus]] = 0
        case = replace(case, kind=kind, elements={**case.elements, "generator": new_gen})
        res = solve(case, case.sbus(), res.v)
        if not res.converged:
            return res, case
    return res, case
