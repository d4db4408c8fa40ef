"""Table 2's jobs: the config's ``kind: movielens`` experiment -> one job per (model, row, split, seed), each a
cached result file whose path names its settings (plus a hash of the hyper-parameters and the code).

Every run records its (train, validation, test) RMSE at every evaluation point and so yields every checkpoint
(``last``, ``train``, ``validation``, ``test``; see :mod:`matcomp.movielens.train`); Table 2 shows
them side by side (:mod:`matcomp.report.table2`), and the experiment's ``checkpoint`` names the headline
one.  With ``val_frac`` > 0 every run trains on the training split minus that fraction (the validation
part), whatever the checkpoint.

With ``sweep.enabled`` every row becomes a grid of such jobs (the search grids of appendix A.1), each
trained on the training split minus a validation part (``sweep.val_frac``); Table 2 then reports, per
checkpoint, the grid point it selects.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..movielens.terms import ROWS
from ..store.codehash import code_info
from ..store.paths import MOVIELENS_DOWNLOAD as DOWNLOAD_DIR
from ..store.paths import MOVIELENS_RESULT
from ..training.placement import gpus_planned, movielens_wants_gpu
from .config import PENALIZE, check_sweep_grid, enabled_experiments
from .jobs import code_record, short_hash

_LAMBDA_KEYS = ("lam", "lam_user", "lam_item")


def row_slug(row: str) -> str:
    return row.lower().replace("+", "_")


def data_dir(config: dict[str, Any]) -> str:
    """The ml-100k folder the jobs read: ``movielens_dir`` if set, else the download rule's folder."""
    return config.get("movielens_dir") or DOWNLOAD_DIR


def sweep_points(model: str, row: str, grid: Mapping[str, Sequence[Any]], where: str) -> list[dict[str, Any]]:
    """The hyper-parameter points of one (model, row) under a sweep grid (a cartesian product).

    ``grid`` maps hyper-parameters of the model (see :data:`matcomp.movielens.settings.PAPER_BEST`) to lists of
    values; ``lam`` is the penalty strength, and for the embedding model ``penalize`` (``user``, ``item``,
    ``both``; default ``user``) says which embedding it applies to (or give ``lam_user`` / ``lam_item``
    lists, crossed as they are).  Unpenalised rows drop the λ axes (their λ is 0), so a grid point is never
    trained twice.  A bad grid is a :class:`~matcomp.plan.config.ConfigError` naming the key ``where``.
    """
    check_sweep_grid(model, dict(grid), where)
    penalized = ROWS[row][1]
    axes = {k: v for k, v in grid.items() if k not in (*_LAMBDA_KEYS, "penalize")}
    lam_points: list[dict[str, Any]] = [{}]
    if penalized and "lam" in grid:
        if model == "lnn":
            lam_points = [{"lam": float(v)} for v in grid["lam"]]
        else:
            lam_points = [
                {"lam_user": PENALIZE[t][0] * float(v), "lam_item": PENALIZE[t][1] * float(v)}
                for t in grid.get("penalize", ["user"])
                for v in grid["lam"]
            ]
    elif penalized:
        keys = [k for k in ("lam_user", "lam_item") if k in grid]
        lam_points = [dict(zip(keys, vals)) for vals in itertools.product(*(grid[k] for k in keys))]
    points: list[dict[str, Any]] = []
    for lam_point in lam_points:
        for vals in itertools.product(*axes.values()):
            point = {**dict(zip(axes, vals)), **lam_point}
            if point not in points:
                points.append(point)
    return points


@dataclass(frozen=True)
class MovieLensJob:
    """One (model, row, split, seed) run of Table 2 with its hyper-parameters: the flat config of
    :func:`matcomp.movielens.train_cell` (:attr:`run`)."""

    run: tuple[tuple[str, Any], ...]
    experiment: str = field(default="", compare=False)
    code: str = ""

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self.run)

    @property
    def path(self) -> str:
        run = self.settings
        return MOVIELENS_RESULT.format(
            model=run["model"], row=row_slug(run["row"]), pct=round(100 * run["train_frac"]), seed=run["seed"],
            hash=short_hash({**run, "code": self.code}),
        )  # fmt: skip

    def params(self) -> dict[str, Any]:
        """What the job runs from (the rule's ``params``)."""
        return {**self.settings, "experiment": self.experiment, "path": self.path,
                "code": code_record("movielens", self.code)}  # fmt: skip


def data_digest(config: dict[str, Any]) -> str:
    """The sha256 of the ``u.data`` the jobs read, part of every job's settings and so of its name: the
    official file's when ``movielens_verify`` (the job refuses any other), else the file's own as it is
    while planning ("missing" before it exists), so that other data is another result, never the old one."""
    from ..movielens.data import UDATA_SHA256, file_digest

    if config.get("movielens_verify", True):
        return UDATA_SHA256
    udata = Path(data_dir(config)) / "u.data"
    return file_digest(udata, "sha256") if udata.is_file() else "missing"


def movielens_jobs(config: dict[str, Any]) -> dict[str, MovieLensJob]:
    """Every MovieLens job by result path."""
    jobs: dict[str, MovieLensJob] = {}
    if not enabled_experiments(config, ("movielens",)):
        return jobs
    data_sha = data_digest(config)
    code = code_info("movielens")["hash"]  # in the hash: new code, new paths
    device = config.get("device", "auto")
    gpus = gpus_planned(device, config.get("gpus", "auto"))
    for name in enabled_experiments(config, ("movielens",)):
        exp = config["experiments"][name]
        sweep = exp.get("sweep") or {}
        sweeping = bool(sweep.get("enabled", False))
        val_frac = float(sweep.get("val_frac", 0.0) if sweeping else exp.get("val_frac", 0.0))
        checkpoint = str(exp.get("checkpoint", "last"))
        for model in exp["models"]:
            hyper = dict(exp.get(model) or {})
            for row in exp["rows"]:
                where = f"experiments.{name}.sweep.{model}"
                points = sweep_points(model, row, sweep.get(model) or {}, where) if sweeping else [{}]
                for point in points:
                    for frac in exp["splits"]:
                        for seed in exp.get("seeds", config["seeds"]):
                            run = {"model": model, "row": row, "train_frac": float(frac), "seed": int(seed),
                                   "val_frac": val_frac, "checkpoint": checkpoint, **hyper, **point,
                                   "check_sha": bool(config.get("movielens_verify", True)), "data_sha256": data_sha,
                                   "placement": "gpu" if gpus and movielens_wants_gpu(model, device) else "cpu"}  # fmt: skip
                            job = MovieLensJob(tuple(run.items()), name, code)
                            jobs[job.path] = job
    return jobs
