"""Status logic of valves, check valves, pumps and links to full or empty tanks (EPANET's rules).

All functions take and return the integer status codes of :mod:`twin.solvers.water.constants`;
heads in ft, flows in cfs, tolerances ``HTOL`` / ``QTOL``.
"""

from __future__ import annotations

from numba import njit

from twin.solvers.water.constants import (
    ACTIVE, CLOSED, CONST_HP, HTOL, OPEN, PUMP, QTOL, TEMPCLOSED, TINY, XFCV, XHEAD, XPRESSURE, BIG,
)


@njit(cache=True, error_model="numpy")
def prv_status(s: int, q: float, km: float, hset: float, h1: float, h2: float) -> int:
    """New status of a pressure reducing valve with downstream head setting ``hset``.

    Examples
    --------
    >>> prv_status(4, 1.0, 0.0, 100.0, 90.0, 89.0)  # upstream below setting: opens
    3
    """
    hml = km * q * q
    if s == ACTIVE:
        if q < -QTOL:
            return CLOSED
        if h1 - hml < hset - HTOL:
            return OPEN
        return ACTIVE
    if s == OPEN:
        if q < -QTOL:
            return CLOSED
        if h2 >= hset + HTOL:
            return ACTIVE
        return OPEN
    if s == CLOSED:
        if h1 >= hset + HTOL and h2 < hset - HTOL:
            return ACTIVE
        if h1 < hset - HTOL and h1 > h2 + HTOL:
            return OPEN
        return CLOSED
    if s == XPRESSURE and q < -QTOL:
        return CLOSED
    return s


@njit(cache=True, error_model="numpy")
def psv_status(s: int, q: float, km: float, hset: float, h1: float, h2: float) -> int:
    """New status of a pressure sustaining valve with upstream head setting ``hset``.

    Examples
    --------
    >>> psv_status(4, 1.0, 0.0, 100.0, 120.0, 110.0)  # downstream above setting: opens
    3
    """
    hml = km * q * q
    if s == ACTIVE:
        if q < -QTOL:
            return CLOSED
        if h2 + hml > hset + HTOL:
            return OPEN
        return ACTIVE
    if s == OPEN:
        if q < -QTOL:
            return CLOSED
        if h1 < hset - HTOL:
            return ACTIVE
        return OPEN
    if s == CLOSED:
        if h2 > hset + HTOL and h1 > h2 + HTOL:
            return OPEN
        if h1 >= hset + HTOL and h1 > h2 + HTOL:
            return ACTIVE
        return CLOSED
    if s == XPRESSURE and q < -QTOL:
        return CLOSED
    return s


@njit(cache=True, error_model="numpy")
def cv_status(s: int, dh: float, q: float) -> int:
    """New status of a check valve pipe with head drop ``dh`` and flow ``q``.

    Examples
    --------
    >>> cv_status(3, -1.0, 0.5)  # head rises along the flow direction: closes
    2
    """
    if abs(dh) > HTOL:
        if dh < -HTOL:
            return CLOSED
        if q < -QTOL:
            return CLOSED
        return OPEN
    if q < -QTOL:
        return CLOSED
    return s


@njit(cache=True, error_model="numpy")
def pump_status(ptype: int, hmax: float, speed: float, dh: float, q: float) -> int:
    """``XHEAD`` when the pump cannot deliver the head gain ``dh``, else ``OPEN``.

    A constant-power pump whose flow ``q`` has fallen below ``TINY`` is ``TEMPCLOSED``
    (EPANET 2.3: its head would be unbounded).

    Examples
    --------
    >>> pump_status(0, 1e10, 1.0, 50.0, 0.0)  # constant power, no flow: temporarily closed
    1
    """
    if ptype == CONST_HP:
        if q < TINY:
            return TEMPCLOSED
        h = BIG
    else:
        h = speed * speed * hmax
    if dh > h + HTOL:
        return XHEAD
    return OPEN


@njit(cache=True, error_model="numpy")
def fcv_status(s: int, q: float, setting: float, h1: float, h2: float) -> int:
    """New status of a flow control valve (``XFCV`` when it cannot pass its setting)."""
    if h1 - h2 < -HTOL:
        return XFCV
    if q < -QTOL:
        return XFCV
    if s == XFCV and q >= setting:
        return ACTIVE
    return s


@njit(cache=True, error_model="numpy")
def tank_status(s: int, ltype: int, q: float, h_tank: float, h_other: float, hmin: float, hmax: float,
                tank_is_start: bool) -> int:
    """Temporarily close a link that would fill a full tank or drain an empty one (EPANET 2.3).

    ``q`` is the link flow out of the tank (positive leaving the tank). A tank is empty at its
    minimum volume (head ``hmin``) and full at its maximum volume (head ``hmax``); any link,
    pump or pipe, that would drain an empty tank or fill a full one is ``TEMPCLOSED``.

    Examples
    --------
    >>> tank_status(3, 1, 0.5, 10.0, 10.0, 10.0, 100.0, True)  # empty tank, outflow: closed
    1
    """
    if s <= CLOSED:
        return s
    if h_tank >= hmax - 1.0e-6 and q < 0.0:
        return TEMPCLOSED
    if h_tank <= hmin + 1.0e-6 and q > 0.0:
        return TEMPCLOSED
    return s
