"""The batched trainer: B cells sharing (optimizer, penalty, depth) as one tensor program.

Cells of a batch may differ in seed, λ, n_obs and rank (anything carried by their data); they share the
optimizer, its learning rate, the penalty, the depth, the width, the loss reduction and the stopping rule.

One step, for every cell at once:

1. W = W_N ⋯ W_1; data term ``D = ‖P_Ω(W) − P_Ω(W*)‖²`` (``reduction="sum"``, the paper's Eq. 1) or that
   divided by |Ω| (``"mean"``, as in Arora et al.'s code).
2. For a spectral penalty, *one* thin SVD ``W = U diag(σ) Vᵀ`` gives R(σ), ∇_W R = U diag(∂R/∂σ) Vᵀ and,
   at logging points, the spectrum and the effective rank; no second SVD is taken.
3. Stopping, per cell, before its update: D < tol ⇒ ``converged``; t = max_iters ⇒ ``max_iters``; a
   non-finite W, D or R ⇒ ``diverged``.  A stopped cell is frozen: its parameters are restored after
   every later optimizer step, so what is recorded for it is exactly what it would get trained alone (``tests/test_train.py`` checks this element by element).
4. ∇_W L = 2 P_Ω(W − W*) (/|Ω|) + λ ∇_W R; for depth > 1 autograd carries it back to the layers
   (``W.backward(∇_W L)``), for depth 1 it is the gradient; then the optimizer steps, and stopped cells
   are put back to where they stopped.

All the optimizers of :mod:`matcomp.optimizers` act element-wise with scalar hyper-parameters, so the
batch is exactly B independent runs.  On a GPU, stopping is decided on the device without a host sync and
the loop checks whether any cell is still active only every ``check_every`` steps; on the CPU, where such
a check is free, it is made every step and the masking work is skipped while every cell is active.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from .data import Problem
from .metrics import effective_rank_t, relative_error_t
from .models import end_product, init_layers
from .optimizers import (
    DEFAULT_LR,
    FUSED,
    check_optimizer,
    fused_is_batch_exact,
    make_optimizer,
    optimizer_kernel,
)
from .penalties import get_penalty, spectral_grad
from .provenance import provenance

STOP_REASONS = ("running", "converged", "max_iters", "diverged")
_RUNNING, _CONVERGED, _MAX_ITERS, _DIVERGED = range(4)

DTYPES = {"float32": torch.float32, "float64": torch.float64}
CONVERGENCE_THRESHOLDS = (1e-2, 1e-3, 1e-4)
"""Test-error levels whose first logged crossing is reported (iterations to converge)."""


@dataclass(frozen=True)
class TrainConfig:
    """Settings shared by every cell of a batch (everything a result depends on, besides its data)."""

    optimizer: str = "adam"
    penalty: str = "ratio"
    depth: int = 1
    lr: float = DEFAULT_LR
    init_std: float = 1e-3
    width: int | None = None
    max_iters: int = 500_000
    tol: float = 1e-7
    reduction: str = "sum"
    log: str = "log:200"
    device: str = "auto"
    dtype: str = "float32"

    def validate(self) -> None:
        """Raise ValueError (one line naming the setting) before any work."""
        check_optimizer(self.optimizer)
        get_penalty(self.penalty)
        if self.depth < 1:
            raise ValueError(f"depth must be >= 1, got {self.depth}")
        if self.reduction not in ("sum", "mean"):
            raise ValueError(f"reduction must be 'sum' or 'mean', got {self.reduction!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {self.dtype!r}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ValueError(f"device must be auto, cpu or cuda, got {self.device!r}")
        if self.max_iters < 0 or self.lr <= 0 or self.init_std <= 0 or self.tol < 0:
            raise ValueError("max_iters, tol must be >= 0 and lr, init_std > 0")
        log_points(self.log, self.max_iters)


_POOLS: dict[int, ThreadPoolExecutor] = {}


def batched_linalg(fn: Callable[[torch.Tensor], Any], w: torch.Tensor) -> Any:
    """``fn(w)`` for a batched LAPACK call (``torch.linalg.svd``, ``svdvals``), the same numbers, faster on the CPU.

    PyTorch's batched CPU SVD is a serial loop over the batch, and with more than one intra-op thread each
    small (100×100) SVD gets slower, not faster (1.3–1.5 ms instead of 0.9 ms here).  On the CPU, with
    ``torch.get_num_threads() > 1`` and a batch, the batch is split into that many chunks that run
    concurrently (LAPACK releases the GIL); every matrix is still decomposed by the same routine on its own,
    so the result is bit-identical to ``fn(w)``.
    """
    threads = torch.get_num_threads()
    if w.device.type != "cpu" or threads < 2 or w.shape[0] < 2:
        return fn(w)
    parts = min(threads, w.shape[0])
    pool = _POOLS.get(parts) or _POOLS.setdefault(parts, ThreadPoolExecutor(parts, thread_name_prefix="svd"))
    results = list(pool.map(fn, w.chunk(parts)))
    if isinstance(results[0], torch.Tensor):
        return torch.cat(results)
    return tuple(torch.cat(x) for x in zip(*results))


def _svd(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return torch.linalg.svd(w, full_matrices=False)


def resolve_device(device: str) -> torch.device:
    """``auto`` is CUDA when available, else CPU; asking for CUDA without one is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but torch.cuda.is_available() is False; use --device cpu")
    return torch.device(device)


