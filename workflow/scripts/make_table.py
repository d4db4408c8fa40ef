"""Aggregate a table experiment's cells into csv, md and tex in the paper's layout."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # the checkout's package


from matcomp.io import redirect_log
from matcomp.tables import write_table

redirect_log(snakemake)
out = snakemake.output
write_table(
    snakemake.wildcards.name, snakemake.params.experiment, snakemake.input.jobs, out.csv, out.md, out.tex
)
