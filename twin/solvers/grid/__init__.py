"""Power-flow kernels over flat arrays: per-unit branch model, Ybus, Newton-Raphson, DC flow,
fast-decoupled flow, islands and linear sensitivities (PTDF/LODF).

Modules: :mod:`~twin.solvers.grid.branches` (pi parameters), :mod:`~twin.solvers.grid.ybus`,
:mod:`~twin.solvers.grid.newton`, :mod:`~twin.solvers.grid.dc`, :mod:`~twin.solvers.grid.decoupled`,
:mod:`~twin.solvers.grid.topology`, :mod:`~twin.solvers.grid.build` (arrays -> per-unit case),
:mod:`~twin.solvers.grid.qlimits`, :mod:`~twin.solvers.grid.timeseries`.
"""
