"""Write a large, deterministic EPANET network: a looped street grid of ~50k junctions.

An ``n x n`` grid of junctions 100 m apart (pipes along rows and columns, so every block is a
loop), trunk mains (larger diameter) every 16th row and column, four reservoirs feeding the
corners, one tank in the middle, elevations from a smooth deterministic surface, base demands
0.05 L/s per junction with a 24-period diurnal pattern, 24 h EPS at 1 h steps. No randomness.

Usage::

    python benchmarks/make_large_water_network.py [--n 224] [--out /tmp/grid50k.inp]
    python benchmarks/bench_hydraulics.py --inp /tmp/grid50k.inp --repeat 1
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

PATTERN = [0.6, 0.5, 0.5, 0.5, 0.6, 0.8, 1.1, 1.4, 1.4, 1.3, 1.2, 1.1,
           1.1, 1.0, 1.0, 1.0, 1.1, 1.2, 1.4, 1.4, 1.2, 1.0, 0.8, 0.7]


def write(n: int, out: Path) -> int:
    """Write the ``n x n`` grid network to ``out``; returns the number of junctions."""
    j = lambda r, c: f"J{r}_{c}"  # noqa: E731
    lines = ["[TITLE]", f"Deterministic {n}x{n} looped grid (benchmarks/make_large_water_network.py)", "",
             "[JUNCTIONS]"]
    for r in range(n):
        for c in range(n):
            el = 20.0 + 10.0 * math.sin(r / n * math.pi) * math.cos(c / n * math.pi)
            lines.append(f" {j(r, c)} {el:.3f} 0.05 DIURNAL")
    lines += ["", "[RESERVOIRS]"]
    corners = [(0, 0), (0, n - 1), (n - 1, 0), (n - 1, n - 1)]
    for i, _ in enumerate(corners):
        lines.append(f" R{i} 80")
    lines += ["", "[TANKS]", f" T0 40 10 2 20 30 0", "", "[PIPES]"]
    k = 0
    for r in range(n):
        for c in range(n):
            for r2, c2 in ((r, c + 1), (r + 1, c)):
                if r2 < n and c2 < n:
                    trunk = (r % 16 == 0 and r2 == r) or (c % 16 == 0 and c2 == c)
                    d = 400 if trunk else 150
                    lines.append(f" P{k} {j(r, c)} {j(r2, c2)} 100 {d} 110 0 Open")
                    k += 1
    for i, (r, c) in enumerate(corners):
        lines.append(f" M{i} R{i} {j(r, c)} 50 800 130 0 Open")
    lines.append(f" MT T0 {j(n // 2, n // 2)} 50 500 130 0 Open")
    lines += ["", "[PATTERNS]", " DIURNAL " + " ".join(f"{x:g}" for x in PATTERN), "",
              "[TIMES]", " Duration 24:00", " Hydraulic Timestep 1:00", " Pattern Timestep 1:00",
              " Report Timestep 1:00", "", "[OPTIONS]", " Units LPS", " Headloss H-W", " Trials 40",
              " Accuracy 0.001", "", "[END]", ""]
    out.write_text("\n".join(lines))
    return n * n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=224, help="grid side (224 -> 50,176 junctions)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/grid50k.inp"))
    args = ap.parse_args()
    print(f"{write(args.n, args.out)} junctions -> {args.out}")


if __name__ == "__main__":
    main()
