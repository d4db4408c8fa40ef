"""Write the effective config (after the named scale) of this run."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # the checkout's package


import yaml

from matcomp.io import redirect_log, write_with

redirect_log(snakemake)


def _dump(tmp: str) -> None:
    with open(tmp, "w") as fh:
        yaml.safe_dump(dict(snakemake.params.config), fh, sort_keys=False)


write_with(snakemake.output[0], _dump)
