"""Write docs/schema.md from twin.model.schema (run: python docs/make_schema_doc.py)."""

from __future__ import annotations

from pathlib import Path

from twin.model.schema import COUPLING_COLUMNS, LAYERS, RELATIONS, SCHEMAS


def render() -> str:
    """The Markdown text of the data-model reference."""
    out = ["# Data model (generated from `twin/model/schema.py`; do not edit by hand)", "",
           "Every table is indexed by a string asset `id`. Spatial tables are GeoDataFrames in the network's "
           "one CRS. Water and traffic use SI units; the grid uses MW, Mvar, kV and p.u.", ""]
    for layer in LAYERS:
        out += [f"## {layer}", ""]
        for spec in (s for s in SCHEMAS.values() if s.layer == layer):
            geom = spec.geometry or "none"
            out += [f"### `{spec.kind}` — {spec.description} (geometry: {geom})", "",
                    "| column | type | unit | required | default | refers to | description |",
                    "|---|---|---|---|---|---|---|"]
            for c in spec.columns:
                ref = ", ".join(c.references)
                default = "" if c.required or c.default is None else repr(c.default)
                out.append(f"| `{c.name}` | {c.dtype} | {c.unit} | {'yes' if c.required else ''} | {default} "
                           f"| {ref} | {c.description} |")
            out.append("")
    out += ["## couplings", "", "| column | type | unit | description |", "|---|---|---|---|"]
    out += [f"| `{c.name}` | {c.dtype} | {c.unit} | {c.description} |" for c in COUPLING_COLUMNS]
    out += ["", "| relation | source kinds | destination kinds |", "|---|---|---|"]
    for rel, (src, dst) in RELATIONS.items():
        out.append(f"| `{rel}` | {', '.join(src) if src else 'any'} | {', '.join(dst)} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    Path(__file__).with_name("schema.md").write_text(render())
