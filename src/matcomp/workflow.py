"""Glue between Snakemake jobs and the package: what the thin scripts under workflow/scripts/ call."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .data import load_problem
from .experiments import TRAIN_KEYS
from .io import trajectory_path, write_json, write_with
from .provenance import provenance
from .train import TrainConfig, train_batch


def train_job(
    job: dict[str, Any], data_files: Sequence[str], out: str, device: str = "auto", threads: int | None = None
) -> None:
    """Train one job (:meth:`matcomp.experiments.Job.params`): each depth as one batch over the seeds.

    Writes ``out`` (settings, per-depth runs and provenance) and its trajectories (``d{depth}/{field}``
    arrays) beside it, each atomically, the trajectories first.
    """
    if threads:
        torch.set_num_threads(threads)
    problems = [load_problem(f) for f in data_files]
    for p, seed in zip(problems, job["seeds"], strict=True):
        expect = {"rank": job["rank"], "n_obs": job["n_obs"], "seed": seed, **job["data"]}
        got = {k: p.settings.get(k) for k in expect}
        if got != expect:
            raise ValueError(f"data file does not match the job: expected {expect}, got {got}")
    train = job["train"]
    cells, arrays = [], {}
    t0 = time.perf_counter()
    for depth in job["depths"]:
        cfg = TrainConfig(
            optimizer=job["optimizer"], penalty=job["penalty"], depth=depth, device=device,
            **{k: train[k] for k in TRAIN_KEYS},
        )  # fmt: skip
        res = train_batch(problems, [job["lam"]] * len(problems), cfg, seeds=job["seeds"], progress=True)
        cells.append(
            {"depth": depth, "settings": res.settings, "runs": res.runs, "provenance": res.provenance}
        )
        arrays.update({f"d{depth}/{k}": v for k, v in asdict(res.trajectory).items()})
    traj = trajectory_path(out)
    write_with(traj, lambda tmp: np.savez_compressed(tmp, seeds=np.array(job["seeds"]), **arrays), ".npz")
    doc = {
        "job": job,
        "cells": cells,
        "trajectory": traj.name,
        "provenance": provenance(device=cells[0]["provenance"]["device"], seconds=time.perf_counter() - t0),
    }
    write_json(out, doc)


def load_trajectory(out: str | Path, depth: int) -> dict[str, np.ndarray]:
    """The trajectory arrays of one depth of a job file."""
    with np.load(trajectory_path(out)) as z:
        prefix = f"d{depth}/"
        return {k[len(prefix) :]: z[k] for k in z.files if k.startswith(prefix)}
