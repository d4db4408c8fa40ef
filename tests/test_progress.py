"""Time left in a run (matcomp.plan.progress): pace = wall time over the planned cost of the finished jobs, time
left = pace × the planned cost of what remains; read from Snakemake's own log records."""

from __future__ import annotations

import io
import logging

import pytest

from matcomp.plan.cost import JOB_START
from matcomp.plan.progress import Eta, ProgressHandler, attach

PLANNED = {"results/cells/a.json": 600.0, "results/cells/b.json": 1800.0}


def test_no_pace_before_a_training_job_has_finished() -> None:
    eta = Eta(PLANNED, started=0.0)
    eta.seen(1, ["results/data/x.npz"])
    eta.finish(1)
    said = eta.line(done=1, total=4, now=100.0)
    assert "estimated once a training job has finished" in said and "2 to run" in said
    assert "0.67 CPU-hours" in said  # (600 + 1800) s


def test_time_left_is_the_pace_times_the_planned_cost_left() -> None:
    eta = Eta(PLANNED, started=0.0)
    eta.seen(1, ["results/cells/a.json", "results/cells/a.trajectory.npz"])
    eta.finish(1)  # 600 planned seconds done in 300 wall seconds: pace 0.5
    said = eta.line(done=1, total=3, now=300.0)
    # left: b (1800 s) and one other job (JOB_START): 0.5 × (1800 + 3.5) s ≈ 15 min
    assert f"time left ≈ {0.5 * (1800 + JOB_START) / 60:.0f} min" in said
    assert "1 training jobs and 1 others" in said
    eta.seen(2, ["results/cells/b.json (temp)"])  # Snakemake's annotations are not part of the path
    eta.finish(2)
    assert "time left ≈ under a minute" in eta.line(done=2, total=3, now=1200.0)
    assert eta.line(done=3, total=3, now=1300.0) == ""  # nothing left: nothing said


def test_a_slower_machine_doubles_the_estimate() -> None:
    lines = []
    for wall in (300.0, 600.0):
        eta = Eta(PLANNED, started=0.0)
        eta.seen(7, ["results/cells/a.json"])
        eta.finish(7)
        lines.append(eta.line(done=1, total=2, now=wall))
    assert lines == [
        "time left ≈ 15 min (1 training jobs and 0 others to run, at this run's pace over their planned costs)",
        "time left ≈ 30 min (1 training jobs and 0 others to run, at this run's pace over their planned costs)",
    ]


def _record(event: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("snakemake.logging", logging.INFO, __file__, 0, None, None, None)
    record.__dict__.update(event=event, **extra)
    return record


def test_the_handler_reads_snakemakes_records_and_writes_after_progress() -> None:
    out = io.StringIO()
    handler = ProgressHandler(PLANNED, stream=out)
    handler.eta.started = 0.0
    handler.handle(_record("job_info", jobid=3, output=["results/cells/b.json"]))
    handler.handle(_record("job_finished", job_id=3))
    assert out.getvalue() == ""  # only progress records are answered
    handler.handle(_record("progress", done=1, total=2))
    assert out.getvalue().startswith("time left ≈ ") and "1 training jobs and 0 others" in out.getvalue()
    assert handler.eta.trained == 1 and handler.eta.done_cost == pytest.approx(1800.0)


def test_attach_adds_one_handler_only() -> None:
    name = "matcomp-test-progress"
    first, second = attach(PLANNED, name), attach({}, name)
    assert first is second and logging.getLogger(name).handlers == [first]
    logging.getLogger(name).removeHandler(first)
