# Helpers, config validation and target lists. The science lives in the matcomp package.
import os
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")

sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # the package, even when not pip-installed

from matcomp.experiments import (  # noqa: E402
    ConfigError,
    effective_config,
    unique_cells,
    validate_config,
)

try:
    config = effective_config(config)
    validate(config, schema="../schemas/config.schema.yaml")
    validate_config(config)
except ConfigError as err:
    raise ValueError(f"invalid config: {err}") from None

CELLS = unique_cells(config)
EXPERIMENTS = config["experiments"]


def experiments_of(kind):
    return [
        name
        for name, exp in EXPERIMENTS.items()
        if exp.get("kind") == kind and exp.get("enabled", True)
    ]


def cells_of(name):
    """Result files of the cells of one experiment, in grid order."""
    return [path for path, cell in CELLS.items() if name in cell.experiments]


def cell_of(wildcards):
    return CELLS[cell_output(wildcards)]


def cell_output(wildcards):
    return (
        f"results/cells/r{wildcards.rank}_o{wildcards.n_obs}/{wildcards.optimizer}/"
        f"{wildcards.penalty}/d{wildcards.depth}/lam{wildcards.lam}_{wildcards.hash}.json"
    )


def cell_data(wildcards):
    return cell_of(wildcards).data_paths()


def cell_params(wildcards):
    return cell_of(wildcards).params()


def train_resources_gpu(wildcards):
    return 1 if config["device"].startswith("cuda") else 0


def all_targets():
    targets = ["results/config.effective.yaml", "results/claims.md", "results/claims.csv"]
    for name in experiments_of("table"):
        targets += expand("results/tables/{name}.{ext}", name=name, ext=["csv", "md", "tex"])
    for name in experiments_of("dynamics"):
        targets += expand("figures/{name}.{ext}", name=name, ext=["pdf", "png"])
        targets.append(f"results/tables/{name}.csv")
    return targets


# Jobs (script:) import the package from the checkout, also inside conda envs; one BLAS/OpenMP thread per
# job unless a rule asks for more (small matrices: threads only contend).
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(Path(workflow.basedir) / "src")]
    + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])
)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
