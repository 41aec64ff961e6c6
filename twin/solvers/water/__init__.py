"""EPANET-equivalent water hydraulics: Global Gradient Algorithm kernels over flat arrays.

Everything in this package works in EPANET's internal units (ft, cfs, s) so that results agree
with EPANET to round-off; :mod:`twin.solvers.water.model` converts SI tables to those units with
EPANET's own (rounded) constants. No pandas, networkx or :mod:`twin.model` imports here.
"""
