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
  error, still improving at 20k.  With a validation split the iterate with the best validation RMSE
  (checked every ``eval_every`` steps) is kept, otherwise the last one.
* **Embedding model.**  Loss per minibatch = MSE of the batch + λ_user·R(P) + λ_item·R(Q) on the *whole*
  user / item embedding matrices.  The "training error" of an epoch is the mean data MSE over its
  minibatches (what Spotlight reports); training stops when it rises ``patience`` (3) epochs in a row.
  The checkpoint kept is the epoch with the best validation RMSE when a validation split is given,
  otherwise the one with the lowest training error.
* GD rows use ``torch.optim.SGD`` with the same learning rate as the Adam rows of that model.
* Predictions are not clipped to 1…5.  Test RMSE is computed once, on the kept checkpoint.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Mapping
from math import nan
from pathlib import Path
from typing import Any

import numpy as np
import torch

from matcomp.metrics import effective_rank
from matcomp.optimizers import make_optimizer, optimizer_kernel
from matcomp.penalties import get_penalty
from matcomp.provenance import provenance
from matcomp.train import resolve_device

from .data import interaction_shape, load_ratings, split_ratings, verify_ml100k
from .models import DepthOneLNN, EmbeddingModel

ROWS: dict[str, tuple[str, bool]] = {
    "GD": ("gd", False),
    "GD+penalty": ("gd", True),
    "Adam": ("adam", False),
    "Adam+penalty": ("adam", True),
}
"""Table 2's four rows per model: label -> (optimizer, penalised)."""

MODELS = ("lnn", "embedding")

PAPER_BEST: dict[str, dict[str, Any]] = {
    "lnn": {
        "lr": 5e-4,
        "lam": 1.5,
        "penalty": "ratio",
        "n_iters": 20_000,
        "init_std": 1e-3,
        "bias_init": "zero",
        "reduction": "sum",
        "eval_every": 100,
    },
    "embedding": {
        "lr": 1e-3,
        "batch_size": 256,
        "dim": 64,
        "lam_user": 0.01,
        "lam_item": 0.0,
        "penalty": "ratio",
        "n_epochs": 100,
        "patience": 3,
    },
}
"""The paper's best settings (appendix A.1).

``n_iters``, ``eval_every``, ``bias_init`` and ``reduction`` are our choices (see the module docstring)."""

