"""Per-unit branch model: lines, two-winding transformers and MATPOWER branches as pi sections.

Every branch becomes the MATPOWER/pandapower pi model: a series impedance ``r + jx``, a total
shunt admittance ``g + jb`` split half to each end, and an ideal transformer of complex ratio
``ratio * exp(j shift)`` at the from (HV) side. The conversions follow pandapower 3
(``build_branch.py``: line base impedance from the from bus, transformer "t" model turned into
its pi equivalent, tap changer of the ratio kind) and MATPOWER (``makeYbus``: ``TAP == 0`` means 1).
"""

from __future__ import annotations

import numpy as np

__all__ = ["admittances", "line_parameters", "matpower_parameters", "transformer_parameters"]


def line_parameters(length_km: np.ndarray, r_ohm_per_km: np.ndarray, x_ohm_per_km: np.ndarray,
                    c_nf_per_km: np.ndarray, g_us_per_km: np.ndarray, parallel: np.ndarray,
                    base_kv: np.ndarray, base_mva: float, f_hz: float) -> tuple[np.ndarray, ...]:
    """Per-unit pi parameters of lines, as pandapower computes them.

    Parameters
    ----------
    length_km, r_ohm_per_km, x_ohm_per_km, c_nf_per_km, g_us_per_km, parallel : ndarray
        Line data (km, ohm/km, ohm/km, nF/km, uS/km, count).
    base_kv : ndarray
        Nominal voltage of each line's from bus (kV).
    base_mva : float
        System base power (MVA).
    f_hz : float
        System frequency (Hz).

    Returns
    -------
    r, x, g, b : ndarray
        Series resistance and reactance, total shunt conductance and susceptance (p.u.).

    Examples
    --------
    >>> r, x, g, b = line_parameters(np.array([2.0]), np.array([0.1]), np.array([0.3]), np.array([0.0]),
    ...                              np.array([0.0]), np.array([1]), np.array([10.0]), 1.0, 50.0)
    >>> float(r[0]), float(x[0])
    (0.002, 0.006)
    """
    base_r = np.square(base_kv) / base_mva
    r = r_ohm_per_km * length_km / base_r / parallel
    x = x_ohm_per_km * length_km / base_r / parallel
    b = 2.0 * np.pi * f_hz * c_nf_per_km * 1e-9 * base_r * length_km * parallel
    g = g_us_per_km * 1e-6 * base_r * length_km * parallel
    return r, x, g, b


