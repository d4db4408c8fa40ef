"""Train one job: every depth of one (optimizer, penalty, λ, rank, n_obs) key, all seeds batched."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # the checkout's package


from matcomp.codehash import verify
from matcomp.io import redirect_log
from matcomp.workflow import train_job

redirect_log(snakemake)
verify(snakemake.params.job["code"])
train_job(
    snakemake.params.job,
    snakemake.input.data,
    snakemake.output.result,
    snakemake.params.device,
    snakemake.threads,
)
