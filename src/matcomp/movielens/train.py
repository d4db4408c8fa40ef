"""Training the two Table 2 models on MovieLens ratings, and one Table 2 row from a config.

Choices the paper leaves open (documented here and in the result's ``settings``):

* **Depth-1 LNN.**  Loss = D + λ·R(W), full batch, ``n_iters`` steps, with the data term
  D = Σ_Ω (W_ui + b − r_ui)² (``reduction="sum"``: the paper's Eq. 1, "near-identical to our synthetic
  experiments", and the core engine's default) or the MSE over Ω (``reduction="mean"``, i.e. λ scaled by
  1/|Ω|).  Under Adam the two differ only in how strong λ is against the data term at the observed entries;
  with ``"mean"``, λ = 1.5 collapses W to rank ≈ 1 (the global-mean predictor) on ml-100k-like synthetic
  data.  The scalar bias starts at 0 (``bias_init="zero"``; ``"mean"`` starts it at the training mean):
  Adam moves it by at most lr per step, and a bias stalled part-way explains the paper's Adam-only row
  (1.844).  The paper states no step count; ``n_iters`` = 20 000 because on a 300 × 500 synthetic proxy of
  ml-100k's density the penalised run first fits Ω (≈ 8k steps at lr 5e-4) and only then lowers the test
  error, still improving at 20k.  The train / validation / test RMSE is recorded every ``eval_every``
  steps (and at the last step): those are the LNN's evaluation points.
* **Embedding model.**  Loss per minibatch = MSE of the batch + λ_user·R(P) + λ_item·R(Q) on the *whole*
  user / item embedding matrices.  The "training error" of an epoch is the mean data MSE over its
  minibatches (what Spotlight reports); training stops when it rises ``patience`` (3) epochs in a row
  (A.1's rule, whatever the checkpoint).  The validation and test RMSE are recorded after every epoch.
* **Checkpoints.**  A.1: "evaluated on the full test set at the end.  The best model is
  check-pointed" -- on which split it does not say.  One run records the (train, validation, test) RMSE at
  every evaluation point (``history``) and derives every checkpoint of :data:`CHECKPOINTS` from it
  (:func:`choose_checkpoints`): ``last`` (the last point), ``train`` (lowest training error: the LNN's
  training RMSE, the embedding's epoch training error), ``validation`` (lowest RMSE on the validation part
  of the training split; the test split never takes part) and ``test`` (lowest test RMSE: the paper's text
  read literally, optimistic).  ``checkpoint`` names the headline checkpoint: the model's parameters at its
  point are kept (a copy whenever its criterion improves) and give the top-level ``test_rmse``,
  ``effective_rank`` etc.; ``checkpoints`` holds every checkpoint's point and RMSEs.
* GD rows use ``torch.optim.SGD`` with the same learning rate as the Adam rows of that model.
* Predictions are not clipped to 1…5.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from math import nan
from pathlib import Path
from typing import Any

import numpy as np
import torch

from matcomp.store.provenance import provenance
from matcomp.training.metrics import effective_rank
from matcomp.training.optimizers import make_optimizer, optimizer_kernel
from matcomp.training.penalties import Penalty, get_penalty
from matcomp.training.placement import movielens_device, resolve_device, resolve_route
from matcomp.training.spectral import route_record, value_and_grad

from .data import file_digest, interaction_shape, load_ratings, split_ratings, verify_ml100k
from .models import DepthOneLNN, EmbeddingModel
from .settings import PAPER_BEST, ROW_DEFAULTS
from .terms import CHECKPOINT_NOTES, CHECKPOINTS, MODELS, ROWS, split_label


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _spectrum_stats(matrix: torch.Tensor) -> float:
    """Effective rank of a matrix (NaN when it holds non-finite values, e.g. after divergence)."""
    a = matrix.detach().double().cpu().numpy()
    if not np.isfinite(a).all():
        return float("nan")
    return effective_rank(np.linalg.svd(a, compute_uv=False))


@torch.no_grad()
def _rmse(model: torch.nn.Module, u: torch.Tensor, i: torch.Tensor, r: torch.Tensor) -> float:
    if u.numel() == 0:
        return float("nan")
    return float(torch.sqrt(((model(u, i) - r) ** 2).mean()))


def _tensors(
    users: np.ndarray, items: np.ndarray, ratings: np.ndarray, idx: np.ndarray | None, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    idx = np.asarray([], dtype=np.int64) if idx is None else np.asarray(idx, dtype=np.int64)
    return (
        torch.as_tensor(users[idx], dtype=torch.long, device=device),
        torch.as_tensor(items[idx], dtype=torch.long, device=device),
        torch.as_tensor(ratings[idx], dtype=torch.float32, device=device),
    )


def _common(
    ratings: np.ndarray, train_idx: np.ndarray, test_idx: np.ndarray, val_idx: np.ndarray | None
) -> dict[str, Any]:
    mean = float(np.mean(ratings[train_idx]))
    return {
        "n_train": int(len(train_idx)),
        "n_val": 0 if val_idx is None else int(len(val_idx)),
        "n_test": int(len(test_idx)),
        "train_mean": mean,
        "global_mean_test_rmse": float(np.sqrt(np.mean((ratings[test_idx] - mean) ** 2))),
    }


Splits = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def _prepare(
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    train_idx: np.ndarray,
    val_idx: np.ndarray | None,
    test_idx: np.ndarray,
    shape: tuple[int, int] | None,
    seed: int,
    device: str | torch.device,
) -> tuple[
    torch.device, tuple[int, int], dict[str, Any], torch.Generator, tuple[Splits, Splits, Splits], bool
]:
    """What both trainers start from: device, matrix shape, split summary, the seeded generator (torch's
    global RNG seeded too), the train/val/test ratings as tensors, and whether there is a validation part."""
    dev = resolve_device(str(device))
    info = _common(ratings, train_idx, test_idx, val_idx)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    splits = tuple(_tensors(users, items, ratings, idx, dev) for idx in (train_idx, val_idx, test_idx))
    has_val = val_idx is not None and len(val_idx) > 0
    return dev, shape or interaction_shape(users, items), info, gen, splits, has_val  # type: ignore[return-value]


LNN_CURVES = {"train": "train_rmse", "validation": "val_rmse", "test": "test_rmse"}
"""Reading -> the LNN history column it minimises (its training error: the training RMSE at the point)."""
EMBEDDING_CURVES = {"train": "train_mse", "validation": "val_rmse", "test": "test_rmse"}
"""Reading -> the embedding history column it minimises (its training error: the epoch's mean minibatch MSE,
the quantity the three-rises stopping rule reads)."""


def check_checkpoint(checkpoint: str, has_val: bool) -> None:
    """``checkpoint`` must name one of :data:`CHECKPOINTS`; ``validation`` needs a validation part."""
    if checkpoint not in CHECKPOINTS:
        raise ValueError(f"checkpoint must be one of {', '.join(CHECKPOINTS)}, got {checkpoint!r}")
    if checkpoint == "validation" and not has_val:
        raise ValueError(
            "checkpoint 'validation' needs a validation part of the training split: val_frac > 0"
        )


def _first_argmin(values: list[float]) -> int | None:
    """Index of the first smallest finite value (None when there is none)."""
    best, idx = math.inf, None
    for k, v in enumerate(values):
        if v < best:  # NaN never compares smaller
            best, idx = v, k
    return idx


def choose_checkpoints(
    history: list[dict[str, float]], point_key: str, curves: Mapping[str, str], has_val: bool
) -> dict[str, dict[str, Any] | None]:
    """Every checkpoint of :data:`CHECKPOINTS` from one run's evaluation points.

    ``last`` is the last recorded point; ``train`` / ``validation`` / ``test`` the first point where the
    history column ``curves[ckpt]`` is smallest.  Each checkpoint: ``point`` (the ``point_key`` value: epoch
    or step; None when the curve has no finite value), its ``train_rmse`` / ``val_rmse`` / ``test_rmse``,
    the ``curve`` it minimised and a ``note`` in words.  ``validation`` is None without a validation part.
    """
    out: dict[str, dict[str, Any] | None] = {}
    for ckpt in CHECKPOINTS:
        if ckpt == "validation" and not has_val:
            out[ckpt] = None
            continue
        curve = curves.get(ckpt)
        if ckpt == "last":
            idx = len(history) - 1 if history else None
        else:
            idx = _first_argmin([float(h.get(curve, nan)) for h in history])  # type: ignore[arg-type]
        row = history[idx] if idx is not None else {}
        out[ckpt] = {
            "point": int(row[point_key]) if idx is not None else None,
            "unit": "step" if point_key == "iteration" else "epoch",
            **{k: float(row.get(k, nan)) for k in ("train_rmse", "val_rmse", "test_rmse")},
            "curve": curve,
            "note": CHECKPOINT_NOTES[ckpt],
        }
    return out


class _KeptState:
    """The model's parameters at the headline checkpoint's point: a copy whenever its criterion improves
    (strictly, so the first argmin -- the point :func:`choose_checkpoints` picks); nothing for ``last``."""

    def __init__(self, curve: str | None) -> None:
        self.curve, self.best = curve, math.inf
        self.state: dict[str, torch.Tensor] | None = None

    def offer(self, model: torch.nn.Module, row: Mapping[str, float]) -> None:
        if self.curve is not None and float(row.get(self.curve, nan)) < self.best:
            self.best = float(row[self.curve])
            self.state = copy.deepcopy(model.state_dict())

    def restore(self, model: torch.nn.Module) -> bool:
        """Load the kept parameters (True), or leave the last iterate (False)."""
        if self.state is not None:
            model.load_state_dict(self.state)
        return self.state is not None


def _eval_rmse(model: torch.nn.Module, tr: Splits, va: Splits, te: Splits, has_val: bool) -> dict[str, float]:
    """Train / validation / test RMSE of the current parameters (validation only when there is a part)."""
    out = {"train_rmse": _rmse(model, *tr), "test_rmse": _rmse(model, *te)}
    if has_val:
        out["val_rmse"] = _rmse(model, *va)
    return out


def lnn_penalty(pen: Penalty, weight: torch.Tensor, route: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The LNN's penalty R(W) and ∇_W R by the spectral route (:func:`matcomp.training.spectral.value_and_grad`),
    both detached: ``svd`` one SVD of the 944×1683 matrix and Lewis' formula (what autograd through
    ``svdvals`` gives); ``polar`` a polar factor from products with the 944×944 Gram matrix (ratio,
    nuclear), no SVD; ``gesvda`` the float64 shifted SVD of :func:`matcomp.training.spectral.shifted_svd`."""
    _, value, grad = value_and_grad(pen, weight.detach(), route)
    return value, grad


