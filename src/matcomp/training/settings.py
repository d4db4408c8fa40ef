"""The training settings (:class:`TrainConfig`) and their vocabularies, without torch: the planner, the CLI
and the workflow's DAG read them; the trainer (:mod:`matcomp.training.train`) runs them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields
from typing import Any

import numpy as np

from .optimizers import DEFAULT_LR, GD_MOMENTUM, check_optimizer
from .penalties import get_penalty
from .placement import resolve_route
from .spectral import ROUTES

TOL_ON = ("loss", "data")
"""What the tolerance reads: the whole loss D + λR (default; A.1: "training loss") or the data term alone."""
STOP_RULES = ("budget", "plateau")
"""``budget``: a run stops by the tolerance, divergence or its iteration budget; ``plateau``: also at the
first logged point where the plateau rule (:mod:`matcomp.training.plateau`) holds."""

INITS = ("end_to_end", "layer")
"""The readings of the initial scale: [7]'s end-to-end scale (default) and the literal per-layer std."""
DTYPE_NAMES = ("float32", "float64")
CONVERGENCE_THRESHOLDS = (1e-2, 1e-3, 1e-4)
"""Test-error levels whose first logged crossing is reported (iterations to converge)."""
REDUCTIONS = ("sum", "mean")
DEVICES = ("auto", "cpu", "cuda")


def setting(
    default: Any,
    help: str,
    *,
    choices: tuple[str, ...] | None = None,
    minimum: float | None = None,
    above: float | None = None,
    below: float | None = None,
    config: bool = True,
    option: str | None = None,
    schema: dict[str, Any] | None = None,
) -> Any:
    """A training setting: its default and everything derived from it, the command line option (``--name``,
    or ``option``), the config's ``train:`` block and its JSON schema (where ``config``), and the checks of
    :meth:`TrainConfig.validate` (``choices``; numbers finite and ``>= minimum``, ``> above``, ``< below``).
    ``schema``: anything more the JSON schema says (a pattern)."""
    bounds = {"minimum": minimum, "above": above, "below": below}
    return field(
        default=default,
        metadata={"help": help, "choices": choices, "config": config, "option": option, "schema": schema or {},
                  **{k: v for k, v in bounds.items() if v is not None}},
    )  # fmt: skip


@dataclass(frozen=True)
class TrainConfig:
    """Settings shared by every run of a batch (everything a result depends on, besides its data).  A new
    setting is one field here (:func:`setting`) and, where it has a config default, one line of
    ``config.yaml``'s ``train:``: the command line, the config schema and the checks derive from it."""

    optimizer: str = setting("adam", "an optimizer of matcomp.training.optimizers.OPTIMIZERS", config=False)
    penalty: str = setting(
        "ratio",
        "a penalty of matcomp.training.penalties.PENALTIES (e.g. schatten_ratio:1/2:2/3)",
        config=False,
    )
    depth: int = setting(1, "the number of layers", minimum=1, config=False)
    lr: float = setting(DEFAULT_LR, "the learning rate", above=0)
    init_std: float = setting(1e-3, "the initial scale (read by init)", above=0)
    init: str = setting(
        "end_to_end",
        "how init_std scales the layers: end_to_end (the end product's scale, as in [7]'s code) or layer (every "
        "layer's std, A.1 read literally)",
        choices=INITS,
    )
    width: int | None = setting(None, "the hidden layers' width (unset: the matrix's size)", minimum=1)
    max_iters: int = setting(500_000, "the iteration budget", minimum=0)
    tol: float = setting(1e-7, "the tolerance (read by tol_on)", minimum=0)
    tol_on: str = setting(
        "loss",
        "what tol reads: the loss D + λR (A.1's 'training loss') or the data term alone",
        choices=TOL_ON,
    )
    stop: str = setting("budget", "plateau: also stop where the plateau rule holds", choices=STOP_RULES)
    reduction: str = setting(
        "sum", "the data term: summed over the observed entries (Eq. 1) or their mean ([7]'s code)",
        choices=REDUCTIONS,
    )  # fmt: skip
    gd_momentum: float = setting(
        GD_MOMENTUM,
        "the momentum of the gd_momentum optimizer (Table 3's 'GD (w. momentum)'); A.1's 'PyTorch defaults' "
        "would be 0, which makes that row plain GD (the reading gd_momentum0)",
        minimum=0,
        below=1,
    )
    log: str = setting(
        "log:200",
        "a log schedule: 'every:K' (every K iterations, K >= 1), 'log:P' (P >= 2 log-spaced points) or 'none'",
        option="--log-every",
        schema={"pattern": "^(none|every:[1-9][0-9]*|log:([2-9]|[1-9][0-9]+))$"},
    )
    device: str = setting("auto", "auto, cpu or cuda (cuda:N)", config=False)
    dtype: str = setting("float32", "the floating-point precision", choices=DTYPE_NAMES)
    spectral: str = setting(
        "auto",
        "the penalty gradient's route: svd, polar (matmul-only; ratio, nuclear), gesvda (float64 batched "
        "approximate SVD), auto (CUDA: polar where possible, else svd; CPU: svd) or auto-gesvda (auto, gesvda "
        "instead of svd on CUDA) (matcomp.training.spectral)",
        choices=ROUTES,
    )

    def validate(self) -> None:
        """Raise ValueError (one line naming the setting) before any work."""
        check_optimizer(self.optimizer)
        get_penalty(self.penalty)
        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            raise ValueError(f"device must be auto, cpu or cuda, got {self.device!r}")
        for f in fields(self):
            choices = f.metadata["choices"]
            if choices and getattr(self, f.name) not in choices:
                raise ValueError(
                    f"{f.name} must be one of {', '.join(choices)}, got {getattr(self, f.name)!r}"
                )
        numbers = {
            f.name: getattr(self, f.name) for f in fields(self) if isinstance(getattr(self, f.name), float)
        }
        bad = [k for k, v in numbers.items() if not math.isfinite(v)]
        if bad:
            raise ValueError(", ".join(f"{k} must be a finite number, got {numbers[k]}" for k in bad))
        bad = [why for f in fields(self) if (why := _out_of_range(f, getattr(self, f.name)))]
        if bad:
            raise ValueError("; ".join(bad))
        log_points(self.log, self.max_iters)
        resolve_route(self.spectral, get_penalty(self.penalty), "cpu")