def _tapped_voltages(vn_hv_kv: np.ndarray, vn_lv_kv: np.ndarray, tap_side: np.ndarray, tap_pos: np.ndarray,
                     tap_neutral: np.ndarray, tap_step_percent: np.ndarray, tap_step_degree: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rated voltages and extra phase shift after the tap changer (pandapower's "Ratio" kind).

    ``tap_side`` is +1 (HV side), -1 (LV side) or 0 (no tap changer).
    """
    vnh = np.array(vn_hv_kv, dtype=float)
    vnl = np.array(vn_lv_kv, dtype=float)
    shift = np.zeros(len(vnh))
    steps = np.nan_to_num(tap_step_percent * (tap_pos - tap_neutral) / 100.0)
    angle = np.deg2rad(np.nan_to_num(tap_step_degree))
    for side, vn in ((1, vnh), (-1, vnl)):
        mask = tap_side == side
        if not mask.any():
            continue
        u1 = vn[mask]
        du = u1 * steps[mask]
        real = u1 + du * np.cos(angle[mask])
        imag = du * np.sin(angle[mask])
        vn[mask] = np.hypot(real, imag)
        shift[mask] += np.rad2deg(np.arctan(side * imag / real))
    return vnh, vnl, shift


def transformer_parameters(sn_mva: np.ndarray, vn_hv_kv: np.ndarray, vn_lv_kv: np.ndarray,
                           vk_percent: np.ndarray, vkr_percent: np.ndarray, pfe_kw: np.ndarray,
                           i0_percent: np.ndarray, shift_degree: np.ndarray, parallel: np.ndarray,
                           bus_kv_hv: np.ndarray, bus_kv_lv: np.ndarray, base_mva: float,
                           tap: tuple[np.ndarray, ...] | None = None) -> tuple[np.ndarray, ...]:
    """Per-unit pi parameters of two-winding transformers (pandapower's "t" model).

    Parameters
    ----------
    sn_mva, vn_hv_kv, vn_lv_kv, vk_percent, vkr_percent, pfe_kw, i0_percent, shift_degree, parallel : ndarray
        Transformer data (MVA, kV, kV, %, %, kW, %, degree, count).
    bus_kv_hv, bus_kv_lv : ndarray
        Nominal voltage of the HV and LV buses (kV).
    base_mva : float
        System base power (MVA).
    tap : tuple of ndarray, optional
        ``(tap_side, tap_pos, tap_neutral, tap_step_percent, tap_step_degree)`` with tap_side
        +1 (HV), -1 (LV) or 0 (none).

    Returns
    -------
    r, x, g, b, ratio, shift : ndarray
        Series impedance, total shunt admittance (p.u.), off-nominal ratio and phase shift (degree).

    Examples
    --------
    >>> one = np.array([1.0])
    >>> r, x, g, b, ratio, shift = transformer_parameters(
    ...     25 * one, 110 * one, 10 * one, 12 * one, 0.4 * one, 0 * one, 0 * one, 0 * one, one,
    ...     110 * one, 10 * one, 1.0)
    >>> round(float(x[0]), 6), float(ratio[0])
    (0.004797, 1.0)
    """
    tap_shift: np.ndarray | float
    if tap is None:
        vnh, vnl, tap_shift = np.asarray(vn_hv_kv, float), np.asarray(vn_lv_kv, float), 0.0
    else:
        vnh, vnl, tap_shift = _tapped_voltages(vn_hv_kv, vn_lv_kv, *tap)
    ratio = (vnh / vnl) / (bus_kv_hv / bus_kv_lv)
    tap_lv = np.square(vnl / bus_kv_lv) * base_mva
    z_sc = vk_percent / 100.0 / sn_mva * tap_lv
    r_sc = vkr_percent / 100.0 / sn_mva * tap_lv
    x_sc = np.sign(z_sc) * np.sqrt(z_sc ** 2 - r_sc ** 2)
    r, x = r_sc / parallel, x_sc / parallel
    base_z = np.square(bus_kv_lv) / base_mva
    pfe_mw = pfe_kw * 1e-3
    b_sq = np.maximum(np.square(i0_percent / 100.0 * sn_mva) - np.square(pfe_mw), 0.0)
    scale = base_z * parallel / np.square(vn_lv_kv) / np.square(vnl / vn_lv_kv)
    g = pfe_mw * scale
    b = -np.sqrt(b_sq) * scale
    r, x, g, b = _t_to_pi(r, x, g, b)
    return r, x, g, b, ratio, shift_degree + tap_shift


def _t_to_pi(r: np.ndarray, x: np.ndarray, g: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
    """Star (T) to delta (pi) with the leakage split half and half (pandapower ``_wye_delta``)."""
    r, x, g, b = (np.array(a, dtype=float) for a in (r, x, g, b))
    idx = (g != 0) | (b != 0)
    if not idx.any():
        return r, x, g, b
    za = 0.5 * (r[idx] + 1j * x[idx])
    zc = 1.0 / (g[idx] + 1j * b[idx])
    z_sum = za * za + 2.0 * za * zc
    zab = z_sum / zc
    yf = za / z_sum
    r[idx], x[idx] = zab.real, zab.imag
    g[idx], b[idx] = 2.0 * yf.real, 2.0 * yf.imag
    return r, x, g, b


def matpower_parameters(r_pu: np.ndarray, x_pu: np.ndarray, b_pu: np.ndarray, tap_ratio: np.ndarray,
                        shift_degree: np.ndarray) -> tuple[np.ndarray, ...]:
    """MATPOWER branch rows as pi parameters (``TAP == 0`` means a line, ratio 1).

    Examples
    --------
    >>> matpower_parameters(np.array([0.01]), np.array([0.1]), np.array([0.02]), np.array([0.0]),
    ...                     np.array([0.0]))[4].tolist()
    [1.0]
    """
    ratio = np.where(tap_ratio == 0.0, 1.0, tap_ratio)
    return (np.asarray(r_pu, float), np.asarray(x_pu, float), np.zeros(len(r_pu)), np.asarray(b_pu, float),
            ratio, np.asarray(shift_degree, float))


def admittances(r: np.ndarray, x: np.ndarray, g: np.ndarray, b: np.ndarray, ratio: np.ndarray,
                shift_degree: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Branch admittance terms ``Yff, Yft, Ytf, Ytt`` (p.u.) as in MATPOWER's ``makeYbus``.

    Examples
    --------
    >>> yff, yft, ytf, ytt = admittances(np.array([0.0]), np.array([0.1]), np.array([0.0]),
    ...                                  np.array([0.0]), np.array([1.0]), np.array([0.0]))
    >>> float(yff[0].imag), float(yft[0].imag)
    (-10.0, 10.0)
    """
    ys = 1.0 / (r + 1j * x)
    tap = ratio * np.exp(1j * np.deg2rad(shift_degree))
    ytt = ys + 0.5 * (g + 1j * b)
    yff = ytt / (tap * np.conj(tap))
    yft = -ys / np.conj(tap)
    ytf = -ys / tap
    return yff, yft, ytf, ytt
