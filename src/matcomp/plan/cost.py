"""What the planned training costs on a CPU, said before any job runs (the workflow's ``onstart``).

An upper bound: every cell runs its full budget (runs that converge, diverge or plateau stop sooner), at the
seconds per step measured for a 2-cell batch on one thread of this project's 2-core machine
(``benchmarks/cost_scale_cpu.json``, made by ``benchmarks/cost_scale.py --measure``), scaled linearly to the
job's cells.  ``benchmarks/cost_scale.py`` gives the finer estimate (measured plateau stops, a GPU node).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ..penalties import get_penalty
from .jobs import TrainJob

STEP_TABLE = Path(__file__).resolve().parents[3] / "benchmarks" / "cost_scale_cpu.json"
TABLE_CELLS = 2
"""The batch the step table was measured at."""
JOB_START = 3.5
"""Seconds a training job takes before its first step (Python, torch and Snakemake's script start-up;
measured on the same machine: ``benchmarks/README.md``)."""


def penalty_class(spec: str) -> str:
    """The step table's class of a penalty: the nuclear norm costs what the ratio does (one SVD)."""
    name = get_penalty(spec).name
    return {"nuclear": "ratio"}.get(name, name)


def budget_hours(jobs: Iterable[TrainJob], table: dict[str, float] | None = None) -> float | None:
    """CPU-hours of ``jobs`` at their full budgets (module docstring); None without a step table."""
    if table is None:
        if not STEP_TABLE.is_file():
            return None
        table = json.loads(STEP_TABLE.read_text())
    seconds = 0.0
    for job in jobs:
        seconds += JOB_START
        steps = float(dict(job.train)["max_iters"])
        cls = penalty_class(job.penalty)
        for depth in job.depths:
            per_step = table.get(f"{cls}/d{depth}/b{TABLE_CELLS}")
            if per_step is None:
                return None
            seconds += per_step * len(job.seeds) / TABLE_CELLS * steps
    return seconds / 3600
