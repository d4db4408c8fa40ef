# Helpers, config validation and target lists. The planning lives in matcomp.plan, the science in the rest
# of the package; this file only looks things up for the rules.
import re
import sys
import tempfile
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")

CHECKOUT_SRC = Path(workflow.basedir).resolve() / "src"
# this checkout's package before any installed copy
sys.path.insert(0, str(CHECKOUT_SRC))

from matcomp.store.checkout import require  # noqa: E402

require(CHECKOUT_SRC, "the workflow")

from matcomp.store import paths, results  # noqa: E402
from matcomp.baselines import BASELINES  # noqa: E402
from matcomp.data import damaged_problems  # noqa: E402
from matcomp.store.io import LOCKS, unwritable_folder  # noqa: E402
from matcomp.store.codehash import code_hash, code_info, file_digest  # noqa: E402
from matcomp.plan.config import (
    ConfigError,
    SYNTHETIC_KINDS,
    enabled_experiments,
    not_planned,
    notes,
    load,
    read_yaml,
)  # noqa: E402
from matcomp.plan.cost import jobs_hours  # noqa: E402
from matcomp.plan.progress import attach as attach_progress  # noqa: E402

from matcomp.store.paths import (  # noqa: E402
    BASELINE_RESULT,
    DATA_FILE,
    PACK_FOLDER,
    TRAIN_RESULT,
    log_of,
)
from matcomp.plan.jobs import baseline_jobs, packing, training_jobs  # noqa: E402
from matcomp.plan import disk, orphans  # noqa: E402
from matcomp.plan.products import PRODUCTS as PRODUCTS_BY_KIND, products  # noqa: E402
from matcomp.plan.cluster import slurm_problem  # noqa: E402
from snakemake.exceptions import WorkflowError  # noqa: E402

try:
    # Snakemake's own loader keeps a repeated key's last value silently
    for path in workflow.configfiles:
        read_yaml(path)
    # what the user set over config.yaml (--configfile, --config) wins over the scale's overlay; config.yaml
    # is the Snakefile's `configfile:` (the working directory's, else the one beside the Snakefile)
    base = next(
        p
        for p in (Path("config.yaml"), Path(workflow.basedir) / "config.yaml")
        if p.is_file()
    )
    config = load(config, base=read_yaml(base))
    packing(config)  # pack_training: true where no GPU is planned
    for note in notes(config):
        print(f"note: {note}", file=sys.stderr)
except ConfigError as err:
    raise ValueError(f"invalid config: {err}") from None
from matcomp.plan.movielens import (
    MOVIELENS_RESULT,
    data_dir,
    movielens_jobs,
)  # noqa: E402
from matcomp.plan.packs import make_packs, pack_folder  # noqa: E402

JOBS = training_jobs(config)
MOVIELENS_JOBS = movielens_jobs(config)
BASELINE_JOBS = baseline_jobs(config)
EXPERIMENTS = config["experiments"]


def _refuse_damaged_results():
    """Stop before any job (and before Snakemake deletes any output) if a cached result is damaged, truncated
    or swapped: the message names each file and the command that removes it (the rerun makes it again).
    """
    found = results.damaged([*JOBS, *BASELINE_JOBS, *MOVIELENS_JOBS])
    if found:
        files = [f for err in found for f in err.files]
        made = orphans.made_from(Path("."), PRODUCT_OWNERS, [err.path for err in found])
        raise ValueError(
            f"{len(found)} damaged cached result(s): "
            + "; ".join(f"{err.path}: {err.why}" for err in found)
            + ". Remove them"
            + (" and what was made from them" if made else "")
            + f" and rerun the same command, which makes them again: rm {' '.join(files + made)}"
        )
    bad = damaged_problems(DATA_USERS)
    if bad:
        raise ValueError(f"{len(bad)} damaged ground-truth file(s): " + "; ".join(bad))


