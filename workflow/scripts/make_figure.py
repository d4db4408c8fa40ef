"""Plot a dynamics experiment (rows: optimizers; columns: error, effective rank, σ) and its summary csv."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # the checkout's package


from matcomp.figures import dynamics_figure
from matcomp.io import redirect_log

redirect_log(snakemake)
out = snakemake.output
dynamics_figure(
    snakemake.wildcards.name, snakemake.params.experiment, snakemake.input.jobs, out.pdf, out.png, out.csv
)
