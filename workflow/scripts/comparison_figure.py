"""Figure 4/5: networks vs classic methods over the number of observed entries (+ long and summary csv)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # the checkout's package

from matcomp.comparison import comparison_figure
from matcomp.io import redirect_log

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
)
