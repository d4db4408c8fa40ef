"""Optimizers by name: PyTorch's classes with their defaults except the learning rate.

The paper uses lr = 1e-3 for every optimizer and PyTorch defaults otherwise; ``gd_momentum`` is SGD with
momentum 0.9.  All of these act element-wise on their parameters with scalar hyper-parameters, so a
parameter tensor holding B independent cells ``[B, ...]`` is updated exactly as B separate runs would be.
Adding an optimizer is one :data:`OPTIMIZERS` entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

OptimizerFactory = Callable[..., torch.optim.Optimizer]

OPTIMIZERS: dict[str, tuple[type[torch.optim.Optimizer], dict[str, Any]]] = {
    "adam": (torch.optim.Adam, {}),
    "adam_amsgrad": (torch.optim.Adam, {"amsgrad": True}),
    "adagrad": (torch.optim.Adagrad, {}),
    "adamax": (torch.optim.Adamax, {}),
    "rmsprop": (torch.optim.RMSprop, {}),
    "gd": (torch.optim.SGD, {}),
    "gd_momentum": (torch.optim.SGD, {"momentum": 0.9}),
    "adadelta": (torch.optim.Adadelta, {}),
    "adamw": (torch.optim.AdamW, {}),
    "nadam": (torch.optim.NAdam, {}),
    "radam": (torch.optim.RAdam, {}),
}

DEFAULT_LR = 1e-3


class UnknownOptimizerError(ValueError):
    """Raised for an optimizer name the registry does not know."""


def check_optimizer(name: str) -> None:
    """Raise :class:`UnknownOptimizerError` naming the valid optimizers."""
    if name not in OPTIMIZERS:
        raise UnknownOptimizerError(
            f"unknown optimizer {name!r}; valid optimizers: {', '.join(sorted(OPTIMIZERS))}"
        )


def make_optimizer(
    name: str, params: Iterable[torch.Tensor], lr: float = DEFAULT_LR, **overrides: Any
) -> torch.optim.Optimizer:
    """Instantiate optimizer ``name`` on ``params`` with learning rate ``lr``."""
    check_optimizer(name)
    cls, defaults = OPTIMIZERS[name]
    return cls(params, lr=lr, **{**defaults, **overrides})
