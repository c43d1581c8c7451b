"""Benchmark: sinks' stock + sink + zonal stage against a plain rasterio baseline.

Generates a SYNTHETIC two-epoch 30 m land cover (CLCD codes, EPSG:32650, seeded; epoch 2 =
epoch 1 with about 5 % of pixels changed), then measures, each in a fresh subprocess so peak RSS
is its own:

* sinks: stock maps of both epochs (total only), the net-sink map and zonal totals by two
  zones, with the package's functions and COG writer (dask, threads);
* baseline: read each epoch window by window, apply the total-density LUT, write a tiled DEFLATE
  float32 GeoTIFF (no overviews, one thread); then the sink map from the two stock maps.

Prints times, the ratio per output map and peak RSS. Run: python benchmarks/bench_stock_sink.py
[--width 20000 --height 15000] (the default is about Jiangxi at 30 m).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window

DENSITY = {1: 45.0, 2: 94.0, 3: 61.0, 4: 61.0, 5: 0.0, 6: 0.0, 7: 0.0, 8: 55.0, 9: 140.0}
POOLS = {"agb": 0.3, "bgb": 0.07, "dead": 0.03, "soc": 0.6}  # split of the total (synthetic)
BLOCK = 2048


def generate(out: Path, width: int, height: int, seed: int) -> tuple[Path, Path]:
    """Two synthetic land-cover GeoTIFFs, written block by block (bounded memory)."""
    paths = (out / f"lc_2000_{width}x{height}.tif", out / f"lc_2020_{width}x{height}.tif")
    if all(p.exists() for p in paths):
        return paths
    out.mkdir(parents=True, exist_ok=True)
    profile = {"driver": "GTiff", "width": width, "height": height, "count": 1, "dtype": "uint8",
               "nodata": 0, "crs": "EPSG:32650", "transform": from_origin(400000, 3300000, 30, 30),
               "tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "deflate"}
    rng = np.random.default_rng(seed)
    with rasterio.open(paths[0], "w", **profile) as a, rasterio.open(paths[1], "w", **profile) as b:
        for d in (a, b):
            d.update_tags(SYNTHETIC="true: sinks benchmark data, not real land cover")
        for r in range(0, height, BLOCK):
            for c in range(0, width, BLOCK):
                h, w = min(BLOCK, height - r), min(BLOCK, width - c)
                coarse = rng.integers(1, 10, size=(h // 64 + 1, w // 64 + 1), dtype="uint8")
                lc = np.kron(coarse, np.ones((64, 64), dtype="uint8"))[:h, :w]
                change = rng.random((h, w)) < 0.05
                lc2 = np.where(change, rng.integers(1, 10, size=(h, w), dtype="uint8"), lc)
                a.write(lc, 1, window=Window(c, r, w, h))
                b.write(lc2, 1, window=Window(c, r, w, h))
    return paths


def run_sinks(lc0: str, lc1: str, out: str, threads: int, chunks: int) -> int:
    import dask
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import box

    from sinks.grid import pixel_area_ha
    from sinks.io.rasters import MapToWrite, open_output, open_raster, write_cogs
    from sinks.landcover import apply_lut, lut_size
    from sinks.models.stock_difference import net_sink, pool_luts, stocks, total_stock
    from sinks.zones import rasterize_zones, zonal_totals

    values = pd.DataFrame({p: {c: d * f for c, d in DENSITY.items()} for p, f in POOLS.items()})
    out = Path(out)
    with dask.config.set(scheduler="threads", num_workers=threads):
        stock_paths = []
        for year, lc in ((2000, lc0), (2020, lc1)):
            codes = open_raster(lc, chunks=chunks)
            luts = pool_luts(values, {c: c for c in DENSITY}, lut_size(codes.dtype))
            path = out / f"sinks_stock_{year}.tif"
            write_cogs([MapToWrite(total_stock(stocks(codes, luts)), path, "float32", -9999.0,
                                   "stock", "Mg C ha-1", {}, "average")])
            stock_paths.append(path)
        s0, s1 = (open_output(p, chunks=chunks) for p in stock_paths)
        write_cogs([MapToWrite(net_sink(s0, s1, 2000, 2020), out / "sinks_sink.tif", "float32",
                               -9999.0, "sink", "Mg CO2 ha-1 yr-1", {}, "average")])
        grid = s0.odc.geobox
        x0, y0, x1, y1 = grid.boundingbox
        zones = gpd.GeoDataFrame({"id": ["W", "E"]}, geometry=[box(x0, y0, (x0 + x1) / 2, y1),
                                                                 box((x0 + x1) / 2, y0, x1, y1)], crs=grid.crs.to_wkt())
        zidx = rasterize_zones(zones, grid, chunks)
        codes = open_raster(lc1, chunks=chunks)
        classes = apply_lut(codes, np.arange(lut_size(codes.dtype)), 0)
        area = pixel_area_ha(grid, chunks)
        zonal_totals({"z": zidx}, {"z": 2}, classes, 256,
                     {"stock": s1 * area, "sink": net_sink(s0, s1, 2000, 2020) * area})
    return 3


def run_baseline(lc0: str, lc1: str, out: str) -> int:
    lut = np.full(256, np.nan, dtype="float32")
    for c, d in DENSITY.items():
        lut[c] = d
    out = Path(out)
    stock_paths = []
    for year, lc in ((2000, lc0), (2020, lc1)):
        path = out / f"base_stock_{year}.tif"
        with rasterio.open(lc) as src:
            prof = src.profile | {"dtype": "float32", "nodata": -9999.0, "compress": "deflate",
                                  "predictor": 3, "tiled": True, "blockxsize": 512, "blockysize": 512}
            with rasterio.open(path, "w", **prof) as dst:
                for _, win in src.block_windows(1):
                    v = lut[src.read(1, window=win)]
                    dst.write(np.where(np.isnan(v), -9999.0, v).astype("float32"), 1, window=win)
        stock_paths.append(path)
    with rasterio.open(stock_paths[0]) as a, rasterio.open(stock_paths[1]) as b:
        with rasterio.open(out / "base_sink.tif", "w", **a.profile) as dst:
            for _, win in a.block_windows(1):
                va, vb = a.read(1, window=win), b.read(1, window=win)
                s = (vb - va) / 20 * 44 / 12
                dst.write(np.where((va == -9999) | (vb == -9999), -9999.0, s).astype("float32"), 1, window=win)
    return 3


def measure(stage: str, args) -> dict:
    cmd = [sys.executable, __file__, "--stage", stage, "--lc0", str(args.lc0), "--lc1", str(args.lc1),
           "--out", str(args.out), "--threads", str(args.threads), "--chunks", str(args.chunks)]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    if res.returncode:
        sys.exit(res.stderr)
    info = json.loads(res.stdout.strip().splitlines()[-1])
    return {"seconds": secs, **info}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=20000)
    ap.add_argument("--height", type=int, default=15000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--chunks", type=int, default=2048)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out"))
    ap.add_argument("--stage", choices=["sinks", "baseline"], help=argparse.SUPPRESS)
    ap.add_argument("--lc0", help=argparse.SUPPRESS)
    ap.add_argument("--lc1", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage:
        fn = run_sinks if args.stage == "sinks" else run_baseline
        extra = (args.threads, args.chunks) if args.stage == "sinks" else ()
        n = fn(args.lc0, args.lc1, str(args.out), *extra)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
        print(json.dumps({"maps": n, "peak_rss_gib": rss}))
        return
    t0 = time.perf_counter()
    args.lc0, args.lc1 = generate(args.out, args.width, args.height, args.seed)
    print(f"synthetic land cover {args.width} x {args.height} = {args.width * args.height:.2e} px "
          f"(generated or reused in {time.perf_counter() - t0:.0f} s)")
    print(f"machine: {platform.machine()}, python {platform.python_version()}, "
          f"GDAL {rasterio.__gdal_version__}, threads {args.threads}, chunks {args.chunks}")
    base = measure("baseline", args)
    snk = measure("sinks", args)
    ratio = snk["seconds"] / base["seconds"]
    print(f"{'stage':<40}{'seconds':>10}{'peak RSS GiB':>14}")
    print(f"{'baseline (rasterio, 2 stocks + sink)':<40}{base['seconds']:>10.1f}{base['peak_rss_gib']:>14.2f}")
    print(f"{'sinks (2 stock COGs + sink COG + zonal)':<40}{snk['seconds']:>10.1f}{snk['peak_rss_gib']:>14.2f}")
    print(f"ratio sinks/baseline per output map: {ratio:.2f} (target <= 2); "
          f"peak RSS {snk['peak_rss_gib']:.2f} GiB (target <= 4): "
          f"{'MET' if ratio <= 2 and snk['peak_rss_gib'] <= 4 else 'NOT MET'}")


if __name__ == "__main__":
    main()
