"""The paper's robustness statements at a glance, from the robustness experiments' tables."""

import sys
from pathlib import Path

# this checkout's package before any installed copy (start_job checks that it won)
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))

from matcomp.report.robustness import write_robustness
from matcomp.store.checkout import start_job

start_job(snakemake)
out = snakemake.output
write_robustness(snakemake.input.tables, out.md, out.csv, out.pdf, out.png, snakemake.params.scale)
