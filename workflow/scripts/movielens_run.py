"""Train one (model, row, split, seed) run of Table 2."""

import sys
from pathlib import Path

# this checkout's package before any installed copy (start_job checks that it won)
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))

import torch

from matcomp.jobs.movielens import run_movielens_job
from matcomp.store.checkout import start_job
from matcomp.store.codehash import verify
from matcomp.training.placement import run_device

start_job(snakemake)
verify(snakemake.params.run["code"])
torch.set_num_threads(snakemake.threads)
run = snakemake.params.run
device = run_device(run["placement"], snakemake.config["device"])
run_movielens_job(run, snakemake.input.u_data, snakemake.output[0], device)
