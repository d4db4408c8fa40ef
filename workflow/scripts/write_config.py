"""Write the effective config (after the named scale) of this run."""

import yaml
from matcomp.workflow import redirect_log as redirect
from matcomp.io import write_with

redirect(snakemake)  # noqa: F821


def _dump(tmp: str) -> None:
    with open(tmp, "w") as fh:
        yaml.safe_dump(dict(snakemake.params.config), fh, sort_keys=False)  # noqa: F821


write_with(snakemake.output[0], _dump)  # noqa: F821