def _refuse_orphaned_products():
    """Stop before any job if a table or figure was made from a result that is gone: Snakemake would keep
    it as it is and never remake the result (matcomp.plan.orphans)."""
    planned = {
        name: [] for name in PRODUCT_OWNERS
    }  # each experiment: the results it reads now
    for path, job in [*JOBS.items(), *BASELINE_JOBS.items()]:
        for name in job.experiments:
            planned.setdefault(name, []).append(path)
    found = orphans.orphaned(Path("."), planned)
    if found:
        made = [p for _, products in found.values() for p in products]
        raise ValueError(
            "made from results that are gone: "
            + "; ".join(
                f"{', '.join(products)} (from {', '.join(missing[:3])}"
                + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
                + ")"
                for missing, products in found.values()
            )
            + ". Snakemake keeps a product whose inputs are missing and never remakes them; remove the "
            f"products and rerun the same command, which makes the results and the products again: rm {' '.join(made)}"
        )


def _refuse_unwritable_workdir():
    """Stop at once where the working directory cannot be written (a read-only checkout): Snakemake keeps
    its records in .snakemake/ there and the workflow its results/ and figures/."""
    try:
        tempfile.TemporaryFile(dir=".").close()
    except OSError as err:
        raise ValueError(
            f"the working directory {Path.cwd()} is not writable ({err.strerror}): Snakemake keeps its "
            "records (.snakemake/) and the workflow its results/, figures/ and logs/ there. Make it "
            "writable, or run in a writable folder with this checkout's workflow and config: snakemake "
            f"--directory /some/writable/folder --snakefile {Path(workflow.main_snakefile).resolve()} "
            f"--configfile {Path(workflow.basedir).resolve() / 'config.yaml'} ..."
        ) from None


def _refuse_blocked_folders():
    """Stop before any job where a file stands in place of a folder the workflow writes into (Snakemake
    would stop with a NotADirectoryError traceback): the message names it and moves nothing.
    """
    outputs = [*JOBS, *BASELINE_JOBS, *MOVIELENS_JOBS, *DATA_USERS]
    found = disk.blocked_folder([*outputs, *(log_of(p) for p in outputs), *PRODUCTS])
    if found:
        blocker, inside = found
        raise ValueError(
            f"{blocker} is a file where the workflow keeps a folder (for {inside}); move it aside and "
            f"rerun: mv {blocker} {blocker}.moved"
        )


def _refuse_future_files():
    """Stop before any job where a planned file is dated in the future (matcomp.plan.disk): the message gives
    the touch that dates each back without making anything made from it look out of date.  The workflow's
    own code may be dated anyhow: its rules rerun on its hash (the profiles leave out the code trigger).
    """
    made = [*JOBS, *(str(results.trajectory_path(p)) for p in JOBS), *BASELINE_JOBS]
    found = disk.future_files([*made, *PRODUCTS, *MOVIELENS_JOBS, *DATA_USERS])
    if found:
        raise ValueError(
            f"{len(found)} file(s) dated in the future: {', '.join(found[:4])}"
            + (f" and {len(found) - 4} more" if len(found) > 4 else "")
            + ". Snakemake would take what is made from them for out of date, and delete a new result "
            "made from them for clock skew. Date them back and rerun: "
            + disk.touch_command(disk.back_dates(found, DATA_USERS))
        )


def _refuse_unusable_lock_folder():
    """Jobs take a lock in matcomp.store.io.LOCKS ($TMPDIR/matcomp-locks, shared by every user of the machine):
    made here, it is made for everyone (1777, as /tmp); made by another user without that, every job of ours
    would fail with a raw OSError, so say so now."""
    if not LOCKS.exists():
        try:
            LOCKS.mkdir(parents=True)
            LOCKS.chmod(0o1777)
        except OSError:
            pass  # another run made it meanwhile, or TMPDIR is not writable: the probe below says which
    try:
        tempfile.TemporaryFile(dir=LOCKS).close()
    except OSError as err:
        owner = LOCKS.stat().st_uid if LOCKS.exists() else None
        raise ValueError(
            f"the jobs' lock folder {LOCKS} cannot be written ({err.strerror}"
            + (f"; it belongs to uid {owner}" if owner is not None else "")
            + "): give this run a temporary folder of its own (export TMPDIR=$HOME/tmp; mkdir -p $TMPDIR) "
            f"or ask its owner to share it (chmod 1777 {LOCKS})"
        ) from None


