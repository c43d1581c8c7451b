"""Benchmark: peak memory of drawing the training plots of the biomass model, against grid size.

``train_biomass`` places its SYNTHETIC plots on valid forest pixels and reads the features at
them (sinks.rs.plots.simulate_plots, then a pointwise selection). Each case runs in a fresh
subprocess, so its peak RSS is its own, on a SYNTHETIC lazy NDVI field and forest mask
(seeded dask random arrays, 60 % forest, 2048 px chunks) at a quarter, a half and the whole of
20000 x 15000 px (about Jiangxi at 30 m):

* chunks: the stage's way (the inputs stay lazy; a few chunks in memory at a time);
* whole: the arrays loaded first (what the stage did before), for comparison.

Prints seconds and peak RSS per case. Run: python benchmarks/bench_memory.py [--sizes 0.25 0.5 1]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time

FULL = (15000, 20000)  # rows, columns


def case(fraction: float, mode: str) -> dict:
    import dask
    import dask.array as da
    import xarray as xr
    from odc.geo.geobox import GeoBox
    from rasterio.transform import from_origin

    from sinks.grid import on_grid
    from sinks.rs.plots import simulate_plots

    rows, cols = (round(n * fraction ** 0.5) for n in FULL)
    grid = GeoBox((rows, cols), from_origin(400000, 3300000, 30, 30), "EPSG:32650")
    ch = (2048, 2048)
    ndvi = on_grid(da.random.RandomState(1).uniform(0.72, 0.9, size=(rows, cols), chunks=ch).astype("float32"), grid)
    forest = on_grid(da.random.RandomState(2).random(size=(rows, cols), chunks=ch) < 0.6, grid)
    t0 = time.perf_counter()
    with dask.config.set(scheduler="threads", num_workers=2):
        if mode == "whole":
            ndvi, forest = ndvi.load(), forest.load()
        plots = simulate_plots(forest, ndvi, 400, 0, 2020)
        x, y = plots.geometry.x.to_numpy(), plots.geometry.y.to_numpy()
        xr.Dataset({"ndvi": ndvi}).sel(x=xr.DataArray(x), y=xr.DataArray(y), method="nearest").compute()
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    return {"fraction": fraction, "mode": mode, "pixels": rows * cols, "seconds": seconds, "peak_gib": peak}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    ap.add_argument("--case", nargs=2, help=argparse.SUPPRESS)  # fraction mode: one subprocess
    args = ap.parse_args()
    if args.case:
        print(json.dumps(case(float(args.case[0]), args.case[1])))
        return
    print(f"# {platform.node()}, {platform.processor() or platform.machine()}, "
          f"{time.strftime('%Y-%m-%d')}; SYNTHETIC inputs")
    print(f"{'size':>6} {'pixels':>13} {'mode':>7} {'seconds':>8} {'peak RSS GiB':>13}")
    for fraction in args.sizes:
        for mode in ("chunks", "whole"):
            out = subprocess.run([sys.executable, __file__, "--case", str(fraction), mode],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{fraction:>6g} {r['pixels']:>13,} {mode:>7} {r['seconds']:>8.1f} {r['peak_gib']:>13.2f}")


if __name__ == "__main__":
    main()
