"""Pump curve fitting (EPANET's rules): 1-point and 3-point power fits, multi-point curves.

Heads in ft, flows in cfs. A power curve is ``head = a - b q^c``; EPANET stores it as a head
loss ``h = H0 + R q^N`` with ``H0 = -a``, ``R = -b``, ``N = c``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from twin.solvers.water.constants import BIG, CONST_HP, CUSTOM, POWER_FUNC, TINY


class PumpFit(NamedTuple):
    """Fitted pump law: type code, ``H0``, ``R``, ``N``, shutoff head, design flow, max flow."""

    ptype: int
    h0: float
    r: float
    n: float
    hmax: float
    q0: float
    qmax: float


def power_curve(h0: float, h1: float, h2: float, q1: float, q2: float) -> tuple[float, float, float] | None:
    """``(a, b, c)`` of ``h = a + b q^c`` through three points, or None when it cannot be fitted.

    Examples
    --------
    >>> a, b, c = power_curve(100.0, 75.0, 0.0, 1.0, 2.0)
    >>> a, round(b, 6), round(c, 6)
    (100.0, -25.0, 2.0)
    """
    if h0 < TINY or h0 - h1 < TINY or h1 - h2 < TINY or q1 < TINY or q2 - q1 < TINY:
        return None
    h4 = h0 - h1
    h5 = h0 - h2
    c = math.log(h5 / h4) / math.log(q2 / q1)
    if c <= 0.0 or c > 20.0:
        return None
    b = -h4 / q1 ** c
    if b >= 0.0:
        return None
    return h0, b, c


def fit_pump(x: list[float], y: list[float]) -> PumpFit | None:
    """Fit a head curve with points ``(x, y)`` the way EPANET does; None when it cannot.

    One point: shutoff head ``1.33334 h`` and max flow ``2 q``; three points starting at
    ``q = 0``: power fit; otherwise a piecewise-linear curve whose heads must decrease.

    Examples
    --------
    >>> fit_pump([1.0], [75.0]).ptype  # power function
    1
    >>> fit_pump([0.0, 1.0, 2.0], [100.0, 120.0, 0.0]) is None  # head rises: cannot be fitted
    True
    """
    n = len(x)
    if n == 0:
        return None
    if n == 1:
        q1, h1 = x[0], y[0]
        h0, q2, h2 = 1.33334 * h1, 2.0 * q1, 0.0
    elif n == 3 and x[0] == 0.0:
        h0, q1, h1, q2, h2 = y[0], x[1], y[1], x[2], y[2]
    else:
        if any(y[m] >= y[m - 1] for m in range(1, n)):
            return None
        qmax = x[-1]
        return PumpFit(CUSTOM, 0.0, 0.0, 1.0, y[0], (x[0] + qmax) / 2.0, qmax)
    fit = power_curve(h0, h1, h2, q1, q2)
    if fit is None:
        return None
    a, b, c = fit
    return PumpFit(POWER_FUNC, -a, -b, c, h0, q1, (-a / b) ** (1.0 / c))


def constant_power(hp: float) -> PumpFit:
    """Constant-power pump law for ``hp`` horsepower (``h q = -8.814 hp``).

    Examples
    --------
    >>> constant_power(10.0).r
    -88.14
    """
    return PumpFit(CONST_HP, 0.0, -8.814 * hp, -1.0, BIG, 1.0, BIG)
