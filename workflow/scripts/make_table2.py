"""Assemble Table 2 (our rows beside the paper's and the quoted literature rows)."""

import sys
from pathlib import Path

CHECKOUT_SRC = Path(snakemake.scriptdir).resolve().parents[1] / "src"  # resolve: scriptdir has ".."
sys.path.insert(0, str(CHECKOUT_SRC))  # this checkout's package before any installed copy

from matcomp.io import from_checkout, redirect_log
from matcomp.report.table2 import write_table2

from_checkout(snakemake.scriptdir)
redirect_log(snakemake)
out = snakemake.output
write_table2(snakemake.input.runs, snakemake.params.splits, out.csv, out.md, out.tex, out.sweep)
