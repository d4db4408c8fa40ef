"""Aggregate a table experiment's cells into csv, md and tex in the paper's layout."""

from matcomp.workflow import redirect_log as redirect
from matcomp.tables import write_table

redirect(snakemake)  # noqa: F821
out = snakemake.output  # noqa: F821
write_table(snakemake.wildcards.name, snakemake.input.cells, out.csv, out.md, out.tex)  # noqa: F821
