"""Codes and constants shared by the water kernels (EPANET's values, internal units ft/cfs/s)."""

from __future__ import annotations

# Link types (EPANET order).
CVPIPE, PIPE, PUMP, PRV, PSV, PBV, FCV, TCV, GPV, PCV = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9
#: Valve type names of twin's schema -> link type codes.
VALVE_CODES = {"PRV": PRV, "PSV": PSV, "PBV": PBV, "FCV": FCV, "TCV": TCV, "GPV": GPV, "PCV": PCV}

# Link status (EPANET's StatusType order: <= CLOSED means closed).
XHEAD, TEMPCLOSED, CLOSED, OPEN, ACTIVE, XFLOW, XFCV, XPRESSURE = 0, 1, 2, 3, 4, 5, 6, 7
STATUS_NAMES = ("XHEAD", "TEMPCLOSED", "CLOSED", "OPEN", "ACTIVE", "XFLOW", "XFCV", "XPRESSURE")

# Pump curve types.
CONST_HP, POWER_FUNC, CUSTOM = 0, 1, 2

# Solver status codes returned by kernels.
OK, UNBALANCED, ILL_CONDITIONED = 0, 1, 2

MISSING = -1.0e10     # setting of a valve with a fixed status
CBIG = 1.0e8          # big coefficient (closed link, active valve)
CSMALL = 1.0e-6       # small coefficient (open valve)
QZERO = 1.0e-6        # equivalent to zero flow (cfs)
TINY = 1.0e-6
BIG = 1.0e10
HTOL = 0.0005         # head tolerance (ft)
QTOL = 0.0001         # flow tolerance (cfs)
RQTOL = 1.0e-7        # smallest head loss gradient
VISCOS = 1.1e-5       # kinematic viscosity of water at 20 C (ft2/s)
HW_EXP = 1.852

# EPANET's unit factors (types.h), some rounded.
MPERFT = 0.3048
M3PERFT3 = 0.028317
KWPERHP = 0.7457
PSIPERFT = 0.4333
FLOW_PER_CFS = {"CFS": 1.0, "GPM": 448.831, "MGD": 0.64632, "IMGD": 0.5382, "AFD": 1.9837,
                "LPS": 28.317, "LPM": 1699.0, "MLD": 2.4466, "CMH": 101.94, "CMD": 2446.6,
                "CMS": 0.028317}

# Darcy-Weisbach friction factor constants (EPANET hydcoeffs.c).
A1 = 3.14159265358979323850e+03   # 1000*PI
A2 = 1.57079632679489661930e+03   # 500*PI
A8 = 4.61841319859066668690e+00   # 5.74*(PI/4)^.9
A9 = -8.68588963806503655300e-01  # -2/ln(10)
AB = 3.28895476345399058690e-03   # 5.74/(4000^.9)
AC = -5.14214965799093883760e-03  # AA*AB
