"""Download the official ml-100k.zip, verify its checksums and unpack it (atomically)."""

import sys
from pathlib import Path

CHECKOUT_SRC = Path(snakemake.scriptdir).resolve().parents[1] / "src"  # resolve: scriptdir has ".."
sys.path.insert(0, str(CHECKOUT_SRC))  # this checkout's package before any installed copy

from matcomp.io import from_checkout, redirect_log
from matcomp.movielens.data import download_ml100k

from_checkout(snakemake.scriptdir)
redirect_log(snakemake)
download_ml100k(snakemake.params.dest)
