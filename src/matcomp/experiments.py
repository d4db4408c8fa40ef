"""From the config's experiment catalogue to training cells, jobs and their cached result paths.

A *cell* is one (optimizer, penalty, depth, λ, rank, n_obs) combination under shared training and data
settings; its seeds train together as one batch.  A *job* holds the cells that differ only in depth (all
the depths any experiment asks for), trained one depth after the other in one process and written to one
result file, so that the workflow has few, fat jobs.  A job's path names its main settings and ends in a
short hash of everything else it depends on, so that

* a cell needed by two experiments (same settings) is in one job, trained once;
* changing any setting gives a new path: nothing already computed is overwritten, and another scale
  (other budgets or seeds) never reuses this one's results;
* the hash also covers the job's code (:mod:`matcomp.codehash`): editing what a job runs gives new paths,
  and results of the older code stay where they are (``matcomp clean --stale`` lists them).

λ is irrelevant without a penalty and a zero λ switches the penalty off, so both are normalised to
``penalty="none", λ=0``: Figure 3's λ = 0 curves are Table 1's unpenalised cells.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from .codehash import code_hash, code_info
from .optimizers import check_optimizer
from .penalties import get_penalty

TRAIN_KEYS = ("lr", "init_std", "max_iters", "tol", "reduction", "log", "dtype", "width", "spectral")
DATA_KEYS = ("m", "n", "normalize")
KINDS = ("table", "dynamics", "baselines", "movielens")
BASELINE_METHODS = ("cp", "si", "opt", "opt_published")


class ConfigError(ValueError):
    """A malformed config; the message names the offending key."""


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated recursively by ``over`` (lists and scalars replace)."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = (
            deep_merge(out[k], v)
            if isinstance(v, dict) and isinstance(out.get(k), dict)
            else copy.deepcopy(v)
        )
    return out


def effective_config(config: dict[str, Any]) -> dict[str, Any]:
    """Apply the named ``scale`` (``paper`` is the config as written) and drop the ``scales`` table."""
    scale = config.get("scale", "paper")
    scales = config.get("scales", {})
    if scale != "paper" and scale not in scales:
        raise ConfigError(f"config key 'scale': unknown scale {scale!r}; valid: paper, {', '.join(scales)}")
    eff = deep_merge(config, scales.get(scale, {})) if scale != "paper" else copy.deepcopy(config)
    eff.pop("scales", None)
    eff["scale"] = scale
    return eff


def _fmt_lam(lam: float) -> str:
    return f"{lam:g}"


def normalize_penalty(penalty: str, lam: float) -> tuple[str, float]:
    """(penalty spec, λ) with "no penalty" in one form: penalty none or λ = 0 ⇒ ("none", 0.0)."""
    if penalty == "none" or lam == 0:
        return "none", 0.0
    return get_penalty(penalty).spec, float(lam)


def short_hash(settings: dict[str, Any]) -> str:
    """10 hex digits identifying ``settings`` (JSON with sorted keys): the tail of a result path."""
    return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]


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
class Job:
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
    code: str = ""  # code hash of training jobs (matcomp.codehash)

    @property
    def settings_hash(self) -> str:
        return short_hash(
            {"train": dict(self.train), "data": dict(self.data), "seeds": self.seeds, "depths": self.depths,
             "code": self.code}
        )  # fmt: skip

    @property
    def path(self) -> str:
        slug = get_penalty(self.penalty).slug
        return f"results/cells/r{self.rank}_o{self.n_obs}/{self.optimizer}/{slug}/lam{_fmt_lam(self.lam)}_{self.settings_hash}.json"

    def params(self) -> dict[str, Any]:
        """Every setting the result depends on (the rule's ``params``)."""
        return {
            "optimizer": self.optimizer, "penalty": self.penalty, "depths": list(self.depths), "lam": self.lam,
            "rank": self.rank, "n_obs": self.n_obs, "seeds": list(self.seeds),
            "train": dict(self.train), "data": dict(self.data), "code": _code_record("train", self.code),
        }  # fmt: skip

    def data_paths(self) -> list[str]:
        return [data_path(dict(self.data), self.rank, self.n_obs, s) for s in self.seeds]


def _code_record(kind: str, planned: str) -> dict[str, Any]:
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
    return f"results/data/m{data['m']}_n{data['n']}_r{rank}_o{n_obs}_s{seed}{norm}_{data['code']}.npz"


def _as_list(exp: dict[str, Any], plural: str, singular: str) -> list[Any]:
    if plural in exp:
        return list(exp[plural])
    if singular in exp:
        return [exp[singular]]
    raise ConfigError(f"experiment needs '{plural}' or '{singular}'")


def experiment_cells(exp: dict[str, Any], config: dict[str, Any]) -> list[Cell]:
    """The training cells of one experiment, in grid order (optimizer, depth, penalty, λ).

    Tables and dynamics figures are grids; a ``baselines`` experiment trains its ``networks`` (each an
    optimizer, penalty, λ and depth) at every point of its ``n_obs_grid``.
    """
    train = {k: exp.get("train", {}).get(k, config["train"].get(k)) for k in TRAIN_KEYS}
    data = data_settings(config)
    seeds = tuple(int(s) for s in exp.get("seeds", config["seeds"]))

    def cell(opt: str, pen: str, depth: int, lam: float, n_obs: int) -> Cell:
        pen, lam = normalize_penalty(pen, lam)
        return Cell(opt, pen, int(depth), lam, int(exp["rank"]), int(n_obs),
                    tuple(sorted(train.items())), tuple(sorted(data.items())), seeds)  # fmt: skip

    if exp.get("kind") == "baselines":
        return [
            cell(net["optimizer"], net.get("penalty", "none"), net["depth"], net.get("lam", 0.0), n_obs)
            for n_obs in exp["n_obs_grid"]
            for net in exp.get("networks", [])
        ]
    return [
        cell(opt, pen, depth, lam, exp["n_obs"])
        for opt in exp["optimizers"]
        for depth in exp["depths"]
        for pen in exp["penalties"]
        for lam in _as_list(exp, "lams", "lam")
    ]


def training_experiments(config: dict[str, Any]) -> list[str]:
    return [
        name
        for name, exp in config["experiments"].items()
        if exp.get("kind") in ("table", "dynamics", "baselines") and exp.get("enabled", True)
    ]


def all_jobs(config: dict[str, Any]) -> dict[str, Job]:
    """Every training job by result path; a cell wanted by several experiments is in one job, once."""
    depths: dict[tuple[Any, ...], set[int]] = {}
    users: dict[tuple[Any, ...], list[str]] = {}
    for name in training_experiments(config):
        for c in experiment_cells(config["experiments"][name], config):
            depths.setdefault(c.key, set()).add(c.depth)
            if name not in users.setdefault(c.key, []):
                users[c.key].append(name)
    jobs = {}
    code = code_hash("train")
    for key, ds in depths.items():
        opt, pen, lam, rank, n_obs, train, data, seeds = key
        job = Job(
            opt, pen, lam, rank, n_obs, train, data, seeds, tuple(sorted(ds)), tuple(users[key]), code=code
        )
        jobs[job.path] = job
    return jobs


def experiment_jobs(config: dict[str, Any], name: str) -> list[str]:
    """Result files an experiment reads."""
    return [path for path, job in all_jobs(config).items() if name in job.experiments]


def _check_spectral(config: dict[str, Any], exp: dict[str, Any], where: str) -> None:
    """``spectral: polar`` only with penalties that have a polar form (ratio, nuclear, none)."""
    import torch

    from .spectral import resolve_route

    route = exp.get("train", {}).get("spectral", config.get("train", {}).get("spectral", "auto"))
    pens = [*exp.get("penalties", []), *(net.get("penalty", "none") for net in exp.get("networks", []))]
    for pen in pens:
        try:
            resolve_route(route, get_penalty(pen), torch.device("cpu"))
        except ValueError as err:
            key = f"{where}.train.spectral" if "spectral" in exp.get("train", {}) else "train.spectral"
            raise ConfigError(f"config key '{key}' (with {where}): {err}") from None


def _check_optspace(key: str, implementation: Any, method: str = "opt") -> None:
    """An OptSpace implementation valid for ``method`` (opt_published runs builtin-published only)."""
    from .baselines.optspace import check_implementation

    try:
        check_implementation(implementation)
    except ValueError as err:
        raise ConfigError(f"config key '{key}': {err}") from None
    if method == "opt_published" and implementation != "builtin-published":
        raise ConfigError(f"config key '{key}': opt_published runs 'builtin-published' only")


def validate_config(config: dict[str, Any]) -> None:
    """Semantic checks the JSON schema cannot express; each error names its key."""
    if "optspace" in config:
        _check_optspace("optspace", config["optspace"])
    for name, exp in config.get("experiments", {}).items():
        where = f"experiments.{name}"
        kind = exp.get("kind")
        if kind not in KINDS:
            raise ConfigError(f"config key '{where}.kind': {kind!r} is not one of {', '.join(KINDS)}")
        for i, opt in enumerate(exp.get("optimizers", [])):
            try:
                check_optimizer(opt)
            except ValueError as err:
                raise ConfigError(f"config key '{where}.optimizers[{i}]': {err}") from None
        nets = exp.get("networks", [])
        for i, net in enumerate(nets):
            try:
                check_optimizer(net.get("optimizer"))
                get_penalty(net.get("penalty", "none"))
            except ValueError as err:
                raise ConfigError(f"config key '{where}.networks[{i}]': {err}") from None
        for method, opts in (exp.get("methods") or {}).items():
            if method not in BASELINE_METHODS:
                raise ConfigError(
                    f"config key '{where}.methods.{method}': unknown baseline; valid: {', '.join(BASELINE_METHODS)}"
                )
            if method in ("opt", "opt_published") and "implementation" in (opts or {}):
                _check_optspace(f"{where}.methods.{method}.implementation", opts["implementation"], method)
        for i, pen in enumerate(exp.get("penalties", [])):
            try:
                get_penalty(pen)
            except ValueError as err:
                raise ConfigError(f"config key '{where}.penalties[{i}]': {err}") from None
        _check_spectral(config, exp, where)
        for key in ("lam", "lams"):
            vals = exp.get(key, [])
            for v in vals if isinstance(vals, list) else [vals]:
                if not isinstance(v, int | float) or v < 0:
                    raise ConfigError(f"config key '{where}.{key}': λ must be a number >= 0, got {v!r}")
        for key in ("rank", "n_obs"):
            if key in exp and (not isinstance(exp[key], int) or exp[key] < 1):
                raise ConfigError(f"config key '{where}.{key}': must be a positive integer, got {exp[key]!r}")
        if "rank" in exp and "n_obs" in exp and "data" in config:
            m, n = config["data"]["m"], config["data"]["n"]
            if exp["rank"] > min(m, n) or exp["n_obs"] > m * n:
                raise ConfigError(
                    f"config key '{where}': rank {exp['rank']} / n_obs {exp['n_obs']} impossible for {m}x{n}"
                )


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
    code: str = ""  # code hash of baseline jobs (matcomp.codehash)

    @property
    def settings_hash(self) -> str:
        blob = json.dumps(
            {"options": dict(self.options), "data": dict(self.data), "seeds": self.seeds, "code": self.code},
            sort_keys=True,
        )
        return hashlib.sha1(blob.encode()).hexdigest()[:10]

    @property
    def path(self) -> str:
        return f"results/baselines/{self.method}/r{self.rank}_o{self.n_obs}_{self.settings_hash}.json"

    def params(self) -> dict[str, Any]:
        return {"method": self.method, "rank": self.rank, "n_obs": self.n_obs, "options": dict(self.options),
                "data": dict(self.data), "seeds": list(self.seeds),
                "code": _code_record("baseline", self.code)}  # fmt: skip

    def data_paths(self) -> list[str]:
        return [data_path(dict(self.data), self.rank, self.n_obs, s) for s in self.seeds]


def baseline_options(method: str, exp: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """A method's options: the experiment's, plus the OptSpace implementation for the OPT methods.

    ``opt`` (the paper's curve) takes the top-level ``optspace`` choice; ``opt_published`` always runs the
    published algorithm (``builtin-published``).
    """
    opts = dict((exp.get("methods") or {}).get(method) or {})
    if method == "opt":
        opts.setdefault("implementation", config.get("optspace", "auto"))
    elif method == "opt_published":
        opts.setdefault("implementation", "builtin-published")
    return opts


def all_baseline_jobs(config: dict[str, Any]) -> dict[str, BaselineJob]:
    jobs: dict[str, BaselineJob] = {}
    data = tuple(sorted(data_settings(config).items()))
    code = code_hash("baseline")
    for name, exp in config["experiments"].items():
        if exp.get("kind") != "baselines" or not exp.get("enabled", True):
            continue
        seeds = tuple(int(s) for s in exp.get("seeds", config["seeds"]))
        for method in exp.get("methods") or {}:
            opts = tuple(sorted(baseline_options(method, exp, config).items()))
            for n_obs in exp["n_obs_grid"]:
                job = BaselineJob(method, int(exp["rank"]), int(n_obs), opts, data, seeds, code=code)
                prev = jobs.get(job.path)
                users = (*prev.experiments, name) if prev else (name,)
                jobs[job.path] = BaselineJob(**{**job.__dict__, "experiments": users})
    return jobs
