"""The batched trainer: B runs (networks) of one depth as one tensor program.

A *run* is one network: one seed of one cell (optimizer, penalty, λ, depth, data settings).  The runs of a
batch may differ in seed, λ, n_obs and rank (anything carried by their data), and in a *mixed* batch also
in penalty and optimizer (each optimizer steps its own slice of the batch, :class:`BatchOptimizers`); they
share the learning rate, the depth, the width, the loss reduction and the stopping rule.

One step, for every run at once (each part is a named piece below):

1. W = W_N ⋯ W_1; data term ``D = ‖P_Ω(W) − P_Ω(W*)‖²`` (``reduction="sum"``, the paper's Eq. 1) or that
   divided by |Ω| (``"mean"``, as in Arora et al.'s code) (:class:`Objective`).
2. The penalty's value and gradient by the run's spectral route (:class:`SpectralStep`,
   :func:`matcomp.training.spectral.value_and_grad`): one thin SVD (``svd``: R(σ), ``U diag(∂R/∂σ) Vᵀ`` and the
   spectrum for the logs) or one polar factor from matrix products (``polar``, ratio and nuclear only;
   singular values are then computed only at logging points and for the final result).
3. Stopping, per run, before its update (:class:`Stopping`): the tolerance (``tol_on: data``: D < tol;
   ``tol_on: loss``: D + λR < tol, A.1's words) ⇒ ``converged``; t = max_iters ⇒ ``max_iters``; a
   non-finite W, D or R ⇒ ``diverged``; with ``stop: plateau``, at a logged point where the plateau rule
   (:mod:`matcomp.training.plateau`) holds ⇒ ``plateau``.  A stopped run is frozen: its parameters are restored
   after every later optimizer step, so what is recorded for it is exactly what it would get trained
   alone (``tests/test_train.py`` checks this element by element).
4. ∇_W L = 2 P_Ω(W − W*) (/|Ω|) + λ ∇_W R; for depth > 1 autograd carries it back to the layers
   (``W.backward(∇_W L)``), for depth 1 it is the gradient; then the optimizer steps, and stopped runs
   are put back to where they stopped (:func:`apply_step`).

All the optimizers of :mod:`matcomp.training.optimizers` act element-wise with scalar hyper-parameters, so the
batch is exactly B independent runs.  On a GPU, stopping is decided on the device without a host sync and
the loop checks whether any run is still active only every ``check_every`` steps; on the CPU, where such
a check is free, it is made every step and the masking work is skipped while every run is active.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from ..data import Problem
from ..store.provenance import provenance
from .metrics import effective_rank_t, relative_error_t
from .models import end_product, init_layers
from .optimizers import (
    FUSED,
    GD_MOMENTUM,
    check_optimizer,
    fused_is_batch_exact,
    make_optimizer,
    optimizer_kernel,
)
from .penalties import Penalty, get_penalty
from .placement import resolve_device, resolve_route
from .plateau import plateaued
from .settings import CONVERGENCE_THRESHOLDS, DTYPE_NAMES, TrainConfig, log_points
from .spectral import (
    FALLBACKS,
    GraphedPolar,
    batched_linalg,
    penalties_from_parts,
    route_parts,
    route_record,
    value_and_grad,
)
from .spectral import svdvals as spectral_svdvals

STOP_REASONS = ("running", "converged", "max_iters", "diverged", "plateau")
_RUNNING, _CONVERGED, _MAX_ITERS, _DIVERGED, _PLATEAU = range(len(STOP_REASONS))  # in step, or no import
DTYPES = {name: getattr(torch, name) for name in DTYPE_NAMES}


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
class Objective:
    """The batch's loss on the device: W*, Ω, λ, and what the data term and the metrics need."""

    w_star: torch.Tensor
    mask: torch.Tensor
    unobs: torch.Tensor
    neg_target: torch.Tensor
    n_obs: torch.Tensor
    grad_scale: torch.Tensor
    """2 (sum) or 2/|Ω| (mean), shaped [B, 1, 1]"""
    lam: torch.Tensor
    """λ per run, shaped [B, 1, 1]"""
    mean: bool

    @classmethod
    def of(
        cls, problems: Sequence[Problem], lams: Sequence[float], cfg: TrainConfig, device, dtype
    ) -> Objective:
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
    the host's LAPACK, split over its threads by :func:`matcomp.training.spectral.batched_linalg`, is several times
    faster.  Only logging points and final results call this, so the copy's sync is paid there only.
    """
    if w.device.type == "cpu":
        return batched_linalg(spectral_svdvals, w)
    return batched_linalg(spectral_svdvals, w.cpu()).to(w.device)


class SpectralStep:
    """The penalties' (σ or None, value, gradient or None) for a batch of W, by each run's spectral route.

    Runs may carry different penalties (a *mixed* batch, e.g. ratio, nuclear and no penalty sharing an
    optimizer and a depth): the runs of one route share one :func:`matcomp.training.spectral.route_parts` (one
    batched SVD, or one polar factor), and each penalty's formula is applied to its own runs
    (:func:`matcomp.training.spectral.penalties_from_parts`).  A batch of one penalty takes
    :func:`matcomp.training.spectral.value_and_grad` on the whole batch, without any gathering.
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
            penalty, route = self.whole
            sigma, value, grad = value_and_grad(penalty, w, route, self.polar)
            return sigma, (self.zero if route == "none" else value), grad
        value, grad = self.zero.clone(), torch.zeros_like(w)
        for route, runs in self.by_route.items():
            part = w.index_select(0, runs)
            groups = [(pen, rows) for (pen, r), rows in self.rows.items() if r == route]
            v, g = penalties_from_parts(groups, route, route_parts(route, part, self.polar), part)
            value.index_copy_(0, runs, v)
            grad.index_copy_(0, runs, g)
        return None, value, grad

    def final_value(self, sigma: torch.Tensor) -> torch.Tensor:
        """R at the final weights, from their singular values (the same formula for every route)."""
        value = torch.zeros_like(sigma[..., 0])
        for (pen, _), idx in self.groups.items():
            if pen.spectral:
                value.index_copy_(0, idx, pen(sigma.index_select(0, idx)))
        return value


