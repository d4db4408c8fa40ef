"""What `scale=paper` costs on the machine at hand: every training job timed for a few steps, extrapolated.

Two arrangements of the same 133 jobs (`config.yaml`, `scale: paper`):

* *per job*: each job trains each depth as one batch over its 5 seeds, on the device ``device: auto``
  picks for it (on a GPU machine: CUDA for every penalised job — polar route for ratio and nuclear,
  gesvda for the Schatten penalties — and for unpenalised batches of ≥ 32 cells; the CPU otherwise);
* *packs* (:mod:`matcomp.packs`): every job that runs faster on a GPU, across optimizers and penalties,
  in one mixed batch per depth; the others per job on the CPU.

Each distinct batch is built for real (its problems, λ, penalties, optimizers, depth) and timed for
``--steps`` steps after ``--warmup`` (logging only at the ends, as at the paper's density of 200 points in
5·10⁵ steps); a job's cost is (seconds per step) × its iteration budget.  GPU batches run one after
another; CPU jobs are assumed to run ``--cpu-slots`` at a time beside them (``--threads`` threads each).
Logging and the final metrics (one SVD per cell per log point) are not included: 200 points per cell.

    python benchmarks/cost_paper.py [--steps 30] [--warmup 5] [--out benchmarks/cost_paper.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time
from collections.abc import Sequence
from pathlib import Path

import torch
import yaml

from matcomp.data import make_problem
from matcomp.plan.config import load
from matcomp.plan.jobs import TrainJob as Job
from matcomp.plan.jobs import training_jobs
from matcomp.plan.packs import make_packs
from matcomp.training.penalties import get_penalty
from matcomp.training.placement import resolve_device
from matcomp.training.train import TrainConfig, train_batch

ROOT = Path(__file__).resolve().parents[1]


@dataclasses.dataclass
class Batch:
    """Every cell of some jobs at one depth, as ``train_batch`` takes them."""

    problems: list
    lams: list[float]
    penalties: list[str]
    seeds: list[int]
    optimizers: list[str]
    cfg: TrainConfig

    def train(self, max_iters: int):
        return train_batch(
            self.problems, self.lams, dataclasses.replace(self.cfg, max_iters=max_iters), seeds=self.seeds,
            penalties=self.penalties, optimizers=self.optimizers,
        )  # fmt: skip


def build_batch(jobs: Sequence[Job], depth: int, device: str) -> Batch:
    """The cells of ``jobs`` at ``depth`` (their problems, λ, penalties, seeds, optimizers) and a config
    that never stops early and logs only at the ends."""
    members = [j for j in jobs if depth in j.depths]
    problems, lams, pens, seeds, opts = [], [], [], [], []
    data = dict(members[0].data)
    for job in members:
        for seed in job.seeds:
            problems.append(make_problem(data["m"], data["n"], job.rank, job.n_obs, seed, data["normalize"]))
            lams.append(job.lam)
            pens.append(job.penalty)
            seeds.append(seed)
            opts.append(job.optimizer)
    train = dict(members[0].train)
    cfg = TrainConfig(optimizer=members[0].optimizer, penalty=pens[0], depth=depth, device=device,
                      **{**train, "max_iters": 0, "tol": 0.0, "log": "none"})  # fmt: skip
    return Batch(problems, lams, pens, seeds, opts, cfg)


def seconds_per_step(batch: Batch, steps: int, warmup: int) -> tuple[float, str]:
    """Seconds per step of ``batch`` and the device it ran on: a run of warmup + steps minus a run of
    warmup, so set-up and the final metrics cancel (after one more warmup run: allocations, kernels)."""
    timings = []
    for n_steps in (warmup, warmup, warmup + steps):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        res = batch.train(n_steps)
        timings.append(time.perf_counter() - t0)
    seconds = max(timings[2] - timings[1], 1e-9)
    return seconds / max(steps, 1), res.settings["device"]


def time_batch(jobs: Sequence[Job], depth: int, steps: int, warmup: int, device: str) -> tuple[float, str]:
    """Seconds per step of one batch holding every cell of ``jobs`` at ``depth``, and the device it ran on."""
    return seconds_per_step(build_batch(jobs, depth, device), steps, warmup)


_TIMED: dict[tuple, tuple[float, str]] = {}
"""Seconds per step by batch composition, shared by the two arrangements (the unpacked jobs are the same)."""


def arrangement(batches: list[list[Job]], steps: int, warmup: int, device: str, detail: list | None = None):
    """Extrapolated hours per device for a list of batches (each a list of jobs trained together); each
    batch's (depth, cells, ms per step, device, hours) is appended to ``detail``."""
    hours: dict[str, float] = {"cuda": 0.0, "cpu": 0.0}
    cache = _TIMED
    for jobs in batches:
        for depth in sorted({d for j in jobs for d in j.depths}):
            members = [j for j in jobs if depth in j.depths]
            key = (depth, tuple(sorted((j.optimizer, j.penalty, len(j.seeds)) for j in members)))
            if key not in cache:
                cache[key] = time_batch(jobs, depth, steps, warmup, device)
            per_step, dev = cache[key]
            budget = max(dict(j.train)["max_iters"] for j in members)
            hours["cuda" if dev.startswith("cuda") else "cpu"] += per_step * budget / 3600
            if detail is not None:
                cells = sum(len(j.seeds) for j in members)
                detail.append({"depth": depth, "cells": cells, "jobs": len(members), "device": dev,
                               "ms_per_step": round(1e3 * per_step, 3),
                               "hours": round(per_step * budget / 3600, 3)})  # fmt: skip
    return hours


