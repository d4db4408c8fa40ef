"""Training jobs: one job (every depth of one optimizer × penalty × λ × data key, all seeds batched), or a
pack of jobs trained together (one mixed batch per depth), or a packed job's files copied out of its pack.

A job arrives as the dict of :meth:`matcomp.plan.jobs.TrainJob.params` (Snakemake's ``params``: every
setting its result depends on; its ``train`` entry holds exactly the :class:`~matcomp.training.settings.TrainConfig`
fields that cells of one job share) and leaves as one result file (:mod:`matcomp.store.results`): per depth, the
cell's settings, per-seed runs and provenance, and the trajectories beside it.  The planner itself is not
imported here: it is not part of a job's code (:mod:`matcomp.store.codehash`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import torch

from ..data import Problem, load_problem
from ..store import results
from ..store.io import sole_maker
from ..store.provenance import provenance
from ..training.train import BatchResult, TrainConfig, train_batch

Job = dict[str, Any]
"""A training job's params (:meth:`matcomp.plan.jobs.TrainJob.params`)."""


def _check_data(job: Job, problems: Sequence[Problem]) -> None:
    for p, seed in zip(problems, job["seeds"], strict=True):
        expect = {"rank": job["rank"], "n_obs": job["n_obs"], "seed": seed, **job["data"]}
        got = {k: p.settings.get(k) for k in expect}
        if got != expect:
            raise ValueError(f"data file does not match the job: expected {expect}, got {got}")


def _shared_config(jobs: Sequence[Job], depth: int, device: str) -> TrainConfig:
    """The batch settings the jobs trained together share (their ``train`` settings); an error if they
    differ.  Optimizer and penalty are per run (:func:`matcomp.training.train.train_batch`); the config's are the
    first job's, as defaults only."""
    shared = {tuple(sorted(job["train"].items())) for job in jobs}
    if len(shared) != 1:
        raise ValueError(f"jobs trained together must share their training settings, got {shared}")
    job = jobs[0]
    return TrainConfig(
        optimizer=job["optimizer"], penalty=job["penalty"], depth=depth, device=device, **job["train"]
    )


def _cell(job: Job, depth: int, res: BatchResult, mine: list[int], pack: dict | None) -> dict[str, Any]:
    """One job's cell (one depth) out of a batch: its settings, runs and provenance (its own optimizer
    kernel and spectral route; the pack it was trained in, if any)."""
    prov = res.provenance
    return {
        "depth": depth,
        "settings": {
            **res.settings,
            "optimizer": job["optimizer"],
            "penalty": job["penalty"],
            "batch_size": len(mine),
        },
        "runs": [res.runs[r] for r in mine],
        "provenance": {
            **prov,
            "optimizer_kernel": prov["optimizer_kernel"][job["optimizer"]],
            "spectral_route": prov["spectral_route"][job["penalty"]],
            "pack": pack,
        },
    }


def train_jobs(
    jobs: Sequence[Job],
    data_files: Sequence[Sequence[str]],
    outs: Sequence[str],
    device: str = "auto",
    threads: int | None = None,
) -> None:
    """Train several jobs that share their training settings together: for each depth, every cell of every
    job that has it is one batch (a *pack*, mixing optimizers, penalties, λ and n_obs), so a GPU gets enough
    networks to be busy.  Each job's file is what it gets trained alone (the numbers equal within float
    rounding, tested), plus the pack it was trained in."""
    with sole_maker(outs):
        _train_jobs(jobs, data_files, outs, device, threads)


def _train_jobs(
    jobs: Sequence[Job],
    data_files: Sequence[Sequence[str]],
    outs: Sequence[str],
    device: str,
    threads: int | None,
) -> None:
    if threads:
        torch.set_num_threads(threads)
    problems = [[load_problem(f) for f in files] for files in data_files]
    for job, probs in zip(jobs, problems, strict=True):
        _check_data(job, probs)
    t0 = time.perf_counter()
    cells: list[list[dict[str, Any]]] = [[] for _ in jobs]
    arrays: list[dict[str, np.ndarray]] = [{} for _ in jobs]
    for depth in sorted({d for job in jobs for d in job["depths"]}):
        members = [j for j, job in enumerate(jobs) if depth in job["depths"]]
        rows = [(j, i) for j in members for i in range(len(jobs[j]["seeds"]))]
        res = train_batch(
            [problems[j][i] for j, i in rows],
            [jobs[j]["lam"] for j, _ in rows],
            _shared_config([jobs[j] for j in members], depth, device),
            seeds=[jobs[j]["seeds"][i] for j, i in rows],
            progress=True,
            penalties=[jobs[j]["penalty"] for j, _ in rows],
            optimizers=[jobs[j]["optimizer"] for j, _ in rows],
        )
        pack = {"jobs": len(members), "batch_size": len(rows)} if len(members) > 1 else None
        for j in members:
            mine = [r for r, (jj, _) in enumerate(rows) if jj == j]
            cells[j].append(_cell(jobs[j], depth, res, mine, pack))
            traj = {k: (v if k == "iterations" else v[mine]) for k, v in asdict(res.trajectory).items()}
            arrays[j].update({f"d{depth}/{k}": v for k, v in traj.items()})
    seconds = time.perf_counter() - t0
    for job, job_cells, job_arrays, out in zip(jobs, cells, arrays, outs, strict=True):
        doc = {
            "job": job,
            "cells": job_cells,
            "provenance": provenance(device=job_cells[0]["provenance"]["device"], seconds=seconds),
        }
        results.write(out, doc, {"seeds": np.array(job["seeds"]), **job_arrays})


def train_job(
    job: Job, data_files: Sequence[str], out: str, device: str = "auto", threads: int | None = None
) -> None:
    """Train one job: each depth as one batch over the seeds; writes ``out`` and its trajectories beside it."""
    train_jobs([job], [data_files], [out], device, threads)


def train_or_copy(
    job: Job, data_files: Sequence[str], out: str, packed_from: str | None, device: str, threads: int
) -> None:
    """The ``train`` rule: a packed job's files are copied out of its pack (which trained it), any other job
    is trained here."""
    if packed_from:
        results.copy(packed_from, out)
    else:
        train_job(job, data_files, out, device, threads)
