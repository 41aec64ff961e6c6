"""Head-loss laws of pipes, pumps and valves as ``(P, Y)`` GGA coefficients (EPANET's rules).

For each link, ``P = 1 / (dh/dq)`` and ``Y = h(q) / (dh/dq)`` in ft and cfs. Laws follow
EPANET 2.2/2.3 (``hydcoeffs.c``): Hazen-Williams and Chezy-Manning with a linear law below the
gradient ``RQTOL``; Darcy-Weisbach with Hagen-Poiseuille (Re <= 2000), Dunlop's cubic
(2000 < Re < 4000) and Swamee-Jain (Re >= 4000); minor losses ``Km q^2``; closed links
``h = CBIG q``; pumps by power function, constant power or piecewise-linear curve.

References
----------
Todini, E. and Pilati, S. (1988). A gradient algorithm for the analysis of pipe networks.
Rossman, L. et al. (2020). EPANET 2.2 User Manual, EPA/600/R-20/133.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from twin.solvers.water.constants import (
    A1, A2, A8, A9, AB, AC, CBIG, CLOSED, CONST_HP, CSMALL, CUSTOM, MISSING, RQTOL, TINY,
)


@njit(cache=True, error_model="numpy")
def pipe_hw(q: float, r: float, km: float, hexp: float) -> tuple[float, float]:
    """``(P, Y)`` of an open Hazen-Williams or Chezy-Manning pipe with flow ``q`` (cfs).

    Examples
    --------
    >>> p, y = pipe_hw(1.0, 2.0, 0.0, 1.852)
    >>> round(y / p, 12)  # head loss r q^1.852 at q = 1
    2.0
    """
    aq = abs(q)
    hgrad = hexp * r * aq ** (hexp - 1.0)
    if hgrad < RQTOL:
        hgrad = RQTOL
        hloss = hgrad * aq
    else:
        hloss = hgrad * aq / hexp
    if km > 0.0:
        hloss += km * aq * aq
        hgrad += 2.0 * km * aq
    if q < 0.0:
        hloss = -hloss
    return 1.0 / hgrad, hloss / hgrad


@njit(cache=True, error_model="numpy")
def friction_factor(q: float, e: float, s: float) -> tuple[float, float]:
    """Darcy friction factor and its derivative ``df/dq`` for ``Re >= 2000`` (EPANET's rules).

    ``q`` is ``|flow|`` (cfs), ``e`` relative roughness, ``s`` viscosity times diameter.
    """
    w = q / s
    if w >= A1:
        y1 = A8 / w ** 0.9
        y2 = e / 3.7 + y1
        y3 = A9 * math.log(y2)
        f = 1.0 / (y3 * y3)
        return f, 1.8 * f * y1 * A9 / y2 / y3 / q
    y2 = e / 3.7 + AB
    y3 = A9 * math.log(y2)
    fa = 1.0 / (y3 * y3)
    fb = (2.0 + AC / (y2 * y3)) * fa
    r = w / A2
    x1 = 7.0 * fa - fb
    x2 = 0.128 - 17.0 * fa + 2.5 * fb
    x3 = -0.128 + 13.0 * fa - (fb + fb)
    x4 = 0.032 - 3.0 * fa + 0.5 * fb
    f = x1 + r * (x2 + r * (x3 + r * x4))
    return f, (x2 + r * (2.0 * x3 + r * 3.0 * x4)) / s / A2


@njit(cache=True, error_model="numpy")
def pipe_dw(q: float, r: float, km: float, rough: float, diam: float, viscos: float) -> tuple[float, float]:
    """``(P, Y)`` of an open Darcy-Weisbach pipe; ``r = L / (2 g d A^2)``, ``rough`` in ft.

    Examples
    --------
    >>> p, y = pipe_dw(0.5, 10.0, 0.0, 0.0005, 1.0, 1.1e-5)
    >>> y / p > 0
    True
    """
    aq = abs(q)
    s = viscos * diam
    if aq <= A2 * s:
        rl = 16.0 * math.pi * s * r
        hloss = q * (rl + km * aq)
        hgrad = rl + 2.0 * km * aq
    else:
        f, dfdq = friction_factor(aq, rough / diam, s)
        r1 = f * r + km
        hloss = r1 * aq * q
        hgrad = 2.0 * r1 * aq + dfdq * r * aq * aq
    return 1.0 / hgrad, hloss / hgrad


@njit(cache=True, error_model="numpy")
def closed_link(q: float) -> tuple[float, float]:
    """``(P, Y)`` of a closed link: ``h = CBIG q``."""
    return 1.0 / CBIG, q


@njit(cache=True, error_model="numpy")
def open_valve(q: float, km: float) -> tuple[float, float]:
    """``(P, Y)`` of an open valve: minor loss ``km q^2`` or a tiny linear resistance."""
    if km > 0.0:
        p = 2.0 * km * abs(q)
        if p < RQTOL:
            return 1.0 / RQTOL, q
        return 1.0 / p, q / 2.0
    return 1.0 / CSMALL, q


@njit(cache=True, error_model="numpy")
def valve_coeff(q: float, km: float, status: int) -> tuple[float, float]:
    """``(P, Y)`` of an open or closed valve (EPANET ``valvecoeff``)."""
    if status <= CLOSED:
        return closed_link(q)
    return open_valve(q, km)


@njit(cache=True, error_model="numpy")
def curve_segment(cx: np.ndarray, cy: np.ndarray, lo: int, hi: int, x: float) -> tuple[float, float]:
    """Intercept and slope of the curve segment bracketing ``x`` (extrapolating at the ends)."""
    npts = hi - lo
    k2 = 0
    while k2 < npts and cx[lo + k2] < x:
        k2 += 1
    if k2 == 0:
        k2 = 1
    elif k2 == npts:
        k2 -= 1
    k1 = k2 - 1
    r = (cy[lo + k2] - cy[lo + k1]) / (cx[lo + k2] - cx[lo + k1])
    return cy[lo + k1] - r * cx[lo + k1], r


@njit(cache=True, error_model="numpy")
def interp(cx: np.ndarray, cy: np.ndarray, lo: int, hi: int, x: float) -> float:
    """Piecewise-linear interpolation of a curve, constant beyond its ends (EPANET ``interp``)."""
    n = hi - lo
    if x <= cx[lo]:
        return cy[lo]
    for k in range(1, n):
        if cx[lo + k] >= x:
            dx = cx[lo + k] - cx[lo + k - 1]
            dy = cy[lo + k] - cy[lo + k - 1]
            if abs(dx) < TINY:
                return cy[lo + k]
            return cy[lo + k] - (cx[lo + k] - x) * dy / dx
    return cy[hi - 1]


@njit(cache=True, error_model="numpy")
def pump_coeff(q: float, status: int, speed: float, ptype: int, h0: float, r: float, n: float,
               cx: np.ndarray, cy: np.ndarray, lo: int, hi: int) -> tuple[float, float]:
    """``(P, Y)`` of a pump; head loss ``h0 + r q^n`` with ``h0 = -Hshutoff`` (EPANET's form).

    Examples
    --------
    >>> e = np.zeros(0)
    >>> p, y = pump_coeff(1.0, 3, 1.0, 1, -100.0, 10.0, 2.0, e, e, 0, 0)
    >>> round(y / p, 9)  # head loss -(100 - 10 q^2) at q = 1
    -90.0
    """
    if status <= CLOSED or speed == 0.0:
        return closed_link(q)
    aq = abs(q)
    if ptype == CUSTOM:
        hh0, rr = curve_segment(cx, cy, lo, hi, aq / speed)
        hgrad = -rr * speed
        hloss = -hh0 * speed * speed + hgrad * q
    else:
        hh0 = speed * speed * h0
        if abs(n - 1.0) < TINY:
            n = 1.0
        rr = r * speed ** (2.0 - n)
        if ptype == CONST_HP:
            hgrad = -rr / aq / aq
            if hgrad > CBIG:
                # EPANET 2.3: gradient too large -> treat as a closed link
                return closed_link(q)
            if hgrad < CSMALL:
                # gradient too small -> treat as an open valve
                return 1.0 / CSMALL, q
            hloss = rr / q
        elif n != 1.0:
            hgrad = n * rr * aq ** (n - 1.0)
            if hgrad < RQTOL:
                hgrad = RQTOL
                hloss = hh0 + hgrad * q
            else:
                hloss = hh0 + hgrad * q / n
        else:
            hgrad = rr
            hloss = hh0 + hgrad * q
    return 1.0 / hgrad, hloss / hgrad


@njit(cache=True, error_model="numpy")
def tcv_coeff(q: float, km: float, setting: float, diam: float, status: int) -> tuple[float, float]:
    """``(P, Y)`` of a throttle control valve whose setting is a loss coefficient."""
    if setting != MISSING:
        km = 0.02517 * setting / (diam * diam * diam * diam)
    return valve_coeff(q, km, status)


@njit(cache=True, error_model="numpy")
def pbv_coeff(q: float, km: float, setting: float, status: int) -> tuple[float, float]:
    """``(P, Y)`` of a pressure breaker valve: a fixed head drop ``setting`` (ft)."""
    if setting == MISSING or setting == 0.0:
        return valve_coeff(q, km, status)
    if km * q * q > setting:
        return valve_coeff(q, km, status)
    return CBIG, setting * CBIG


@njit(cache=True, error_model="numpy")
def gpv_coeff(q: float, km: float, status: int, cx: np.ndarray, cy: np.ndarray,
              lo: int, hi: int) -> tuple[float, float]:
    """``(P, Y)`` of a general purpose valve following its head-loss curve (flow -> loss)."""
    if status == CLOSED or lo < 0:
        return valve_coeff(q, km, status)
    aq = max(abs(q), TINY)
    h0, r = curve_segment(cx, cy, lo, hi, aq)
    r = max(r, TINY)
    y = h0 / r + aq
    if q < 0.0:
        y = -y
    return 1.0 / r, y


@njit(cache=True, error_model="numpy")
def pcv_open_ratio(s: float, cx: np.ndarray, cy: np.ndarray, lo: int, hi: int) -> float:
    """Percent of the fully open flow coefficient of a PCV at ``s`` percent open (its valve curve).

    Without a curve the ratio is ``s``. Inside the curve it is interpolated; below its first
    point it follows the line from the origin; beyond its last point ``(x, y)`` it follows the
    line from there to ``(1, 1)``, which is what the EPANET 2.3.5 toolkit does (measured: a
    curve ending at (60, 50) gives 66.61 % at 80 % open).

    Examples
    --------
    >>> x, y = np.array([0.0, 25.0, 50.0, 75.0, 100.0]), np.array([0.0, 8.9, 18.4, 40.6, 100.0])
    >>> round(pcv_open_ratio(35.0, x, y, 0, 5), 6)
    12.7
    """
    if lo < 0:
        return s
    x0, y0 = cx[lo], cy[lo]
    if s <= x0:
        return s * y0 / x0 if x0 > 0.0 else y0
    x1, y1 = cx[hi - 1], cy[hi - 1]
    if s > x1:
        if abs(x1 - 1.0) < TINY:
            return y1
        return y1 + (s - x1) * (y1 - 1.0) / (x1 - 1.0)
    return interp(cx, cy, lo, hi, s)


@njit(cache=True, error_model="numpy")
def pcv_coeff(q: float, km: float, setting: float, status: int, cx: np.ndarray, cy: np.ndarray,
              lo: int, hi: int) -> tuple[float, float]:
    """``(P, Y)`` of a positional control valve (EPANET 2.3 PCV) at ``setting`` percent open.

    Its loss coefficient is the fully open one ``km`` divided by the square of the relative flow
    coefficient from the valve curve (:func:`pcv_open_ratio`); fully open at 100 % or more,
    ``CBIG`` when shut (0 %); a fixed OPEN / CLOSED status (setting ``MISSING``) acts as for
    any valve.

    Examples
    --------
    >>> e = np.zeros(0)
    >>> p, y = pcv_coeff(1.0, 2.0, 50.0, 4, e, e, -1, -1)  # no curve: 50 % open, K x 4
    >>> round(1.0 / p, 9)  # gradient 2 km q at km = 8
    16.0
    """
    if setting != MISSING and status > CLOSED:
        if setting < 100.0:
            r = pcv_open_ratio(setting, cx, cy, lo, hi) / 100.0 if setting > 0.0 else 0.0
            km = km / (r * r) if r > 0.0 else CBIG
    return valve_coeff(q, km, status)