def _refuse_unwritable_outputs():
    """Stop before any job if an existing output folder, at any depth, cannot be written (read-only or
    immutable): Snakemake would delete the old outputs first and then fail inside."""
    found = unwritable_folder()
    if found:
        folder, why = found
        raise ValueError(
            f"the output folder {folder} is not writable ({why}); make it writable (chmod u+w {folder}, or "
            f"chattr -i {folder} if it was made immutable) and rerun"
        )


PRODUCT_OWNERS = enabled_experiments(config, SYNTHETIC_KINDS)
PRODUCTS = [p for n in PRODUCT_OWNERS for p in products(n, EXPERIMENTS[n]["kind"])]
# each ground-truth file the jobs read: the training and baseline results made from it
DATA_USERS = {}
for _path, _job in [*JOBS.items(), *BASELINE_JOBS.items()]:
    for _data in _job.data_paths():
        DATA_USERS.setdefault(_data, []).append(_path)
_refuse_unwritable_workdir()
_refuse_blocked_folders()
_refuse_damaged_results()
_refuse_orphaned_products()
# not in a job on another node: its clock is not the planner's
if getattr(workflow, "is_main_process", True):
    _refuse_future_files()
_refuse_unusable_lock_folder()
_refuse_unwritable_outputs()


def script_digest(name):
    """The normalised hash of a workflow script (matcomp.store.codehash: comments and docstrings left out), for the
    rules whose outputs carry no code hash: the profiles rerun on params, not on a script's file time.
    """
    return file_digest(Path(workflow.basedir) / "workflow" / "scripts" / name)[:10]


def experiments_of(kind):
    return enabled_experiments(config, (kind,))


def lookup(jobs, path, what):
    """The job producing ``path``; a clear error when the config has no such job."""
    if path not in jobs:
        raise ValueError(
            f"{path} is not a {what} of this config (see results/config.effective.yaml)"
        )
    return jobs[path]


def jobs_of(name):
    """Training-job result files one experiment reads."""
    return [path for path, job in JOBS.items() if name in job.experiments]


def trajectories_of(name):
    """Their trajectory files: every rule that reads a result reads its trajectories too."""
    return [str(results.trajectory_path(p)) for p in jobs_of(name)]


def job_of(wildcards):
    return lookup(JOBS, TRAIN_RESULT.format(**dict(wildcards.items())), "training job")


def baseline_jobs_of(name):
    return [path for path, job in BASELINE_JOBS.items() if name in job.experiments]


def baseline_job(wildcards):
    return lookup(
        BASELINE_JOBS, BASELINE_RESULT.format(**dict(wildcards.items())), "baseline job"
    )


def data_problem(wildcards):
    """The data job's settings; a file name must carry this checkout's data-code hash."""
    info = code_info("data")
    if wildcards.code != info["hash"]:
        raise ValueError(
            f"a ground-truth file with data-code hash {wildcards.code} was asked for, but this checkout's "
            f"data code hashes to {info['hash']}: only current data files can be made"
        )
    return {
        "m": int(wildcards.m),
        "n": int(wildcards.n),
        "rank": int(wildcards.rank),
        "n_obs": int(wildcards.n_obs),
        "seed": int(wildcards.seed),
        "normalize": wildcards.norm != "_raw",
        "code": info,
    }


def movielens_job(wildcards):
    return lookup(
        MOVIELENS_JOBS,
        MOVIELENS_RESULT.format(**dict(wildcards.items())),
        "MovieLens job",
    )


def table2_wanted():
    return bool(experiments_of("movielens")) and bool(
        config.get("movielens_dir") or config.get("movielens_download")
    )


