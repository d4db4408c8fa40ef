"""Install CRAN's ROptSpace into a project-local R library when CRAN is reachable; record the outcome."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # the checkout's package

from matcomp.baselines.jobs import roptspace_status
from matcomp.io import redirect_log

redirect_log(snakemake)
roptspace_status(snakemake.params.lib, snakemake.output[0], snakemake.params.implementation)
