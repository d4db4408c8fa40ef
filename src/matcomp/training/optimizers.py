"""Optimizers by name: PyTorch's classes with their defaults except the learning rate.

The paper uses lr = 1e-3 for every optimizer and PyTorch defaults otherwise; ``gd_momentum`` is SGD with
momentum 0.9 (the trainer's ``gd_momentum`` setting: A.1 names PyTorch's defaults, whose momentum is 0, which
would make "GD (w. momentum)" plain GD; a named reading, recorded in every result).  All of these act element-wise on their parameters with scalar hyper-parameters, so a
parameter tensor holding B independent cells ``[B, ...]`` is updated exactly as B separate runs would be.
Adding an optimizer is one :data:`OPTIMIZERS` entry.

Speed: the classes named in :data:`FUSED` have a fused kernel (``fused=True``: one pass over the
parameters instead of ~10 element-wise ops; on the CPU it also avoids a ~10× slow ``sqrt`` of the exact
zeros in Adam's second moment). Its CPU kernel runs a vector loop and a scalar tail whose rounding differs,
and it splits work into 64-byte units, so an element's rounding depends on its position unless every
cell's slice of a parameter is a whole number of 64-byte cache lines: :func:`fused_is_batch_exact` checks
that, and the trainer falls back to the default (foreach) kernel when it does not hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .lazy import lazy_import

if TYPE_CHECKING:
    import torch
else:
    torch = lazy_import("torch")  # imported on first use: planning reads the registry only

GD_MOMENTUM = 0.9
"""The momentum of ``gd_momentum`` unless the trainer's ``gd_momentum`` setting says otherwise (the default;
PyTorch's own default, 0, is the reading ``gd_momentum0``)."""
OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "adam": ("Adam", {}),
    "adam_amsgrad": ("Adam", {"amsgrad": True}),
    "adagrad": ("Adagrad", {}),
    "adamax": ("Adamax", {}),
    "rmsprop": ("RMSprop", {}),
    "gd": ("SGD", {}),
    "gd_momentum": ("SGD", {"momentum": GD_MOMENTUM}),
    "adadelta": ("Adadelta", {}),
    "adamw": ("AdamW", {}),
    "nadam": ("NAdam", {}),
    "radam": ("RAdam", {}),
}
"""Name → (class in ``torch.optim``, its settings): a new optimizer is one entry."""

#: optimizers whose PyTorch class takes ``fused=True`` (CPU and CUDA kernels), with the same update rule
FUSED: frozenset[str] = frozenset({"adam", "adam_amsgrad", "adamw", "adagrad", "gd", "gd_momentum"})
#: of those, the ones whose fused kernel exists only on the CPU (torch 2.11: Adagrad refuses CUDA tensors)
FUSED_CPU_ONLY: frozenset[str] = frozenset({"adagrad"})

DEFAULT_LR = 1e-3


class UnknownOptimizerError(ValueError):
    """Raised for an optimizer name the registry does not know."""


def check_optimizer(name: str) -> None:
    """Raise :class:`UnknownOptimizerError` naming the valid optimizers."""
    if name not in OPTIMIZERS:
        raise UnknownOptimizerError(
            f"unknown optimizer {name!r}; valid optimizers: {', '.join(sorted(OPTIMIZERS))}"
        )


def fused_is_batch_exact(params: Sequence[torch.Tensor]) -> bool:
    """True when the fused kernel rounds every cell of ``[B, ...]`` parameters as it would alone.

    The CPU kernel processes whole 64-byte units with its vector loop and only the last
    ``numel % vector width`` elements of the tensor with its scalar loop, so a cell's elements take the same
    path at any batch position iff each cell's slice is a whole number of 64-byte units.
    """
    return all(p[0].numel() * p.element_size() % 64 == 0 for p in params)


def optimizer_kernel(opt: torch.optim.Optimizer) -> str:
    """``"fused"`` or ``"foreach"``: which PyTorch kernel ``opt`` steps with (recorded in results)."""
    return "fused" if opt.defaults.get("fused") else "foreach"


def make_optimizer(
    name: str,
    params: Iterable[torch.Tensor],
    lr: float = DEFAULT_LR,
    fused: bool = False,
    **overrides: Any,
) -> torch.optim.Optimizer:
    """Instantiate optimizer ``name`` on ``params`` with learning rate ``lr``.

    ``fused=True`` selects PyTorch's fused kernel for the optimizers in :data:`FUSED` (same update rule,
    fewer passes); it is ignored for the others.
    """
    check_optimizer(name)
    cls_name, defaults = OPTIMIZERS[name]
    cls = getattr(torch.optim, cls_name)
    params = list(params)
    on_cpu = all(p.device.type == "cpu" for p in params)
    if fused and name in FUSED and (on_cpu or name not in FUSED_CPU_ONLY):
        overrides = {"fused": True, **overrides}
    return cls(params, lr=lr, **{**defaults, **overrides})