class Stopping:
    """Per-run stop reasons and iterations; which runs still train."""

    def __init__(self, cfg: TrainConfig, lam: torch.Tensor, host_checks: bool):
        batch, device = lam.shape[0], lam.device
        self.cfg, self.host_checks = cfg, host_checks
        self.lam = lam if cfg.tol_on == "loss" else None
        self.active = torch.ones(batch, dtype=torch.bool, device=device)
        self.reason = torch.zeros(batch, dtype=torch.long, device=device)
        self.stop_iter = torch.full((batch,), -1, dtype=torch.long, device=device)
        # CPU fast path: while this holds, the host has seen every run active (no masking needed)
        self.all_active = host_checks

    def _tolerated(self, data: torch.Tensor, pen: torch.Tensor) -> torch.Tensor:
        """What the tolerance reads: D (``tol_on: data``) or D + λR (``tol_on: loss``)."""
        return data if self.lam is None else data + self.lam * pen

    def nobody_stops(self, t: int, data: torch.Tensor, pen: torch.Tensor) -> bool:
        """CPU fast path: one host read of (D, R) shows that every run is finite and above tol."""
        if not self.all_active or t >= self.cfg.max_iters:
            return False
        dr = torch.stack((self._tolerated(data, pen), pen)).numpy()
        return bool(np.isfinite(dr).all() and (dr[0] >= self.cfg.tol).all())

    def _stop(self, stopping: torch.Tensor, code: torch.Tensor | int, t: int) -> None:
        self.reason = torch.where(stopping, code, self.reason)
        self.stop_iter = torch.where(stopping, t, self.stop_iter)
        self.active = self.active & ~stopping
        if self.host_checks:
            self.all_active = bool(self.active.all())

    def update(self, t: int, finite_w: torch.Tensor, data: torch.Tensor, pen: torch.Tensor) -> None:
        if self.nobody_stops(t, data, pen):
            return
        healthy = finite_w & torch.isfinite(data) & torch.isfinite(pen)
        diverged = self.active & ~healthy
        converged = self.active & ~diverged & (self._tolerated(data, pen) < self.cfg.tol)
        stopping = self.active if t == self.cfg.max_iters else diverged | converged
        code = torch.where(diverged, _DIVERGED, torch.where(converged, _CONVERGED, _MAX_ITERS))
        self._stop(stopping, code, t)

    def plateau(self, t: int, log: Log) -> None:
        """``stop: plateau``: at a logged point, stop the active runs the plateau rule says have plateaued."""
        if self.cfg.stop != "plateau" or t >= self.cfg.max_iters:
            return
        iterations, arrays = log.host_arrays("data_term", "test_error", "effective_rank")
        done = torch.as_tensor(plateaued(iterations, *arrays), device=self.active.device)
        self._stop(self.active & done, _PLATEAU, t)

    def all_stopped(self, t: int, check_every: int) -> bool:
        """Whether every run has stopped (on a GPU asked only every ``check_every`` steps: it syncs)."""
        if self.all_active or not (self.host_checks or t % check_every == 0):
            return False
        return not bool(self.active.any())