ROW_DEFAULTS: dict[tuple[str, str], dict[str, Any]] = {("lnn", "gd"): {"reduction": "mean"}}
"""Per (model, optimizer) changes to :data:`PAPER_BEST` (a config key still wins).  Plain GD on the *sum*
data term diverges at lr = 5e-4 on ml-100k (the bias alone has curvature 2|Ω| ≈ 1.6e5, stable only for
lr < 1.2e-5), so the LNN's GD rows use the mean data term at the same learning rate."""


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
    bias_init: str | float = "zero",
    reduction: str = "sum",
    eval_every: int = 100,
    seed: int = 0,
    device: str | torch.device = "auto",
) -> dict[str, Any]:
    """Train the depth-1 LNN full-batch on ``ratings[train_idx]``; return a JSON-ready result dict.

    ``users``/``items`` are the 1-based ids of :func:`~matcomp.movielens.data.load_ratings`; ``shape``
    defaults to ``(max_user + 1, max_item + 1)``.  ``lam = 0`` skips the SVD altogether.
    """
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
    dev, shape, info, gen, (tr, va, te), has_val = _prepare(
        users, items, ratings, train_idx, val_idx, test_idx, shape, seed, device
    )
    b0 = {"zero": 0.0, "mean": info["train_mean"]}.get(bias_init, bias_init)  # type: ignore[call-overload]
    model = DepthOneLNN(*shape, init_std=init_std, bias_init=float(b0), generator=gen).to(dev)
    opt = make_optimizer(optimizer, model.parameters(), lr=lr, fused=True)
    pen = get_penalty(penalty)
    n_obs = max(tr[0].numel(), 1)

    history: list[dict[str, float]] = []
    best_state: dict[str, torch.Tensor] | None = None
    best_val, best_it, it, diverged = math.inf, 0, 0, False
    _sync(dev)
    t0 = time.perf_counter()
    for it in range(1, n_iters + 1):
        opt.zero_grad(set_to_none=True)
        sse = ((model(tr[0], tr[1]) - tr[2]) ** 2).sum()
        reg = pen.of_matrix(model.weight) if lam else torch.zeros((), device=dev)
        loss = (sse if reduction == "sum" else sse / n_obs) + lam * reg
        loss.backward()
        opt.step()
        if it % eval_every == 0 or it == n_iters:
            row = {"iteration": it, "loss": float(loss.detach()), "train_mse": float(sse.detach()) / n_obs}
            row["penalty"] = float(reg.detach())
            if not math.isfinite(row["loss"]):
                diverged = True
                history.append(row)
                break
            if has_val:
                row["val_rmse"] = _rmse(model, *va)
                if row["val_rmse"] < best_val:
                    best_val, best_it = row["val_rmse"], it
                    best_state = copy.deepcopy(model.state_dict())
            history.append(row)
    _sync(dev)
    seconds = time.perf_counter() - t0
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        best_it = it
    settings = {
        "model": "lnn",
        "optimizer": optimizer,
        "lr": lr,
        "lam": lam,
        "penalty": penalty,
        "n_iters": n_iters,
        "init_std": init_std,
        "bias_init": bias_init,
        "reduction": reduction,
        "eval_every": eval_every,
        "seed": seed,
        "shape": list(shape),
        "checkpoint": "best validation RMSE" if has_val else "last iterate",
        "optimizer_kernel": optimizer_kernel(opt),
    }
    return {
        "model": "lnn",
        "optimizer": optimizer,
        "penalized": bool(lam),
        "test_rmse": _rmse(model, *te),
        "train_rmse": _rmse(model, *tr),
        "val_rmse": _rmse(model, *va) if has_val else None,
        **info,
        "iterations": it,
        "best_iteration": best_it,
        "diverged": diverged,
        "seconds": seconds,
        "seconds_per_iteration": seconds / max(it, 1),
        "effective_rank": nan if diverged and best_state is None else _spectrum_stats(model.weight),
        "bias": float(model.bias.detach()),
        "seed": seed,
        "settings": settings,
        "history": history,
        "provenance": provenance(device=str(dev), dtype="float32"),
    }


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
    seed: int = 0,
    device: str | torch.device = "auto",
) -> dict[str, Any]:
    """Train Spotlight's explicit factorization model with shuffled minibatches; return a result dict.

    ``effective_rank`` is that of the bilinear part ``P Qᵀ`` of the interaction matrix;
    ``effective_rank_user`` / ``effective_rank_item`` those of the embedding matrices P and Q.
    """
    dev, shape, info, gen, (tr, va, te), has_val = _prepare(
        users, items, ratings, train_idx, val_idx, test_idx, shape, seed, device
    )
    model = EmbeddingModel(*shape, dim=dim, generator=gen).to(dev)
    opt = make_optimizer(optimizer, model.parameters(), lr=lr, fused=True)
    pen = get_penalty(penalty)
    shuffle_rng = np.random.default_rng([seed, 1])
    n_train = tr[0].numel()

    history: list[dict[str, float]] = []
    best_state: dict[str, torch.Tensor] | None = None
    best, best_epoch, prev, rises, epoch, diverged = math.inf, 0, math.inf, 0, 0, False
    _sync(dev)
    t0 = time.perf_counter()
    for epoch in range(1, n_epochs + 1):
        perm = torch.as_tensor(shuffle_rng.permutation(n_train), device=dev)
        total = torch.zeros((), device=dev)
        for start in range(0, n_train, batch_size):
            b = perm[start : start + batch_size]
            opt.zero_grad(set_to_none=True)
            mse = ((model(tr[0][b], tr[1][b]) - tr[2][b]) ** 2).mean()
            loss = mse
            if lam_user:
                loss = loss + lam_user * pen.of_matrix(model.user_embeddings.weight)
            if lam_item:
                loss = loss + lam_item * pen.of_matrix(model.item_embeddings.weight)
            loss.backward()
            opt.step()
            total += mse.detach() * b.numel()
        train_err = float(total) / n_train
        row = {"epoch": epoch, "train_mse": train_err}
        if not math.isfinite(train_err):
            diverged = True
            history.append(row)
            break
        if has_val:
            row["val_rmse"] = _rmse(model, *va)
        history.append(row)
        criterion = row["val_rmse"] if has_val else train_err
        if criterion < best:
            best, best_epoch = criterion, epoch
            best_state = copy.deepcopy(model.state_dict())
        rises = rises + 1 if train_err > prev else 0
        prev = train_err
        if rises >= patience:
            break
    _sync(dev)
    seconds = time.perf_counter() - t0
    if best_state is not None:
        model.load_state_dict(best_state)
    settings = {
        "model": "embedding",
        "optimizer": optimizer,
        "lr": lr,
        "batch_size": batch_size,
        "dim": dim,
        "lam_user": lam_user,
        "lam_item": lam_item,
        "penalty": penalty,
        "n_epochs": n_epochs,
        "patience": patience,
        "seed": seed,
        "shape": list(shape),
        "checkpoint": "best validation RMSE" if has_val else "lowest training error",
        "optimizer_kernel": optimizer_kernel(opt),
    }
    return {
        "model": "embedding",
        "optimizer": optimizer,
        "penalized": bool(lam_user or lam_item),
        "test_rmse": _rmse(model, *te),
        "train_rmse": _rmse(model, *tr),
        "val_rmse": _rmse(model, *va) if has_val else None,
        **info,
        "epochs": epoch,
        "best_epoch": best_epoch,
        "iterations": epoch * math.ceil(n_train / batch_size),
        "diverged": diverged,
        "seconds": seconds,
        "seconds_per_epoch": seconds / max(epoch, 1),
        **{
            f"effective_rank{suffix}": nan if diverged and best_state is None else _spectrum_stats(m)
            for suffix, m in (
                ("", model.matrix()),
                ("_user", model.user_embeddings.weight),
                ("_item", model.item_embeddings.weight),
            )
        },
        "seed": seed,
        "settings": settings,
        "history": history,
        "provenance": provenance(device=str(dev), dtype="float32"),
    }


_RUN_KEYS = {"movielens_dir", "model", "row", "optimizer", "penalized", "train_frac", "val_frac", "seed"}
_RUN_KEYS |= {"split_seed", "device", "check_sha"}


def split_label(train_frac: float) -> str:
    """``0.9`` -> ``"90%"``."""
    return f"{round(100 * train_frac)}%"


def run_table2_row(config: Mapping[str, Any]) -> dict[str, Any]:
    """Run one (model, row, split, seed) cell of Table 2 from a flat config; return the result dict.

    Keys: ``movielens_dir`` (required), ``model`` (``lnn``/``embedding``), ``row`` (``GD``, ``GD+penalty``,
    ``Adam``, ``Adam+penalty``; or ``optimizer`` + ``penalized``), ``train_frac`` (0.9), ``val_frac`` (0),
    ``seed`` (0; also the split seed unless ``split_seed``), ``device`` (``auto``), ``check_sha`` (True:
    ``u.data`` must be the official file), and any hyper-parameter of :data:`PAPER_BEST` for the model
    (defaults: the paper's best settings, changed by :data:`ROW_DEFAULTS`).  Unpenalised rows set every
    λ to 0.
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
    verify_ml100k(directory, check_sha=bool(config.get("check_sha", True)))
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
