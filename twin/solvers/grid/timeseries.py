"""Quasi-static time series of AC power flows on one topology.

The case (Ybus, bus kinds, Jacobian pattern and its symbolic LU) is built once; each step only
takes its row of the precomputed injections (steps x buses), starts from the previous step's
voltages (warm start: 1-3 Newton iterations), refactors numerically on the kept symbolic analysis,
and writes its voltages straight into a preallocated steps x buses array.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from twin.solvers.grid.build import injection_steps
from twin.solvers.grid.newton import JacobianPattern, NewtonResult, newton_raphson

__all__ = ["SeriesResult", "solve_series"]


@dataclass(frozen=True)
class SeriesResult:
    """Voltages per step (steps x buses, p.u.), iterations, status and max mismatch (p.u.) per step."""

    v: np.ndarray
    iterations: np.ndarray
    status: np.ndarray
    max_mismatch: np.ndarray

    @property
    def converged(self) -> np.ndarray:
        """Per step: whether the solve converged."""
        return self.status == 0


def solve_series(case: Any, v0: np.ndarray, load_scale: np.ndarray | None, sgen_scale: np.ndarray | None,
                 n_steps: int, *, tol: float = 1e-8, max_iteration: int = 10,
                 solver: Callable[..., NewtonResult] | None = None, pattern: JacobianPattern | None = None,
                 sbus: np.ndarray | None = None) -> SeriesResult:
    """Solve ``n_steps`` power flows with warm starts.

    Parameters
    ----------
    case : PowerFlowCase
        The prepared case (:func:`twin.solvers.grid.build.build_case`).
    v0 : ndarray of complex
        Initial voltages of the first step.
    load_scale, sgen_scale : ndarray, optional
        Multipliers per step and element (steps x loads, steps x static generators); None: 1.
    n_steps : int
        Number of steps.
    tol : float
        Mismatch tolerance (p.u.).
    max_iteration : int
        Iteration limit per step.
    solver : callable, optional
        ``solver(sbus, v0) -> NewtonResult`` replacing Newton-Raphson (e.g. fast-decoupled).
    pattern : JacobianPattern, optional
        Jacobian pattern (with its symbolic LU) of ``case`` to reuse.
    sbus : ndarray of complex, optional
        Precomputed injections (steps x buses, p.u.; :func:`~twin.solvers.grid.build.injection_steps`).

    Returns
    -------
    SeriesResult
        A step that does not converge is reported by its status and restarts the next step from
        the last converged voltages.
    """
    pattern = pattern or JacobianPattern.build(case.ybus, case.kind)
    if sbus is None:
        sbus = injection_steps(case, load_scale, sgen_scale, n_steps)
    v_out = np.empty((n_steps, case.n_bus), dtype=complex)
    its = np.zeros(n_steps, dtype=np.int64)
    status = np.zeros(n_steps, dtype=np.int64)
    mism = np.zeros(n_steps)
    v = np.array(v0, dtype=complex)
    for k in range(n_steps):
        if solver is None:
            res = newton_raphson(case.ybus, sbus[k], v, case.kind, tol=tol, max_iteration=max_iteration,
                                 pattern=pattern)
        else:
            res = solver(sbus[k], v)
        v_out[k], its[k], status[k], mism[k] = res.v, res.iterations, res.status, res.max_mismatch
        if res.converged:
            v = res.v
    return SeriesResult(v_out, its, status, mism)
