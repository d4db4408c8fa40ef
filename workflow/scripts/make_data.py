"""Write one ground-truth problem (W*, Ω)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # the checkout's package


from matcomp.data import make_problem
from matcomp.io import redirect_log

redirect_log(snakemake)
p = snakemake.params
make_problem(p.m, p.n, p.rank, p.n_obs, p.seed, p.normalize).save(snakemake.output[0])
