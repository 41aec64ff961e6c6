"""Water layer: EPANET-equivalent hydraulics over a :class:`~twin.model.Network`.

:func:`hydraulics` runs an extended-period simulation and returns an ``xarray.Dataset``;
:class:`HydraulicSimulation` steps one (the engine's interface); :func:`hydraulics_batch` runs
many variants of one network sharing the compiled model. The kernels live in
:mod:`twin.solvers.water`.
"""

from twin.water.batch import BATCH_VARIABLES, hydraulics_batch
from twin.water.simulation import HydraulicSimulation, hydraulics

__all__ = ["BATCH_VARIABLES", "HydraulicSimulation", "hydraulics", "hydraulics_batch"]