PACKS = make_packs(JOBS) if packing(config) else {}
PACK_OF = {path: pack for pack, paths in PACKS.items() for path in paths}


def train_input(wildcards):
    """A packed job copies its files out of its pack's folder; any other job trains from its data."""
    path = job_of(wildcards).path
    if path in PACK_OF:
        return {"pack": pack_folder(PACK_OF[path])}
    return {"data": job_of(wildcards).data_paths()}


def train_packed_from(wildcards):
    path = job_of(wildcards).path
    return f"{pack_folder(PACK_OF[path])}/{path}" if path in PACK_OF else None


def pack_jobs(wildcards):
    if wildcards.pack not in PACKS:
        raise ValueError(
            f"pack {wildcards.pack} is not planned by this config (pack_training: "
            f"{config.get('pack_training', 'auto')})"
        )
    return [JOBS[path] for path in PACKS[wildcards.pack]]


def train_resources_gpu(wildcards):
    """One GPU for a training job placed on one (matcomp.training.placement), unless it is packed (it then only
    copies its files out of its pack, which has the GPU)."""
    job = job_of(wildcards)
    return int(job.placement == "gpu" and job.path not in PACK_OF)


def robustness_tables():
    """The tables the robustness overview reads: the robustness experiments' and Table 1 (a reference)."""
    names = [n for n in experiments_of("table") if n.startswith("robust_")]
    names += ["table1"] if names and "table1" in experiments_of("table") else []
    return [paths.table(n) for n in names]


def refuse_unreachable_cluster():
    """In `onstart` (the executor is known then): stop before the first job where the SLURM executor cannot
    submit from here, naming what is missing (matcomp.plan.cluster)."""
    plugin = getattr(workflow, "executor_plugin", None)
    if getattr(plugin, "name", None) == "slurm":
        problem = slurm_problem()
        if problem:
            raise WorkflowError(f"cannot submit to SLURM: {problem}")


NOT_PLANNED = not_planned(config)


def not_planned_products():
    """A regex of the tables and figures of the experiments NOT_PLANNED names (none: matches nothing)."""
    if not NOT_PLANNED:
        return "(?!)"
    names = "|".join(re.escape(n) for n in NOT_PLANNED)
    folders = "|".join(
        re.escape(str(Path(p("x")).parent)) for p in (paths.table, paths.figure)
    )
    return rf"({folders})/({names})(_summary)?\.(csv|md|tex|pdf|png)"


def refuse_not_planned(wildcards):
    name = re.sub(r"(_summary)?\.[a-z]+$", "", Path(wildcards.product).name)
    raise ValueError(
        f"{wildcards.product} is not made at this scale: {NOT_PLANNED[name]}"
    )


def training_jobs_to_run():
    """The training jobs this run will run (Snakemake's DAG, in `onstart`), by result path; where the DAG
    cannot be read, the config's jobs whose result is missing."""
    try:
        outputs = {str(f) for job in workflow.dag.needrun_jobs() for f in job.output}
    except Exception:  # Snakemake's internals: fall back, the estimate is only advice
        return {path: job for path, job in JOBS.items() if not Path(path).exists()}
    return {path: job for path, job in JOBS.items() if path in outputs}


def all_targets():
    targets = [
        paths.EFFECTIVE_CONFIG,
        paths.REPORT,
        paths.CLAIMS.format(ext="md"),
        paths.CLAIMS.format(ext="csv"),
        paths.PAPER_VS_OURS.format(ext="md"),
        paths.READINGS.format(ext="md"),
    ]
    # each experiment's tables and figures (matcomp.plan.products)
    for kind in PRODUCTS_BY_KIND:
        for name in experiments_of(kind):
            targets += products(name, kind)
    if table2_wanted():
        targets += [paths.table("table2", ext) for ext in ("csv", "md", "tex")]
    if robustness_tables():
        targets.append(paths.table("robustness", "md"))
    return targets
