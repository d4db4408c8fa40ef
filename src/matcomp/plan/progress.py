"""Time left in a workflow run, said after each of Snakemake's "N of M steps done" lines.

The estimate: each planned training job costs its full-budget CPU time from the measured step table
(:func:`matcomp.plan.cost.job_hours`), every other job a nominal start-up (:data:`matcomp.plan.cost.JOB_START`); the pace
is the wall time so far over the planned cost of the jobs that finished, so it absorbs this machine's speed,
the number of jobs run at once and the runs that converge or plateau early.  Time left = pace × the planned
cost of what remains.  Until one training job has finished there is no pace to go by, and the line says so.
GPU packs (``pack_training``) are not in the step table: their jobs count as nominal ones.

:class:`ProgressHandler` is a plain :class:`logging.Handler` that the workflow's ``onstart`` adds to
Snakemake's logger: it reads Snakemake's log events (job info, job finished, progress) by their names and
writes one line to stderr after each progress line; Snakemake's own console is untouched.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TextIO

from .cost import JOB_START


def _duration(seconds: float) -> str:
    minutes = seconds / 60
    if minutes < 1:
        return "under a minute"
    if minutes < 90:
        return f"{minutes:.0f} min"
    return f"{minutes / 60:.1f} h"


@dataclass
class Eta:
    """Bookkeeping of one run: planned costs by output path, the jobs seen and the jobs finished."""

    planned: Mapping[str, float]
    """Seconds of each planned training job at its full budget, by its output path."""
    started: float = field(default_factory=time.monotonic)
    outputs: dict[int, tuple[str, ...]] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)
    done_cost: float = 0.0
    trained: int = 0

    def seen(self, jobid: int, outputs: Iterable[str]) -> None:
        """A job Snakemake announced; its outputs as Snakemake prints them ("x.json (temp)")."""
        self.outputs[jobid] = tuple(str(o).split(" (")[0] for o in outputs)

    def finish(self, jobid: int) -> None:
        outputs = self.outputs.pop(jobid, ())
        costs = [self.planned[o] for o in outputs if o in self.planned and o not in self.finished]
        self.finished.update(outputs)
        self.trained += bool(costs)
        self.done_cost += sum(costs) if costs else JOB_START

    def line(self, done: int, total: int, now: float | None = None) -> str:
        left = [s for o, s in self.planned.items() if o not in self.finished]
        others = max(0, (total - done) - len(left))
        remaining = sum(left) + others * JOB_START
        if done >= total:
            return ""
        if not self.trained:
            if not left:
                return f"time left: {others} jobs of a few seconds each, and whatever the baselines take"
            return (
                f"time left: estimated once a training job has finished ({len(left)} to run, "
                f"≈ {sum(left) / 3600:.2f} CPU-hours at their full budgets)"
            )
        pace = ((time.monotonic() if now is None else now) - self.started) / self.done_cost
        return (
            f"time left ≈ {_duration(pace * remaining)} ({len(left)} training jobs and {others} others to run, "
            "at this run's pace over their planned costs)"
        )


class ProgressHandler(logging.Handler):
    """Writes :meth:`Eta.line` after each of Snakemake's progress lines (module docstring)."""

    def __init__(self, planned: Mapping[str, float], stream: TextIO | None = None) -> None:
        super().__init__(logging.INFO)
        self.eta = Eta(planned)
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        event = str(getattr(record, "event", ""))
        if event == "job_info":
            self.eta.seen(int(record.jobid), record.output or ())
        elif event == "job_finished":
            self.eta.finish(int(record.job_id))
        elif event == "progress":
            said = self.eta.line(int(record.done), int(record.total))
            if said:
                stream = self.stream or sys.stderr
                stream.write(said + "\n")
                stream.flush()


def attach(planned: Mapping[str, float], logger_name: str = "snakemake.logging") -> ProgressHandler:
    """Add a :class:`ProgressHandler` to Snakemake's logger (once) and return it."""
    logger = logging.getLogger(logger_name)
    for handler in logger.handlers:
        if isinstance(handler, ProgressHandler):
            return handler
    handler = ProgressHandler(planned)
    logger.addHandler(handler)
    return handler
