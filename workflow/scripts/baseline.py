"""Run one classic baseline (CP, SI or OPT) on every seed of one (rank, n_obs)."""

import sys
from pathlib import Path

# this checkout's package before any installed copy (start_job checks that it won)
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))

from matcomp.jobs.baseline import run_baseline_job
from matcomp.store.checkout import start_job
from matcomp.store.codehash import verify

start_job(snakemake)
verify(snakemake.params.job["code"])
run_baseline_job(snakemake.params.job, snakemake.input.data, snakemake.output[0], snakemake.params.r_lib)
