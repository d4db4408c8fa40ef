"""Write one ground-truth problem (W*, Ω)."""

import sys
from pathlib import Path

CHECKOUT_SRC = Path(snakemake.scriptdir).resolve().parents[1] / "src"  # resolve: scriptdir has ".."
sys.path.insert(0, str(CHECKOUT_SRC))  # this checkout's package before any installed copy

from matcomp.io import from_checkout, redirect_log
from matcomp.jobs.data import make_data

from_checkout(snakemake.scriptdir)
redirect_log(snakemake)
make_data(dict(snakemake.params.problem), snakemake.output[0])
