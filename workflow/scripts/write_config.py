"""Write the effective config (after the named scale) of this run."""

import sys
from pathlib import Path

CHECKOUT_SRC = Path(snakemake.scriptdir).resolve().parents[1] / "src"  # resolve: scriptdir has ".."
sys.path.insert(0, str(CHECKOUT_SRC))  # this checkout's package before any installed copy

import yaml

from matcomp.io import from_checkout, redirect_log, write_with

from_checkout(snakemake.scriptdir)
redirect_log(snakemake)


def _dump(tmp: str) -> None:
    with open(tmp, "w") as fh:
        yaml.safe_dump(dict(snakemake.params.config), fh, sort_keys=False)


write_with(snakemake.output[0], _dump)