def paper_jobs(spectral: str | None = None) -> tuple[dict, dict[str, Job], dict[str, list[str]]]:
    """config.yaml at ``scale: paper`` (``train.spectral`` overridden if given), its training jobs by
    result path and its packs."""
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    if spectral:
        raw["train"]["spectral"] = spectral
    config = load(raw)
    jobs = training_jobs(config)
    return config, jobs, make_packs(jobs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--cpu-slots", type=int, default=8, help="CPU jobs running at once beside the GPU")
    ap.add_argument("--threads", type=int, default=2, help="torch threads of each CPU job")
    ap.add_argument("--out", default=None)
    ap.add_argument("--skip-per-job", action="store_true", help="time only the packed arrangement")
    ap.add_argument(
        "--spectral", default=None, help="override train.spectral of config.yaml (e.g. auto-gesvda)"
    )
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    config, jobs, packs = paper_jobs(a.spectral)
    packed = {p for paths in packs.values() for p in paths}
    detail: list[dict] = []
    in_packs = arrangement(
        [[jobs[p] for p in paths] for paths in packs.values()] + [[jobs[p]] for p in jobs if p not in packed],
        a.steps, a.warmup, a.device, detail,
    )  # fmt: skip
    per_job = (
        None if a.skip_per_job else arrangement([[j] for j in jobs.values()], a.steps, a.warmup, a.device)
    )
    gpu = resolve_device(a.device, [get_penalty("ratio")])
    out = {
        "machine": torch.cuda.get_device_name() if gpu.type == "cuda" else platform.processor() or "cpu",
        "torch": torch.__version__,
        "steps_timed": a.steps,
        "jobs": len(jobs),
        "pack_count": len(packs),
        "packed_jobs": len(packed),
        "cpu_slots": a.cpu_slots,
        "threads_per_cpu_job": a.threads,
        "spectral": config["train"]["spectral"],
    }
    for name, hours in (("per_job", per_job), ("packs", in_packs)):
        if hours is None:
            continue
        cpu_wall = hours["cpu"] / a.cpu_slots
        out[name] = {
            "gpu_hours": round(hours["cuda"], 2),
            "cpu_job_hours": round(hours["cpu"], 2),
            "wall_hours_estimate": round(max(hours["cuda"], cpu_wall), 2),
        }
    out["pack_batches"] = detail
    print(json.dumps(out, indent=2))
    if a.out:
        Path(a.out).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
