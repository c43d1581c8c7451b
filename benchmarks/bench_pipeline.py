"""Benchmark: the whole demo pipeline at a finer resolution (time and peak memory per rule).

The demo config (config/config.yaml: one observed epoch and two SCENARIO epochs, stock
difference and gain-loss with wetland and CH4, uncertainty maps, plot-calibrated biomass maps,
forest strata, potential) with ``grid.resolution`` set to each resolution asked for: at 30 m the
run grid is the province at 30 m (15,600 x 21,467 px = 3.3e8 px), at 60 m a quarter of it. The
MODIS land cover (about 5 km) is resampled onto that grid, so the maps have the demo's patterns
at 30 m pixels: the cost is that of a real 30 m run, the figures are the demo's.

Each run goes through Snakemake directly (no warm stage server), so every job is its own
process and Snakemake's benchmark files hold its own wall time and peak RSS. Prints, per
resolution, the grid, the wall time, the float maps written and the slowest rules with their
peak RSS. Run: python benchmarks/bench_pipeline.py [--resolutions 120 60 30] [--cores 2]
[--set biomass.bootstrap=2] (the run folders go under --workdir, about 25 GB at 30 m).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import rasterio
import yaml

from sinks.plan import RULES

REPO = Path(__file__).resolve().parents[1]


def _absolute(value):
    """The demo config's relative input paths made absolute (the run happens in --workdir)."""
    if isinstance(value, dict):
        return {k: _absolute(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_absolute(v) for v in value]
    if isinstance(value, str) and value.startswith("data/raw/"):
        return str(REPO / value)
    return value


def _is_float(path: Path) -> bool:
    with rasterio.open(path) as src:
        return src.dtypes[0].startswith("float")


def write_config(workdir: Path, resolution: float, overrides: list[str]) -> tuple[Path, str]:
    cfg = _absolute(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))
    for item in overrides:  # KEY.SUB=VALUE (VALUE read as YAML)
        key, value = item.split("=", 1)
        *parents, last = key.split(".")
        node = cfg
        for k in parents:
            node = node.setdefault(k, {})
        node[last] = yaml.safe_load(value)
    name = f"bench_pipeline_{resolution:g}m"
    cfg["run"]["name"] = name
    cfg["run"]["description"] = f"benchmark: the demo at {resolution:g} m"
    cfg["grid"]["resolution"] = resolution
    cfg["grid"]["max_pixels"] = 1e10
    path = workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))
    return path, name


def run(workdir: Path, resolution: float, cores: int, overrides: list[str]) -> dict:
    config, name = write_config(workdir, resolution, overrides)
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
           "--directory", str(workdir), "--cores", str(cores), "--quiet", "rules"]
    env = {**os.environ, "SINKS_CONFIG": str(config), "SOURCE_DATE_EPOCH": "1700000000"}
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode:
        sys.exit(f"the {resolution:g} m run failed:\n{res.stderr[-3000:]}")
    root = workdir / "data" / "processed" / name
    with rasterio.open(root / "outputs" / "carbon_stock_2019.tif") as src:
        shape = src.shape
    floats = [p for p in (root / "outputs").glob("*.tif") if _is_float(p)]
    rules = defaultdict(lambda: [0.0, 0.0, 0])  # rule -> seconds, peak RSS MB, jobs
    for tsv in (root / "benchmarks").rglob("*.tsv"):
        rule = tsv.relative_to(root / "benchmarks").parts[0].split(".")[0]
        rule = next((r for r in RULE_NAMES if rule.startswith(r)), rule)
        with tsv.open() as f:
            row = next(csv.DictReader(f, delimiter="\t"))
        entry = rules[rule]
        entry[0] += float(row["s"])
        entry[1] = max(entry[1], float(row["max_rss"]) if row["max_rss"] not in ("", "NA", "-") else 0.0)
        entry[2] += 1
    return {"resolution": resolution, "shape": shape, "wall": wall, "floats": len(floats), "rules": rules}


RULE_NAMES = sorted(RULES, key=len, reverse=True)  # longest first: "compute_sink" before "compute_s..."


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolutions", type=float, nargs="+", default=[30.0])
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/sinks-bench-pipeline"))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="change the demo config, e.g. --set biomass.bootstrap=2 (printed with the figures)")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"cores given to Snakemake: {args.cores}; config changes: {args.set or 'none'}")
    for r in args.resolutions:
        out = run(args.workdir, r, args.cores, args.set)
        h, w = out["shape"]
        print(f"\n{r:g} m: {w:,} x {h:,} = {h * w:.3g} px; wall {out['wall']:.0f} s; "
              f"{out['floats']} float maps ({out['wall'] / out['floats']:.1f} s per float map, "
              "all steps included)")
        print(f"{'rule':28s} {'jobs':>4s} {'seconds':>8s} {'peak RSS GiB':>13s}")
        for rule, (s, rss, n) in sorted(out["rules"].items(), key=lambda kv: -kv[1][0]):
            print(f"{rule:28s} {n:4d} {s:8.1f} {rss / 1024:13.2f}")


if __name__ == "__main__":
    main()
