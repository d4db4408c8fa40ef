"""The paper's robustness statements at a glance, from the robustness experiments' tables."""

import sys
from pathlib import Path

CHECKOUT_SRC = Path(snakemake.scriptdir).resolve().parents[1] / "src"  # resolve: scriptdir has ".."
sys.path.insert(0, str(CHECKOUT_SRC))  # this checkout's package before any installed copy

from matcomp.io import from_checkout, redirect_log
from matcomp.report.robustness import write_robustness

from_checkout(snakemake.scriptdir)
redirect_log(snakemake)
out = snakemake.output
write_robustness(snakemake.input.tables, out.md, out.csv, out.pdf, out.png, snakemake.params.scale)