def log_points(spec: str, max_iters: int) -> np.ndarray:
    """Iterations at which trajectories are logged: ``every:K``, ``log:P`` (P log-spaced) or ``none``.

    Always includes 0 and ``max_iters``.
    """
    kind, _, arg = spec.partition(":")
    if kind == "none":
        pts = np.array([0, max_iters])
    elif kind == "every" and arg.isdigit() and int(arg) > 0:
        pts = np.arange(0, max_iters + 1, int(arg))
    elif kind == "log" and arg.isdigit() and int(arg) > 1:
        pts = np.unique(np.round(np.logspace(0, math.log10(max(max_iters, 1)), int(arg))).astype(int))
    else:
        raise ValueError(f"log schedule must be 'every:K', 'log:P' or 'none', got {spec!r}")
    return np.unique(np.concatenate([[0], pts, [max_iters]]))


@dataclass
class Trajectory:
    """Logged values at ``iterations`` [T]; each array is [B, T] (spectrum [B, T, k])."""

    iterations: np.ndarray
    data_term: np.ndarray
    penalty: np.ndarray
    test_error: np.ndarray
    test_error_unobserved: np.ndarray
    effective_rank: np.ndarray
    spectrum: np.ndarray

    def save(self, path: str, **meta: np.ndarray) -> None:
        np.savez_compressed(path, **asdict(self), **meta)


@dataclass
class BatchResult:
    settings: dict[str, Any]
    runs: list[dict[str, Any]]
    trajectory: Trajectory
    provenance: dict[str, Any] = field(default_factory=dict)


def _first_crossings(iters: np.ndarray, err: np.ndarray) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for thr in CONVERGENCE_THRESHOLDS:
        hit = np.nonzero(err <= thr)[0]
        out[f"{thr:g}"] = int(iters[hit[0]]) if hit.size else None
    return out


