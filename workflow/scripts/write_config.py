"""Write the effective config (after the named scale) of this run."""

import sys
from pathlib import Path

# this checkout's package before any installed copy (start_job checks that it won)
sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))

import yaml

from matcomp.store.checkout import start_job
from matcomp.store.io import write_with

start_job(snakemake)


def _dump(tmp: str) -> None:
    with open(tmp, "w") as fh:
        yaml.safe_dump(dict(snakemake.params.config), fh, sort_keys=False)


write_with(snakemake.output[0], _dump)
