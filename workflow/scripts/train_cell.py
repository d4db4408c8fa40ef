"""Train one cell (all its seeds as one batch) and write its result and trajectory."""

from matcomp.workflow import redirect_log as redirect
from matcomp.workflow import train_cell

redirect(snakemake)  # noqa: F821
train_cell(snakemake.params.cell, snakemake.input.data, snakemake.output.result, snakemake.params.device)  # noqa: F821
