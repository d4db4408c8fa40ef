"""Train one job (every depth of one optimizer, penalty, λ, rank, n_obs key, all seeds batched), or a pack
of jobs together (rule train_pack), or copy a packed job's files out of its pack."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # the checkout's package


from matcomp.codehash import verify
from matcomp.io import redirect_log
from matcomp.workflow import copy_packed_job, train_job, train_jobs

redirect_log(snakemake)
p = snakemake.params
if snakemake.rule == "train_pack":
    for job in p.jobs:
        verify(job["code"])
    folder = Path(snakemake.output[0])
    outs = [str(folder / out) for out in p.outs]
    train_jobs(p.jobs, p.data_files, outs, p.device, snakemake.threads)
elif p.packed_from:
    copy_packed_job(p.packed_from, snakemake.output.result)
else:
    verify(p.job["code"])
    train_job(p.job, snakemake.input.data, snakemake.output.result, p.device, snakemake.threads)
