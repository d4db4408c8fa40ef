"""The batched trainer: B cells of one depth as one tensor program.

Cells of a batch may differ in seed, λ, n_obs and rank (anything carried by their data), and in a *mixed*
batch also in penalty and optimizer (each optimizer steps its own slice of the batch,
:class:`BatchOptimizers`); they share the learning rate, the depth, the width, the loss reduction and the
stopping rule.

One step, for every cell at once (each part is a named piece below):

1. W = W_N ⋯ W_1; data term ``D = ‖P_Ω(W) − P_Ω(W*)‖²`` (``reduction="sum"``, the paper's Eq. 1) or that
   divided by |Ω| (``"mean"``, as in Arora et al.'s code) (:class:`Targets`).
2. The penalty's value and gradient by the job's spectral route (:class:`SpectralStep`,
   :mod:`matcomp.spectral`): one thin SVD (``svd``: R(σ), ``U diag(∂R/∂σ) Vᵀ`` and the spectrum for the
   logs) or one polar factor from matrix products (``polar``, ratio and nuclear only; singular values are
   then computed only at logging points and for the final result).
3. Stopping, per cell, before its update (:class:`Stopping`): D < tol ⇒ ``converged``; t = max_iters ⇒
   ``max_iters``; a non-finite W, D or R ⇒ ``diverged``.  A stopped cell is frozen: its parameters are
   restored after every later optimizer step, so what is recorded for it is exactly what it would get
   trained alone (``tests/test_train.py`` checks this element by element).
4. ∇_W L = 2 P_Ω(W − W*) (/|Ω|) + λ ∇_W R; for depth > 1 autograd carries it back to the layers
   (``W.backward(∇_W L)``), for depth 1 it is the gradient; then the optimizer steps, and stopped cells
   are put back to where they stopped (:func:`apply_step`).

All the optimizers of :mod:`matcomp.optimizers` act element-wise with scalar hyper-parameters, so the
batch is exactly B independent runs.  On a GPU, stopping is decided on the device without a host sync and
the loop checks whether any cell is still active only every ``check_every`` steps; on the CPU, where such
a check is free, it is made every step and the masking work is skipped while every cell is active.
"""

from __future__ import annotations

import itertools
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
from .penalties import PENALTIES, Penalty, get_penalty, spectral_dsigma, spectral_grad
from .provenance import provenance
from .spectral import (
    ROUTES,
    GraphedPolar,
    gpu_is_faster,
    polar_value_and_grad,
    resolve_route,
    route_record,
    shifted_svd,
)

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
    spectral: str = "auto"
    """route of the penalty's gradient: ``svd``, ``polar`` (matmul-only; ratio, nuclear), ``gesvda``,
    ``auto`` or ``auto-gesvda`` (:mod:`matcomp.spectral`)"""

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
        if self.spectral not in ROUTES:
            raise ValueError(f"spectral must be one of {', '.join(ROUTES)}, got {self.spectral!r}")
        resolve_route(self.spectral, get_penalty(self.penalty), torch.device("cpu"))


_POOLS: dict[int, ThreadPoolExecutor] = {}


def batched_linalg(fn: Callable[[torch.Tensor], Any], w: torch.Tensor) -> Any:
    """``fn(w)`` for a batched LAPACK call (``torch.linalg.svd``, ``svdvals``), the same numbers, faster on the CPU.

    PyTorch's batched CPU SVD is a serial loop over the batch, and with more than one intra-op thread each
    small (100×100) SVD gets slower, not faster (1.3–1.5 ms instead of 0.9 ms here).  On the CPU, with
    ``torch.get_num_threads() > 1`` and a batch, the batch is split into that many chunks that run
    concurrently (LAPACK releases the GIL); every matrix is still decomposed by the same routine on its own,
    so the result is bit-identical to ``fn(w)`` where the matrices are whole 64-byte units (100×100
    float32: every chunk then starts at the alignment the matrix has in the whole batch).
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


def _decompose(route: str, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(U, σ, Vᵀ) by an SVD route: LAPACK/cuSOLVER in W's dtype (``svd``) or float64 ``gesvda``."""
    return batched_linalg(_svd, w) if route == "svd" else shifted_svd(w)


