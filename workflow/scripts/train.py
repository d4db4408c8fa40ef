"""Train one job (every depth of one optimizer × penalty × λ × data key, all seeds batched), or copy a packed
job's files out of its pack."""

import sys
from pathlib import Path

# this checkout's package before any installed copy (start_job checks that it won)
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))

from matcomp.jobs.train import train_or_copy
from matcomp.store.checkout import start_job
from matcomp.store.codehash import verify
from matcomp.training.placement import run_device

start_job(snakemake)
p = snakemake.params
verify(p.job["code"])
data = [] if p.packed_from else snakemake.input.data
device = run_device(p.job["placement"], snakemake.config["device"])
train_or_copy(p.job, data, snakemake.output.result, p.packed_from, device, snakemake.threads)
