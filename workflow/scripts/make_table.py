"""Aggregate a table experiment's cells into csv, md and tex in the paper's layout."""

import sys
from pathlib import Path

CHECKOUT_SRC = Path(snakemake.scriptdir).resolve().parents[1] / "src"  # resolve: scriptdir has ".."
sys.path.insert(0, str(CHECKOUT_SRC))  # this checkout's package before any installed copy

from matcomp.io import from_checkout, redirect_log
from matcomp.report.tables import write_table

from_checkout(snakemake.scriptdir)
redirect_log(snakemake)
out = snakemake.output
write_table(
    snakemake.wildcards.name, snakemake.params.experiment, snakemake.input.jobs, out.csv, out.md, out.tex
)
