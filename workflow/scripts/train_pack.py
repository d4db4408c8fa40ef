"""Train a pack: the GPU jobs that share their training settings, one mixed batch per depth."""

import sys
from pathlib import Path

CHECKOUT_SRC = Path(snakemake.scriptdir).resolve().parents[1] / "src"  # resolve: scriptdir has ".."
sys.path.insert(0, str(CHECKOUT_SRC))  # this checkout's package before any installed copy

from matcomp.codehash import verify
from matcomp.io import from_checkout, redirect_log
from matcomp.jobs.train import train_jobs
from matcomp.placement import run_device

from_checkout(snakemake.scriptdir)
redirect_log(snakemake)
p = snakemake.params
for job in p.jobs:
    verify(job["code"])
folder = Path(snakemake.output[0])
outs = [str(folder / job["path"]) for job in p.jobs]
train_jobs(p.jobs, p.data_files, outs, run_device("gpu", snakemake.config["device"]), snakemake.threads)
