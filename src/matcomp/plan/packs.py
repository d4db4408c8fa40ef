"""Packs: training jobs that run together as one batch per depth, so that a GPU has enough cells.

A job of the DAG covers one (optimizer, penalty, λ, rank, n_obs) with its seeds — 5 networks per depth at
the paper's scale, far too few to keep a GPU busy (a step of 5 networks is launch-bound).  A *pack* is
every job that shares the training settings and the matrix shape and runs faster on a GPU
(:func:`matcomp.training.placement.gpu_is_faster`: no penalty, a penalty with a polar form on the polar route, or a
Schatten penalty on the ``gesvda`` route, which only ``spectral: gesvda`` or ``auto-gesvda`` selects):
for each depth, all their cells train as one mixed batch (:func:`matcomp.jobs.train.train_jobs`), across
optimizers (each steps its own slice of the batch) and penalties, so one polar factor and one batched SVD
per step serve them all.  Jobs whose step needs the exact SVD (the Schatten penalties under ``auto``,
anything under ``svd``) are never packed: their device is the CPU, where separate jobs use the cores in
parallel.

Each job keeps its own result file (its path names its settings); a pack only decides which jobs run in
one process.  The cost, on a rerun: a pack's outputs are produced together, so when one member's
settings change (a new path), the whole pack trains again; at the paper's scale under ``auto`` that is
all 67 jobs without a Schatten penalty, ~1.3 hours on an H200 (``benchmarks/README.md``).
``pack_training: false`` trains job by job instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..store.paths import PACK_FOLDER
from .jobs import TrainJob, short_hash


def pack_folder(pack: str) -> str:
    return PACK_FOLDER.format(pack=pack)


def pack_key(job: TrainJob) -> tuple[Any, ...]:
    """What a pack's jobs share: training settings and data settings (the matrix shape)."""
    return (job.train, job.data)


def make_packs(jobs: Mapping[str, TrainJob], max_cells: int = 4096) -> dict[str, list[str]]:
    """Pack id → the result paths of its jobs (sorted), for every packable job.

    ``max_cells`` bounds the cells of one depth's batch (GPU memory: 4 096 cells of depth 5 hold about
    6 GB of float32 weights and optimizer state); a larger group is split into several packs.
    The id is a hash of the member paths, so it changes whenever a member does.
    """
    groups: dict[tuple[Any, ...], list[str]] = {}
    for path in sorted(jobs):
        if jobs[path].packable and jobs[path].placement == "gpu":
            groups.setdefault(pack_key(jobs[path]), []).append(path)
    packs: dict[str, list[str]] = {}
    for paths in groups.values():
        chunk: list[str] = []
        for path in paths:
            if chunk and _cells(jobs, [*chunk, path]) > max_cells:
                packs[_pack_id(chunk)] = chunk
                chunk = []
            chunk.append(path)
        packs[_pack_id(chunk)] = chunk
    return packs


def _cells(jobs: Mapping[str, TrainJob], paths: list[str]) -> int:
    """The largest per-depth batch of these jobs together."""
    per_depth: dict[int, int] = {}
    for path in paths:
        for depth in jobs[path].depths:
            per_depth[depth] = per_depth.get(depth, 0) + len(jobs[path].seeds)
    return max(per_depth.values(), default=0)


def _pack_id(paths: list[str]) -> str:
    return f"pack_{short_hash({'jobs': paths})}"
