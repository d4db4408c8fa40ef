"""From the config's experiment catalogue to the synthetic jobs and their cached result paths.

A *cell* is one (optimizer, penalty, depth, λ, rank, n_obs) combination under shared training and data
settings, with its seeds: one row of a table.  A *training job* holds the cells that differ only in depth
(all the depths any experiment asks for), trained one depth after the other in one process (each depth
one batch over the seeds) and written to one result file, so that the workflow has few, fat jobs.  A
job's path names its main settings and ends in a short hash of everything else it depends on
(:func:`short_hash`), so that

* a cell needed by two experiments (same settings) is in one job, trained once;
* changing any setting gives a new path: nothing already computed is overwritten, and another scale
  (other budgets or seeds) never reuses this one's results;
* the hash also covers the job's code (:mod:`matcomp.store.codehash`): editing what a job runs gives new paths,
  and results of the older code stay where they are (``matcomp clean --stale`` lists them).

λ is irrelevant without a penalty and a zero λ switches the penalty off, so both are normalised to
``penalty="none", λ=0``: Figure 3's λ = 0 curves are Table 1's unpenalised cells.

Every result path is a pattern of :mod:`matcomp.store.paths` (:data:`~matcomp.store.paths.TRAIN_RESULT`, …), filled in
here; the workflow's rules take their outputs, logs and benchmarks from the same patterns.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..store.codehash import code_hash, code_info
from ..store.paths import BASELINE_RESULT, DATA_FILE, TRAIN_RESULT
from ..training.penalties import get_penalty
from ..training.penalties import normalize as normalize_penalty
from ..training.placement import gpus_planned, wants_gpu
from ..training.settings import TRAIN_DEFAULTS, effective_train
from .config import SYNTHETIC_KINDS, ConfigError, enabled_experiments

DATA_KEYS = ("m", "n", "normalize")

PACKED = 1 << 30
"""The batch size a pack is assumed to have when deciding where its jobs run (a pack is large)."""


def short_hash(settings: dict[str, Any]) -> str:
    """10 hex digits identifying ``settings`` (JSON with sorted keys): the tail of a result path."""
    return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]


def train_hash(
    train: dict[str, Any], data: dict[str, Any], seeds: Sequence[int], depths: Sequence[int], code: str,
    placement: str,
) -> str:  # fmt: skip
    """The hash that ends a training result's path: every setting the result depends on (a job's, or one a
    result records: :mod:`matcomp.store.relabel` renames results by it)."""
    return short_hash({"train": train, "data": data, "seeds": seeds, "depths": depths, "code": code,
                       "placement": placement})  # fmt: skip


def code_record(kind: str, planned: str) -> dict[str, Any]:
    """What a job records about its code: kind, hash (the one in its path) and the files it covers."""
    info = code_info(kind)
    if info["hash"] != planned:
        raise RuntimeError(f"the package source of {kind} jobs changed while planning; plan again")
    return info


def data_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The ground truth's settings (:data:`DATA_KEYS`) and the hash of the code that generates it."""
    return {**{k: config["data"][k] for k in DATA_KEYS}, "code": code_hash("data")}


def data_path(data: dict[str, Any], rank: int, n_obs: int, seed: int) -> str:
    """A ground-truth file; its name ends in the data-generation code's hash (``data["code"]``)."""
    norm = "" if data.get("normalize", True) else "_raw"
    return DATA_FILE.format(
        m=data["m"], n=data["n"], rank=rank, n_obs=n_obs, seed=seed, norm=norm, code=data["code"]
    )


@dataclass(frozen=True)
class Cell:
    """One (optimizer, penalty, depth, λ, rank, n_obs) cell under fixed training and data settings."""

    optimizer: str
    penalty: str
    depth: int
    lam: float
    rank: int
    n_obs: int
    train: tuple[tuple[str, Any], ...]
    data: tuple[tuple[str, Any], ...]
    seeds: tuple[int, ...]

    @property
    def key(self) -> tuple[Any, ...]:
        """Everything but the depth: the cells of one training job."""
        return tuple(v for k, v in self.__dict__.items() if k != "depth")


