# Helpers, config validation and target lists. The science lives in the matcomp package.
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")

sys.path.insert(
    0, str(Path(workflow.basedir) / "src")
)  # the package, even when not pip-installed

from matcomp.experiments import (  # noqa: E402
    ConfigError,
    all_baseline_jobs,
    all_jobs,
    effective_config,
    validate_config,
)

try:
    config = effective_config(config)
    validate(config, schema="../schemas/config.schema.yaml")
    validate_config(config)
except ConfigError as err:
    raise ValueError(f"invalid config: {err}") from None

from matcomp.movielens_jobs import data_dir, movielens_jobs  # noqa: E402
from matcomp.codehash import code_hash, code_info  # noqa: E402
from matcomp.packs import make_packs, runs_on_gpu  # noqa: E402

JOBS = all_jobs(config)
MOVIELENS_JOBS = movielens_jobs(config)
BASELINE_JOBS = all_baseline_jobs(config)
EXPERIMENTS = config["experiments"]


def experiments_of(kind):
    return [
        name
        for name, exp in EXPERIMENTS.items()
        if exp.get("kind") == kind and exp.get("enabled", True)
    ]


def jobs_of(name):
    """Training-job result files that one experiment reads (its cells are inside them)."""
    return [path for path, job in JOBS.items() if name in job.experiments]


def lookup(jobs, path, what):
    """The job producing ``path``; a clear error when the config has no such job."""
    if path not in jobs:
        raise ValueError(
            f"{path} is not a {what} of this config (see results/config.effective.yaml)"
        )
    return jobs[path]


def data_code(wildcards):
    """The data job's code record; a file name must carry this checkout's data-code hash."""
    info = code_info("data")
    if wildcards.code != info["hash"]:
        raise ValueError(
            f"a ground-truth file with data-code hash {wildcards.code} was asked for, but this checkout's "
            f"data code hashes to {info['hash']}: only current data files can be made"
        )
    return info


def job_of(wildcards):
    path = (
        f"results/cells/r{wildcards.rank}_o{wildcards.n_obs}/{wildcards.optimizer}/"
        f"{wildcards.penalty}/lam{wildcards.lam}_{wildcards.hash}.json"
    )
    return lookup(JOBS, path, "training job")


def job_data(wildcards):
    return job_of(wildcards).data_paths()


def job_params(wildcards):
    return job_of(wildcards).params()


def baseline_jobs_of(name):
    return [path for path, job in BASELINE_JOBS.items() if name in job.experiments]


def baseline_job(wildcards):
    path = f"results/baselines/{wildcards.method}/r{wildcards.rank}_o{wildcards.n_obs}_{wildcards.hash}.json"
    return lookup(BASELINE_JOBS, path, "baseline job")


def baseline_data(wildcards):
    return baseline_job(wildcards).data_paths()


def baseline_params(wildcards):
    return baseline_job(wildcards).params()


def movielens_data_dir():
    return data_dir(config)


def movielens_runs(wildcards):
    return list(MOVIELENS_JOBS)


def movielens_params(wildcards):
    path = f"results/movielens/{wildcards.model}/{wildcards.row}/split{wildcards.pct}_s{wildcards.seed}_{wildcards.hash}.json"
    return lookup(MOVIELENS_JOBS, path, "MovieLens job")


def table2_wanted():
    return bool(experiments_of("movielens")) and bool(
        config.get("movielens_dir") or config.get("movielens_download")
    )


def pack_training():
    """Whether GPU jobs train in packs (``pack_training``; auto: a GPU is visible now)."""
    # --config gives the string "true", a YAML file gives True
    setting = str(config.get("pack_training", "auto")).lower()
    if setting == "auto":
        import torch

        return config["device"] != "cpu" and torch.cuda.is_available()
    return setting == "true"


PACKS = make_packs(JOBS) if pack_training() else {}
PACK_OF = {path: pack for pack, paths in PACKS.items() for path in paths}


def pack_dir(pack):
    return f"results/packs/{pack}"


def train_input(wildcards):
    """A packed job copies its files out of its pack's folder; any other job trains from its data."""
    path = job_of(wildcards).path
    if path in PACK_OF:
        return {"pack": pack_dir(PACK_OF[path])}
    return {"data": job_of(wildcards).data_paths()}


def train_packed_from(wildcards):
    path = job_of(wildcards).path
    return f"{pack_dir(PACK_OF[path])}/{path}" if path in PACK_OF else None


def pack_jobs(wildcards):
    if wildcards.pack not in PACKS:
        raise ValueError(
            f"pack {wildcards.pack} is not planned by this config (pack_training: "
            f"{config.get('pack_training', 'auto')})"
        )
    return [JOBS[path] for path in PACKS[wildcards.pack]]


def pack_data(wildcards):
    return sorted({f for job in pack_jobs(wildcards) for f in job.data_paths()})


def pack_data_files(wildcards):
    return [job.data_paths() for job in pack_jobs(wildcards)]


def pack_params(wildcards):
    return [job.params() for job in pack_jobs(wildcards)]


def pack_outputs(wildcards):
    return [job.path for job in pack_jobs(wildcards)]


def train_resources_gpu(wildcards):
    """One GPU for a training job that runs on one: not with ``device: cpu``, not for a job that
    ``device: auto`` runs on the CPU because it is faster there (``spectral: svd``; unpenalised jobs of few
    seeds), not for a packed job (it only copies its files out of its pack, which has the GPU).
    """
    if config["device"] == "cpu":
        return 0
    job = job_of(wildcards)
    if job.path in PACK_OF or (config["device"] == "auto" and not runs_on_gpu(job)):
        return 0
    return 1


def movielens_resources_gpu(wildcards):
    """The LNN runs on a GPU (its penalised step: 5.7 ms there, 0.26 s on 2 CPU cores); the embedding model
    runs on the CPU under ``device: auto`` (an epoch: 1.8 s on an H200, 1.0 s on 2 CPU cores).
    """
    if config["device"] == "cpu" or (
        config["device"] == "auto" and wildcards.model == "embedding"
    ):
        return 0
    return 1


def pack_resources_gpu(wildcards):
    return 0 if config["device"] == "cpu" else 1


def all_targets():
    targets = [
        "results/config.effective.yaml",
        "results/claims.md",
        "results/claims.csv",
    ]
    for name in experiments_of("table"):
        targets += expand(
            "results/tables/{name}.{ext}", name=name, ext=["csv", "md", "tex"]
        )
    for name in experiments_of("dynamics"):
        targets += expand("figures/{name}.{ext}", name=name, ext=["pdf", "png"])
        targets.append(f"results/tables/{name}.csv")
    for name in experiments_of("baselines"):
        targets += expand("figures/{name}.{ext}", name=name, ext=["pdf", "png"])
        targets += [f"results/tables/{name}.csv", f"results/tables/{name}_summary.csv"]
    if table2_wanted():
        targets += expand("results/tables/table2.{ext}", ext=["csv", "md", "tex"])
    return targets
