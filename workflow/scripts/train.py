"""Train one job (every depth of one optimizer × penalty × λ × data key, all seeds batched), or copy a packed
job's files out of its pack."""

import sys
from pathlib import Path

CHECKOUT_SRC = Path(snakemake.scriptdir).resolve().parents[1] / "src"  # resolve: scriptdir has ".."
sys.path.insert(0, str(CHECKOUT_SRC))  # this checkout's package before any installed copy

from matcomp.codehash import verify
from matcomp.io import from_checkout, redirect_log
from matcomp.jobs.train import train_or_copy
from matcomp.placement import run_device

from_checkout(snakemake.scriptdir)
redirect_log(snakemake)
p = snakemake.params
verify(p.job["code"])
data = [] if p.packed_from else snakemake.input.data
device = run_device(p.job["placement"], snakemake.config["device"])
train_or_copy(p.job, data, snakemake.output.result, p.packed_from, device, snakemake.threads)
