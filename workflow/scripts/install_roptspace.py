"""Install CRAN's ROptSpace into a project-local R library when CRAN is reachable; record the outcome."""

import sys
from pathlib import Path

# this checkout's package before any installed copy (start_job checks that it won)
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))

from matcomp.jobs.baseline import roptspace_status
from matcomp.store.checkout import start_job

start_job(snakemake)
roptspace_status(snakemake.params.lib, snakemake.output[0], snakemake.params.implementation)
