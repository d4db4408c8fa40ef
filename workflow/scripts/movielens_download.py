"""Download the official ml-100k.zip, verify its checksums and unpack it (atomically)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # the checkout's package

from matcomp.io import redirect_log
from matcomp.movielens import download_ml100k

redirect_log(snakemake)
download_ml100k(snakemake.params.dest)