def _out_of_range(f: Field[Any], value: Any) -> str | None:
    """Why ``value`` is outside the setting's bounds, or None (an optional setting may be unset)."""
    lo, above, below = (f.metadata.get(k) for k in ("minimum", "above", "below"))
    if value is None or (lo is None and above is None and below is None):
        return None
    if (lo is None or value >= lo) and (above is None or value > above) and (below is None or value < below):
        return None
    if below is None:
        want = f">= {lo}" if lo is not None else f"> {above}"
    elif lo is None and above is None:
        want = f"< {below}"
    else:
        want = f"in [{lo}, {below})" if lo is not None else f"in ({above}, {below})"
    unset = " (or unset)" if f.default is None else ""
    return f"{f.name} must be {want}{unset}, got {value}"


FIELD_TYPES: dict[str, tuple[type, Any]] = {
    "str": (str, "string"),
    "int": (int, "integer"),
    "float": (float, "number"),
    "int | None": (int, ["integer", "null"]),
}
"""A setting's annotation -> (the command line's type, the JSON schema's type)."""

TRAIN_KEYS = tuple(f.name for f in fields(TrainConfig) if f.metadata["config"])
"""The config's ``train:`` block: every setting the cells of one job share."""
TRAIN_DEFAULTS = {f.name: f.default for f in fields(TrainConfig) if f.name in TRAIN_KEYS}
"""What a setting the config leaves out is."""


def train_schema() -> dict[str, Any]:
    """The JSON schema of the config's ``train:`` block, from :class:`TrainConfig`'s fields."""
    props = {}
    for f in fields(TrainConfig):
        if not f.metadata["config"]:
            continue
        m = f.metadata
        node: dict[str, Any] = {"type": FIELD_TYPES[str(f.type)][1], "description": m["help"], **m["schema"]}
        node.update({"enum": list(m["choices"])} if m["choices"] else {})
        node.update({"minimum": m["minimum"]} if "minimum" in m else {})
        node.update({"exclusiveMinimum": m["above"]} if "above" in m else {})
        node.update({"exclusiveMaximum": m["below"]} if "below" in m else {})
        props[f.name] = node
    return {"type": "object", "properties": props, "additionalProperties": False}


def effective_train(config: Mapping[str, Any], exp: Mapping[str, Any]) -> dict[str, Any]:
    """An experiment's training settings: its own ``train:``, else the config's, else the default."""
    own, shared = exp.get("train", {}) or {}, config.get("train", {}) or {}
    return {k: own.get(k, shared.get(k, TRAIN_DEFAULTS[k])) for k in TRAIN_KEYS}


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
