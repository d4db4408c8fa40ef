"""Aggregate a table experiment's cells into csv, md and tex in the paper's layout."""

import sys
from pathlib import Path

# this checkout's package before any installed copy (start_job checks that it won)
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))

from matcomp.report.tables import write_table
from matcomp.store.checkout import start_job

start_job(snakemake)
out = snakemake.output
write_table(
    snakemake.wildcards.name, snakemake.params.experiment, snakemake.input.jobs, out.csv, out.md, out.tex
)