def _headline(
    model: torch.nn.Module,
    tr: Splits,
    va: Splits,
    te: Splits,
    has_val: bool,
    checkpoint: str,
    checkpoints: dict[str, dict[str, Any] | None],
) -> dict[str, Any]:
    """The result's top-level RMSEs, of the parameters at the headline checkpoint's point, and its checkpoints."""
    return {
        "checkpoint": checkpoint,
        "checkpoint_note": CHECKPOINT_NOTES[checkpoint],
        "test_rmse": _rmse(model, *te),
        "train_rmse": _rmse(model, *tr),
        "val_rmse": _rmse(model, *va) if has_val else None,
        "checkpoints": checkpoints,
    }


@dataclass
class _Fit:
    """One training run of either model: its evaluation history, where it ended, and how."""

    history: list[dict[str, float]]
    rounds: int
    diverged: bool
    seconds: float
    restored: bool


def _fit(
    model: torch.nn.Module,
    dev: torch.device,
    splits: tuple[Splits, Splits, Splits],
    has_val: bool,
    curve: str | None,
    rounds: int,
    one_round: Callable[[int], dict[str, float] | None],
    finite: str,
    stop: Callable[[list[dict[str, float]]], bool] | None = None,
) -> _Fit:
    """The loop both models share: ``rounds`` calls of ``one_round(k)`` (k = 1, 2, …: a step, or an epoch).

    A round that returns a row is an evaluation point: a non-finite ``row[finite]`` ends the run as diverged;
    otherwise the train / validation / test RMSE are added, the headline checkpoint's rule is offered the
    parameters (:class:`_KeptState`, criterion ``curve``) and ``stop(history)`` may end training.  At the end
    the kept parameters are restored (when the headline checkpoint keeps any: ``last`` keeps none)."""
    history: list[dict[str, float]] = []
    kept = _KeptState(curve)
    k, diverged = 0, False
    _sync(dev)
    t0 = time.perf_counter()
    for k in range(1, rounds + 1):
        row = one_round(k)
        if row is None:
            continue
        if not math.isfinite(row[finite]):
            diverged = True
            history.append(row)
            break
        row.update(_eval_rmse(model, *splits, has_val))
        history.append(row)
        kept.offer(model, row)
        if stop is not None and stop(history):
            break
    _sync(dev)
    seconds = time.perf_counter() - t0
    return _Fit(history, k, diverged, seconds, kept.restore(model))


