"""Write one ground-truth problem (W*, Ω)."""

from matcomp.workflow import redirect_log as redirect
from matcomp.data import make_problem

redirect(snakemake)  # noqa: F821
p = snakemake.params  # noqa: F821
make_problem(p.m, p.n, p.rank, p.n_obs, p.seed, p.normalize).save(snakemake.output[0])  # noqa: F821
