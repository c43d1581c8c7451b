"""Benchmark: writing one float32 map computed from dask as a COG, phase by phase.

The map is a land-cover look-up (the densities of io_limit.py, NaN -> nodata) of a synthetic
uint8 land cover (``--lulc FILE``, e.g. one written by shared/peers/make_lulc.py; default:
generated like bench_stock_sink.py's, SYNTHETIC), chunks of 2048 px, 2 dask threads. Prints,
each timed in this process on the same data in one run (the machine is shared: compare the
ratios, not the seconds, across runs):

* before: the previous write_cogs (a tiled ZSTD-1 temporary written block by block under a
  lock, then GDAL's COG driver copies it with overviews, DEFLATE 4 or ZSTD 1), split into its
  phases: compute + temporary, COG copy, and the copy without overviews;
* GDAL candidates: the temporary already in the final compression, then the COG copy;
* odc-geo ``save_cog_with_dask`` (if tifffile is installed), with the metadata items its COG
  lacks;
* now: ``sinks.io.rasters.write_cogs`` (one pass: tiles and overviews compressed as blocks
  arrive), DEFLATE and ZSTD, and the compute alone (blocks computed, nothing written);
* the floor: read, look up, write one tiled float32 GeoTIFF window by window in one thread,
  no overviews, no metadata (as shared/peers/io_limit.py; DEFLATE 4 and ZSTD 1).

Run: python benchmarks/bench_cog_write.py [--size 8000] [--lulc FILE] [--values lut|noisy]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import rasterio
import rasterio.shutil
from rasterio.windows import Window

from sinks.io.rasters import MapToWrite, map_blocks_source, open_raster, write_cogs
from sinks.io.styles import MapSample

sys.path.insert(0, str(Path(__file__).parent))
from bench_stock_sink import generate  # noqa: E402

LUT = np.full(256, np.nan, np.float32)
LUT[1:8] = [150.0, 60.0, 40.0, 120.0, 0.0, 20.0, 5.0]  # io_limit.py's densities, Mg C/ha
NODATA = -9999.0
GDAL_COMP = {"deflate": {"COMPRESS": "DEFLATE", "LEVEL": 4}, "zstd": {"COMPRESS": "ZSTD", "LEVEL": 1}}


def lookup(block: np.ndarray, noisy: bool, block_id=None) -> np.ndarray:
    v = LUT[block]
    if noisy:  # per-pixel noise, as an uncertainty map has: compresses about 30 %, not 97 %
        rng = np.random.default_rng(block_id)
        v = v + rng.normal(0, 1, v.shape).astype("float32")
    return v


def the_map(lulc: Path, out: Path, noisy: bool, compression: str = "deflate") -> MapToWrite:
    lc = open_raster(lulc, chunks=2048)
    data = lc.data.map_blocks(lookup, noisy, dtype="float32")
    return MapToWrite(lc.copy(data=data), out, "float32", NODATA, "benchmark map (SYNTHETIC)",
                      "Mg C ha-1", {"units": "Mg C ha-1"}, "average", compression=compression)


class _OldWindowWriter:
    """The previous write_cogs' da.store target (a window write into the temporary)."""

    def __init__(self, dst, sample):
        self.dst, self.sample = dst, sample

    def __setitem__(self, key, value):
        self.sample.add(value)
        rows, cols = key
        self.dst.write(value, 1, window=Window(cols.start, rows.start, cols.stop - cols.start,
                                               rows.stop - rows.start))


def old_write(m: MapToWrite, temp_comp: dict, final: str) -> tuple[float, float, float]:
    """The previous path: (compute + temporary, COG copy, COG copy without overviews) seconds."""
    grid = m.data.odc.geobox
    tmp = m.path.with_name(".bench.tiled.tif")
    profile = {"driver": "GTiff", "width": grid.width, "height": grid.height, "count": 1,
               "dtype": "float32", "nodata": NODATA, "crs": grid.crs.to_wkt(), "transform": grid.affine,
               "tiled": True, "blockxsize": 512, "blockysize": 512, "BIGTIFF": "IF_SAFER",
               "num_threads": "ALL_CPUS", **temp_comp}
    t0 = time.perf_counter()
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.set_band_description(1, m.description)
        dst.set_band_unit(1, m.unit)
        dst.update_tags(**m.tags)
        arr = m.data.data
        arr = da.where(da.isnan(arr), NODATA, arr).astype("float32")
        da.store([arr], [_OldWindowWriter(dst, MapSample(grid.shape.yx, NODATA, False))],
                 lock=threading.Lock())
    t1 = time.perf_counter()
    opts = dict(driver="COG", PREDICTOR="YES", BLOCKSIZE=512, BIGTIFF="IF_SAFER",
                NUM_THREADS="ALL_CPUS", OVERVIEW_RESAMPLING="AVERAGE", **GDAL_COMP[final])
    rasterio.shutil.copy(tmp, m.path, **opts)
    t2 = time.perf_counter()
    rasterio.shutil.copy(tmp, m.path.with_name(".bench.noovr.tif"), OVERVIEWS="NONE", **opts)
    t3 = time.perf_counter()
    tmp.unlink()
    m.path.with_name(".bench.noovr.tif").unlink()
    return t1 - t0, t2 - t1, t3 - t2


