"""Evaluate the paper's claims (claims.yaml) on the produced tables."""

import sys
from pathlib import Path

# this checkout's package before any installed copy (start_job checks that it won)
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))

from matcomp.report.check import check_claims
from matcomp.store.checkout import start_job

start_job(snakemake)
out = snakemake.output
check_claims(
    snakemake.params.claims,
    [*snakemake.input.tables, *snakemake.input.comparisons, *snakemake.input.movielens],
    out.md,
    out.csv,
    snakemake.params.scale,
    snakemake.params.budget,
    out.paper_md,
    out.paper_csv,
    snakemake.params.readings,
    out.readings_md,
    out.readings_csv,
    out.summary,
)
