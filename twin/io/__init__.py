"""Read and write open formats: EPANET .inp, MATPOWER .m, TNTP, GeoPackage / GeoJSON."""
