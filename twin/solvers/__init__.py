"""Numerical kernels of twin: pure functions over flat NumPy arrays (NumPy, Numba and SciPy only).

Subpackages: :mod:`twin.solvers.grid` (power flow), :mod:`twin.solvers.water` (hydraulics),
:mod:`twin.solvers.traffic` (assignment). They never import pandas, NetworkX or
:mod:`twin.model`; the public wrappers (:func:`twin.grid.flow.power_flow`, ...) translate a
:class:`~twin.model.Network` into arrays and the arrays back into results.
"""
