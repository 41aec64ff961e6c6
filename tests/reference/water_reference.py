"""Slow, obviously-correct references for the water kernels (plain Python / dense NumPy)."""

from __future__ import annotations

import math

import numpy as np


def hazen_williams_loss_si(q: float, length: float, diameter: float, c: float) -> float:
    """Textbook Hazen-Williams head loss (m) for flow q (m3/s): 10.667 L q^1.852 / (C^1.852 d^4.871)."""
    return 10.667 * length * abs(q) ** 1.852 / (c ** 1.852 * diameter ** 4.871) * math.copysign(1.0, q)


def swamee_jain(re: float, rel_rough: float) -> float:
    """Swamee-Jain friction factor for turbulent flow."""
    return 0.25 / math.log10(rel_rough / 3.7 + 5.74 / re ** 0.9) ** 2


def dense_gga(n_junctions: int, start, end, resistance, exponent: float, demand, fixed_head,
              iterations: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Newton's method on heads and flows with dense matrices: pipes only, h = r q |q|^(n-1).

    Nodes ``0..n_junctions-1`` are junctions; the rest have the fixed heads ``fixed_head``.
    Returns (junction heads, link flows).
    """
    nl = len(start)
    q = np.full(nl, 0.1)
    h = np.zeros(n_junctions)
    for _ in range(iterations):
        grad = np.maximum(exponent * resistance * np.abs(q) ** (exponent - 1.0), 1e-7)
        loss = resistance * q * np.abs(q) ** (exponent - 1.0)
        a = np.zeros((n_junctions, n_junctions))
        f = -np.asarray(demand, float).copy()
        for k in range(nl):
            i, j, p = start[k], end[k], 1.0 / grad[k]
            y = loss[k] / grad[k]
            for node, other, sign in ((i, j, 1.0), (j, i, -1.0)):
                if node < n_junctions:
                    a[node, node] += p
                    f[node] += -sign * q[k] + sign * y
                    if other < n_junctions:
                        a[node, other] -= p
                    else:
                        f[node] += p * fixed_head[other - n_junctions]
        h = np.linalg.solve(a, f)
        full = np.concatenate([h, fixed_head])
        q_new = q - (loss - (full[start] - full[end])) / grad
        if np.abs(q_new - q).sum() < 1e-12 * max(np.abs(q_new).sum(), 1.0):
            q = q_new
            break
        q = q_new
    return h, q