def _rising(patience: int) -> Callable[[list[dict[str, float]]], bool]:
    """A.1's stopping rule: the training error (``train_mse``) rose ``patience`` evaluations in a row."""

    def stop(history: list[dict[str, float]]) -> bool:
        errs = [h["train_mse"] for h in history[-patience - 1 :]]
        return len(errs) > patience and all(b > a for a, b in zip(errs, errs[1:]))

    return stop


def _result(
    name: str, model: torch.nn.Module, splits: tuple[Splits, Splits, Splits], has_val: bool, fit: _Fit,
    settings: dict[str, Any], info: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """What both models return: the headline checkpoint's RMSEs, every checkpoint, the split summary, the run."""
    point_key, curves = ("iteration", LNN_CURVES) if name == "lnn" else ("epoch", EMBEDDING_CURVES)
    checkpoints = choose_checkpoints(fit.history, point_key, curves, has_val)
    checkpoint = settings["checkpoint"]
    return {
        "model": name,
        "optimizer": settings["optimizer"],
        **_headline(model, *splits, has_val, checkpoint, checkpoints),
        **info,
        "diverged": fit.diverged,
        "seconds": fit.seconds,
        "seed": settings["seed"],
        "settings": settings,
        "history": fit.history,
        f"best_{point_key}": checkpoints[checkpoint]["point"],  # type: ignore[index]
    }


def _rank(fit: _Fit, matrix: torch.Tensor) -> float:
    return nan if fit.diverged and not fit.restored else _spectrum_stats(matrix)


def train_lnn(
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    val_idx: np.ndarray | None = None,
    *,
    shape: tuple[int, int] | None = None,
    optimizer: str = "adam",
    lr: float = 5e-4,
    lam: float = 1.5,
    penalty: str = "ratio",
    n_iters: int = 20_000,
    init_std: float = 1e-3,
    init: str = "layer",
    bias_init: str | float = "zero",
    reduction: str = "sum",
    eval_every: int = 100,
    spectral: str = "auto",
    checkpoint: str = "last",
    seed: int = 0,
    device: str | torch.device = "auto",
) -> dict[str, Any]:
    """Train the depth-1 LNN full-batch on ``ratings[train_idx]``; return a JSON-ready result dict.

    ``users``/``items`` are the 1-based ids of :func:`~matcomp.movielens.data.load_ratings`; ``shape``
    defaults to ``(max_user + 1, max_item + 1)``.  ``lam = 0`` skips the SVD altogether.  The evaluation
    points are every ``eval_every`` steps and the last step; ``checkpoints`` holds every checkpoint,
    ``checkpoint`` names the headline one (see the module docstring).
    """
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
    dev, shape, info, gen, splits, has_val = _prepare(
        users, items, ratings, train_idx, val_idx, test_idx, shape, seed, movielens_device("lnn", str(device))
    )
    check_checkpoint(checkpoint, has_val)
    b0 = {"zero": 0.0, "mean": info["train_mean"]}.get(bias_init, bias_init)  # type: ignore[call-overload]
    model = DepthOneLNN(*shape, init_std=init_std, bias_init=float(b0), generator=gen, init=init).to(dev)
    opt = make_optimizer(optimizer, model.parameters(), lr=lr, fused=True)
    pen = get_penalty(penalty)
    route = resolve_route(spectral, pen, dev) if lam else "none"
    tr = splits[0]
    n_obs = max(tr[0].numel(), 1)

    def step(it: int) -> dict[str, float] | None:
        opt.zero_grad(set_to_none=True)
        sse = ((model(tr[0], tr[1]) - tr[2]) ** 2).sum()
        data = sse if reduction == "sum" else sse / n_obs
        data.backward()
        reg = torch.zeros((), device=dev)
        if lam:
            reg, reg_grad = lnn_penalty(pen, model.weight, route)
            model.weight.grad.add_(reg_grad, alpha=lam)
        loss = data.detach() + lam * reg
        opt.step()
        if it % eval_every and it != n_iters:
            return None
        return {"iteration": it, "loss": float(loss.detach()), "train_mse": float(sse.detach()) / n_obs,
                "penalty": float(reg.detach())}  # fmt: skip

    fit = _fit(model, dev, splits, has_val, LNN_CURVES.get(checkpoint), n_iters, step, "loss")
    settings = {
        "model": "lnn", "optimizer": optimizer, "lr": lr, "lam": lam, "penalty": penalty, "n_iters": n_iters,
        "init_std": init_std, "init": init, "bias_init": bias_init, "reduction": reduction, "eval_every": eval_every,
        "spectral": spectral, "checkpoint": checkpoint, "seed": seed, "shape": list(shape),
        "optimizer_kernel": optimizer_kernel(opt),
    }  # fmt: skip
    return {
        **_result("lnn", model, splits, has_val, fit, settings, info),
        "penalized": bool(lam),
        "iterations": fit.rounds,
        "seconds_per_iteration": fit.seconds / max(fit.rounds, 1),
        "effective_rank": _rank(fit, model.weight),
        "bias": float(model.bias.detach()),
        "provenance": provenance(
            device=str(dev), dtype="float32", spectral_route=route_record(route, torch.float32)
        ),
    }


def _embedding_epoch(
    model: EmbeddingModel, opt: torch.optim.Optimizer, pen: Penalty, lams: tuple[float, float], tr: Splits,
    perm: torch.Tensor, batch_size: int,
) -> float:  # fmt: skip
    """One epoch of minibatch steps (loss: the batch's MSE + λ_user·R(P) + λ_item·R(Q) on the whole
    embedding matrices); returns the epoch's training error, the mean minibatch MSE."""
    total = torch.zeros((), device=perm.device)
    for start in range(0, perm.numel(), batch_size):
        b = perm[start : start + batch_size]
        opt.zero_grad(set_to_none=True)
        mse = ((model(tr[0][b], tr[1][b]) - tr[2][b]) ** 2).mean()
        loss = mse
        for lam, emb in zip(lams, (model.user_embeddings, model.item_embeddings)):
            if lam:
                loss = loss + lam * pen.of_matrix(emb.weight)
        loss.backward()
        opt.step()
        total += mse.detach() * b.numel()
    return float(total) / perm.numel()


def train_embedding(
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    val_idx: np.ndarray | None = None,
    *,
    shape: tuple[int, int] | None = None,
    optimizer: str = "adam",
    lr: float = 1e-3,
    batch_size: int = 256,
    dim: int = 64,
    lam_user: float = 0.01,
    lam_item: float = 0.0,
    penalty: str = "ratio",
    n_epochs: int = 100,
    patience: int = 3,
    checkpoint: str = "last",
    seed: int = 0,
    device: str | torch.device = "auto",
) -> dict[str, Any]:
    """Train Spotlight's explicit factorization model with shuffled minibatches; return a result dict.

    ``effective_rank`` is that of the bilinear part ``P Qᵀ`` of the interaction matrix;
    ``effective_rank_user`` / ``effective_rank_item`` those of the embedding matrices P and Q, all at the
    headline checkpoint's point (``checkpoint``); ``checkpoints`` holds every checkpoint (module docstring).
    """
    dev, shape, info, gen, splits, has_val = _prepare(
        users,
        items,
        ratings,
        train_idx,
        val_idx,
        test_idx,
        shape,
        seed,
        movielens_device("embedding", str(device)),
    )
    check_checkpoint(checkpoint, has_val)
    model = EmbeddingModel(*shape, dim=dim, generator=gen).to(dev)
    opt = make_optimizer(optimizer, model.parameters(), lr=lr, fused=True)
    pen = get_penalty(penalty)
    shuffle_rng = np.random.default_rng([seed, 1])
    tr = splits[0]
    n_train = tr[0].numel()

    def epoch(k: int) -> dict[str, float]:
        perm = torch.as_tensor(shuffle_rng.permutation(n_train), device=dev)
        mse = _embedding_epoch(model, opt, pen, (lam_user, lam_item), tr, perm, batch_size)
        return {"epoch": k, "train_mse": mse}

    curve = EMBEDDING_CURVES.get(checkpoint)
    fit = _fit(model, dev, splits, has_val, curve, n_epochs, epoch, "train_mse", _rising(patience))
    settings = {
        "model": "embedding", "optimizer": optimizer, "lr": lr, "batch_size": batch_size, "dim": dim,
        "lam_user": lam_user, "lam_item": lam_item, "penalty": penalty, "n_epochs": n_epochs, "patience": patience,
        "checkpoint": checkpoint, "seed": seed, "shape": list(shape), "optimizer_kernel": optimizer_kernel(opt),
    }  # fmt: skip
    return {
        **_result("embedding", model, splits, has_val, fit, settings, info),
        "penalized": bool(lam_user or lam_item),
        "epochs": fit.rounds,
        "iterations": fit.rounds * math.ceil(n_train / batch_size),
        "seconds_per_epoch": fit.seconds / max(fit.rounds, 1),
        **{
            f"effective_rank{suffix}": _rank(fit, m)
            for suffix, m in (
                ("", model.matrix()),
                ("_user", model.user_embeddings.weight),
                ("_item", model.item_embeddings.weight),
            )
        },
        "provenance": provenance(device=str(dev), dtype="float32"),
    }


_RUN_KEYS = {"movielens_dir", "model", "row", "optimizer", "penalized", "train_frac", "val_frac", "seed"}
_RUN_KEYS |= {"split_seed", "device", "check_sha", "checkpoint", "data_sha256"}


def train_cell(config: Mapping[str, Any]) -> dict[str, Any]:
    """Run one (model, row, split, seed) cell of Table 2 from a flat config; return the result dict.

    Keys: ``movielens_dir`` (required), ``model`` (``lnn``/``embedding``), ``row`` (``GD``, ``GD+penalty``,
    ``Adam``, ``Adam+penalty``; or ``optimizer`` + ``penalized``), ``train_frac`` (0.9), ``val_frac`` (0:
    > 0 holds that fraction of the training split out for the ``validation`` ckpt, and every checkpoint
    then trains on the rest), ``checkpoint`` (``last``; the headline checkpoint of :data:`CHECKPOINTS` -- all of
    them are in ``checkpoints`` whatever it is), ``seed`` (0; also the split seed unless ``split_seed``),
    ``device`` (``auto``), ``check_sha`` (True: ``u.data`` must be the official file), ``data_sha256``
    (the digest of ``u.data`` the job was planned for: a file changed since is refused), and any
    hyper-parameter of :data:`PAPER_BEST` for the model (defaults: the paper's best settings, changed by
    :data:`ROW_DEFAULTS`).  Unpenalised rows set every λ to 0.
    """
    model = config.get("model", "lnn")
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; valid: {', '.join(MODELS)}")
    unknown = set(config) - _RUN_KEYS - set(PAPER_BEST[model])
    if unknown:
        raise ValueError(f"unknown keys for model {model!r}: {', '.join(sorted(unknown))}")
    if "row" in config:
        if config["row"] not in ROWS:
            raise ValueError(f"unknown row {config['row']!r}; valid: {', '.join(ROWS)}")
        optimizer, penalized = ROWS[config["row"]]
    else:
        optimizer, penalized = config.get("optimizer", "adam"), bool(config.get("penalized", True))
    row = {v: k for k, v in ROWS.items()}.get((optimizer, penalized), f"{optimizer}{'+penalty' * penalized}")
    if "movielens_dir" not in config:
        raise ValueError("config needs `movielens_dir` (an ml-100k folder holding u.data)")
    directory = Path(config["movielens_dir"])
    udata = verify_ml100k(directory, check_sha=bool(config.get("check_sha", True)))
    planned = config.get("data_sha256")
    if planned is not None and (got := file_digest(udata, "sha256")) != planned:
        raise ValueError(
            f"{udata} has sha256 {got}, but this job was planned for {planned}: the file changed after "
            "Snakemake planned the job; rerun the same command (the job gets a name of its own)"
        )
    users, items, ratings = load_ratings(directory)
    train_frac = float(config.get("train_frac", 0.9))
    val_frac = float(config.get("val_frac", 0.0))
    seed = int(config.get("seed", 0))
    train_idx, val_idx, test_idx = split_ratings(
        len(ratings), train_frac, int(config.get("split_seed", seed)), val_frac
    )
    defaults = {**PAPER_BEST[model], **ROW_DEFAULTS.get((model, optimizer), {})}
    hyper = {k: config.get(k, v) for k, v in defaults.items()}
    if not penalized:
        for k in ("lam", "lam_user", "lam_item"):
            if k in hyper:
                hyper[k] = 0.0
    train = train_lnn if model == "lnn" else train_embedding
    result = train(
        users,
        items,
        ratings,
        train_idx,
        test_idx,
        val_idx if len(val_idx) else None,
        optimizer=optimizer,
        checkpoint=str(config.get("checkpoint", "last")),
        seed=seed,
        device=config.get("device", "auto"),
        **hyper,
    )
    result.update(
        row=row,
        method=f"w. {row}",
        train_frac=train_frac,
        val_frac=val_frac,
        split=split_label(train_frac),
        config={k: (str(v) if isinstance(v, Path) else v) for k, v in config.items()},
    )
    return result
