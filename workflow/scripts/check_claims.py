"""Evaluate the paper's claims (claims.yaml) on the produced tables."""

from matcomp.workflow import redirect_log as redirect
from matcomp.claims import check_claims

redirect(snakemake)  # noqa: F821
out = snakemake.output  # noqa: F821
check_claims(snakemake.params.claims, snakemake.input.tables, out.md, out.csv, snakemake.params.scale)  # noqa: F821
