"""Compile a Network's layers into frozen dataclasses of flat arrays for the solvers.

A run compiles once and then copies arrays and flips masks and set points; it never
recompiles and never touches the Network. Asset order in every array is the table order;
``*_ids`` arrays map positions back to asset ids.
"""

from twin.model.compiled.grid import GridArrays, compile_grid
from twin.model.compiled.traffic import TrafficArrays, compile_traffic
from twin.model.compiled.water import WaterArrays, compile_water

__all__ = ["GridArrays", "TrafficArrays", "WaterArrays", "compile_grid", "compile_traffic", "compile_water"]
