"""Grid layer: AC/DC power flow, time series and N-1 contingency analysis over a
:class:`~twin.model.Network` (or a MATPOWER/pandapower case read into one).

:func:`power_flow` solves one operating point or a time series; :func:`contingencies` runs N-1
with DC screening and AC verification. The kernels live in :mod:`twin.solvers.grid`.
"""

from twin.grid.contingency import contingencies
from twin.grid.flow import power_flow

__all__ = ["contingencies", "power_flow"]
