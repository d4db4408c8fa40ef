"""Train a pack: the GPU jobs that share their training settings, one mixed batch per depth."""

import sys
from pathlib import Path

# this checkout's package before any installed copy (start_job checks that it won)
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))

from matcomp.jobs.train import train_jobs
from matcomp.store.checkout import start_job
from matcomp.store.codehash import verify
from matcomp.training.placement import run_device

start_job(snakemake)
p = snakemake.params
for job in p.jobs:
    verify(job["code"])
folder = Path(snakemake.output[0])
outs = [str(folder / job["path"]) for job in p.jobs]
train_jobs(p.jobs, p.data_files, outs, run_device("gpu", snakemake.config["device"]), snakemake.threads)
