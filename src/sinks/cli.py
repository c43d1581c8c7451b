"""The ``sinks`` command: argument parsing only. The stage commands (one per workflow rule) are
made from :data:`sinks.plan.RULES`; the work is in the stage functions they name.

A ``SinksError`` (bad config or input) prints one line to stderr and exits 2; any other
exception is a bug: exit 1, traceback in the log file.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shlex
import sys
from pathlib import Path

import click

from sinks import __version__
from sinks import config as cfgmod
from sinks import tiles
from sinks.errors import SinksError
from sinks.parameters import registry_table
from sinks.plan import RULES, Rule
from sinks.run import Run

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


# The dask.distributed scheduler of the stage commands when they get no --scheduler: set by
# `sinks run --scheduler ADDRESS`, inherited by every job it starts (local, or SLURM's --export=ALL).
SCHEDULER_VARIABLE = "SINKS_DASK_SCHEDULER"


def _attach(address: str):
    """A dask.distributed ``Client`` of the scheduler at ``address``, checked: reachable, with
    workers, and those workers in this working folder (the run's paths are relative to it).
    Anything wrong is a one-line ``SinksError`` saying what to do. The connection timeout is
    dask's config key ``sinks.scheduler_timeout`` (default 10 s; environment variable
    ``DASK_SINKS__SCHEDULER_TIMEOUT``)."""
    import dask
    retry = (f"or run without --scheduler (and without {SCHEDULER_VARIABLE} in the environment) "
             "to compute with local threads")
    try:
        from distributed import Client  # optional dependency, for clusters
    except ImportError:
        raise SinksError(f"--scheduler {address}: dask.distributed is not installed; install it "
                         f"with pip install -e '.[cluster]' (or pip install distributed), {retry}") from None
    timeout = dask.config.get("sinks.scheduler_timeout", "10s")
    try:
        client = Client(address, timeout=timeout, set_as_default=True)
    except (OSError, ValueError, TimeoutError) as exc:
        raise SinksError(f"cannot reach the dask scheduler at {address} ({exc}); start it "
                         f"(dask scheduler, then dask worker {address} from the run's folder), "
                         f"check the address, {retry}") from None
    try:
        here = os.path.realpath(os.getcwd())
        cwds = client.run(lambda: os.path.realpath(os.getcwd()))
        if not cwds:
            raise SinksError(f"the dask scheduler at {address} has no workers; start some "
                             f"(cd {here} && dask worker {address}), {retry}")
        elsewhere = {w: d for w, d in cwds.items() if d != here}
        if elsewhere:
            worker, folder = next(iter(elsewhere.items()))
            raise SinksError(f"dask worker {worker} of the scheduler at {address} runs in "
                             f"{folder}, not in this folder {here}, and the run's paths are "
                             f"relative to it: start the workers from here (cd {here} && dask "
                             f"worker {address}), {retry}")
    except BaseException:
        client.close()
        raise
    return client


@contextlib.contextmanager
def _compute(threads: int, scheduler: str | None):
    """Dask settings for a stage: threads, or the dask.distributed scheduler of ``--scheduler``
    (else of ``$SINKS_DASK_SCHEDULER``); a progress bar on a TTY when local."""
    import dask
    from dask.diagnostics import ProgressBar
    scheduler = scheduler or os.environ.get(SCHEDULER_VARIABLE) or None
    with contextlib.ExitStack() as stack:
        if scheduler:
            client = stack.enter_context(_attach(scheduler))
            log.info("computing on the dask.distributed scheduler at %s (%d workers)", scheduler,
                     len(client.scheduler_info(n_workers=-1)["workers"]))
        else:
            stack.enter_context(dask.config.set(scheduler="threads", num_workers=threads))
            if sys.stderr.isatty():
                stack.enter_context(ProgressBar(minimum=2))
        yield


@click.group()
@click.version_option(__version__, prog_name="sinks")
@click.option("--log-file", type=click.Path(dir_okay=False), help="Also write the log to this file.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.pass_context
def cli(ctx, log_file, verbose):
    """sinks: ecosystem carbon-stock and carbon-sink maps and tables (IPCC methods)."""
    ctx.obj = {"verbose": verbose}
    _setup_logging(log_file, verbose)


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False))
def validate(config):
    """Check CONFIG and every input it names (no compute). Exit 0 if fine, 2 if not."""
    from sinks.validate import validate_inputs  # on demand: loads every method (see _stage_command)
    cfg = cfgmod.load_config(config)
    for line in validate_inputs(Run.from_config(cfg)):
        click.echo(f"ok  {line}")
    click.echo(f"{config}: valid (run '{cfg['run']['name']}', config hash {cfgmod.config_hash(cfg)})")


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--cores", default=2, show_default=True, help="CPU cores for Snakemake.")
@click.option("-n", "--dry-run", is_flag=True, help="Show what would run, run nothing.")
@click.option("--skip-validation", is_flag=True, help="Do not re-check the inputs first.")
@click.option("--unlock", is_flag=True, help="Remove the lock a killed run left on the folder, run nothing.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Compute every step's maps on this dask.distributed scheduler (its workers "
                   "started in this folder); checked before anything runs.")
@click.argument("snakemake_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def run(ctx, config, cores, dry_run, skip_validation, unlock, scheduler, snakemake_args):
    """Validate CONFIG, then run the workflow; outputs go to data/processed/<run.name>/
    under the working directory. Shows a progress line, each warning once and a failure in one
    line; Snakemake's full output goes to the run's logs/snakemake.log (`sinks -v run` shows it
    all). Extra arguments after -- go to Snakemake (e.g. -- --profile profiles/slurm)."""
    if scheduler:  # before the stage server starts: it and every job inherit the environment
        os.environ[SCHEDULER_VARIABLE] = scheduler
    from sinks.validate import validate_inputs  # on demand, as in `validate`
    from sinks.safekeeping import KeptOutputs, remove_stale_temporaries  # on demand, as below
    from sinks.workflow_runner import StageServer, is_locked, run_workflow, runs_locally  # on demand: imports Snakemake
    cfg = cfgmod.load_config(config)
    run_dir, logs = cfgmod.run_dir(cfg), cfgmod.run_dir(cfg) / "logs"
    if unlock:
        outcome = run_workflow(config, cores, ["--unlock"], log_path=logs / "snakemake.log",
                               verbose=ctx.obj["verbose"])
        if outcome.code != 0:
            raise SinksError(f"could not unlock: {outcome.error}")
        click.echo("unlocked; run the same command without --unlock to go on")
        return
    if address := scheduler or os.environ.get(SCHEDULER_VARIABLE):
        _attach(address).close()  # reachable, with workers in this folder: else one line, exit 2
    if is_locked():
        raise SinksError("the folder is locked by another sinks run, or by one that was killed; "
                         "if none is running, clear it with: sinks run "
                         f"{shlex.quote(str(config))} --unlock")
    if dry_run:
        if not skip_validation:
            validate_inputs(Run.from_config(cfg))
        run_workflow(config, cores, list(snakemake_args), dry_run=True, verbose=ctx.obj["verbose"])
        return
    # local jobs fork from one warm interpreter (its imports overlap the input checks)
    with contextlib.ExitStack() as stack:
        server = (stack.enter_context(StageServer(logs / "stage_server.log"))
                  if runs_locally(snakemake_args) else None)
        if not skip_validation:
            validate_inputs(Run.from_config(cfg))
            log.info("inputs valid; starting the workflow (run %s)", cfg["run"]["name"])
        remove_stale_temporaries(run_dir)
        with KeptOutputs(run_dir) as kept:
            outcome = run_workflow(config, cores, list(snakemake_args), log_path=logs / "snakemake.log",
                                   verbose=ctx.obj["verbose"], server=server)
            restored = kept.restore() if outcome.code != 0 else []
    if restored:
        log.info("put back %d earlier output(s) the failed steps had removed: %s", len(restored),
                 ", ".join(str(p) for p in restored[:5]))
    kept_note = f" ({len(restored)} earlier output(s) the failed steps had removed were put back)" if restored else ""
    if outcome.interrupted:
        click.echo("sinks: interrupted; Snakemake stopped and released its lock. Run the same "
                   f"command again to go on (finished steps are kept){kept_note}.", err=True)
        raise click.exceptions.Exit(130)
    if outcome.code != 0:
        click.echo(f"sinks: error: {outcome.error}{kept_note}", err=True)
        raise click.exceptions.Exit(1)
    click.echo(f"done: outputs in {run_dir / 'outputs'} (logs in {logs})")


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, exists=True))
@click.option("--out", type=click.Path(dir_okay=False), help="Config to write (default FOLDER/sinks.yaml).")
@click.option("--force", is_flag=True, help="Overwrite an existing config.")
def init(folder, out, force):
    """Write a commented starting config from FOLDER's land-cover rasters (a year in each name)
    and zones file, saying each guess (legend, grid, zone fields)."""
    from sinks.init_config import write_config  # on demand: only this command needs it
    path, said = write_config(folder, out, force)
    for line in said:
        click.echo(f"guessed  {line}")
    click.echo(f"wrote {path}; check it, then: sinks validate {path}")


@cli.command()
@click.argument("samples", type=click.Path(dir_okay=False))
@click.argument("class_map", type=click.Path(dir_okay=False))
@click.option("--label-field", required=True, help="Field of SAMPLES with the reference class code.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="CSV table to write.")
def accuracy(samples, class_map, label_field, out):
    """Error-adjusted class areas (ha, 95 % CI) and accuracies of CLASS_MAP from the reference
    points in SAMPLES (Olofsson et al. 2014)."""
    from sinks.accuracy import assess_class_map  # on demand, as the stage functions
    table = assess_class_map(samples, class_map, label_field)
    table.assign(area_unit="ha", overall_accuracy=table.attrs["overall_accuracy"],
                 overall_accuracy_se=table.attrs["overall_accuracy_se"]).to_csv(out)
    click.echo(f"overall accuracy {table.attrs['overall_accuracy']:.3f} "
               f"(se {table.attrs['overall_accuracy_se']:.3f}), {table.attrs['n_samples']} samples; "
               f"table: {out}")


def _stage_command(rule: str, spec: Rule) -> click.Command:
    """The ``sinks`` command of a workflow rule (its name with dashes): the common options,
    one integer option per wildcard, and the rule's stage function run on the config's Run.
    The function's module is imported only when the command runs (Rule.load), so a stage
    process pays only for the libraries of its own method (scikit-learn, spyndex, ...)."""
    def callback(config_path, run_dir, threads, chunks, scheduler, tile, **wildcards):
        run = Run.from_config(cfgmod.load_config(config_path), run_dir, chunks)
        with _compute(threads, scheduler), tiles.active(run.tile(tile) if tile else None):
            spec.load()(run, **wildcards)

    params = [
        click.Option(["--config", "config_path"], required=True, type=click.Path(dir_okay=False),
                     help="The run's config file."),
        click.Option(["--run-dir"], default=None, help="Run folder (default data/processed/<run.name>)."),
        click.Option(["--threads"], default=2, show_default=True, help="Dask worker threads."),
        click.Option(["--chunks"], default=2048, show_default=True,
                     help="Chunk side in pixels (multiple of 512)."),
        click.Option(["--scheduler"], default=None, help="Address of a dask.distributed scheduler."),
        click.Option(["--tile"], default=None,
                     help="Run on one tile of a tiled run (grid.tile_size), e.g. r0c1."),
        *[click.Option([f"--{w}"], type=str if w == "path" else int, required=True)
          for w in spec.wildcards],
    ]
    return click.Command(rule.replace("_", "-"), callback=callback, params=params, help=spec.about)


for _rule, _spec in RULES.items():
    cli.add_command(_stage_command(_rule, _spec))


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False))
def parameters(config):
    """List the effective parameter registry of CONFIG (value, unit, sd, source, status)."""
    cfg = cfgmod.load_config(config)
    table = registry_table(Run.from_config(cfg).registry)
    with __import__("pandas").option_context("display.width", 200, "display.max_colwidth", 70):
        click.echo(table.to_string(index=False))


def _to_log_files(message: str, exc_info=None) -> None:
    """Write an error to the log files only (the console gets its own one line)."""
    record = logging.LogRecord("sinks", logging.ERROR, __file__, 0, message, None, exc_info)
    for h in logging.getLogger().handlers:
        if isinstance(h, logging.FileHandler):
            h.handle(record)


def main(argv=None) -> None:
    """Entry point: one line and exit 2 for a SinksError, exit 1 and a logged traceback for a bug."""
    try:
        code = cli.main(args=argv, prog_name="sinks", standalone_mode=False)
    except SinksError as exc:
        _to_log_files(f"error: {exc}")  # a failed step's log says why
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
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            _internal_error()
        where = exc.filename or "the output folder"
        click.echo(f"sinks: error: no space left on the disk while writing {where}; free space "
                   "there (a run's maps need about 4 bytes per pixel each before compression) and "
                   "run again: earlier outputs are kept", err=True)
        sys.exit(2)
    except Exception:
        _internal_error()
    sys.exit(code if isinstance(code, int) else 0)


def _internal_error() -> None:
    """A bug: the traceback goes to the log file, one line to the console, exit 1."""
    _to_log_files("internal error", sys.exc_info())
    click.echo(f"sinks: internal error: {sys.exc_info()[1]!r} (a bug; please report it with "
               "the log file)", err=True)
    sys.exit(1)
