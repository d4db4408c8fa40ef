"""Whether the cluster a run submits to can take jobs, asked once before the first job (the workflow's
``onstart``): without it the SLURM executor fails a minute into the run with "No such file or directory:
'sacct'" or a job that never started."""

from __future__ import annotations

import shutil
import subprocess

SLURM_TOOLS = ("sbatch", "sacct", "squeue", "sinfo")
"""The commands snakemake-executor-plugin-slurm runs on the submitting machine."""


def slurm_problem(timeout: float = 20.0) -> str | None:
    """What stops SLURM jobs from being submitted from here (a missing command, a controller that does not
    answer), or None."""
    missing = [tool for tool in SLURM_TOOLS if shutil.which(tool) is None]
    if missing:
        return (
            f"the SLURM commands {', '.join(missing)} are not on PATH: run from a login node of the cluster "
            "(or load its module), or without --workflow-profile profiles/slurm to run here"
        )
    try:
        proc = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"sinfo did not answer ({err}): is the SLURM controller (slurmctld) running and reachable?"
    if proc.returncode != 0:
        why = (proc.stderr or proc.stdout).strip().splitlines()
        return (
            f"sinfo failed ({why[-1] if why else f'exit {proc.returncode}'}): is the SLURM controller "
            "(slurmctld) running and reachable from here?"
        )
    return None
