"""What the planned training costs on a CPU, said before any job runs (the workflow's ``onstart``).

An upper bound: every cell runs its full budget (runs that converge, diverge or plateau stop sooner), at the
seconds per step measured for a 2-cell batch on one thread of this project's 2-core machine
(``benchmarks/cost_scale_cpu.json``, made by ``benchmarks/cost_scale.py --measure``), scaled linearly to the
job's cells.  ``benchmarks/cost_scale.py`` gives the finer estimate (measured plateau stops, a GPU node).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ..training.penalties import get_penalty

if TYPE_CHECKING:
    from .jobs import TrainJob

STEP_TABLE = Path(__file__).resolve().parents[3] / "benchmarks" / "cost_scale_cpu.json"
TABLE_CELLS = 2
"""The batch the step table was measured at."""
JOB_START = 3.5
"""Seconds a training job takes before its first step (Python, torch and Snakemake's script start-up;
measured on the same machine: ``benchmarks/README.md``)."""


MEASURED_LIKE = {"nuclear": "ratio"}
"""Penalties that cost what another measured one does (the nuclear norm: one SVD, as the ratio)."""


def penalty_class(spec: str, table: dict[str, float] | None = None) -> str:
    """The step table's class of a penalty: its own where the table has it (or the one it costs like), else
    its kind's: ``ratio`` (one SVD per step) for a spectral penalty, ``none`` for another, so that a new
    penalty gets an estimate (never drops the run's whole estimate)."""
    pen = get_penalty(spec)
    cls = MEASURED_LIKE.get(pen.name, pen.name)
    if table is not None and not any(key.startswith(f"{cls}/") for key in table):
        return "ratio" if pen.spectral else "none"
    return cls


def _table() -> dict[str, float] | None:
    return json.loads(STEP_TABLE.read_text()) if STEP_TABLE.is_file() else None


def job_hours(job: TrainJob, table: dict[str, float] | None = None) -> float | None:
    """CPU-hours of one planned training job at its full budget; None without a step table entry for it."""
    table = _table() if table is None else table
    if table is None:
        return None
    steps = float(dict(job.train)["max_iters"])
    cls, seconds = penalty_class(job.penalty, table), JOB_START
    for depth in job.depths:
        per_step = table.get(f"{cls}/d{depth}/b{TABLE_CELLS}")
        if per_step is None:
            return None
        seconds += per_step * len(job.seeds) / TABLE_CELLS * steps
    return seconds / 3600


K = TypeVar("K")


def jobs_hours(jobs: Mapping[K, TrainJob], table: dict[str, float] | None = None) -> dict[K, float] | None:
    """CPU-hours of each job of ``jobs`` (by its key: the workflow's is its path) at its full budget, the step
    table read once; None without a step table entry for one of them."""
    table = _table() if table is None else table
    hours = {key: job_hours(job, table) for key, job in jobs.items()}
    if any(h is None for h in hours.values()):
        return None
    return hours  # type: ignore[return-value]  (no None left)


def budget_hours(jobs: Iterable[TrainJob], table: dict[str, float] | None = None) -> float | None:
    """CPU-hours of ``jobs`` at their full budgets (module docstring); None without a step table."""
    hours = jobs_hours(dict(enumerate(jobs)), table)
    return None if hours is None else sum(hours.values())
