"""Benchmark: blockwise biomass prediction throughput (Mpx/s) and peak RSS.

A random-forest AGB model (100 trees, the package default) is trained on 400 SYNTHETIC plots
(AGB from a stated NDVI relation, sinks.rs.plots); it then predicts, block by block with the
model sent once, over a SYNTHETIC NDVI field of the given size (default 20000 x 15000 px, about
Jiangxi at 30 m; generated lazily per block from a seed, 60 % of pixels valid forest), and the
AGB map is written as a COG with its two interval maps. Prints seconds, Mpx/s and peak RSS.

Run: python benchmarks/bench_biomass.py [--width 20000 --height 15000] [--threads 2]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr
from odc.geo.geobox import GeoBox
from rasterio.transform import from_origin

from sinks.grid import on_grid
from sinks.io.rasters import MapToWrite, write_cogs
from sinks.rs.biomass_model import fit_biomass_model, predict_blockwise
from sinks.rs.plots import SIM_INTERCEPT, SIM_NOISE_SD, SIM_SLOPE


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=20000)
    ap.add_argument("--height", type=int, default=15000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--chunks", type=int, default=2048)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    ndvi_plots = rng.uniform(0.72, 0.9, 400)
    agb = np.clip(SIM_INTERCEPT + SIM_SLOPE * ndvi_plots + rng.normal(0, SIM_NOISE_SD, 400), 0, None)
    xy = rng.uniform(0, 600_000, (400, 2))
    t0 = time.perf_counter()
    m = fit_biomass_model(pd.DataFrame({"ndvi": ndvi_plots}), agb, xy[:, 0], xy[:, 1], 50_000)
    fit_s = time.perf_counter() - t0

    grid = GeoBox((args.height, args.width), from_origin(400000, 3300000, 30, 30), "EPSG:32650")
    shape, ch = (args.height, args.width), (args.chunks, args.chunks)
    field = da.random.RandomState(1).uniform(0.72, 0.9, size=shape, chunks=ch).astype("float32")
    valid = da.random.RandomState(2).random(size=shape, chunks=ch) < 0.6
    out = predict_blockwise(m.model, m.q, xr.Dataset({"ndvi": on_grid(field, grid)}), on_grid(valid, grid))
    folder = Path(args.out or tempfile.mkdtemp(prefix="sinks_bench_biomass_"))
    maps = [MapToWrite(out[k], folder / f"{k}_synthetic.tif", "float32", -9999.0, k, "Mg ha-1",
                       {"synthetic": "true"}, "average") for k in ("agb", "agb_low", "agb_high")]
    t0 = time.perf_counter()
    with dask.config.set(scheduler="threads", num_workers=args.threads):
        write_cogs(maps)
    secs = time.perf_counter() - t0
    px = args.width * args.height
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"model fit with 5-fold spatial CV on 400 SYNTHETIC plots: {fit_s:.1f} s")
    print(f"prediction + 3 COGs on {args.width} x {args.height} = {px:.2e} px (60 % valid, synthetic), "
          f"{args.threads} threads: {secs:.1f} s = {px / secs / 1e6:.2f} Mpx/s; peak RSS {rss:.2f} GiB")


if __name__ == "__main__":
    main()
