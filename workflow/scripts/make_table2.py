"""Assemble Table 2 (our rows beside the paper's and the quoted literature rows)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # the checkout's package

from matcomp.io import redirect_log
from matcomp.movielens_jobs import write_table2

redirect_log(snakemake)
out = snakemake.output
write_table2(snakemake.input.runs, snakemake.params.splits, out.csv, out.md, out.tex, out.sweep)
