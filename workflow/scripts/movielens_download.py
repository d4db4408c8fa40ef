"""Download the official ml-100k.zip, verify its checksums and unpack it (atomically)."""

import sys
from pathlib import Path

# this checkout's package before any installed copy (start_job checks that it won)
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))

from matcomp.movielens.data import download_ml100k
from matcomp.store.checkout import start_job

start_job(snakemake)
download_ml100k(snakemake.params.dest)
