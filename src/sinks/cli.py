"""The ``sinks`` command: argument parsing only; the work is in :mod:`sinks.stages`.

A ``SinksError`` (bad config or input) prints one line to stderr and exits 2; any other
exception is a bug: exit 1, traceback in the log file.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
from pathlib import Path

import click

from sinks import __version__
from sinks import config as cfgmod
from sinks.errors import SinksError

log = logging.getLogger("sinks")


def _setup_logging(log_file: str | None, verbose: bool) -> None:
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(fmt)
    console.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.addHandler(console)
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(log_file, mode="a", encoding="utf-8")
        fh.setFormatter(fmt)
        root.addHandler(fh)
    for noisy in ("rasterio", "fiona", "pyogrio", "matplotlib", "PIL", "distributed"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@contextlib.contextmanager
def _compute(threads: int, scheduler: str | None):
    """Dask settings for a stage: threads (or a distributed scheduler), progress bar on a TTY."""
    import dask
    from dask.diagnostics import ProgressBar
    with contextlib.ExitStack() as stack:
        if scheduler:
            from distributed import Client  # optional dependency, for clusters
            stack.enter_context(Client(scheduler))
        else:
            stack.enter_context(dask.config.set(scheduler="threads", num_workers=threads))
            if sys.stderr.isatty():
                stack.enter_context(ProgressBar(minimum=2))
        yield


@click.group()
@click.version_option(__version__, prog_name="sinks")
@click.option("--log-file", type=click.Path(dir_okay=False), help="Also write the log to this file.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def cli(log_file, verbose):
    """sinks: ecosystem carbon-stock and carbon-sink maps and tables (IPCC methods)."""
    _setup_logging(log_file, verbose)


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False))
def validate(config):
    """Check CONFIG and every input it names (no compute). Exit 0 if fine, 2 if not."""
    from sinks.checks import validate_inputs
    cfg = cfgmod.load_config(config)
    for line in validate_inputs(cfg):
        click.echo(f"ok  {line}")
    click.echo(f"{config}: valid (run '{cfg['run']['name']}', config hash {cfgmod.config_hash(cfg)})")


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--cores", default=2, show_default=True, help="CPU cores for Snakemake.")
@click.option("-n", "--dry-run", is_flag=True, help="Show what would run, run nothing.")
@click.option("--skip-validation", is_flag=True, help="Do not re-check the inputs first.")
@click.argument("snakemake_args", nargs=-1, type=click.UNPROCESSED)
def run(config, cores, dry_run, skip_validation, snakemake_args):
    """Validate CONFIG, then run the workflow; outputs go to data/processed/<run.name>/
    under the working directory. Extra arguments after -- go to Snakemake."""
    from sinks.checks import validate_inputs
    from sinks.workflow_runner import run_workflow
    cfg = cfgmod.load_config(config)
    if not skip_validation:
        validate_inputs(cfg)
        log.info("inputs valid; starting the workflow (run %s)", cfg["run"]["name"])
    code = run_workflow(config, cores, list(snakemake_args), dry_run=dry_run)
    if code != 0:
        click.echo(f"sinks: the workflow failed; outputs of earlier successful steps are kept. "
                   f"See the messages above and {cfgmod.run_dir(cfg) / 'logs'}", err=True)
        raise click.exceptions.Exit(1)
    if not dry_run:
        click.echo(f"done: outputs in {cfgmod.run_dir(cfg) / 'outputs'}")


@cli.command()
@click.argument("samples", type=click.Path(dir_okay=False))
@click.argument("class_map", type=click.Path(dir_okay=False))
@click.option("--label-field", required=True, help="Field of SAMPLES with the reference class code.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="CSV table to write.")
def accuracy(samples, class_map, label_field, out):
    """Error-adjusted class areas (ha, 95 % CI) and accuracies of CLASS_MAP from the reference
    points in SAMPLES (Olofsson et al. 2014)."""
    from sinks.accuracy import assess_class_map
    table = assess_class_map(samples, class_map, label_field)
    table.assign(area_unit="ha", overall_accuracy=table.attrs["overall_accuracy"],
                 overall_accuracy_se=table.attrs["overall_accuracy_se"]).to_csv(out)
    click.echo(f"overall accuracy {table.attrs['overall_accuracy']:.3f} "
               f"(se {table.attrs['overall_accuracy_se']:.3f}), {table.attrs['n_samples']} samples; "
               f"table: {out}")


def stage_command(func):
    """Common options of the per-stage commands the Snakemake rules call."""
    @click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
                  help="The run's config file.")
    @click.option("--run-dir", default=None, help="Run folder (default data/processed/<run.name>).")
    @click.option("--threads", default=2, show_default=True, help="Dask worker threads.")
    @click.option("--chunks", default=2048, show_default=True, help="Chunk side in pixels (multiple of 512).")
    @click.option("--scheduler", default=None, help="Address of a dask.distributed scheduler.")
    @functools.wraps(func)
    def wrapper(config_path, run_dir, threads, chunks, scheduler, **kwargs):
        from sinks.stages import RunPaths, run_paths
        cfg = cfgmod.load_config(config_path)
        paths = RunPaths(Path(run_dir)) if run_dir else run_paths(cfg)
        with _compute(threads, scheduler):
            func(cfg, paths, chunks=chunks, **kwargs)
    return wrapper


@cli.command("write-run-config")
@stage_command
def write_run_config(cfg, paths, chunks):
    """Write run_config.yaml (the resolved config)."""
    from sinks.stages import write_run_config as f
    f(cfg, paths)


@cli.command("rasterize-zones")
@stage_command
def rasterize_zones(cfg, paths, chunks):
    """Rasterize every zone level onto the run grid."""
    from sinks.stages import stage_rasterize_zones
    stage_rasterize_zones(cfg, paths, chunks)


@cli.command("align-landcover")
@click.option("--year", type=int, required=True)
@stage_command
def align_landcover(cfg, paths, chunks, year):
    """Check an observed epoch and align it to the run grid."""
    from sinks.stages import stage_align_landcover
    stage_align_landcover(cfg, paths, year, chunks)


@cli.command("make-scenario")
@click.option("--year", type=int, required=True)
@stage_command
def make_scenario(cfg, paths, chunks, year):
    """Derive a SCENARIO epoch from an earlier one."""
    from sinks.stages import stage_make_scenario
    stage_make_scenario(cfg, paths, year, chunks)


@cli.command("classify-ecosystem")
@click.option("--year", type=int, required=True)
@stage_command
def classify_ecosystem(cfg, paths, chunks, year):
    """Write ecosystem_<year>.tif."""
    from sinks.stages import stage_classify_ecosystem
    stage_classify_ecosystem(cfg, paths, year, chunks)


@cli.command("compute-stock")
@click.option("--year", type=int, required=True)
@stage_command
def compute_stock(cfg, paths, chunks, year):
    """Write carbon_stock_<year>.tif and the per-pool maps."""
    from sinks.stages import stage_compute_stock
    stage_compute_stock(cfg, paths, year, chunks)


@cli.command("compute-sink")
@click.option("--y0", type=int, required=True)
@click.option("--y1", type=int, required=True)
@stage_command
def compute_sink(cfg, paths, chunks, y0, y1):
    """Write net_sink_<y0>_<y1>.tif (stock difference)."""
    from sinks.stages import stage_compute_sink
    stage_compute_sink(cfg, paths, y0, y1, chunks)


@cli.command("compute-gain-loss")
@click.option("--y0", type=int, required=True)
@click.option("--y1", type=int, required=True)
@stage_command
def compute_gain_loss(cfg, paths, chunks, y0, y1):
    """Write gain_loss_net, gross_removals, gross_emissions (and CH4) maps of a period."""
    from sinks.stages import stage_compute_gain_loss
    stage_compute_gain_loss(cfg, paths, y0, y1, chunks)


@cli.command("map-inundation")
@stage_command
def map_inundation(cfg, paths, chunks):
    """Write inundation_frequency.tif on the run grid (wetland section)."""
    from sinks.stages import stage_map_inundation
    stage_map_inundation(cfg, paths, chunks)


@cli.command("track-conversions")
@click.option("--year", type=int, required=True)
@stage_command
def track_conversions(cfg, paths, chunks, year):
    """Write interim/conversion_history_<year>.tif (conversions of the last D years)."""
    from sinks.stages import stage_track_conversions
    stage_track_conversions(cfg, paths, year, chunks)


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False))
def parameters(config):
    """List the effective parameter registry of CONFIG (value, unit, sd, source, status)."""
    from sinks.parameters import load_registry, registry_table
    cfg = cfgmod.load_config(config)
    table = registry_table(load_registry(cfg["parameters"]))
    with __import__("pandas").option_context("display.width", 200, "display.max_colwidth", 70):
        click.echo(table.to_string(index=False))


@cli.command("train-biomass")
@stage_command
def train_biomass(cfg, paths, chunks):
    """Train the plot-calibrated biomass model (spatial CV, conformal interval)."""
    from sinks.stages import stage_train_biomass
    stage_train_biomass(cfg, paths, chunks)


@cli.command("predict-biomass")
@click.option("--year", type=int, default=None, help="Epoch of biomass.years (default biomass.year).")
@stage_command
def predict_biomass(cfg, paths, chunks, year):
    """Write agb_<year>.tif and its interval maps."""
    from sinks.stages import stage_predict_biomass
    stage_predict_biomass(cfg, paths, year, chunks)


@cli.command("compute-rs-sink")
@click.option("--y0", type=int, required=True)
@click.option("--y1", type=int, required=True)
@stage_command
def compute_rs_sink(cfg, paths, chunks, y0, y1):
    """Write rs_net_sink_<y0>_<y1>.tif (stock difference of two biomass maps)."""
    from sinks.stages import stage_compute_rs_sink
    stage_compute_rs_sink(cfg, paths, y0, y1, chunks)


@cli.command("extract-features")
@click.option("--year", type=int, required=True)
@stage_command
def extract_features(cfg, paths, chunks, year):
    """Write interim/index_<NAME>_<year>.tif from the epoch's reflectance scenes."""
    from sinks.stages import stage_extract_features
    stage_extract_features(cfg, paths, year, chunks)


