"""The workflow on a real SLURM cluster through ``profiles/slurm`` (``pytest -m slurm``; root, Debian/Ubuntu).

``tests/slurm/start_cluster.sh`` installs Debian's SLURM + munge + MariaDB/slurmdbd (apt) and starts a one-node
cluster on localhost with one fake GPU (CPU-only torch: training falls back to the CPU under ``device: auto``);
it is stopped by pid (``stop_cluster.sh --purge``) after the module, whatever happened. ``figures/fig3.pdf`` at
``scale=smoke`` (1 data job, 4 training jobs, 1 figure job) is built three times:

* ``local``: ``--cores 2``, the reference (``gpus: auto`` on a machine without one: every job placed on the CPU);
* ``failing``: ``--workflow-profile profiles/slurm`` with ``device: cuda``: the data job succeeds, training fails
  on the node without CUDA (matcomp's clear error), is retried once (the profile's ``retries: 1``) and reported;
* ``rerun``: the same directory with ``device: auto``: only the training bundles and the figure are submitted.

Both SLURM runs plan as the README tells a user on a login node without a GPU: ``gpus: true`` (the jobs that
are faster on a GPU are placed there and ask SLURM for one), with ``pack_training: false`` so that the jobs
are trained one by one in bundles (the packed route is tested locally, ``tests/test_pack.py``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from matcomp.store import results

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "tests" / "slurm"
PROFILE = ROOT / "profiles" / "slurm"
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]
TARGET = "figures/fig3.pdf"
ACCOUNT, PARTITION = "x", "debug"  # what start_cluster.sh creates
RUN_TIMEOUT = 480  # seconds per snakemake run; the plugin can wait forever on a broken sacct
SLURM_BASE = Path(os.environ.get("SLURM_BASE", "/tmp/slurm-ci"))
DAEMONS = {  # pid file (under SLURM_BASE) -> process name
    "run/slurmd.pid": "slurmd",
    "run/slurmctld.pid": "slurmctld",
    "run/slurmdbd.pid": "slurmdbd",
    "mysql/mariadbd.pid": "mariadbd",
    "munge/munged.pid": "munged",
}
SACCT_FIELDS = ("JobID", "Comment", "State", "ExitCode", "ReqTRES", "AllocTRES")
CUDA_ERROR = "device 'cuda' requested but torch.cuda.is_available() is False"

pytestmark = pytest.mark.slurm


# ---------------------------------------------------------------- the cluster


def _daemon_pids() -> dict[int, str]:
    pids = {}
    for rel, name in DAEMONS.items():
        try:
            pids[int((SLURM_BASE / rel).read_text().split()[0])] = name
        except (OSError, ValueError, IndexError):
            pass
    return pids


def _alive(pid: int, name: str) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == name
    except OSError:
        return False


def _stop_cluster() -> None:
    """Cancel what is left in the queue, stop the daemons by pid (stop_cluster.sh --purge), check they are gone."""
    pids = _daemon_pids()
    if shutil.which("squeue") and any(name == "slurmctld" for name in pids.values()):
        left = subprocess.run(["squeue", "-h", "-o", "%A"], capture_output=True, text=True, timeout=30)
        ids = left.stdout.split()
        if ids:
            subprocess.run(["scancel", *ids], capture_output=True, timeout=30)
            deadline = time.time() + 30
            while (
                time.time() < deadline
                and subprocess.run(
                    ["squeue", "-h", "-o", "%A"], capture_output=True, text=True, timeout=30
                ).stdout.split()
            ):
                time.sleep(1)
    subprocess.run(["bash", str(SCRIPTS / "stop_cluster.sh"), "--purge"], timeout=300)
    for pid, name in pids.items():
        if _alive(pid, name):  # stop_cluster.sh waits 30 s and SIGKILLs; belt and braces
            os.kill(pid, signal.SIGKILL)
    survivors = {pid: name for pid, name in pids.items() if _alive(pid, name)}
    assert not survivors, f"SLURM daemons still running after stop_cluster.sh: {survivors}"


@pytest.fixture(scope="module")
def cluster():
    if os.geteuid() != 0:
        pytest.skip("needs root: start_cluster.sh installs SLURM with apt and runs slurmctld/slurmd/slurmdbd")
    installed = all(
        shutil.which(c) for c in ("slurmctld", "slurmd", "slurmdbd", "sbatch", "munged", "mariadbd")
    )
    if not installed and shutil.which("apt-get") is None:
        pytest.skip(
            "SLURM is not installed and there is no apt-get to install it (start_cluster.sh is for Debian)"
        )
    try:
        start = subprocess.run(
            ["bash", str(SCRIPTS / "start_cluster.sh")], capture_output=True, text=True, timeout=1500
        )
        assert start.returncode == 0, (
            f"start_cluster.sh failed:\n{start.stdout[-4000:]}\n{start.stderr[-4000:]}"
        )
        print(start.stdout[-1500:])
        yield _daemon_pids()
    finally:
        _stop_cluster()


# ---------------------------------------------------------------- running the workflow


@dataclass
class Run:
    returncode: int
    output: str
    seconds: float
    run_id: str = ""  # the plugin's SLURM run ID: every sbatch of the run uses it as job name
    jobs: tuple[dict, ...] = ()  # sacct rows of the run's submissions

    def of(self, rule: str) -> list[dict]:
        return [j for j in self.jobs if _rule(j["Comment"]) == rule]


def _rule(comment: str) -> str:
    """The plugin's --comment: rule_<rule>_wildcards_<...> for a job, rule_<group>_<group> for a bundle."""
    for rule in ("ground_truth", "train", "dynamics_figure"):
        if comment.startswith(f"rule_{rule}"):
            return rule
    return comment


