"""Write one ground-truth problem (W*, Ω)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # the checkout's package


from matcomp.codehash import verify
from matcomp.data import make_problem
from matcomp.io import redirect_log

redirect_log(snakemake)
p = snakemake.params
code = verify(p.code)
problem = make_problem(p.m, p.n, p.rank, p.n_obs, p.seed, p.normalize)
problem.settings.update(code=code["hash"], code_files=code["files"])  # the file names its code
problem.save(snakemake.output[0])
