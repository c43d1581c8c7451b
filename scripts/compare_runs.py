"""Compare two run folders figure by figure: every table's rows (as sets, floats to 1e-12
relative), every map's pixels (exactly) and every GeoPackage layer's attributes.

    python scripts/compare_runs.py [--rtol R] [--last-digit] data/processed/<run> OTHER/data/processed/<run>

Used to show that a refactoring keeps every number (README, Design), and that a tiled run
equals the untiled one (tests/test_tiles.py: there the zone sums are added in another order,
so the tables agree to rounding: ``--rtol 1e-9 --last-digit``, a written value may differ by
one unit in its last digit). Prints one line per file and exits 1 if any differ.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import rasterio

def _decimals(path: Path) -> dict[str, int]:
    """Digits after the point written in each column of a CSV (its rounding)."""
    raw = pd.read_csv(path, dtype=str)
    return {c: int(raw[c].str.extract(r"\.(\d+)")[0].str.len().max()) if raw[c].str.contains(r"\.", na=False).any()
            else 0 for c in raw.columns}


def _tables_equal(a: Path, b: Path, rtol: float, last_digit: bool) -> str | None:
    da, db = pd.read_csv(a), pd.read_csv(b)
    digits = _decimals(a) if last_digit else {}
    if set(da.columns) != set(db.columns):
        return f"columns differ: {sorted(set(da.columns) ^ set(db.columns))}"
    if len(da) != len(db):
        return f"{len(da)} rows vs {len(db)}"
    cols = sorted(da.columns)
    # rows are matched by their labels (zone, ecosystem, quantity, method, years), not their order
    key = [c for c in cols if da[c].dtype.kind not in "f" and c != "uncertainty_approach"] or cols
    da = da[cols].sort_values(key, kind="stable").reset_index(drop=True)
    db = db[cols].sort_values(key, kind="stable").reset_index(drop=True)
    for c in cols:
        if da[c].dtype.kind in "fi":
            atol = 1.001 * 10.0 ** -digits[c] if last_digit else 0
            if not np.allclose(da[c], db[c], rtol=rtol, atol=atol, equal_nan=True):
                worst = np.nanmax(np.abs(da[c] - db[c]))
                return f"column {c}: max abs difference {worst:.3g}"
        elif not (da[c].fillna("") == db[c].fillna("")).all():
            return f"column {c} differs"
    return None


def _maps_equal(a: Path, b: Path, rtol: float, last_digit: bool) -> str | None:
    with rasterio.open(a) as ra, rasterio.open(b) as rb:
        if (ra.crs, ra.transform, ra.shape, ra.nodata) != (rb.crs, rb.transform, rb.shape, rb.nodata):
            return "grid or nodata differs"
        if not np.array_equal(ra.read(1), rb.read(1), equal_nan=True):
            return "pixels differ"
    return None


def _gpkg_equal(a: Path, b: Path, rtol: float, last_digit: bool) -> str | None:
    layers = [name for name, _ in pyogrio.list_layers(a)]
    if layers != [name for name, _ in pyogrio.list_layers(b)]:
        return "layers differ"
    for layer in layers:
        da = pyogrio.read_dataframe(a, layer=layer, read_geometry=False)
        db = pyogrio.read_dataframe(b, layer=layer, read_geometry=False)
        if set(da.columns) != set(db.columns):
            return f"layer {layer}: columns differ {sorted(set(da.columns) ^ set(db.columns))}"
        db = db[da.columns]
        num = da.select_dtypes("number").columns
        if not np.allclose(da[num], db[num], rtol=rtol, equal_nan=True):
            return f"layer {layer}: values differ"
    return None


def main(before: str, after: str, rtol: float = 1e-12, last_digit: bool = False) -> int:
    a_root, b_root = Path(before), Path(after)
    files = sorted(p.relative_to(a_root) for p in a_root.rglob("*")
                   if p.suffix in (".csv", ".tif", ".gpkg") and "logs" not in p.parts
                   and not p.name.startswith("."))
    bad = 0
    for rel in files:
        a, b = a_root / rel, b_root / rel
        if not b.exists():
            print(f"MISSING  {rel}")
            bad += 1
            continue
        check = {".csv": _tables_equal, ".tif": _maps_equal, ".gpkg": _gpkg_equal}[rel.suffix]
        problem = check(a, b, rtol, last_digit)
        print(f"{'DIFFERS' if problem else 'same':8s} {rel}" + (f": {problem}" if problem else ""))
        bad += bool(problem)
    print(f"{len(files)} files compared, {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(usage=__doc__.split("\n\n")[1].strip())
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--rtol", type=float, default=1e-12, help="relative tolerance of table values")
    parser.add_argument("--last-digit", action="store_true",
                        help="a table value may also differ by one unit in its last written digit")
    args = parser.parse_args()
    if not all(Path(a).is_dir() for a in (args.before, args.after)):
        parser.error("give two run folders that exist")
    sys.exit(main(args.before, args.after, args.rtol, args.last_digit))