@cli.command("map-potential")
@stage_command
def map_potential(cfg, paths, chunks):
    """Write the sink potential maps of every scenario and target year."""
    from sinks.stages import stage_map_potential
    stage_map_potential(cfg, paths, chunks)


@cli.command("map-uncertainty")
@click.option("--year", type=int, default=None, help="Epoch of a carbon-stock map.")
@click.option("--y0", type=int, default=None, help="Start of a net-sink period.")
@click.option("--y1", type=int, default=None, help="End of a net-sink period.")
@click.option("--method", type=click.Choice(["stock_difference", "gain_loss"]),
              default="stock_difference", show_default=True,
              help="Which net-sink map of the period (gain_loss: gain_loss_net).")
@stage_command
def map_uncertainty(cfg, paths, chunks, year, y0, y1, method):
    """Write the sd and 2.5/97.5 percentile maps of a stock (--year) or a sink (--y0 --y1)."""
    from sinks.stages import stage_map_gain_loss_uncertainty, stage_map_uncertainty
    if (year is None) == (y0 is None or y1 is None):
        raise click.UsageError("give either --year, or both --y0 and --y1")
    if method == "gain_loss":
        if year is not None:
            raise click.UsageError("--method gain_loss maps a period: give --y0 and --y1")
        stage_map_gain_loss_uncertainty(cfg, paths, y0, y1, chunks=chunks)
    else:
        stage_map_uncertainty(cfg, paths, year=year, period=None if year else (y0, y1), chunks=chunks)


@cli.command()
@stage_command
def summarize(cfg, paths, chunks):
    """Write zonal_summary.csv, zones_summary.gpkg and summary.png."""
    from sinks.report import summarize as f
    f(cfg, paths, chunks)


def main(argv=None) -> None:
    """Entry point: one line and exit 2 for a SinksError, exit 1 and a logged traceback for a bug."""
    try:
        code = cli.main(args=argv, prog_name="sinks", standalone_mode=False)
    except SinksError as exc:
        click.echo(f"sinks: error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("sinks: aborted", err=True)
        sys.exit(130)
    except Exception:  # a bug: the traceback goes to the log file, one line to the console
        record = logging.LogRecord("sinks", logging.ERROR, __file__, 0, "internal error", None,
                                   sys.exc_info())
        for h in logging.getLogger().handlers:
            if isinstance(h, logging.FileHandler):
                h.handle(record)
        click.echo(f"sinks: internal error: {sys.exc_info()[1]!r} (a bug; please report it with "
                   "the log file)", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
