"""Benchmark: sinks' stock + sink + zonal stages against a plain rasterio baseline.

Generates a SYNTHETIC two-epoch 30 m land cover (CLCD codes, EPSG:32650, seeded; epoch 2 =
epoch 1 with about 5 % of pixels changed), then measures, each in a fresh subprocess so peak RSS
is its own:

* sinks: the workflow's own stage functions on a config of these rasters (built-in CLCD legend
  and Jiangxi density table, two half-grid zones): rasterize zones and align/check both epochs
  (timed, not in the ratio), then the timed stage: carbon-stock COGs of both epochs, the net-sink
  COG and the zone tables (transition areas, stocks, sinks, GeoPackage, figure);
* baseline: read each epoch window by window, apply the same total-density LUT, write a tiled DEFLATE
  float32 GeoTIFF (no overviews, no metadata, one thread); then the sink map from the two stock
  maps. No zone tables.

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
from sinks.methods.stock_difference.maps import compute_sink
from sinks.methods.stock_difference.maps import compute_stock
from sinks.paths import run_paths
from sinks.prepare import align_landcover
from sinks.prepare import rasterize_zones
from sinks.run import Run

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


def write_config(out: Path, lc0: Path, lc1: Path, pool_maps: bool = False,
                 compression: str | None = None) -> Path:
    """The sinks config of the benchmark (and the total-density LUT the baseline uses)."""
    import geopandas as gpd
    import yaml
    from shapely.geometry import box

    from sinks.io.rasters import raster_geobox

    grid = raster_geobox(lc0)
    x0, y0, x1, y1 = grid.boundingbox
    gpd.GeoDataFrame({"id": ["W", "E"]}, geometry=[box(x0, y0, (x0 + x1) / 2, y1),
                                                     box((x0 + x1) / 2, y0, x1, y1)],
                     crs=grid.crs.to_wkt()).to_file(out / "halves.gpkg")
    config = {"run": {"name": "bench"},
              "landcover": {"legend": "clcd", "epochs": {2000: str(lc0), 2020: str(lc1)}},
              "carbon": {"paddy_share": 0.5},
              "zones": [{"path": str(out / "halves.gpkg"), "id_field": "id", "level": "half"}],
              "outputs": {"pool_maps": pool_maps}}
    if compression:  # left out by default, so that this script also runs an older sinks
        config["outputs"]["compression"] = compression
    path = out / "bench.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def total_density_lut(config: Path) -> np.ndarray:
    """Total carbon density (Mg C ha-1, float32, NaN = no data) per code, as sinks uses it."""
    from sinks.classes import carbon_luts
    from sinks.config import load_config

    run = Run.from_config(load_config(config))
    luts = carbon_luts(run.legend, run.densities, run.cfg["carbon"]["paddy_share"], "uint8")
    return luts["agb"] + luts["bgb"] + luts["dead"] + luts["soc"]


def run_sinks(config: str, out: str, threads: int, chunks: int) -> dict:
    import os

    import dask

    from sinks.config import load_config
    from sinks.summary import summarize

    os.chdir(out)
    cfg = load_config(config)
    run = Run(cfg, run_paths(cfg), chunks)
    with dask.config.set(scheduler="threads", num_workers=threads):
        t0 = time.perf_counter()
        rasterize_zones(run)
        for year in (2000, 2020):
            align_landcover(run, year)
        t1 = time.perf_counter()
        for year in (2000, 2020):
            compute_stock(run, year)
        compute_sink(run, 2000, 2020)
        summarize(run)
        t2 = time.perf_counter()
    return {"maps": 11 if cfg["outputs"]["pool_maps"] else 3, "prepare_seconds": t1 - t0,
            "stage_seconds": t2 - t1}


def run_baseline(lc0: str, lc1: str, lut_path: str, out: str) -> dict:
    lut = np.load(lut_path)
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
    return {"maps": 3}


def measure(stage: str, args) -> dict:
    cmd = [sys.executable, __file__, "--stage", stage, "--lc0", str(args.lc0), "--lc1", str(args.lc1),
           "--config", str(args.config), "--lut", str(args.lut), "--out", str(args.out),
           "--threads", str(args.threads), "--chunks", str(args.chunks)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode:
        sys.exit(res.stderr)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=20000)
    ap.add_argument("--height", type=int, default=15000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--chunks", type=int, default=2048)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out"))
    ap.add_argument("--pool-maps", action="store_true",
                    help="also the 4 pool maps per epoch (11 maps, as the InVEST comparison)")
    ap.add_argument("--compression", choices=["deflate", "zstd"], help="outputs.compression")
    ap.add_argument("--stage", choices=["sinks", "baseline"], help=argparse.SUPPRESS)
    ap.add_argument("--lc0", help=argparse.SUPPRESS)
    ap.add_argument("--lc1", help=argparse.SUPPRESS)
    ap.add_argument("--config", help=argparse.SUPPRESS)
    ap.add_argument("--lut", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.out = args.out.resolve()
    if args.stage:
        t0 = time.perf_counter()
        if args.stage == "sinks":
            info = run_sinks(args.config, str(args.out), args.threads, args.chunks)
        else:
            info = run_baseline(args.lc0, args.lc1, args.lut, str(args.out))
            info["stage_seconds"] = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
        print(json.dumps({**info, "peak_rss_gib": rss}))
        return
    t0 = time.perf_counter()
    args.lc0, args.lc1 = generate(args.out, args.width, args.height, args.seed)
    args.config = write_config(args.out, args.lc0, args.lc1, args.pool_maps, args.compression)
    args.lut = args.out / "total_density_lut.npy"
    np.save(args.lut, total_density_lut(args.config))
    print(f"synthetic land cover {args.width} x {args.height} = {args.width * args.height:.2e} px "
          f"(generated or reused in {time.perf_counter() - t0:.0f} s)")
    print(f"machine: {platform.machine()}, python {platform.python_version()}, "
          f"GDAL {rasterio.__gdal_version__}, threads {args.threads}, chunks {args.chunks}")
    base = measure("baseline", args)
    snk = measure("sinks", args)
    ratio = (snk["stage_seconds"] / snk["maps"]) / (base["stage_seconds"] / base["maps"])
    print(f"{'step':<58}{'seconds':>9}{'peak RSS GiB':>14}")
    print(f"{'baseline: 2 stock maps + sink map (rasterio)':<58}{base['stage_seconds']:>9.1f}"
          f"{base['peak_rss_gib']:>14.2f}")
    print(f"{'sinks: zones + align/check 2 epochs (not in the ratio)':<58}"
          f"{snk['prepare_seconds']:>9.1f}")
    print(f"{'sinks: ' + str(snk['maps']) + ' COGs (stocks, sink) + zone tables':<58}{snk['stage_seconds']:>9.1f}"
          f"{snk['peak_rss_gib']:>14.2f}")
    print(f"ratio sinks/baseline per output map: {ratio:.2f} (target <= 2); "
          f"peak RSS {snk['peak_rss_gib']:.2f} GiB (target <= 4): "
          f"{'MET' if ratio <= 2 and snk['peak_rss_gib'] <= 4 else 'NOT MET'}")


if __name__ == "__main__":
    main()
