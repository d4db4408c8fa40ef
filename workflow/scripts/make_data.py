"""Write one ground-truth problem (W*, Ω)."""

import sys
from pathlib import Path

# this checkout's package before any installed copy (start_job checks that it won)
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))

from matcomp.jobs.data import make_data
from matcomp.store.checkout import start_job

start_job(snakemake)
make_data(dict(snakemake.params.problem), snakemake.output[0])
