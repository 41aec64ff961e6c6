"""The network model: asset tables with a declared schema, couplings, graph views, compiled arrays."""

from twin.model import graph
from twin.model.compiled import (
    GridArrays, TrafficArrays, WaterArrays, compile_grid, compile_traffic, compile_water,
)
from twin.model.network import Network
from twin.model.schema import COUPLING_COLUMNS, LAYERS, RELATIONS, SCHEMAS, Column, TableSchema, kinds, schema
from twin.model.tables import make_couplings, make_table

__all__ = [
    "COUPLING_COLUMNS", "LAYERS", "RELATIONS", "SCHEMAS", "Column", "GridArrays", "Network", "TableSchema",
    "TrafficArrays", "WaterArrays", "compile_grid", "compile_traffic", "compile_water", "graph",
    "kinds", "make_couplings", "make_table", "schema",
]
