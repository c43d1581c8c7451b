"""Benchmark: sinks against InVEST 3.20 Carbon on the same land cover and the same maps.

In one run, on a SYNTHETIC two-epoch 30 m land cover (``../shared/peers/make_lulc.py``, seeded;
classes 1 forest ... 7 other) and InVEST's biophysical table (``biophysical_example.csv``):

* InVEST: ``invest_carbon_run.py`` (``natcap.invest.carbon.execute``, no valuation) with the
  peer venv's python: its 11 rasters (4 pools x 2 epochs, 2 totals, 1 change);
* sinks: ``sinks run`` on a config of the same rasters and table (no legend: the codes are the
  table's), uncertainty off (an InVEST table has no sd), with ``outputs.pool_maps`` on — the same
  11 maps as COGs with overviews, metadata and styles, plus zone tables, report and QGIS project
  — with DEFLATE and with ZSTD, and with ``outputs.pool_maps`` off (2 stock maps + sink +
  tables). Each setting is run from an empty run folder.

Prints wall seconds side by side and the ratio. InVEST is built against the OS GDAL by
``install_invest.sh`` (about 5 minutes, needs root): pass ``--install`` to run it when the peer
venv is missing. Run: python benchmarks/bench_invest.py [--size 8000] [--install]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
PEERS = Path(os.environ.get("SINKS_PEERS", REPO.parent / "shared" / "peers"))
PEER_VENV = Path(os.environ.get("PEER_VENV", Path(tempfile.gettempdir()) / "peer-invest"))
SINKS = Path(sys.executable).with_name("sinks")


def lulc(work: Path, size: int) -> tuple[Path, Path]:
    folder = work / f"lulc_{size}"
    pair = folder / "lulc_t1.tif", folder / "lulc_t2.tif"
    if not all(p.exists() for p in pair):
        subprocess.run([sys.executable, PEERS / "make_lulc.py", folder, str(size), str(size), "0"], check=True,
                       stdout=subprocess.DEVNULL)
    return pair


def invest(work: Path, pair, install: bool) -> float | None:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        if not install:
            print(f"InVEST: no peer venv at {PEER_VENV}; rerun with --install to build it (about 5 min)")
            return None
        subprocess.run(["bash", PEERS / "install_invest.sh"], check=True, env={**os.environ, "PEER_VENV": str(PEER_VENV)})
    space = work / "invest"
    shutil.rmtree(space, ignore_errors=True)
    out = work / "invest.json"
    t0 = time.perf_counter()
    subprocess.run([python, PEERS / "invest_carbon_run.py", "--lulc-bas", pair[0], "--lulc-alt", pair[1],
                    "--table", PEERS / "biophysical_example.csv", "--workspace", space, "--no-crosscheck",
                    "--json", out], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    maps = sorted(p.name for p in space.rglob("*.tif") if "intermediate" not in p.parts)
    print(f"InVEST: {len(maps)} rasters: {', '.join(maps)}")
    return wall


def sinks(work: Path, pair, pool_maps: bool, compression: str, cores: int) -> tuple[float, int]:
    folder = work / f"sinks_{'pools' if pool_maps else 'stocks'}_{compression}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    cfg = {"run": {"name": "bench", "description": "SYNTHETIC land cover (make_lulc.py, seed 0)"},
           "landcover": {"legend": None, "epochs": {2010: str(pair[0]), 2020: str(pair[1])}},
           "carbon": {"densities": str(PEERS / "biophysical_example.csv")},
           "uncertainty": {"enabled": False}, "outputs": {"pool_maps": pool_maps, "compression": compression}}
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    t0 = time.perf_counter()
    done = subprocess.run([SINKS, "run", "config.yaml", "--cores", str(cores)], cwd=folder,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"sinks failed: {done.stderr.strip().splitlines()[-1]}")
    maps = list((folder / "data/processed/bench/outputs").glob("*.tif"))
    return wall, len(maps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=8000, help="rows = columns (default 8000)")
    ap.add_argument("--cores", type=int, default=os.cpu_count())
    ap.add_argument("--install", action="store_true", help="build InVEST's peer venv if missing")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "sinks_bench_invest")
    args = ap.parse_args()
    if not (PEERS / "make_lulc.py").exists():
        sys.exit(f"{PEERS}: the peers' scripts are not there; set SINKS_PEERS to their folder")
    args.work.mkdir(parents=True, exist_ok=True)
    pair = lulc(args.work, args.size)
    print(f"# {platform.node()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}; "
          f"{args.size} x {args.size} px, two epochs, SYNTHETIC land cover")
    rows = [("InVEST 3.20 Carbon (11 rasters)", invest(args.work, pair, args.install), 11)]
    for pool_maps, compression in ((True, "deflate"), (True, "zstd"), (False, "deflate")):
        wall, n = sinks(args.work, pair, pool_maps, compression, args.cores)
        rows.append((f"sinks run, pool_maps {str(pool_maps).lower()}, {compression} ({n} COGs + tables, report)", wall, n))
    base = rows[0][1]
    print(f"{'':60} {'seconds':>8} {'vs InVEST':>10}")
    for name, wall, _ in rows:
        ratio = f"{base / wall:.2f}x" if base and wall else ""
        print(f"{name:60} {wall if wall is not None else float('nan'):>8.1f} {ratio:>10}")
    (args.work / "bench_invest.json").write_text(json.dumps(rows))


if __name__ == "__main__":
    main()
