"""Assemble Table 2 (our rows beside the paper's and the quoted literature rows)."""

import sys
from pathlib import Path

# this checkout's package before any installed copy (start_job checks that it won)
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))

from matcomp.report.table2 import write_table2
from matcomp.store.checkout import start_job

start_job(snakemake)
out = snakemake.output
write_table2(snakemake.input.runs, snakemake.params.splits, out.csv, out.md, out.tex, out.sweep)
