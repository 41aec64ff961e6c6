"""Read and write open formats: EPANET .inp, MATPOWER .m, TNTP, pandapower, GeoPackage / GeoJSON.

Ids in files stay the asset ids in the model (EPANET ids, MATPOWER bus numbers, TNTP nodes).
"""

from twin.io.geopackage import read_network, write_network
from twin.io.inp import read_inp, write_inp
from twin.io.matpower import read_matpower
from twin.io.pandapower import from_pandapower
from twin.io.tntp import read_tntp

__all__ = ["from_pandapower", "read_inp", "read_matpower", "read_network", "read_tntp", "write_inp", "write_network"]
