"""Read and write open formats: EPANET .inp, MATPOWER .m, TNTP, GeoPackage / GeoJSON."""

from twin.io.geopackage import read_network, write_network  # noqa: E402
from twin.io.matpower import read_matpower  # noqa: E402
from twin.io.tntp import read_tntp  # noqa: E402
