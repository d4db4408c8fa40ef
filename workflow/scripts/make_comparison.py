"""Figure 4/5: networks vs classic methods over the number of observed entries (+ long and summary csv)."""

import sys
from pathlib import Path

CHECKOUT_SRC = Path(snakemake.scriptdir).resolve().parents[1] / "src"  # resolve: scriptdir has ".."
sys.path.insert(0, str(CHECKOUT_SRC))  # this checkout's package before any installed copy

from matcomp.io import from_checkout, redirect_log
from matcomp.report.comparison import comparison_figure

from_checkout(snakemake.scriptdir)
redirect_log(snakemake)
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
