"""Evaluate the paper's claims (claims.yaml) on the produced tables."""

import sys
from pathlib import Path

CHECKOUT_SRC = Path(snakemake.scriptdir).resolve().parents[1] / "src"  # resolve: scriptdir has ".."
sys.path.insert(0, str(CHECKOUT_SRC))  # this checkout's package before any installed copy

from matcomp.io import from_checkout, redirect_log
from matcomp.report.check import check_claims

from_checkout(snakemake.scriptdir)
redirect_log(snakemake)
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
