"""The baseline jobs: one method on every seed of one (rank, n_obs), and the ROptSpace install.

Kept apart from the figure code of :mod:`matcomp.report.comparison`, so that a baseline result's code hash
(:mod:`matcomp.store.codehash`) covers only what computes it: a change of a figure's drawing or colours does
not rerun the solvers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..data import load_problem
from ..store import results
from ..store.io import write_json


def run_baseline_job(
    job: dict[str, Any], data_files: Sequence[str], out: str, r_lib: str | None = None
) -> None:
    """Run one baseline method on every seed of one (rank, n_obs); one result file (atomic)."""
    from ..baselines import BASELINES
    from ..baselines.run import run_baseline
    from ..store.provenance import provenance

    options = dict(job["options"])
    if BASELINES[job["method"]].cran and r_lib:
        options["r_lib"] = r_lib
    runs = []
    for path, seed in zip(data_files, job["seeds"], strict=True):
        problem = load_problem(path)
        rec = run_baseline(job["method"], problem, **options)
        rec["seed"] = seed
        runs.append(rec)
        print(
            f"{job['method']} seed {seed}: test_error={rec['test_error']:.3g} ({rec['implementation']}, {rec['status']})"
        )
    results.write(
        out, {"job": job, "runs": runs, "provenance": provenance(seconds=sum(r["seconds"] for r in runs))}
    )


def roptspace_status(lib_dir: str, out: str, implementation: str) -> None:
    """Try to install ROptSpace into ``lib_dir`` (when asked for) and record what happened."""
    from ..baselines.optspace import install_roptspace

    installed = False
    if implementation in ("auto", "roptspace"):
        Path(lib_dir).mkdir(parents=True, exist_ok=True)
        installed = install_roptspace(lib_dir)
    if implementation == "roptspace" and not installed:
        raise RuntimeError(
            "optspace: roptspace was asked for but ROptSpace could not be installed from CRAN; "
            "set `optspace: builtin-cran` (or `auto`) in config.yaml"
        )
    write_json(out, {"implementation": implementation, "roptspace_installed": installed, "lib": lib_dir})
