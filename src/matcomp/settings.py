"""The training settings (:class:`TrainConfig`) and their vocabularies, without torch: the planner, the CLI
and the workflow's DAG read them; the trainer (:mod:`matcomp.train`) runs them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .optimizers import DEFAULT_LR, GD_MOMENTUM, check_optimizer
from .penalties import get_penalty
from .placement import resolve_route
from .spectral import ROUTES

TOL_ON = ("loss", "data")
"""What the tolerance reads: the whole loss D + λR (default; A.1: "training loss") or the data term alone."""
STOP_RULES = ("budget", "plateau")
"""``budget``: a run stops by the tolerance, divergence or its iteration budget; ``plateau``: also at the
first logged point where the plateau rule (:mod:`matcomp.plateau`) holds."""

INITS = ("end_to_end", "layer")
"""The readings of the initial scale: [7]'s end-to-end scale (default) and the literal per-layer std."""
DTYPE_NAMES = ("float32", "float64")


@dataclass(frozen=True)
class TrainConfig:
    """Settings shared by every run of a batch (everything a result depends on, besides its data)."""

    optimizer: str = "adam"
    penalty: str = "ratio"
    depth: int = 1
    lr: float = DEFAULT_LR
    init_std: float = 1e-3
    init: str = "end_to_end"
    """how ``init_std`` scales the layers: ``end_to_end`` ([7]'s code: the end product's scale) or ``layer``
    (every layer's std, A.1 read literally) (:data:`INITS`)"""
    width: int | None = None
    max_iters: int = 500_000
    tol: float = 1e-7
    tol_on: str = "loss"
    """what the tolerance reads: ``loss`` (D + λR; A.1's "training loss") or ``data`` (the data term alone)"""
    stop: str = "budget"
    """``budget`` or ``plateau`` (also stop where the plateau rule holds; :data:`STOP_RULES`)"""
    reduction: str = "sum"
    gd_momentum: float = GD_MOMENTUM
    """the momentum of ``gd_momentum`` (Table 3's "GD (w. momentum)"): A.1 says PyTorch's defaults, whose SGD
    momentum is 0, which would make that row plain GD; 0.9 is the conventional value (a named reading)"""
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
        if self.dtype not in DTYPE_NAMES:
            raise ValueError(f"dtype must be one of {sorted(DTYPE_NAMES)}, got {self.dtype!r}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ValueError(f"device must be auto, cpu or cuda, got {self.device!r}")
        numbers = {"lr": self.lr, "init_std": self.init_std, "tol": self.tol, "gd_momentum": self.gd_momentum}
        bad = [k for k, v in numbers.items() if not math.isfinite(v)]
        if bad:
            raise ValueError(", ".join(f"{k} must be a finite number, got {numbers[k]}" for k in bad))
        ranges = [("lr", self.lr, "> 0", self.lr > 0), ("init_std", self.init_std, "> 0", self.init_std > 0),
                  ("tol", self.tol, ">= 0", self.tol >= 0), ("max_iters", self.max_iters, ">= 0", self.max_iters >= 0),
                  ("gd_momentum", self.gd_momentum, "in [0, 1)", 0 <= self.gd_momentum < 1),
                  ("width", self.width, ">= 1 (or unset: the matrix's size)", self.width is None or self.width >= 1)]  # fmt: skip
        bad = [f"{name} must be {want}, got {value}" for name, value, want, ok in ranges if not ok]
        if bad:
            raise ValueError("; ".join(bad))
        if self.init not in INITS:
            raise ValueError(f"init must be one of {', '.join(INITS)}, got {self.init!r}")
        if self.tol_on not in TOL_ON:
            raise ValueError(f"tol_on must be one of {', '.join(TOL_ON)}, got {self.tol_on!r}")
        if self.stop not in STOP_RULES:
            raise ValueError(f"stop must be one of {', '.join(STOP_RULES)}, got {self.stop!r}")
        log_points(self.log, self.max_iters)
        if self.spectral not in ROUTES:
            raise ValueError(f"spectral must be one of {', '.join(ROUTES)}, got {self.spectral!r}")
        resolve_route(self.spectral, get_penalty(self.penalty), "cpu")


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
