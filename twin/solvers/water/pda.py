"""Pressure-driven demand (EPANET 2.2 PDA, Wagner's relation) as a virtual link per junction.

Delivered demand ``d = D ((p - Pmin) / (Preq - Pmin))^(1/n)`` is solved by inverting it into a
head loss ``h(d)`` with barrier functions below zero and above the full demand ``D``, so a
junction cut off from every source gets zero delivered demand instead of a singular matrix.
Options used: ``fopt[5] = Pmin``, ``fopt[6] = Preq``, ``fopt[7] = pressure exponent`` (ft).
"""

from __future__ import annotations

from numba import njit

from twin.solvers.water.constants import CBIG


@njit(cache=True, error_model="numpy")
def demand_loss(d: float, dfull: float, dp: float, n: float) -> tuple[float, float]:
    """Head loss and gradient of the demand outflow ``d`` at a junction with full demand ``dfull``.

    Examples
    --------
    >>> h, g = demand_loss(0.5, 1.0, 20.0, 2.0)
    >>> round(h, 9)  # (d/D)^2 * dp
    5.0
    """
    r = d / dfull
    if r <= 0.0:
        return CBIG * d, CBIG
    if r < 1.0:
        g = n * dp * r ** (n - 1.0) / dfull
        if g < 1.0e-7:
            return 1.0e-7 * d, 1.0e-7
        return g * d / n, g
    return dp + CBIG * (d - dfull), CBIG


@njit(cache=True, error_model="numpy")
def demand_coeffs(net, st, w) -> None:
    """Add each junction's demand virtual link to the matrix diagonal and right-hand side."""
    pmin = net.fopt[5]
    dp = net.fopt[6] - pmin
    n = 1.0 / net.fopt[7]
    dfull, dflow, iperm, el, diag, rhs = st.dfull, st.dflow, net.iperm, net.el, w.diag, w.rhs
    for i in range(net.nj):
        if dfull[i] <= 0.0:
            continue
        hloss, hgrad = demand_loss(dflow[i], dfull[i], dp, n)
        if hgrad > 0.0:
            r = iperm[i]
            diag[r] += 1.0 / hgrad
            rhs[r] += (hloss + el[i] + pmin) / hgrad


@njit(cache=True, error_model="numpy")
def new_demand_flows(net, st) -> tuple[float, float]:
    """Update delivered demands from the new heads; returns (sum |dq|, sum |q|)."""
    pmin = net.fopt[5]
    dp = net.fopt[6] - pmin
    n = 1.0 / net.fopt[7]
    dqsum = 0.0
    qsum = 0.0
    dfull, dflow, head, el = st.dfull, st.dflow, st.head, net.el
    for i in range(net.nj):
        if dfull[i] <= 0.0:
            continue
        hloss, hgrad = demand_loss(dflow[i], dfull[i], dp, n)
        dq = (hloss - (head[i] - el[i] - pmin)) / hgrad
        dflow[i] -= dq
        dqsum += abs(dq)
        qsum += abs(dflow[i])
    return dqsum, qsum


@njit(cache=True, error_model="numpy")
def pda_converged(net, st) -> bool:
    """True when every delivered demand is within 0.0001 cfs of its pressure-demand curve."""
    pmin = net.fopt[5]
    preq = net.fopt[6]
    pexp = net.fopt[7]
    dfull, dflow, head, el = st.dfull, st.dflow, st.head, net.el
    for i in range(net.nj):
        if dfull[i] <= 0.0:
            continue
        p = head[i] - el[i]
        if p <= pmin:
            r = 0.0
        elif p >= preq:
            r = 1.0
        else:
            r = (p - pmin) / (preq - pmin)
        r = r ** pexp
        if abs(r * dfull[i] - dflow[i]) > 0.0001:
            return False
    return True
