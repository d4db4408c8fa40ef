"""Train a pack: the GPU jobs that share their training settings, one mixed batch per depth."""

import sys
from pathlib import Path

CHECKOUT_SRC = Path(snakemake.scriptdir).resolve().parents[1] / "src"  # resolve: scriptdir has ".."
sys.path.insert(0, str(CHECKOUT_SRC))  # this checkout's package before any installed copy

from matcomp.codehash import verify
from matcomp.io import from_checkout, redirect_log
from matcomp.jobs.train import train_jobs

from_checkout(snakemake.scriptdir)
redirect_log(snakemake)
p = snakemake.params
for job in p.jobs:
    verify(job["code"])
folder = Path(snakemake.output[0])
train_jobs(p.jobs, p.data_files, [str(folder / job["path"]) for job in p.jobs], p.device, snakemake.threads)
