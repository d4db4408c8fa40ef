"""Train one (model, row, split, seed) cell of Table 2."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # the checkout's package

import torch

from matcomp.codehash import verify
from matcomp.io import redirect_log
from matcomp.movielens_jobs import run_job

redirect_log(snakemake)
verify(snakemake.params.run["code"])
torch.set_num_threads(snakemake.threads)
run_job(snakemake.params.run, snakemake.input.u_data, snakemake.output[0], snakemake.params.device)
