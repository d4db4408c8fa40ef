"""Glue between Snakemake jobs and the package: what the thin scripts under workflow/scripts/ call."""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .data import Problem, load_problem
from .experiments import TRAIN_KEYS
from .io import trajectory_path, write_json, write_with
from .provenance import provenance
from .spectral import route_entry
from .train import TrainConfig, train_batch


def _check_data(job: dict[str, Any], problems: Sequence[Problem]) -> None:
    for p, seed in zip(problems, job["seeds"], strict=True):
        expect = {"rank": job["rank"], "n_obs": job["n_obs"], "seed": seed, **job["data"]}
        got = {k: p.settings.get(k) for k in expect}
        if got != expect:
            raise ValueError(f"data file does not match the job: expected {expect}, got {got}")


def _pack_config(jobs: Sequence[dict[str, Any]], depth: int, device: str) -> TrainConfig:
    """The batch settings a pack's jobs share (the training settings); an error if they differ.

    Optimizer and penalty may differ between jobs (a mixed batch); the config names the first job's."""
    shared = {tuple(sorted(job["train"].items())) for job in jobs}
    if len(shared) != 1:
        raise ValueError(f"jobs trained together must share their training settings, got {shared}")
    job = jobs[0]
    return TrainConfig(
        optimizer=job["optimizer"], penalty=job["penalty"], depth=depth, device=device,
        **{k: job["train"][k] for k in TRAIN_KEYS},
    )  # fmt: skip


def _own_provenance(prov: dict[str, Any], job: dict[str, Any], pack: dict[str, int] | None) -> dict[str, Any]:
    """A batch's provenance as one job's: its own optimizer kernel and spectral route where the batch mixed
    several (the batch records them by optimizer and by penalty), and the pack it was trained in."""
    kernel, route = prov["optimizer_kernel"], prov["spectral_route"]
    return {
        **prov,
        "optimizer_kernel": kernel[job["optimizer"]] if isinstance(kernel, dict) else kernel,
        "spectral_route": route_entry(route, job["penalty"]),
        "pack": pack,
    }


def train_jobs(
    jobs: Sequence[dict[str, Any]],
    data_files: Sequence[Sequence[str]],
    outs: Sequence[str],
    device: str = "auto",
    threads: int | None = None,
) -> None:
    """Train several jobs (:meth:`matcomp.experiments.Job.params`) sharing their training settings together:
    for each depth, every cell of every job that has it is one batch (a *pack*, mixing optimizers,
    penalties, λ and n_obs), so a GPU gets enough cells to be busy.  Each job's file is what
    :func:`train_job` writes for it alone (the numbers equal within float rounding, tested), plus the pack
    it was trained in.
    """
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
            _pack_config([jobs[j] for j in members], depth, device),
            seeds=[jobs[j]["seeds"][i] for j, i in rows],
            progress=True,
            penalties=[jobs[j]["penalty"] for j, _ in rows],
            optimizers=[jobs[j]["optimizer"] for j, _ in rows],
        )
        for j in members:
            mine = [r for r, (jj, _) in enumerate(rows) if jj == j]
            settings = {**res.settings, "optimizer": jobs[j]["optimizer"], "penalty": jobs[j]["penalty"],
                        "batch_size": len(mine)}  # fmt: skip
            pack = {"jobs": len(members), "batch_size": len(rows)} if len(members) > 1 else None
            cells[j].append({"depth": depth, "settings": settings, "runs": [res.runs[r] for r in mine],
                             "provenance": _own_provenance(res.provenance, jobs[j], pack)})  # fmt: skip
            traj = {k: (v if k == "iterations" else v[mine]) for k, v in asdict(res.trajectory).items()}
            arrays[j].update({f"d{depth}/{k}": v for k, v in traj.items()})
    seconds = time.perf_counter() - t0
    for job, job_cells, job_arrays, out in zip(jobs, cells, arrays, outs, strict=True):
        _write_job(job, job_cells, job_arrays, out, seconds)


def _write_job(
    job: dict[str, Any], cells: list[dict[str, Any]], arrays: dict[str, np.ndarray], out: str, seconds: float
) -> None:
    """The job's trajectories, then its result file, each atomically (a result never lacks its arrays)."""
    traj = trajectory_path(out)
    write_with(traj, lambda tmp: np.savez_compressed(tmp, seeds=np.array(job["seeds"]), **arrays), ".npz")
    doc = {
        "job": job,
        "cells": cells,
        "trajectory": traj.name,
        "provenance": provenance(device=cells[0]["provenance"]["device"], seconds=seconds),
    }
    write_json(out, doc)


def train_job(
    job: dict[str, Any], data_files: Sequence[str], out: str, device: str = "auto", threads: int | None = None
) -> None:
    """Train one job: each depth as one batch over the seeds; writes ``out`` and its trajectories beside it."""
    train_jobs([job], [data_files], [out], device, threads)


def copy_packed_job(packed: str, out: str) -> None:
    """Put a packed job's result and trajectories (written by its pack under ``packed``) at ``out``,
    trajectories first, each atomically; the result file's trajectory name stays right (same base name)."""
    if Path(packed).name != Path(out).name:
        raise ValueError(f"a packed job's file {packed} does not match its output {out}")
    src, dst = trajectory_path(packed), trajectory_path(out)
    write_with(dst, lambda tmp: shutil.copyfile(src, tmp), ".npz")
    write_with(out, lambda tmp: shutil.copyfile(packed, tmp), ".json")


def load_trajectory(out: str | Path, depth: int) -> dict[str, np.ndarray]:
    """The trajectory arrays of one depth of a job file."""
    with np.load(trajectory_path(out)) as z:
        prefix = f"d{depth}/"
        return {k[len(prefix) :]: z[k] for k in z.files if k.startswith(prefix)}