@dataclass(frozen=True)
class TrainJob:
    """The cells of one training job: one key, every depth any experiment asks for.

    A job trains its depths one after the other, each depth as one batch over the seeds, and writes one
    result file whose path names the job's settings; a cell is (job file, depth).
    """

    optimizer: str
    penalty: str
    lam: float
    rank: int
    n_obs: int
    train: tuple[tuple[str, Any], ...]
    data: tuple[tuple[str, Any], ...]
    seeds: tuple[int, ...]
    depths: tuple[int, ...]
    experiments: tuple[str, ...] = field(default=(), compare=False)
    code: str = ""  # code hash of training jobs (matcomp.store.codehash)
    placement: str = (
        "cpu"  # cpu or gpu: where it runs (matcomp.training.placement), which can change its numbers
    )

    @property
    def settings_hash(self) -> str:
        return train_hash(
            dict(self.train), dict(self.data), self.seeds, self.depths, self.code, self.placement
        )

    @property
    def path(self) -> str:
        return TRAIN_RESULT.format(
            rank=self.rank, n_obs=self.n_obs, optimizer=self.optimizer, penalty=get_penalty(self.penalty).slug,
            lam=f"{self.lam:g}", hash=self.settings_hash,
        )  # fmt: skip

    def params(self) -> dict[str, Any]:
        """Every setting the result depends on (the rule's ``params``; what the job runs from)."""
        return {
            "path": self.path, "optimizer": self.optimizer, "penalty": self.penalty, "depths": list(self.depths),
            "lam": self.lam, "rank": self.rank, "n_obs": self.n_obs, "seeds": list(self.seeds),
            "train": dict(self.train), "data": dict(self.data), "code": code_record("train", self.code),
            "placement": self.placement,
        }  # fmt: skip

    def data_paths(self) -> list[str]:
        return [data_path(dict(self.data), self.rank, self.n_obs, s) for s in self.seeds]

    @property
    def packable(self) -> bool:
        """Whether the job runs faster on a GPU in a large batch, a pack (:mod:`matcomp.plan.packs`)."""
        return self.wants_gpu(batch=PACKED)

    def wants_gpu(self, device: str = "auto", batch: int | None = None) -> bool:
        """Whether this job (alone: its seeds are the batch; ``batch=None``: in a large pack) asks for a GPU
        (:func:`matcomp.training.placement.wants_gpu`)."""
        route = dict(self.train).get("spectral", "auto")
        size = len(self.seeds) if batch is None else batch
        return wants_gpu([get_penalty(self.penalty)], route, size, device)


def _as_list(exp: dict[str, Any], plural: str, singular: str) -> list[Any]:
    return list(exp[plural]) if plural in exp else [exp[singular]]


def inert_at_default(train: dict[str, Any], optimizer: str, penalty: str) -> dict[str, Any]:
    """``train`` with the settings that cannot change this cell's arithmetic at their defaults, so that a
    reading that changes them (``readings:``) shares the cell with the defaults: without a penalty the
    loss is the data term (``tol_on`` reads the same number either way), and ``gd_momentum`` is read only
    by the ``gd_momentum`` optimizer."""
    out = dict(train)
    if penalty == "none":
        out["tol_on"] = TRAIN_DEFAULTS["tol_on"]
    if optimizer != "gd_momentum":
        out["gd_momentum"] = TRAIN_DEFAULTS["gd_momentum"]
    return out


def for_optimizer(train: dict[str, Any], optimizer: str) -> dict[str, Any]:
    """``train`` with each per-optimizer setting (``lr: {gd: 1.0e-2, default: 1.0e-3}``,
    :data:`matcomp.plan.config.PER_OPTIMIZER`) at this optimizer's value: a cell's settings are numbers."""
    return {k: (v.get(optimizer, v["default"]) if isinstance(v, dict) else v) for k, v in train.items()}


def experiment_cells(exp: dict[str, Any], config: dict[str, Any]) -> list[Cell]:
    """The training cells of one experiment, in grid order (optimizer, depth, penalty, λ).

    Tables and dynamics figures are grids; a ``baselines`` experiment trains its ``networks`` (each an
    optimizer, penalty, λ and depth) at every point of its ``n_obs_grid``.
    """
    train = effective_train(config, exp)
    data = data_settings(config)
    seeds = tuple(int(s) for s in exp.get("seeds", config["seeds"]))

    def cell(opt: str, pen: str, depth: int, lam: float, n_obs: int) -> Cell:
        pen, lam = normalize_penalty(pen, lam)
        return Cell(opt, pen, int(depth), lam, int(exp["rank"]), int(n_obs),
                    tuple(sorted(inert_at_default(for_optimizer(train, opt), opt, pen).items())), tuple(sorted(data.items())),
                    seeds)  # fmt: skip

    if exp.get("kind") == "baselines":
        return [
            cell(net["optimizer"], net.get("penalty", "none"), net["depth"], net.get("lam", 0.0), n_obs)
            for n_obs in exp["n_obs_grid"]
            for net in exp.get("networks", [])
        ]
    return [
        cell(opt, pen, depth, lam, n_obs)
        for opt in exp["optimizers"]
        for depth in exp["depths"]
        for pen in exp["penalties"]
        for lam in _as_list(exp, "lams", "lam")
        for n_obs in _as_list(exp, "n_obs_grid", "n_obs")
    ]


