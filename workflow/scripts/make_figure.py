"""Plot a dynamics experiment (rows: optimizers; columns: error, effective rank, σ) and its summary csv."""

import sys
from pathlib import Path

CHECKOUT_SRC = Path(snakemake.scriptdir).resolve().parents[1] / "src"  # resolve: scriptdir has ".."
sys.path.insert(0, str(CHECKOUT_SRC))  # this checkout's package before any installed copy

from matcomp.io import from_checkout, redirect_log
from matcomp.report.figures import dynamics_figure

from_checkout(snakemake.scriptdir)
redirect_log(snakemake)
out = snakemake.output
dynamics_figure(
    snakemake.wildcards.name,
    snakemake.params.experiment,
    snakemake.input.jobs,
    out.pdf,
    out.png,
    out.csv,
    snakemake.params.scale,
)