SLURM_SETTINGS = {"gpus": True, "pack_training": False}  # what a login node without a GPU is told (README)


def _write_config(work: Path, device: str, **settings: object) -> None:
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg.update(device=device, **settings)
    (work / "config.yaml").write_text(yaml.safe_dump(cfg))


def _snakemake(work: Path, *args: str) -> Run:
    cmd = [
        "timeout", "-k", "30", str(RUN_TIMEOUT), *SNAKEMAKE,
        "--directory", str(work), "--configfile", str(work / "config.yaml"), *args,
        TARGET, "--config", "scale=smoke",
    ]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=RUN_TIMEOUT + 60)
    run = Run(proc.returncode, proc.stdout + proc.stderr, time.perf_counter() - t0)
    assert run.returncode not in (124, 137), (
        f"snakemake timed out after {RUN_TIMEOUT} s:\n{run.output[-6000:]}"
    )
    return run


def _sacct(run_id: str) -> tuple[dict, ...]:
    """The run's allocations (sbatch), each with "steps": how many numbered srun steps ran inside it."""
    proc = subprocess.run(
        ["sacct", "-n", "-P", "--starttime", "2000-01-01", "--name", run_id, "-o", ",".join(SACCT_FIELDS)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    rows = [dict(zip(SACCT_FIELDS, line.split("|"))) for line in proc.stdout.splitlines() if line.strip()]
    jobs = [r for r in rows if r["JobID"].isdigit()]
    for job in jobs:
        job["steps"] = sum(bool(re.fullmatch(rf"{job['JobID']}\.\d+", r["JobID"])) for r in rows)
    return tuple(jobs)


def _slurm(work: Path) -> Run:
    """One run through the slurm profile; only the account/partition of the test cluster and a short first
    status check are added on the command line (--default-resources replaces the profile's list, so the
    profile's own defaults are passed along)."""
    profile = yaml.safe_load((PROFILE / "config.v8+.yaml").read_text())
    defaults = {**profile["default-resources"], "slurm_account": ACCOUNT, "slurm_partition": PARTITION}
    run = _snakemake(
        work,
        "--workflow-profile", str(PROFILE),
        "--default-resources", *(f"{k}={v}" for k, v in defaults.items()),
        "--slurm-init-seconds-before-status-checks", "5",
    )  # fmt: skip
    m = re.search(r"SLURM run ID: (\S+)", run.output)
    assert m, f"not a SLURM run:\n{run.output[-6000:]}"
    run.run_id, run.jobs = m.group(1), _sacct(m.group(1))
    return run


def _job_stats(output: str) -> dict[str, int]:
    """The 'Job stats' table Snakemake prints first: rule -> number of jobs it will run."""
    block = output.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", block, re.M)
        if m.group(1) != "total"
    }


@dataclass
class Runs:
    local: Path
    slurm: Path
    failing: Run
    rerun: Run
    data_mtime_after_failing: dict[str, int]
    cells_after_failing: list[Path]


@pytest.fixture(scope="module")
def runs(cluster, tmp_path_factory) -> Runs:
    local, slurm = tmp_path_factory.mktemp("local"), tmp_path_factory.mktemp("slurm")
    _write_config(local, "auto")
    ref = _snakemake(local, "--cores", "2")
    assert ref.returncode == 0, f"local run failed:\n{ref.output[-6000:]}"

    _write_config(slurm, "cuda", **SLURM_SETTINGS)
    failing = _slurm(slurm)
    (slurm / "snakemake.failing.txt").write_text(failing.output + f"\n\nsacct: {failing.jobs}\n")
    data = {str(p): p.stat().st_mtime_ns for p in (slurm / "results/data").glob("*.npz")}
    cells = sorted((slurm / "results").glob("cells/**/*.json"))

    _write_config(slurm, "auto", **SLURM_SETTINGS)
    rerun = _slurm(slurm)
    (slurm / "snakemake.rerun.txt").write_text(rerun.output + f"\n\nsacct: {rerun.jobs}\n")
    print(
        f"local {ref.seconds:.0f} s, failing slurm run {failing.seconds:.0f} s, rerun {rerun.seconds:.0f} s"
    )
    return Runs(local, slurm, failing, rerun, data, cells)


# ---------------------------------------------------------------- what is checked


def test_every_job_went_through_sbatch_with_gpus_only_for_training(runs: Runs) -> None:
    """GPUs only for training. ``device: cuda`` (the failing run): every training bundle asks for one.
    ``device: auto`` (the rerun): a bundle asks for one iff one of its jobs runs on a GPU -- the ratio jobs
    (polar route) do, the unpenalised ones (one seed: launch-bound on a GPU) do not."""
    failing, rerun = runs.failing, runs.rerun
    for run, every_train_job in ((failing, True), (rerun, False)):
        submitted = set(re.findall(r"has been submitted with SLURM jobid (\d+)", run.output))
        assert submitted == {j["JobID"] for j in run.jobs}, (submitted, run.jobs)  # sacct shows every sbatch
        assert {_rule(j["Comment"]) for j in run.jobs} <= {"ground_truth", "train", "dynamics_figure"}, (
            run.jobs
        )
        asked = []
        for job in run.jobs:
            train = _rule(job["Comment"]) == "train"
            for tres in ("ReqTRES", "AllocTRES"):
                gpu = "gres/gpu=1" in job[tres]
                assert ("gres/gpu=" in job[tres]) == gpu, job  # never more than one
                assert gpu <= train and (gpu or not (train and every_train_job)), job
            asked.append(train and "gres/gpu=1" in job["ReqTRES"])
        assert any(asked), run.jobs  # the two ratio jobs are in at least one bundle
    # The 6 jobs of the DAG: the data job (first run), 4 training jobs in 2 bundles of 2 (the profile's
    # group-components, each job its own srun step) and the figure (rerun), none of them run locally.
    assert [j["State"] for j in failing.of("ground_truth")] == ["COMPLETED"]
    bundles = rerun.of("train")
    assert [j["State"] for j in bundles] == ["COMPLETED"] * 2, bundles
    assert [j["steps"] for j in bundles] == [2, 2], bundles
    assert rerun.output.count("(Rule: train)") == 4
    assert [j["State"] for j in rerun.of("dynamics_figure")] == ["COMPLETED"]
    assert "5 of 5 steps (100%) done" in rerun.output
    assert not re.search(r"^\s*localrule ", rerun.output, re.M), "a job of the rerun ran on the login node"


def _results_by_settings(work: Path) -> dict[tuple, Path]:
    """The training results of a run by what they train (their paths differ where a job's placement does)."""
    found = {}
    for path in (work / "results/cells").rglob("*.json"):
        job = json.loads(path.read_text())["job"]
        key = (job["optimizer"], job["penalty"], job["lam"], job["rank"], job["n_obs"], tuple(job["depths"]))
        assert key not in found, (path, found[key])
        found[key] = path
    return found


def _same_arrays(a_path: Path, b_path: Path) -> None:
    """Equal arrays; a trajectory's owner record (its result's path) is left out: it names the placement."""
    with np.load(a_path) as a, np.load(b_path) as b:
        assert sorted(a.files) == sorted(b.files), (a_path, b_path)
        for k in set(a.files) - {results.META}:
            nan = np.issubdtype(a[k].dtype, np.inexact)
            assert np.array_equal(a[k], b[k], equal_nan=nan), (a_path, k)


def test_outputs_equal_a_local_run(runs: Runs) -> None:
    """The same numbers as the local run, cell by cell. The jobs placed on a GPU (``gpus: true``: the ratio
    jobs) have other names than the local run's CPU-placed ones; on a node without CUDA they run on the CPU
    and say so, so their numbers are the local ones."""
    local, slurm = runs.local, runs.slurm
    assert runs.rerun.returncode == 0, runs.rerun.output[-6000:]
    for ext in ("pdf", "png"):
        assert (slurm / f"figures/fig3.{ext}").stat().st_size > 10_000
    assert (
        len([p for p in (local / "results/cells").rglob("*") if p.is_file()]) == 8
    )  # json + trajectory each
    assert len([p for p in (slurm / "results/cells").rglob("*") if p.is_file()]) == 8
    ours, theirs = _results_by_settings(local), _results_by_settings(slurm)
    assert sorted(ours) == sorted(theirs) and len(ours) == 4
    placements = []
    for key, a_path in ours.items():
        b_path = theirs[key]
        a, b = json.loads(a_path.read_text()), json.loads(b_path.read_text())
        assert a["job"]["placement"] == "cpu", a_path
        placements.append(b["job"]["placement"])
        assert {k: v for k, v in a["job"].items() if k not in ("placement", "path")} == {
            k: v for k, v in b["job"].items() if k not in ("placement", "path")
        }, key
        assert [(c["depth"], c["settings"], c["runs"]) for c in a["cells"]] == [
            (c["depth"], c["settings"], c["runs"]) for c in b["cells"]
        ], key  # per-seed numbers and settings; provenance (host, seconds, time) may differ
        assert b["provenance"]["device"] == "cpu"  # the fake GPU is no CUDA device
        _same_arrays(results.trajectory_path(a_path), results.trajectory_path(b_path))
    assert sorted(placements) == ["cpu", "cpu", "gpu", "gpu"]  # the two ratio jobs were placed on the GPU
    for a_path in (local / "results/data").glob("*.npz"):
        _same_arrays(a_path, slurm / a_path.relative_to(local))
    ta, tb = (pd.read_csv(d / "results/tables/fig3.csv") for d in (local, slurm))
    by_path = {str(p.relative_to(local)): str(theirs[k].relative_to(slurm)) for k, p in ours.items()}
    assert ta["file"].map(by_path).tolist() == tb["file"].tolist()  # each row names its own run's file
    pd.testing.assert_frame_equal(ta.drop(columns=["seconds", "file"]), tb.drop(columns=["seconds", "file"]))


def test_failed_rule_is_reported_and_the_rerun_resubmits_only_what_failed(runs: Runs) -> None:
    failing, rerun = runs.failing, runs.rerun
    # Reported: non-zero exit, the failing group and rule, and the rule's own log with matcomp's error.
    assert failing.returncode == 1, failing.output[-6000:]
    assert "Error in group train" in failing.output and "Error in rule train" in failing.output
    assert CUDA_ERROR in failing.output
    assert "Trying to restart job" in failing.output  # retries: 1 ...
    assert [j["State"] for j in failing.of("train")] == ["FAILED"] * 4  # ... so 2 bundles × 2 attempts
    assert not failing.of("dynamics_figure")
    assert runs.cells_after_failing == []
    # SLURM's log of a failed job is kept; it names the failed rule and its log (whose text is printed above).
    for job in failing.of("train"):
        logs = list((runs.slurm / ".snakemake/slurm_logs").rglob(f"{job['JobID']}.log"))
        assert len(logs) == 1, (job, logs)
        text = logs[0].read_text()
        assert "Error in rule train" in text and "log: logs/cells/r5_o2000/" in text, logs[0]
    # The rerun: only what failed (the training jobs) and what depends on it (the figure).
    assert _job_stats(rerun.output) == {"train": 4, "dynamics_figure": 1}
    assert not rerun.of("ground_truth")
    assert {_rule(j["Comment"]) for j in rerun.jobs} == {"train", "dynamics_figure"}
    assert {str(p): p.stat().st_mtime_ns for p in (runs.slurm / "results/data").glob("*.npz")} == (
        runs.data_mtime_after_failing
    )
    assert len(runs.data_mtime_after_failing) == 1
