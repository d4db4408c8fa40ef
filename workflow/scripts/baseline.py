"""Run one classic baseline (CP, SI or OPT) on every seed of one (rank, n_obs)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # the checkout's package

from matcomp.baselines.jobs import run_baseline_job
from matcomp.codehash import verify
from matcomp.io import redirect_log

redirect_log(snakemake)
verify(snakemake.params.job["code"])
run_baseline_job(snakemake.params.job, snakemake.input.data, snakemake.output[0], snakemake.params.r_lib)
