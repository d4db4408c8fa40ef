"""Plot a dynamics experiment (rows: optimizers; columns: error, effective rank, σ) and its summary csv."""

from matcomp.workflow import redirect_log as redirect
from matcomp.figures import dynamics_figure

redirect(snakemake)  # noqa: F821
out = snakemake.output  # noqa: F821
dynamics_figure(snakemake.wildcards.name, snakemake.params.experiment, snakemake.input.cells, out.pdf, out.png, out.csv)  # noqa: F821