def resolve_device(
    device: str, penalties: Sequence[Penalty] = (), spectral: str = "auto", batch: int | None = None
) -> torch.device:
    """``auto`` is CUDA when available and the job is faster there, else CPU; CUDA without one is an error.

    With ``penalties``, ``auto`` keeps a job on the CPU when any cell's spectral route would be the SVD on
    the GPU (:func:`matcomp.spectral.gpu_is_faster`): cuSOLVER's batched SVD of 100×100 matrices is slower
    than the host's LAPACK, so such a job would run slower on the GPU.
    """
    if device == "auto":
        on_gpu = torch.cuda.is_available() and all(gpu_is_faster(p, spectral, batch) for p in penalties)
        return torch.device("cuda" if on_gpu else "cpu")
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


@dataclass
class Targets:
    """The batch's data on the device: W*, Ω and what the data term and the metrics need."""

    w_star: torch.Tensor
    mask: torch.Tensor
    unobs: torch.Tensor
    neg_target: torch.Tensor
    n_obs: torch.Tensor
    grad_scale: torch.Tensor
    """2 (sum) or 2/|Ω| (mean), shaped [B, 1, 1]"""
    lam: torch.Tensor
    """λ per cell, shaped [B, 1, 1]"""
    mean: bool

    @classmethod
    def of(
        cls, problems: Sequence[Problem], lams: Sequence[float], cfg: TrainConfig, device, dtype
    ) -> Targets:
        w_star = torch.as_tensor(np.stack([p.w_star for p in problems]), dtype=dtype, device=device)
        mask = torch.as_tensor(np.stack([p.mask for p in problems]), dtype=dtype, device=device)
        n_obs = mask.sum((-2, -1))
        mean = cfg.reduction == "mean"
        scale = 2.0 / n_obs if mean else torch.full_like(n_obs, 2.0)
        lam = torch.as_tensor(list(lams), dtype=dtype, device=device)
        return cls(
            w_star, mask, 1.0 - mask, -(w_star * mask), n_obs, scale[:, None, None], lam[:, None, None], mean
        )

    def data_term(self, wsafe: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(P_Ω(W) − P_Ω(W*), D); W·mask is exact, so addcmul rounds like the subtraction."""
        resid = torch.addcmul(self.neg_target, wsafe, self.mask)
        data = (resid * resid).sum((-2, -1))
        return resid, (data / self.n_obs if self.mean else data)

    def grad(self, resid: torch.Tensor, pen_grad: torch.Tensor | None) -> torch.Tensor:
        """∇_W L = 2 P_Ω(W − W*) (/|Ω|) + λ ∇_W R."""
        grad_w = resid * self.grad_scale
        return grad_w if pen_grad is None else grad_w + self.lam * pen_grad

    def errors(self, wsafe: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Test error over all entries and over the unobserved ones."""
        return relative_error_t(wsafe, self.w_star), relative_error_t(wsafe, self.w_star, self.unobs)


def svdvals(w: torch.Tensor) -> torch.Tensor:
    """Singular values for the metrics: LAPACK on the host for a CUDA batch (one copy each way).

    cuSOLVER loops over a batch of matrices larger than 32×32 (3.8 ms per 100×100 matrix on an H200);
    the host's LAPACK, split over its threads by :func:`batched_linalg`, is several times faster.  Only
    logging points and final results call this, so the copy's sync is paid there only.
    """
    if w.device.type == "cpu":
        return batched_linalg(torch.linalg.svdvals, w)
    return batched_linalg(torch.linalg.svdvals, w.cpu()).to(w.device)


class SpectralStep:
    """The penalties' (σ or None, value, gradient or None) for a batch of W, by each cell's spectral route.

    Cells may carry different penalties (a *mixed* batch, e.g. ratio, nuclear and no penalty sharing an
    optimizer and a depth): cells on the SVD route share one batched SVD, cells on the polar route share
    one polar factor, and each penalty's formula is applied to its own cells.  A batch of one penalty
    takes the whole-batch path without any gathering.
    """

    def __init__(self, penalties: Sequence[Penalty], routes: dict[str, str], dtype: torch.dtype, device):
        self.zero = torch.zeros(len(penalties), dtype=dtype, device=device)
        self.polar = GraphedPolar()
        groups: dict[tuple[Penalty, str], list[int]] = {}
        for i, pen in enumerate(penalties):
            groups.setdefault((pen, routes[pen.spec]), []).append(i)
        self.groups = {key: torch.tensor(idx, device=device) for key, idx in groups.items()}
        self.whole = next(iter(groups)) if len(groups) == 1 else None
        self.by_route = {
            route: torch.tensor(
                sorted(i for (_, r), idx in groups.items() if r == route for i in idx), device=device
            )
            for route in ("svd", "gesvda", "polar")
            if any(r == route for _, r in groups)
        }
        # each group's rows within its route's part, found once
        self.rows = {
            (pen, r): torch.searchsorted(self.by_route[r], idx)
            for (pen, r), idx in self.groups.items()
            if r in self.by_route
        }

    def __call__(self, w: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor | None]:
        if self.whole is not None:
            return self._one(*self.whole, w)
        value, grad = self.zero.clone(), torch.zeros_like(w)
        for route, cells in self.by_route.items():
            part = w.index_select(0, cells)
            v, g = self._polar_part(part) if route == "polar" else self._svd_part(part, route)
            value.index_copy_(0, cells, v)
            grad.index_copy_(0, cells, g)
        return None, value, grad

    def _groups_of(self, route: str):
        """(penalty, rows of its cells within the route's part) for each group on ``route``."""
        return [(pen, rows) for (pen, r), rows in self.rows.items() if r == route]

    def _svd_part(self, part: torch.Tensor, route: str) -> tuple[torch.Tensor, torch.Tensor]:
        """One SVD for the part; each penalty's ∂R/∂σ on its rows; one U diag(∂R/∂σ) Vᵀ for all (so each
        cell's gradient is the product it gets alone)."""
        u, s, vh = _decompose(route, part)
        value, dsigma = torch.zeros_like(s[..., 0]), torch.zeros_like(s)
        for pen, rows in self._groups_of(route):
            v, d = spectral_dsigma(pen, s.index_select(0, rows))
            value.index_copy_(0, rows, v)
            dsigma.index_copy_(0, rows, d)
        return value.to(part.dtype), ((u * dsigma.unsqueeze(-2)) @ vh).to(part.dtype)

    def _polar_part(self, part: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One polar factor for the part; each penalty's formula on its rows."""
        q, nuc, fro = self.polar(part)
        value, grad = torch.zeros_like(fro), torch.zeros_like(part)
        for pen, rows in self._groups_of("polar"):
            v, g = PENALTIES[pen.name].polar(*(x.index_select(0, rows) for x in (q, part, nuc, fro)))
            value.index_copy_(0, rows, v)
            grad.index_copy_(0, rows, g)
        return value, grad

    def _one(self, penalty: Penalty, route: str, w: torch.Tensor):
        if route in ("svd", "gesvda"):
            u, s, vh = _decompose(route, w)
            value, grad = spectral_grad(penalty, u, s, vh)
            # the svd route's σ serve the logs; gesvda's are float64 and unordered, so the logs take svdvals
            return (s if route == "svd" else None), value.to(w.dtype), grad.to(w.dtype)
        if route == "polar":
            value, grad = polar_value_and_grad(penalty, w, self.polar)
            return None, value, grad
        return None, self.zero, None

    def final_value(self, sigma: torch.Tensor) -> torch.Tensor:
        """R at the final weights, from their singular values (the same formula for every route)."""
        value = torch.zeros_like(sigma[..., 0])
        for (pen, _), idx in self.groups.items():
            if pen.spectral:
                value.index_copy_(0, idx, pen(sigma.index_select(0, idx)))
        return value


class Stopping:
    """Per-cell stop reasons and iterations; which cells still train."""

    def __init__(self, batch: int, cfg: TrainConfig, device: torch.device, host_checks: bool):
        self.cfg, self.host_checks = cfg, host_checks
        self.active = torch.ones(batch, dtype=torch.bool, device=device)
        self.reason = torch.zeros(batch, dtype=torch.long, device=device)
        self.stop_iter = torch.full((batch,), -1, dtype=torch.long, device=device)
        # CPU fast path: while this holds, the host has seen every cell active (no masking needed)
        self.all_active = host_checks

    def nobody_stops(self, t: int, data: torch.Tensor, pen: torch.Tensor) -> bool:
        """CPU fast path: one host read of (D, R) shows that every cell is finite and above tol."""
        if not self.all_active or t >= self.cfg.max_iters:
            return False
        dr = torch.stack((data, pen)).numpy()
        return bool(np.isfinite(dr).all() and (dr[0] >= self.cfg.tol).all())

    def update(self, t: int, finite_w: torch.Tensor, data: torch.Tensor, pen: torch.Tensor) -> None:
        if self.nobody_stops(t, data, pen):
            return
        healthy = finite_w & torch.isfinite(data) & torch.isfinite(pen)
        diverged = self.active & ~healthy
        converged = self.active & ~diverged & (data < self.cfg.tol)
        stopping = self.active if t == self.cfg.max_iters else diverged | converged
        code = torch.where(diverged, _DIVERGED, torch.where(converged, _CONVERGED, _MAX_ITERS))
        self.reason = torch.where(stopping, code, self.reason)
        self.stop_iter = torch.where(stopping, t, self.stop_iter)
        self.active = self.active & ~stopping
        if self.host_checks:
            self.all_active = bool(self.active.all())

    def all_stopped(self, t: int, check_every: int) -> bool:
        """Whether every cell has stopped (on a GPU asked only every ``check_every`` steps: it syncs)."""
        if self.all_active or not (self.host_checks or t % check_every == 0):
            return False
        return not bool(self.active.any())


def finite_part(wd: torch.Tensor, host_checks: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(W with non-finite cells zeroed, which cells are finite).

    One reduction per cell: its sum is non-finite iff an entry is (or the cell has blown up past the
    dtype's range, which counts as diverged too).
    """
    finite_w = torch.isfinite(wd.sum((-2, -1)))
    if host_checks and bool(finite_w.all()):
        return wd, finite_w
    return torch.where(
        finite_w[:, None, None], wd, torch.zeros((), dtype=wd.dtype, device=wd.device)
    ), finite_w


class BatchOptimizers:
    """The batch's optimizers: one per run of consecutive cells that share an optimizer name.

    Each optimizer steps its own slice of every layer: views ``layer.detach()[start:stop]`` share the
    layer's storage, so the whole batch is still one tensor per layer for the forward pass and autograd,
    while Adam's cells and SGD's cells (say) keep their own state and update rule.  A slice starts at a
    cell boundary, so each cell is updated as it would be alone (the same kernel-exactness rule as a
    one-optimizer batch, :func:`matcomp.optimizers.fused_is_batch_exact`, checked per slice).
    """

    def __init__(self, names: Sequence[str], params: Sequence[torch.Tensor], lr: float):
        self.groups: list[tuple[str, int, int, list[torch.Tensor], torch.optim.Optimizer]] = []
        runs = [(name, len(list(run))) for name, run in itertools.groupby(names)]
        start = 0
        for name, count in runs:
            stop = start + count
            # one optimizer: the layers themselves (no slicing per step); several: a slice of each
            views = list(params) if len(runs) == 1 else [p.detach()[start:stop] for p in params]
            fused = name in FUSED and fused_is_batch_exact(views)
            self.groups.append((name, start, stop, views, make_optimizer(name, views, lr=lr, fused=fused)))
            start = stop
        self.whole = len(runs) == 1

    def step(self, grads: Sequence[torch.Tensor]) -> None:
        for _, start, stop, views, opt in self.groups:
            for view, grad in zip(views, grads):
                view.grad = grad if self.whole else grad[start:stop]
            opt.step()

    def kernel(self) -> str | dict[str, str]:
        """``fused``/``foreach`` (:func:`matcomp.optimizers.optimizer_kernel`), by optimizer when mixed."""
        kernels = {name: optimizer_kernel(opt) for name, _, _, _, opt in self.groups}
        return next(iter(kernels.values())) if len(kernels) == 1 else kernels


def apply_step(
    params: list[torch.Tensor],
    opt: BatchOptimizers,
    w: torch.Tensor,
    grad_w: torch.Tensor,
    stop: Stopping,
) -> None:
    """One optimizer step from ∇_W L; stopped cells are put back where they stopped.

    Stopped cells keep training in the batch but are restored after the step: an element-wise optimizer
    never mixes cells, so this freezes them exactly where they stopped.
    """
    if len(params) == 1:
        grads = [grad_w]
    else:
        for p in params:
            p.grad = None
        w.backward(grad_w)
        grads = [p.grad for p in params]
    before = None if stop.all_active else [p.detach().clone() for p in params]
    opt.step(grads)
    if before is not None:
        keep = stop.active[:, None, None]
        with torch.no_grad():
            for p, old in zip(params, before):
                p.copy_(torch.where(keep, p, old))


def _progress_bar(cfg: TrainConfig, optimizer: str, penalty: str, batch: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    desc = f"{optimizer}/{penalty}/d{cfg.depth} ×{batch}"
    return tqdm(total=cfg.max_iters, desc=desc, unit="it", mininterval=10)


LOGGED = ("data_term", "penalty", "test_error", "test_error_unobserved", "effective_rank", "spectrum")


def _log_entry(targets: Targets, wsafe, sigma, data, pen) -> tuple[torch.Tensor, ...]:
    s = sigma if sigma is not None else svdvals(wsafe)
    return (data, pen, *targets.errors(wsafe), effective_rank_t(s), s)


def _trajectory(logs: list[tuple]) -> Trajectory:
    arrays = {
        name: np.stack([entry[i].detach().cpu().double().numpy() for entry in logs], axis=1)
        for i, name in enumerate(LOGGED, start=1)
    }
    return Trajectory(iterations=np.array([entry[0] for entry in logs]), **arrays)


def _final_metrics(
    params, targets: Targets, spectral: SpectralStep
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Each cell's metrics at its stopping point (its frozen parameters), its spectrum, and finiteness."""
    with torch.no_grad():
        w = end_product(params)
        finite_w = torch.isfinite(w).all(-1).all(-1)
        wsafe = torch.where(finite_w[:, None, None], w, torch.zeros((), dtype=w.dtype, device=w.device))
        s = svdvals(wsafe)
        _, data = targets.data_term(wsafe)
        err, err_unobs = targets.errors(wsafe)
        final = {
            "data_term": data,
            "penalty_value": spectral.final_value(s),
            "test_error": err,
            "test_error_unobserved": err_unobs,
            "effective_rank": effective_rank_t(s),
        }
        final = {k: v.cpu().double().numpy() for k, v in final.items()}
        return final, s.cpu().double().numpy(), finite_w.cpu().numpy()


def _runs(
    problems, lams, seeds, final, s_np, finite_np, stop: Stopping, traj: Trajectory
) -> list[dict[str, Any]]:
    reason_np, stop_np = stop.reason.cpu().numpy(), stop.stop_iter.cpu().numpy()
    runs = []
    for i, prob in enumerate(problems):
        diverged = reason_np[i] == _DIVERGED
        runs.append(
            {
                "seed": seeds[i],
                "lam": float(lams[i]),
                "rank": int(prob.settings.get("rank", -1)),
                "n_obs": prob.n_obs,
                "data": prob.settings,
                **{
                    k: (float("nan") if diverged and not finite_np[i] else float(v[i]))
                    for k, v in final.items()
                },
                "singular_values": s_np[i].tolist() if finite_np[i] else None,
                "iterations": int(stop_np[i]),
                "stop_reason": STOP_REASONS[int(reason_np[i])],
                "diverged_at": int(stop_np[i]) if diverged else None,
                "iterations_to_test_error": _first_crossings(traj.iterations, traj.test_error[i]),
            }
        )
    return runs


def _check_batch(problems: Sequence[Problem], lams: Sequence[float]) -> tuple[int, int]:
    if len(problems) == 0 or len(problems) != len(lams):
        raise ValueError("need one λ per problem and at least one problem")
    if any(lam < 0 or not math.isfinite(lam) for lam in lams):
        raise ValueError(f"λ must be finite and >= 0, got {list(lams)}")
    shapes = {p.shape for p in problems}
    if len(shapes) != 1:
        raise ValueError(f"all problems of a batch must have one shape, got {shapes}")
    return shapes.pop()


def _grouped(names: Sequence[str]) -> list[int]:
    """A stable order of the cells that puts the cells of each optimizer together (first appearance first)."""
    first = {name: i for i, name in reversed(list(enumerate(names)))}
    return sorted(range(len(names)), key=lambda i: first[names[i]])


def _cell_lists(
    problems, lams, seeds, penalties, optimizers, cfg: TrainConfig
) -> tuple[list[Problem], list[float], list[int], list[Penalty], list[str], list[int]]:
    """Per-cell inputs, checked, in the trainer's order (cells of one optimizer together), and that order."""
    b = len(problems)
    seeds = [int(p.settings.get("seed", i)) for i, p in enumerate(problems)] if seeds is None else list(seeds)
    pens = [get_penalty(p) for p in ([cfg.penalty] * b if penalties is None else penalties)]
    opts = [cfg.optimizer] * b if optimizers is None else list(optimizers)
    for name, values in (("penalty", pens), ("optimizer", opts), ("seed", seeds)):
        if len(values) != b:
            raise ValueError(f"need one {name} per problem, got {len(values)} for {b}")
    for name in set(opts):
        check_optimizer(name)
    order = _grouped(opts)
    pick = lambda xs: [xs[i] for i in order]  # noqa: E731
    return pick(problems), pick(lams), pick(seeds), pick(pens), pick(opts), order


def _unpermute(order: list[int], runs: list[dict[str, Any]], traj: Trajectory):
    """Runs and trajectory back in the caller's cell order."""
    inverse = np.argsort(order)
    arrays = {k: (v if k == "iterations" else v[inverse]) for k, v in asdict(traj).items()}
    return [runs[i] for i in inverse], Trajectory(**arrays)


def train_batch(
    problems: Sequence[Problem],
    lams: Sequence[float],
    cfg: TrainConfig,
    seeds: Sequence[int] | None = None,
    progress: bool = False,
    check_every: int = 100,
    host_checks: bool | None = None,
    penalties: Sequence[str] | None = None,
    optimizers: Sequence[str] | None = None,
) -> BatchResult:
    """Train one network per problem, all at once; see the module docstring.

    ``penalties`` (one spec per cell) and ``optimizers`` (one name per cell) make a mixed batch; by default
    every cell has ``cfg.penalty`` and ``cfg.optimizer``.  Results come back in the order of the cells.

    ``seeds`` default to the problems' data seeds and set each cell's initial weights.  ``host_checks``
    (default: on the CPU only) selects the host-side fast path for stopping; ``False`` runs the GPU's
    device-side path, which gives the same numbers (tested on the CPU).
    """
    cfg.validate()
    m, n = _check_batch(problems, lams)
    b = len(problems)
    problems, lams, seeds, pens, opts, order = _cell_lists(problems, lams, seeds, penalties, optimizers, cfg)
    device, dtype = resolve_device(cfg.device, pens, cfg.spectral, b), DTYPES[cfg.dtype]
    routes = {p.spec: resolve_route(cfg.spectral, p, device) for p in pens}
    t_start = time.perf_counter()

    targets = Targets.of(problems, lams, cfg, device, dtype)
    spectral = SpectralStep(pens, routes, dtype, device)
    layers = init_layers(seeds, m, n, cfg.depth, cfg.init_std, cfg.width, dtype, device)
    params = [t.requires_grad_(True) for t in layers]
    opt = BatchOptimizers(opts, params, cfg.lr)
    # On the CPU a host-side check costs nothing, so the common step (every cell active, finite and above
    # tol) is recognised on the host and skips the stopping bookkeeping and the masking that freezes stopped
    # cells; on a GPU both are always applied on the device, to avoid a sync per step.
    host_checks = device.type == "cpu" if host_checks is None else host_checks
    stop = Stopping(b, cfg, device, host_checks)
    points = log_points(cfg.log, cfg.max_iters)
    next_log, logs = 0, []
    label = pens[0].spec if len(routes) == 1 else "mixed"
    opt_label = opts[0] if len(set(opts)) == 1 else "mixed"
    bar = _progress_bar(cfg, opt_label, label, b, progress)
    t = 0
    for t in range(cfg.max_iters + 1):
        w = end_product(params)
        wsafe, finite_w = finite_part(w.detach(), host_checks)
        resid, data = targets.data_term(wsafe)
        sigma, pen_value, pen_grad = spectral(wsafe)
        stop.update(t, finite_w, data, pen_value)
        if next_log < len(points) and t == points[next_log]:
            next_log += 1
            logs.append((t, *_log_entry(targets, wsafe, sigma, data, pen_value)))
        if bar is not None and t % 1000 == 0:
            bar.update(min(1000, cfg.max_iters - bar.n))
        if t == cfg.max_iters or stop.all_stopped(t, check_every):
            break
        apply_step(params, opt, w, targets.grad(resid, pen_grad), stop)
    if bar is not None:
        bar.close()
    if next_log < len(points):
        # Every cell stopped early and is frozen: the remaining log points all see its final state,
        # exactly as they would inside a larger batch that was still running.
        frozen = _log_entry(targets, wsafe, sigma, data, pen_value)
        logs.extend((int(p), *frozen) for p in points[next_log:])
    seconds = time.perf_counter() - t_start

    final, s_np, finite_np = _final_metrics(params, targets, spectral)
    traj = _trajectory(logs)
    runs = _runs(problems, lams, seeds, final, s_np, finite_np, stop, traj)
    for run, pen, name in zip(runs, pens, opts):
        run["penalty"] = pen.spec
        run["optimizer"] = name
    runs, traj = _unpermute(order, runs, traj)
    settings = {
        **asdict(cfg),
        "optimizer": opt_label,
        "penalty": label,
        "device": str(device),
        "batch_size": b,
    }
    prov = provenance(
        device=str(device),
        device_name=torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        dtype=cfg.dtype,
        seconds=seconds,
        steps_run=t,
        torch_threads=torch.get_num_threads(),
        optimizer_kernel=opt.kernel(),
        spectral_route=(
            route_record(routes[label], dtype)
            if len(routes) == 1
            else {spec: route_record(r, dtype) for spec, r in routes.items()}
        ),
    )
    return BatchResult(settings, runs, traj, prov)