def packing(config: dict[str, Any]) -> bool:
    """Whether GPU jobs train in packs (``pack_training``; auto: when the jobs get a GPU). Packs hold the jobs
    placed on a GPU, so ``pack_training: true`` where none is planned is refused rather than ignored."""
    setting = config.get("pack_training", "auto")
    planned = gpus_planned(config["device"], config.get("gpus", "auto"))
    if setting is True and not planned:
        raise ConfigError(
            f"pack_training: true packs the jobs placed on a GPU, and with device: {config['device']} and "
            f"gpus: {config.get('gpus', 'auto')} no job is (no GPU is planned here); set gpus: true "
            "(--config gpus=true, e.g. on a SLURM login node without one) or leave pack_training: auto"
        )
    return planned if setting == "auto" else bool(setting)


def _placement(job: TrainJob, config: dict[str, Any], packs: bool) -> str:
    """``gpu`` where the jobs get GPUs and this one is faster there (alone, or in a pack), else ``cpu``."""
    if not gpus_planned(config["device"], config.get("gpus", "auto")):
        return "cpu"
    faster = job.wants_gpu(config["device"]) or (packs and job.packable)
    return "gpu" if faster else "cpu"


def training_jobs(config: dict[str, Any]) -> dict[str, TrainJob]:
    """Every training job by result path; a cell wanted by several experiments is in one job, once."""
    depths: dict[tuple[Any, ...], set[int]] = {}
    users: dict[tuple[Any, ...], list[str]] = {}
    for name in enabled_experiments(config, SYNTHETIC_KINDS):
        for c in experiment_cells(config["experiments"][name], config):
            depths.setdefault(c.key, set()).add(c.depth)
            if name not in users.setdefault(c.key, []):
                users[c.key].append(name)
    jobs = {}
    code, packs = code_hash("train"), packing(config)
    for key, ds in depths.items():
        opt, pen, lam, rank, n_obs, train, data, seeds = key
        job = TrainJob(
            opt, pen, lam, rank, n_obs, train, data, seeds, tuple(sorted(ds)), tuple(users[key]), code
        )
        job = dataclasses.replace(job, placement=_placement(job, config, packs))
        jobs[job.path] = job
    return jobs


@dataclass(frozen=True)
class BaselineJob:
    """One classic method at one (rank, n_obs), all seeds; cached like a training job."""

    method: str
    rank: int
    n_obs: int
    options: tuple[tuple[str, Any], ...]
    data: tuple[tuple[str, Any], ...]
    seeds: tuple[int, ...]
    experiments: tuple[str, ...] = field(default=(), compare=False)
    code: str = ""  # code hash of baseline jobs (matcomp.store.codehash)

    @property
    def settings_hash(self) -> str:
        return short_hash(
            {"options": dict(self.options), "data": dict(self.data), "seeds": self.seeds, "code": self.code}
        )

    @property
    def path(self) -> str:
        return BASELINE_RESULT.format(
            method=self.method, rank=self.rank, n_obs=self.n_obs, hash=self.settings_hash
        )

    def params(self) -> dict[str, Any]:
        return {"path": self.path, "method": self.method, "rank": self.rank, "n_obs": self.n_obs,
                "options": dict(self.options), "data": dict(self.data), "seeds": list(self.seeds),
                "code": code_record("baseline", self.code)}  # fmt: skip

    def data_paths(self) -> list[str]:
        return [data_path(dict(self.data), self.rank, self.n_obs, s) for s in self.seeds]


def baseline_options(method: str, exp: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """A method's options: the experiment's, plus its implementation where the registry names one (fixed,
    as the published OptSpace's, or read from a config key, as ``optspace`` for the paper's OPT)."""
    from ..baselines import BASELINES

    opts = dict((exp.get("methods") or {}).get(method) or {})
    spec = BASELINES[method]
    if spec.implementation:
        opts.setdefault("implementation", spec.implementation)
    elif spec.implementation_key:
        opts.setdefault("implementation", config.get(spec.implementation_key, "auto"))
    return opts


def baseline_jobs(config: dict[str, Any]) -> dict[str, BaselineJob]:
    """Every baseline job by result path (a job wanted by two experiments is planned once)."""
    jobs: dict[str, BaselineJob] = {}
    data = tuple(sorted(data_settings(config).items()))
    code = code_hash("baseline")
    for name in enabled_experiments(config, ("baselines",)):
        exp = config["experiments"][name]
        seeds = tuple(int(s) for s in exp.get("seeds", config["seeds"]))
        for method in exp.get("methods") or {}:
            opts = tuple(sorted(baseline_options(method, exp, config).items()))
            for n_obs in exp["n_obs_grid"]:
                job = BaselineJob(method, int(exp["rank"]), int(n_obs), opts, data, seeds, code=code)
                prev = jobs.get(job.path)
                users = (*prev.experiments, name) if prev else (name,)
                jobs[job.path] = dataclasses.replace(job, experiments=users)
    return jobs
