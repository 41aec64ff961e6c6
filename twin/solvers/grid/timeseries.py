"""Quasi-static time series of AC power flows on one topology.

The case (Ybus, bus kinds, Jacobian pattern) is built once; each step only rescales the load and
static-generator injections, starts from the previous step's voltages (warm start: 1-3 Newton
iterations) and reuses the Jacobian pattern and the fill-reducing ordering of the first step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

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
                 solver: Callable[..., NewtonResult] | None = None) -> SeriesResult:
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

    Returns
    -------
    SeriesResult
        A step that does not converge is reported by its status and restarts the next step from
        the last converged voltages.
    """
    pattern = JacobianPattern.build(case.ybus, case.kind)
    v_out = np.empty((n_steps, case.n_bus), dtype=complex)
    its = np.zeros(n_steps, dtype=np.int64)
    status = np.zeros(n_steps, dtype=np.int64)
    mism = np.zeros(n_steps)
    v = np.array(v0, dtype=complex)
    for k in range(n_steps):
        sbus = case.sbus(None if load_scale is None else load_scale[k], None if sgen_scale is None else sgen_scale[k])
        if solver is None:
            res = newton_raphson(case.ybus, sbus, v, case.kind, tol=tol, max_iteration=max_iteration,
                                 pattern=pattern)
        else:
            res = solver(sbus, v)
        v_out[k], its[k], status[k], mism[k] = res.v, res.iterations, res.status, res.max_mismatch
        if res.converged:
            v = res.v
    return SeriesResult(v_out, its, status, mism)
