"""Plot a dynamics experiment (rows: optimizers; columns: error, effective rank, σ) and its summary csv."""

import sys
from pathlib import Path

# this checkout's package before any installed copy (start_job checks that it won)
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))

from matcomp.report.figures import dynamics_figure
from matcomp.store.checkout import start_job

start_job(snakemake)
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
