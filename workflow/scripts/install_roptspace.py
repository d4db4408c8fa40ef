"""Install CRAN's ROptSpace into a project-local R library when CRAN is reachable; record the outcome."""

import sys
from pathlib import Path

CHECKOUT_SRC = Path(snakemake.scriptdir).resolve().parents[1] / "src"  # resolve: scriptdir has ".."
sys.path.insert(0, str(CHECKOUT_SRC))  # this checkout's package before any installed copy

from matcomp.io import from_checkout, redirect_log
from matcomp.jobs.baseline import roptspace_status

from_checkout(snakemake.scriptdir)
redirect_log(snakemake)
roptspace_status(snakemake.params.lib, snakemake.output[0], snakemake.params.implementation)