def train_batch(
    problems: Sequence[Problem],
    lams: Sequence[float],
    cfg: TrainConfig,
    seeds: Sequence[int] | None = None,
    progress: bool = False,
    check_every: int = 100,
    host_checks: bool | None = None,
) -> BatchResult:
    """Train one network per problem, all at once; see the module docstring.

    ``seeds`` default to the problems' data seeds and set each cell's initial weights.  ``host_checks``
    (default: on the CPU only) selects the host-side fast path for stopping; ``False`` runs the GPU's
    device-side path, which gives the same numbers (tested on the CPU).
    """
    cfg.validate()
    if len(problems) == 0 or len(problems) != len(lams):
        raise ValueError("need one λ per problem and at least one problem")
    if any(lam < 0 or not math.isfinite(lam) for lam in lams):
        raise ValueError(f"λ must be finite and >= 0, got {list(lams)}")
    shapes = {p.shape for p in problems}
    if len(shapes) != 1:
        raise ValueError(f"all problems of a batch must have one shape, got {shapes}")
    (m, n), b = shapes.pop(), len(problems)
    seeds = [int(p.settings.get("seed", i)) for i, p in enumerate(problems)] if seeds is None else list(seeds)
    device, dtype = resolve_device(cfg.device), DTYPES[cfg.dtype]
    penalty = get_penalty(cfg.penalty)
    t_start = time.perf_counter()

    w_star = torch.as_tensor(np.stack([p.w_star for p in problems]), dtype=dtype, device=device)
    mask = torch.as_tensor(np.stack([p.mask for p in problems]), dtype=dtype, device=device)
    unobs = 1.0 - mask
    neg_target = -(w_star * mask)
    n_obs = mask.sum((-2, -1))
    scale = 2.0 / n_obs if cfg.reduction == "mean" else torch.full_like(n_obs, 2.0)
    lam = torch.as_tensor(list(lams), dtype=dtype, device=device)

    params = [
        t.requires_grad_(True)
        for t in init_layers(seeds, m, n, cfg.depth, cfg.init_std, cfg.width, dtype, device)
    ]
    opt = make_optimizer(
        cfg.optimizer, params, lr=cfg.lr, fused=cfg.optimizer in FUSED and fused_is_batch_exact(params)
    )
    active = torch.ones(b, dtype=torch.bool, device=device)
    reason = torch.zeros(b, dtype=torch.long, device=device)
    stop_iter = torch.full((b,), -1, dtype=torch.long, device=device)
    points = log_points(cfg.log, cfg.max_iters)
    next_log, logs = 0, []

    no_penalty = torch.zeros(b, dtype=dtype, device=device)

    def spectrum(w: torch.Tensor):
        if penalty.spectral:
            u, s, vh = batched_linalg(_svd, w)
            value, grad = spectral_grad(penalty, u, s, vh)
            return s, value, grad
        return None, no_penalty, None

    def data_term(wsafe: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(P_Ω(W) − P_Ω(W*), D); W·mask is exact, so addcmul rounds like the subtraction."""
        resid = torch.addcmul(neg_target, wsafe, mask)
        data = (resid * resid).sum((-2, -1))
        return resid, (data / n_obs if cfg.reduction == "mean" else data)

    def measure(wsafe: torch.Tensor, sigma: torch.Tensor | None, data: torch.Tensor, pen: torch.Tensor):
        s = sigma if sigma is not None else batched_linalg(torch.linalg.svdvals, wsafe)
        err, err_unobs = relative_error_t(wsafe, w_star), relative_error_t(wsafe, w_star, unobs)
        return data, pen, err, err_unobs, effective_rank_t(s), s

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=cfg.max_iters,
            desc=f"{cfg.optimizer}/{penalty.spec}/d{cfg.depth} ×{b}",
            unit="it",
            mininterval=10,
        )
    # On the CPU a host-side check costs nothing, so the common step (every cell active, finite and above
    # tol) is recognised on the host and skips the stopping bookkeeping and the masking that freezes stopped
    # cells; on a GPU both are always applied on the device, to avoid a sync per step.
    host_checks = device.type == "cpu" if host_checks is None else host_checks
    zero = torch.zeros((), dtype=dtype, device=device)
    scale3, lam3 = scale[:, None, None], lam[:, None, None]
    all_active = host_checks
    t = 0
    for t in range(cfg.max_iters + 1):
        w = end_product(params)
        wd = w.detach()
        # one reduction per cell: its sum is non-finite iff an entry is (or the cell has blown up past the
        # dtype's range, which counts as diverged too)
        finite_w = torch.isfinite(wd.sum((-2, -1)))
        if host_checks and bool(finite_w.all()):
            wsafe = wd
        else:
            wsafe = torch.where(finite_w[:, None, None], wd, zero)
        resid, data = data_term(wsafe)
        sigma, pen_value, pen_grad = spectrum(wsafe)

        # CPU fast path: one host read of (D, R) per step decides that no cell stops here
        common = False
        if all_active and t < cfg.max_iters:
            dr = torch.stack((data, pen_value)).numpy()
            common = bool(np.isfinite(dr).all() and (dr[0] >= cfg.tol).all())
        if not common:
            healthy = finite_w & torch.isfinite(data) & torch.isfinite(pen_value)
            diverged = active & ~healthy
            converged = active & ~diverged & (data < cfg.tol)
            stopping = active if t == cfg.max_iters else diverged | converged
            code = torch.where(diverged, _DIVERGED, torch.where(converged, _CONVERGED, _MAX_ITERS))
            reason = torch.where(stopping, code, reason)
            stop_iter = torch.where(stopping, t, stop_iter)
            active = active & ~stopping
            if host_checks:
                all_active = bool(active.all())

        if next_log < len(points) and t == points[next_log]:
            next_log += 1
            logs.append((t, *measure(wsafe, sigma, data, pen_value)))
        if bar is not None and t % 1000 == 0:
            bar.update(min(1000, cfg.max_iters - bar.n))
        if t == cfg.max_iters:
            break
        if (host_checks or t % check_every == 0) and not all_active and not bool(active.any()):
            break

        # Stopped cells keep training in the batch but are put back after each step: an element-wise
        # optimizer never mixes cells, so this freezes them exactly where they stopped.
        grad_w = resid * scale3
        if pen_grad is not None:
            grad_w = grad_w + lam3 * pen_grad
        if cfg.depth == 1:
            params[0].grad = grad_w
        else:
            opt.zero_grad(set_to_none=True)
            w.backward(grad_w)
        before = None if all_active else [p.detach().clone() for p in params]
        opt.step()
        if before is not None:
            keep = active[:, None, None]
            with torch.no_grad():
                for p, old in zip(params, before):
                    p.copy_(torch.where(keep, p, old))
    if bar is not None:
        bar.close()
    if next_log < len(points):
        # Every cell stopped early and is frozen: the remaining log points all see its final state,
        # exactly as they would inside a larger batch that was still running.
        frozen = measure(wsafe, sigma, data, pen_value)
        logs.extend((int(p), *frozen) for p in points[next_log:])
    seconds = time.perf_counter() - t_start

    # Metrics of each cell at its stopping point (its frozen parameters).
    with torch.no_grad():
        w = end_product(params)
        finite_w = torch.isfinite(w).all(-1).all(-1)
        wsafe = torch.where(finite_w[:, None, None], w, torch.zeros((), dtype=dtype, device=device))
        s = batched_linalg(torch.linalg.svdvals, wsafe)
        _, data = data_term(wsafe)
        final = {
            "data_term": data,
            "penalty_value": penalty(s) if penalty.spectral else torch.zeros_like(data),
            "test_error": relative_error_t(wsafe, w_star),
            "test_error_unobserved": relative_error_t(wsafe, w_star, unobs),
            "effective_rank": effective_rank_t(s),
        }
        final = {k: v.cpu().double().numpy() for k, v in final.items()}
        s_np = s.cpu().double().numpy()
        reason_np, stop_np, finite_np = reason.cpu().numpy(), stop_iter.cpu().numpy(), finite_w.cpu().numpy()

    traj = Trajectory(
        iterations=np.array([x[0] for x in logs]),
        **{
            name: np.stack([x[i].detach().cpu().double().numpy() for x in logs], axis=1)
            for i, name in enumerate(
                ["data_term", "penalty", "test_error", "test_error_unobserved", "effective_rank", "spectrum"],
                start=1,
            )
        },
    )
    runs = []
    for i, prob in enumerate(problems):
        diverged = reason_np[i] == _DIVERGED
        run = {
            "seed": seeds[i],
            "lam": float(lams[i]),
            "rank": int(prob.settings.get("rank", -1)),
            "n_obs": prob.n_obs,
            "data": prob.settings,
            **{k: (float("nan") if diverged and not finite_np[i] else float(v[i])) for k, v in final.items()},
            "singular_values": s_np[i].tolist() if finite_np[i] else None,
            "iterations": int(stop_np[i]),
            "stop_reason": STOP_REASONS[int(reason_np[i])],
            "diverged_at": int(stop_np[i]) if diverged else None,
            "iterations_to_test_error": _first_crossings(traj.iterations, traj.test_error[i]),
        }
        runs.append(run)
    settings = {**asdict(cfg), "penalty": penalty.spec, "device": str(device), "batch_size": b}
    prov = provenance(
        device=str(device),
        device_name=torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        dtype=cfg.dtype,
        seconds=seconds,
        steps_run=t,
        torch_threads=torch.get_num_threads(),
        optimizer_kernel=optimizer_kernel(opt),
    )
    return BatchResult(settings, runs, traj, prov)
