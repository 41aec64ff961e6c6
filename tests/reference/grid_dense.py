"""Slow, obviously-correct dense power-flow references: Ybus by loops, Jacobian by finite
differences, Newton-Raphson with dense solves."""

from __future__ import annotations

import numpy as np


def ybus_dense(n: int, f, t, r, x, g, b, ratio, shift_degree, ysh) -> np.ndarray:
    """Bus admittance matrix built branch by branch from the pi model with a from-side transformer."""
    y = np.diag(np.asarray(ysh, complex)).copy()
    for k in range(len(f)):
        ys = 1.0 / complex(r[k], x[k])
        a = ratio[k] * np.exp(1j * np.deg2rad(shift_degree[k]))
        ysh_half = complex(g[k], b[k]) / 2
        y[f[k], f[k]] += (ys + ysh_half) / abs(a) ** 2
        y[f[k], t[k]] += -ys / np.conj(a)
        y[t[k], f[k]] += -ys / a
        y[t[k], t[k]] += ys + ysh_half
    return y


def mismatch_dense(y: np.ndarray, v: np.ndarray, sbus: np.ndarray, kind: np.ndarray) -> np.ndarray:
    mis = v * np.conj(y @ v) - sbus
    return np.concatenate([mis.real[(kind == 0) | (kind == 1)], mis.imag[kind == 0]])


def _state(v, kind):
    return np.concatenate([np.angle(v)[(kind == 0) | (kind == 1)], np.abs(v)[kind == 0]])


def _voltages(x, v, kind):
    va, vm = np.angle(v).copy(), np.abs(v).copy()
    nonref = (kind == 0) | (kind == 1)
    va[nonref] = x[: nonref.sum()]
    vm[kind == 0] = x[nonref.sum():]
    return vm * np.exp(1j * va)


def jacobian_fd(y, v, sbus, kind, h: float = 1e-7) -> np.ndarray:
    """Jacobian of :func:`mismatch_dense` by central finite differences."""
    x0 = _state(v, kind)
    jac = np.empty((len(x0), len(x0)))
    for k in range(len(x0)):
        xp, xm = x0.copy(), x0.copy()
        xp[k] += h
        xm[k] -= h
        jac[:, k] = (mismatch_dense(y, _voltages(xp, v, kind), sbus, kind)
                     - mismatch_dense(y, _voltages(xm, v, kind), sbus, kind)) / (2 * h)
    return jac


def newton_dense(y, sbus, v0, kind, tol=1e-10, max_it=20):
    """Plain dense Newton-Raphson with the finite-difference Jacobian."""
    v = np.array(v0, complex)
    for _ in range(max_it):
        f = mismatch_dense(y, v, sbus, kind)
        if np.abs(f).max() < tol:
            return v
        dx = np.linalg.solve(jacobian_fd(y, v, sbus, kind), f)
        v = _voltages(_state(v, kind) - dx, v, kind)
    raise RuntimeError("reference Newton did not converge")
