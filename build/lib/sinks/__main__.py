"""``python -m sinks`` = the ``sinks`` command (used by the Snakemake rules)."""

from sinks.cli import main

main()
