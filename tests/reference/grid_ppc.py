"""Turn a twin network read from a MATPOWER file back into a PYPOWER case dict (the test oracle's input)."""

from __future__ import annotations

import numpy as np

from twin.model import Network

_TYPES = {"PQ": 1, "PV": 2, "REF": 3, "ISOLATED": 4}


def to_ppc(net: Network) -> dict:
    """PYPOWER ``ppc`` (version 2) with the bus, gen and branch data of ``net`` (MATPOWER-read)."""
    bus, gen, br = net.bus, net.generator, net.branch
    num = {b: int(b) for b in bus.index}
    n = len(bus)
    b = np.zeros((n, 13))
    b[:, 0] = [num[i] for i in bus.index]
    b[:, 1] = [_TYPES[t] for t in bus.bus_type]
    pos = {i: k for k, i in enumerate(bus.index)}
    for _, ld in net.load.iterrows():
        if ld.in_service:
            b[pos[ld.bus], 2] += ld.p_mw * ld.scaling
            b[pos[ld.bus], 3] += ld.q_mvar * ld.scaling
    for _, sh in net.shunt.iterrows():
        if sh.in_service:
            b[pos[sh.bus], 4] += sh.p_mw * sh.step
            b[pos[sh.bus], 5] -= sh.q_mvar * sh.step
    b[:, 6] = 1
    b[:, 7] = bus.vm_pu
    b[:, 8] = bus.va_degree
    b[:, 9] = bus.vn_kv
    b[:, 10] = 1
    b[:, 11] = bus.max_vm_pu
    b[:, 12] = bus.min_vm_pu
    g = np.zeros((len(gen), 21))
    g[:, 0] = [num[i] for i in gen.bus]
    g[:, 1] = gen.p_mw
    g[:, 2] = gen.q_mvar
    g[:, 3] = gen.max_q_mvar
    g[:, 4] = gen.min_q_mvar
    g[:, 5] = gen.vm_pu
    g[:, 6] = gen.sn_mva
    g[:, 7] = gen.in_service.astype(float)
    g[:, 8] = gen.max_p_mw
    g[:, 9] = gen.min_p_mw
    r = np.zeros((len(br), 13))
    r[:, 0] = [num[i] for i in br.from_bus]
    r[:, 1] = [num[i] for i in br.to_bus]
    r[:, 2] = br.r_pu
    r[:, 3] = br.x_pu
    r[:, 4] = br.b_pu
    r[:, 5] = br.rate_a_mva
    r[:, 6] = br.rate_b_mva
    r[:, 7] = br.rate_c_mva
    r[:, 8] = br.tap_ratio
    r[:, 9] = br.shift_degree
    r[:, 10] = br.in_service.astype(float)
    r[:, 11] = br.angle_min_degree
    r[:, 12] = br.angle_max_degree
    return {"version": "2", "baseMVA": float(net.settings["grid"]["base_mva"]), "bus": b, "gen": g, "branch": r}
