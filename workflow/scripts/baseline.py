"""Run one classic baseline (CP, SI or OPT) on every seed of one (rank, n_obs)."""

import sys
from pathlib import Path

CHECKOUT_SRC = Path(snakemake.scriptdir).resolve().parents[1] / "src"  # resolve: scriptdir has ".."
sys.path.insert(0, str(CHECKOUT_SRC))  # this checkout's package before any installed copy

from matcomp.codehash import verify
from matcomp.io import from_checkout, redirect_log
from matcomp.jobs.baseline import run_baseline_job

from_checkout(snakemake.scriptdir)
redirect_log(snakemake)
verify(snakemake.params.job["code"])
run_baseline_job(snakemake.params.job, snakemake.input.data, snakemake.output[0], snakemake.params.r_lib)
