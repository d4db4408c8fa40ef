"""Figure 4/5: networks vs classic methods over the number of observed entries (+ long and summary csv)."""

import sys
from pathlib import Path

# this checkout's package before any installed copy (start_job checks that it won)
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))

from matcomp.report.comparison import comparison_figure
from matcomp.store.checkout import start_job

start_job(snakemake)
out = snakemake.output
comparison_figure(
    snakemake.wildcards.name,
    snakemake.params.experiment,
    snakemake.input.training,
    snakemake.input.baselines,
    out.pdf,
    out.png,
    out.csv,
    out.summary,
    snakemake.params.scale,
)
