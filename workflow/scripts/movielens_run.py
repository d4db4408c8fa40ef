"""Train one (model, row, split, seed) run of Table 2."""

import sys
from pathlib import Path

CHECKOUT_SRC = Path(snakemake.scriptdir).resolve().parents[1] / "src"  # resolve: scriptdir has ".."
sys.path.insert(0, str(CHECKOUT_SRC))  # this checkout's package before any installed copy

import torch

from matcomp.codehash import verify
from matcomp.io import from_checkout, redirect_log
from matcomp.jobs.movielens import run_movielens_job
from matcomp.placement import run_device

from_checkout(snakemake.scriptdir)
redirect_log(snakemake)
verify(snakemake.params.run["code"])
torch.set_num_threads(snakemake.threads)
run = snakemake.params.run
device = run_device(run["placement"], snakemake.config["device"])
run_movielens_job(run, snakemake.input.u_data, snakemake.output[0], device)
