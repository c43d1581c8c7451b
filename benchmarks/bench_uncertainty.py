"""Benchmark: uncertainty (issue 5) — Monte Carlo zone totals of the demo, and per-pixel
uncertainty maps at province size.

1. Demo tables: the zone tables of the demo run (``make run`` first) with 10^4 Monte Carlo draws,
   timed against the same tables with Approach 1 only; the difference is the Monte Carlo cost
   for every zone total of every level, epoch and period (target < 10 s).
2. Maps: on the SYNTHETIC 30 m land cover of ``bench_stock_sink.py`` (generated if absent), the
   sd / 2.5 / 97.5 percentile maps of one epoch's stock and of the period's sink, timed against
   the deterministic stock and sink maps (target <= 3x), with peak RSS (target <= 4 GiB).
   Each part runs in a fresh subprocess.

Run: python benchmarks/bench_uncertainty.py [--width 20000 --height 15000] [--draws 10000]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from sinks.methods.stock_difference.maps import compute_sink
from sinks.methods.stock_difference.maps import compute_stock
from sinks.methods.stock_difference.maps import map_sink_uncertainty
from sinks.methods.stock_difference.maps import map_stock_uncertainty
from sinks.paths import RunPaths
from sinks.paths import run_paths
from sinks.prepare import align_landcover
from sinks.run import Run

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))


def demo_tables(draws: int) -> dict:
    import copy
    import os

    from sinks.config import load_config
    from sinks.summary import summarize

    os.chdir(REPO)  # the demo config's paths are relative to the repository
    cfg = load_config("config/config.yaml")
    paths = run_paths(cfg, REPO)
    if not paths.output("zonal_summary").exists():
        sys.exit("run `make run` first: this part uses the demo run's aligned land cover")
    seconds = {}
    for label, approaches in (("approach1", ["approach1"]), ("monte_carlo", ["approach1", "monte_carlo"])):
        c = copy.deepcopy(cfg)
        c["uncertainty"].update(approaches=approaches, n_draws=draws)
        scratch = RunPaths(Path("/tmp/sinks_bench_uncertainty"))
        shutil.rmtree(scratch.root, ignore_errors=True)  # a copy of the demo run: tables go there
        shutil.copytree(paths.root, scratch.root)
        t0 = time.perf_counter()
        df = summarize(Run(c, scratch))
        seconds[label] = time.perf_counter() - t0
    return {"rows": len(df), "zones": int(df.groupby(["zone_level", "zone_id"]).ngroups),
            "approach1_seconds": seconds["approach1"], "mc_seconds": seconds["monte_carlo"]}


def maps(out: str, threads: int, chunks: int, draws: int) -> dict:
    import os

    import dask

    from sinks.config import load_config

    os.chdir(out)
    cfg = load_config("bench.yaml")
    cfg["uncertainty"].update(n_draws=draws)
    paths = run_paths(cfg)
    times = {}
    with dask.config.set(scheduler="threads", num_workers=threads):
        for year in (2000, 2020):
            if not paths.landcover(year).exists():
                align_landcover(Run(cfg, paths, chunks), year)
        for label, run in (("stock", lambda: compute_stock(Run(cfg, paths, chunks), 2020)),
                           ("stock_uncertainty", lambda: map_stock_uncertainty(Run(cfg, paths, chunks), 2020)),
                           ("sink", lambda: compute_sink(Run(cfg, paths, chunks), 2000, 2020)),
                           ("sink_uncertainty", lambda: map_sink_uncertainty(Run(cfg, paths, chunks), 2000, 2020))):
            t0 = time.perf_counter()
            run()
            times[label] = time.perf_counter() - t0
    return times


def _child(args) -> dict:
    cmd = [sys.executable, __file__, "--part", args.part_name, "--out", str(args.out),
           "--threads", str(args.threads), "--chunks", str(args.chunks), "--draws", str(args.draws)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode:
        sys.exit(res.stderr[-3000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=20000)
    ap.add_argument("--height", type=int, default=15000)
    ap.add_argument("--draws", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--chunks", type=int, default=2048)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks/out")
    ap.add_argument("--part", choices=["tables", "maps"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.out = args.out.resolve()
    if args.part:
        info = demo_tables(args.draws) if args.part == "tables" else maps(str(args.out), args.threads, args.chunks, args.draws)
        info["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(json.dumps(info))
        return
    import bench_stock_sink as b

    lc0, lc1 = b.generate(args.out, args.width, args.height, 0)
    b.write_config(args.out, lc0, lc1)
    args.part_name = "tables"
    t = _child(args)
    mc = t["mc_seconds"] - t["approach1_seconds"]
    print(f"demo zone tables: {t['rows']} rows, {t['zones']} zones; Approach 1 only "
          f"{t['approach1_seconds']:.1f} s, with {args.draws} Monte Carlo draws "
          f"{t['mc_seconds']:.1f} s: Monte Carlo {mc:.1f} s (target < 10 s)")
    args.part_name = "maps"
    m = _child(args)
    print(f"maps on {args.width} x {args.height} = {args.width * args.height:.2e} px (synthetic), "
          f"{args.threads} threads:")
    for what in ("stock", "sink"):
        ratio = m[f"{what}_uncertainty"] / m[what]
        print(f"  {what}: deterministic map {m[what]:.1f} s; sd + p2.5 + p97.5 maps "
              f"{m[what + '_uncertainty']:.1f} s; ratio {ratio:.2f} (target <= 3)")
    print(f"  peak RSS {m['peak_rss_gib']:.2f} GiB (target <= 4)")


if __name__ == "__main__":
    main()