def finite_part(wd: torch.Tensor, host_checks: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(W with non-finite runs zeroed, which runs are finite).

    One reduction per run: its sum is non-finite iff an entry is (or the run has blown up past the
    dtype's range, which counts as diverged too).
    """
    finite_w = torch.isfinite(wd.sum((-2, -1)))
    if host_checks and bool(finite_w.all()):
        return wd, finite_w
    return torch.where(
        finite_w[:, None, None], wd, torch.zeros((), dtype=wd.dtype, device=wd.device)
    ), finite_w


class BatchOptimizers:
    """The batch's optimizers: one per stretch of consecutive runs that share an optimizer name.

    Each optimizer steps its own slice of every layer: views ``layer.detach()[start:stop]`` share the
    layer's storage, so the whole batch is still one tensor per layer for the forward pass and autograd,
    while Adam's runs and SGD's runs (say) keep their own state and update rule.  A slice starts at a
    run boundary, so each run is updated as it would be alone (the same kernel-exactness rule as a
    one-optimizer batch, :func:`matcomp.training.optimizers.fused_is_batch_exact`, checked per slice).
    """

    def __init__(
        self,
        names: Sequence[str],
        params: Sequence[torch.Tensor],
        lr: float,
        gd_momentum: float = GD_MOMENTUM,
    ):
        self.groups: list[tuple[str, int, int, list[torch.Tensor], torch.optim.Optimizer]] = []
        stretches = [(name, len(list(same))) for name, same in itertools.groupby(names)]
        start = 0
        for name, count in stretches:
            stop = start + count
            # one optimizer: the layers themselves (no slicing per step); several: a slice of each
            views = list(params) if len(stretches) == 1 else [p.detach()[start:stop] for p in params]
            fused = name in FUSED and fused_is_batch_exact(views)
            extra = {"momentum": gd_momentum} if name == "gd_momentum" else {}
            self.groups.append(
                (name, start, stop, views, make_optimizer(name, views, lr=lr, fused=fused, **extra))
            )
            start = stop
        self.whole = len(stretches) == 1

    def step(self, grads: Sequence[torch.Tensor]) -> None:
        for _, start, stop, views, opt in self.groups:
            for view, grad in zip(views, grads):
                view.grad = grad if self.whole else grad[start:stop]
            opt.step()

    def kernels(self) -> dict[str, str]:
        """``fused``/``foreach`` (:func:`matcomp.training.optimizers.optimizer_kernel`) by optimizer name."""
        return {name: optimizer_kernel(opt) for name, _, _, _, opt in self.groups}


def apply_step(
    params: list[torch.Tensor],
    opt: BatchOptimizers,
    w: torch.Tensor,
    grad_w: torch.Tensor,
    stop: Stopping,
) -> None:
    """One optimizer step from ∇_W L; stopped runs are put back where they stopped.

    Stopped runs keep training in the batch but are restored after the step: an element-wise optimizer
    never mixes runs, so this freezes them exactly where they stopped.
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


LOGGED = ("data_term", "penalty", "test_error", "test_error_unobserved", "effective_rank", "spectrum")


class Log:
    """The logged points of a batch: at each, D, R, both test errors, the effective rank and the spectrum."""

    def __init__(self, points: np.ndarray, objective: Objective):
        self.points, self.objective = points, objective
        self.entries: list[tuple] = []
        self.host: dict[str, list[np.ndarray]] = {}

    def due(self, t: int) -> bool:
        return len(self.entries) < len(self.points) and t == self.points[len(self.entries)]

    def _entry(self, wsafe, sigma, data, pen) -> tuple[torch.Tensor, ...]:
        s = sigma if sigma is not None else svdvals(wsafe)
        return (data, pen, *self.objective.errors(wsafe), effective_rank_t(s), s)

    def add(self, t: int, wsafe, sigma, data, pen) -> None:
        self.entries.append((t, *self._entry(wsafe, sigma, data, pen)))
        self.host.clear()

    def fill_frozen(self, wsafe, sigma, data, pen) -> None:
        """Every run stopped early and is frozen: the remaining log points all see its final state,
        exactly as they would inside a larger batch that was still running."""
        if len(self.entries) < len(self.points):
            frozen = self._entry(wsafe, sigma, data, pen)
            self.entries.extend((int(p), *frozen) for p in self.points[len(self.entries) :])

    def host_arrays(self, *names: str) -> tuple[np.ndarray, list[np.ndarray]]:
        """(iterations [T], [B, T] float64 arrays of ``names``) of the points logged so far."""
        arrays = [self._column(name) for name in names]
        return np.array([entry[0] for entry in self.entries]), arrays

    def _column(self, name: str) -> np.ndarray:
        i = LOGGED.index(name) + 1
        return np.stack([entry[i].detach().cpu().double().numpy() for entry in self.entries], axis=1)

    def trajectory(self) -> Trajectory:
        arrays = {name: self._column(name) for name in LOGGED}
        return Trajectory(iterations=np.array([entry[0] for entry in self.entries]), **arrays)


def _final_metrics(
    params, objective: Objective, spectral: SpectralStep
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Each run's metrics at its stopping point (its frozen parameters), its spectrum, and finiteness."""
    with torch.no_grad():
        w = end_product(params)
        finite_w = torch.isfinite(w).all(-1).all(-1)
        wsafe = torch.where(finite_w[:, None, None], w, torch.zeros((), dtype=w.dtype, device=w.device))
        s = svdvals(wsafe)
        _, data = objective.data_term(wsafe)
        err, err_unobs = objective.errors(wsafe)
        final = {
            "data_term": data,
            "penalty_value": spectral.final_value(s),
            "test_error": err,
            "test_error_unobserved": err_unobs,
            "effective_rank": effective_rank_t(s),
        }
        final = {k: v.cpu().double().numpy() for k, v in final.items()}
        return final, s.cpu().double().numpy(), finite_w.cpu().numpy()


@dataclass(frozen=True)
class RunSpec:
    """One network of a batch: its data, λ, seed (its initial weights), penalty and optimizer."""

    problem: Problem
    lam: float
    seed: int
    penalty: Penalty
    optimizer: str


def _run_records(
    specs: Sequence[RunSpec], final, s_np, finite_np, stop: Stopping, traj: Trajectory
) -> list[dict[str, Any]]:
    reason_np, stop_np = stop.reason.cpu().numpy(), stop.stop_iter.cpu().numpy()
    runs = []
    for i, spec in enumerate(specs):
        diverged = reason_np[i] == _DIVERGED
        runs.append(
            {
                "seed": spec.seed,
                "lam": float(spec.lam),
                "rank": int(spec.problem.settings.get("rank", -1)),
                "n_obs": spec.problem.n_obs,
                "data": spec.problem.settings,
                **{
                    k: (float("nan") if diverged and not finite_np[i] else float(v[i]))
                    for k, v in final.items()
                },
                "singular_values": s_np[i].tolist() if finite_np[i] else None,
                "iterations": int(stop_np[i]),
                "stop_reason": STOP_REASONS[int(reason_np[i])],
                "diverged_at": int(stop_np[i]) if diverged else None,
                "iterations_to_test_error": _first_crossings(traj.iterations, traj.test_error[i]),
                "penalty": spec.penalty.spec,
                "optimizer": spec.optimizer,
            }
        )
    return runs


def run_specs(
    problems: Sequence[Problem],
    lams: Sequence[float],
    cfg: TrainConfig,
    seeds: Sequence[int] | None = None,
    penalties: Sequence[str] | None = None,
    optimizers: Sequence[str] | None = None,
) -> list[RunSpec]:
    """One checked :class:`RunSpec` per problem (defaults: the problems' data seeds, ``cfg.penalty``,
    ``cfg.optimizer``); an error names what does not fit before any work."""
    b = len(problems)
    if b == 0 or len(lams) != b:
        raise ValueError("need one λ per problem and at least one problem")
    if any(lam < 0 or not math.isfinite(lam) for lam in lams):
        raise ValueError(f"λ must be finite and >= 0, got {list(lams)}")
    if len({p.shape for p in problems}) != 1:
        shapes = sorted({p.shape for p in problems})
        raise ValueError(f"all problems of a batch must have one shape, got {shapes}")
    seeds = [int(p.settings.get("seed", i)) for i, p in enumerate(problems)] if seeds is None else list(seeds)
    pens = [get_penalty(p) for p in ([cfg.penalty] * b if penalties is None else penalties)]
    opts = [cfg.optimizer] * b if optimizers is None else list(optimizers)
    for name, values in (("penalty", pens), ("optimizer", opts), ("seed", seeds)):
        if len(values) != b:
            raise ValueError(f"need one {name} per problem, got {len(values)} for {b}")
    for name in set(opts):
        check_optimizer(name)
    for pen in set(pens):
        resolve_route(cfg.spectral, pen, torch.device("cpu"))  # e.g. polar with a Schatten penalty
    return [RunSpec(*x) for x in zip(problems, lams, seeds, pens, opts, strict=True)]


def optimizer_order(specs: Sequence[RunSpec]) -> list[int]:
    """A stable order of the runs that puts the runs of each optimizer next to each other (first appearance
    first): :class:`BatchOptimizers` steps each optimizer's runs as one slice."""
    first = {spec.optimizer: i for i, spec in reversed(list(enumerate(specs)))}
    return sorted(range(len(specs)), key=lambda i: first[specs[i].optimizer])


@dataclass
class _Batch:
    """Everything one batch trains with, set up on its device (the runs in :func:`optimizer_order`)."""

    cfg: TrainConfig
    specs: list[RunSpec]
    device: torch.device
    routes: dict[str, str]
    objective: Objective
    spectral: SpectralStep
    params: list[torch.Tensor]
    opt: BatchOptimizers
    stop: Stopping
    log: Log
    fallbacks_before: int = 0

    @classmethod
    def set_up(cls, cfg: TrainConfig, specs: list[RunSpec], host_checks: bool | None) -> _Batch:
        pens = [s.penalty for s in specs]
        device, dtype = resolve_device(cfg.device, pens, cfg.spectral, len(specs)), DTYPES[cfg.dtype]
        routes = {p.spec: resolve_route(cfg.spectral, p, device) for p in pens}
        objective = Objective.of([s.problem for s in specs], [s.lam for s in specs], cfg, device, dtype)
        m, n = specs[0].problem.shape
        layers = init_layers(
            [s.seed for s in specs], m, n, cfg.depth, cfg.init_std, cfg.width, dtype, device, cfg.init
        )
        params = [t.requires_grad_(True) for t in layers]
        # On the CPU a host-side check costs nothing, so the common step (every run active, finite and
        # above tol) is recognised on the host and skips the stopping bookkeeping and the masking that
        # freezes stopped runs; on a GPU both are always applied on the device, to avoid a sync per step.
        host_checks = device.type == "cpu" if host_checks is None else host_checks
        return cls(
            cfg, specs, device, routes, objective, SpectralStep(pens, routes, dtype, device), params,
            BatchOptimizers([s.optimizer for s in specs], params, cfg.lr, cfg.gd_momentum),
            Stopping(cfg, objective.lam.flatten(), host_checks), Log(log_points(cfg.log, cfg.max_iters), objective),
            FALLBACKS["svd"],
        )  # fmt: skip

    def label(self) -> str:
        opts = {s.optimizer for s in self.specs}
        pens = {s.penalty.spec for s in self.specs}
        return f"{'/'.join(sorted(opts))} {'/'.join(sorted(pens))} d{self.cfg.depth} ×{len(self.specs)}"

    def train(self, progress: bool, check_every: int) -> int:
        """The training loop (module docstring); returns the last step reached."""
        cfg, stop, log = self.cfg, self.stop, self.log
        bar = _progress_bar(cfg, self.label(), progress)
        t = 0
        for t in range(cfg.max_iters + 1):
            w = end_product(self.params)
            wsafe, finite_w = finite_part(w.detach(), stop.host_checks)
            resid, data = self.objective.data_term(wsafe)
            sigma, pen_value, pen_grad = self.spectral(wsafe)
            stop.update(t, finite_w, data, pen_value)
            if log.due(t):
                log.add(t, wsafe, sigma, data, pen_value)
                stop.plateau(t, log)
            if bar is not None and t % 1000 == 0:
                bar.update(min(1000, cfg.max_iters - bar.n))
            if t == cfg.max_iters or stop.all_stopped(t, check_every):
                break
            apply_step(self.params, self.opt, w, self.objective.grad(resid, pen_grad), stop)
        if bar is not None:
            bar.close()
        log.fill_frozen(wsafe, sigma, data, pen_value)
        return t

    def provenance(self, seconds: float, steps: int) -> dict[str, Any]:
        dtype = DTYPES[self.cfg.dtype]
        return provenance(
            device=str(self.device),
            device_name=torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "cpu",
            dtype=self.cfg.dtype,
            seconds=seconds,
            steps_run=steps,
            torch_threads=torch.get_num_threads(),
            optimizer_kernel=self.opt.kernels(),
            svd_fallbacks=FALLBACKS["svd"] - self.fallbacks_before,
            spectral_route={spec: route_record(r, dtype) for spec, r in self.routes.items()},
        )


def _progress_bar(cfg: TrainConfig, label: str, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=cfg.max_iters, desc=label, unit="it", mininterval=10)


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

    ``penalties`` (one spec per run) and ``optimizers`` (one name per run) make a mixed batch; by default
    every run has ``cfg.penalty`` and ``cfg.optimizer``.  Results come back in the order of the problems;
    each run's record names its own optimizer and penalty, and the provenance records the optimizer kernel
    and spectral route by optimizer and by penalty spec.

    ``seeds`` default to the problems' data seeds and set each run's initial weights.  ``host_checks``
    (default: on the CPU only) selects the host-side fast path for stopping; ``False`` runs the GPU's
    device-side path, which gives the same numbers (tested on the CPU).
    """
    cfg.validate()
    specs = run_specs(problems, lams, cfg, seeds, penalties, optimizers)
    order = optimizer_order(specs)
    t_start = time.perf_counter()
    batch = _Batch.set_up(cfg, [specs[i] for i in order], host_checks)
    steps = batch.train(progress, check_every)
    seconds = time.perf_counter() - t_start

    final, s_np, finite_np = _final_metrics(batch.params, batch.objective, batch.spectral)
    traj = batch.log.trajectory()
    runs = _run_records(batch.specs, final, s_np, finite_np, batch.stop, traj)
    inverse = np.argsort(order)  # back to the caller's order
    traj = Trajectory(**{k: (v if k == "iterations" else v[inverse]) for k, v in asdict(traj).items()})
    settings = {**asdict(cfg), "device": str(batch.device), "batch_size": len(specs)}
    for key, values in (
        ("optimizer", {s.optimizer for s in specs}),
        ("penalty", {s.penalty.spec for s in specs}),
    ):
        if len(values) > 1:  # a mixed batch: each run's record names its own
            settings[key] = sorted(values)
    return BatchResult(settings, [runs[i] for i in inverse], traj, batch.provenance(seconds, steps))
