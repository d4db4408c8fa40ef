"""The MovieLens job: one (model, row, split, seed) run of Table 2, written as one result file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..store import results
from ..store.io import sole_maker

PLAN_KEYS = ("experiment", "code", "path", "placement")
"""What :meth:`matcomp.plan.movielens.MovieLensJob.params` adds to the run's own settings."""


def run_movielens_job(run: dict[str, Any], u_data: str, out: str, device: str = "auto") -> None:
    from ..movielens.train import train_cell

    cfg = {k: v for k, v in run.items() if k not in PLAN_KEYS}
    with sole_maker([out]):
        result = train_cell({**cfg, "movielens_dir": str(Path(u_data).parent), "device": device})
        results.write(out, {**result, "job": {"path": run.get("path")}, "code": run.get("code")})