def odc_write(m: MapToWrite) -> tuple[float, list[str]] | None:
    try:
        import tifffile  # noqa: F401
    except ImportError:
        return None
    from odc.geo.cog import save_cog_with_dask

    xx = m.data.copy(data=map_blocks_source(m)).odc.assign_crs(m.data.odc.crs)
    xx.attrs.update(nodata=NODATA, long_name=m.description)
    t0 = time.perf_counter()
    save_cog_with_dask(xx.chunk(512), str(m.path), compression="deflate", level=4, blocksize=512,
                       overview_resampling="average").compute()
    seconds = time.perf_counter() - t0
    lacks = []
    with rasterio.open(m.path) as src:
        if src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") != "COG":
            lacks.append("LAYOUT=COG")
        if src.units[0] != m.unit:
            lacks.append("band unit")
        if "units" not in src.tags():
            lacks.append("dataset tags")
        if src.nodata != NODATA:
            lacks.append("nodata")
        if src.descriptions[0] != m.description:
            lacks.append("band description")
    return seconds, lacks


def floor(lulc: Path, out: Path, comp: dict) -> float:
    """io_limit.py's loop (one thread, strips of 512 rows, no overviews, no metadata)."""
    t0 = time.perf_counter()
    with rasterio.open(lulc) as a:
        prof = a.profile | dict(dtype="float32", nodata=NODATA, predictor=3, **comp)
        with rasterio.open(out, "w", **prof) as o:
            for r0 in range(0, a.height, 512):
                w = Window(0, r0, a.width, min(512, a.height - r0))
                v = LUT[a.read(1, window=w)]
                o.write(np.where(np.isnan(v), NODATA, v), 1, window=w)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=8000, help="pixels per side of the generated land cover")
    ap.add_argument("--lulc", type=Path, help="an existing uint8 land cover (nodata 0) instead")
    ap.add_argument("--values", choices=["lut", "noisy"], default="lut")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="rounds; every candidate runs once per round")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    lulc = args.lulc or generate(args.out, args.size, args.size, 0)[0]
    noisy = args.values == "noisy"
    with rasterio.open(lulc) as src:
        px = src.width * src.height
    print(f"{lulc} ({px:.2e} px), values {args.values}, {args.threads} threads, chunks 2048, "
          f"GDAL {rasterio.__gdal_version__}; median (min) of {args.repeat} interleaved rounds")
    size = lambda p: os.path.getsize(p) / 2**20  # noqa: E731
    m = the_map(lulc, args.out / "bench_cog.tif", noisy)

    class Null:
        def __setitem__(self, key, value):
            pass

    def compute_only():
        t0 = time.perf_counter()
        da.store([map_blocks_source(m)], [Null()], lock=False)
        return {"compute only (blocks computed, nothing written)": time.perf_counter() - t0}

    def before(final):
        a, b, c = old_write(m, {"compress": "zstd", "zstd_level": 1}, final)
        return {f"before, {final}: compute + ZSTD-1 temporary (under a lock)": a,
                f"before, {final}: GDAL COG copy (overviews, {final})": b,
                f"before, {final}:   the same COG copy without overviews": c,
                f"before, {final}: total": a + b, f"before, {final}: MiB": size(m.path)}

    def gdal_final_temp(final, temp):
        a, b, _ = old_write(m, temp, final)
        return {f"GDAL: temporary in {final}, then COG copy: temporary": a,
                f"GDAL: temporary in {final}, then COG copy: COG copy": b,
                f"GDAL: temporary in {final}, then COG copy: total": a + b}

    def odc():
        res = odc_write(m)
        if res is None:
            return {"odc-geo save_cog_with_dask: skipped (tifffile not installed)": float("nan")}
        return {f"odc-geo save_cog_with_dask, deflate 4 (lacks: {', '.join(res[1]) or 'nothing'})": res[0],
                "odc-geo: MiB": size(m.path)}

    def now(comp):
        mm = the_map(lulc, args.out / f"bench_cog_{comp}.tif", noisy, comp)
        t0 = time.perf_counter()
        write_cogs([mm])
        return {f"now: write_cogs, {comp} (one pass, overviews, metadata, style)": time.perf_counter() - t0,
                f"now, {comp}: MiB": size(mm.path)}

    def floors():
        out = {}
        for comp, opts in (("deflate", {"compress": "deflate", "zlevel": 4}),
                           ("zstd", {"compress": "zstd", "zstd_level": 1})):
            path = args.out / f"floor_{comp}.tif"
            out[f"floor: io_limit loop, {comp}, one thread, no overviews"] = floor(lulc, path, opts)
            out[f"floor, {comp}: MiB"] = size(path)
        return out

    candidates = [compute_only, lambda: before("deflate"), lambda: before("zstd"),
                  lambda: gdal_final_temp("deflate", {"compress": "deflate", "zlevel": 4, "predictor": 3}),
                  lambda: gdal_final_temp("zstd", {"compress": "zstd", "zstd_level": 1, "predictor": 3}),
                  odc, lambda: now("deflate"), lambda: now("zstd")]
    if not noisy:
        candidates.append(floors)  # the floor writes the plain look-up only
    results: dict[str, list[float]] = {}
    with dask.config.set(scheduler="threads", num_workers=args.threads):
        for _ in range(args.repeat):
            for run in candidates:
                for name, value in run().items():
                    results.setdefault(name, []).append(value)
    print(f"{'step':<86}{'seconds':>16}")
    for name, values in results.items():
        if name.endswith("MiB"):
            print(f"{name:<86}{np.median(values):>10.1f} MiB")
        else:
            print(f"{name:<86}{np.median(values):>8.2f} ({min(values):.2f})")


if __name__ == "__main__":
    main()
