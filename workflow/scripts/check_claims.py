"""Evaluate the paper's claims (claims.yaml) on the produced tables."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # the checkout's package


from matcomp.claims import check_claims
from matcomp.io import redirect_log

redirect_log(snakemake)
out = snakemake.output
check_claims(
    snakemake.params.claims,
    [*snakemake.input.tables, *snakemake.input.comparisons, *snakemake.input.movielens],
    out.md,
    out.csv,
    snakemake.params.scale,
    snakemake.params.budget,
)
