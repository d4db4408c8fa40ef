"""Where a job runs and by which spectral route: the one placement policy of the project.

Every decision of the kind "CPU or GPU, SVD or polar factor" is made here, from measurements recorded in
``benchmarks/README.md``:

* :func:`gpu_is_faster`: whether a batch of cells with a penalty and a requested route runs faster on a
  GPU than on the host's CPU;
* :func:`wants_gpu`: whether a synthetic training job (its penalties, route setting, batch size and the
  config's ``device``) asks for a GPU — what the workflow plans (the rule's ``gpu`` resource, packs);
* :func:`resolve_device`: the device a batch actually runs on (``auto``: CUDA when there is one and the
  batch is faster there);
* :func:`resolve_route`: the route a penalty takes on that device (``auto``: polar on CUDA where the
  penalty has a polar form, svd otherwise);
* :func:`movielens_wants_gpu` / :func:`movielens_device`: the same for the two MovieLens models;
* :func:`gpus_planned` and :func:`run_device`: whether the workflow's jobs get a GPU at all (the config's
  ``device`` and ``gpus``), and the device a planned job runs on.

The planner decides each job's *placement* once (``gpu`` where the job is faster there and the jobs get
GPUs, else ``cpu``) and puts it into the job's settings, hence its name: where a job runs can change its
numbers.  The job runs where it was placed (:func:`run_device`); the trainer resolves the spectral route on
that device once per batch and records device and route in every result.
"""

from __future__ import annotations

import ctypes
import importlib.machinery
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .lazy import lazy_import, loaded
from .spectral import AUTO_ROUTES, ROUTES, has_polar_form

if TYPE_CHECKING:
    import torch

    from .penalties import Penalty
else:
    torch = lazy_import("torch")  # imported on first use: planning decides placements without it

GPU_MIN_BATCH_UNPENALISED = 32
"""Below this many networks an unpenalised batch is launch-bound on a GPU and no faster than 2 CPU cores
(H200, steady state: 6 900 against 13 000 network-steps/s at B = 5, depth 1; 140 000 against 87 000 at 32)."""


def resolve_route(route: str, penalty: Penalty, device: torch.device | str) -> str:
    """``svd``, ``polar``, ``gesvda`` (or ``none`` without a penalty) for one penalty on ``device``: ``auto``
    takes ``polar`` on CUDA where the penalty has a polar form and ``svd`` otherwise; ``auto-gesvda`` takes
    ``gesvda`` instead of that ``svd`` on CUDA.

    Asking for ``polar`` with a penalty that has none is an error naming the penalties that do.
    """
    if route not in ROUTES:
        raise ValueError(f"spectral must be one of {', '.join(ROUTES)}, got {route!r}")
    if not penalty.spectral:
        return "none"
    if route == "polar" and not has_polar_form(penalty):
        from .penalties import PENALTIES

        names = sorted(k for k, v in PENALTIES.items() if v.polar is not None)
        raise ValueError(
            f"spectral: polar needs a penalty with a polar form ({', '.join(names)}); "
            f"{penalty.spec!r} needs its singular values: use spectral: svd, gesvda or auto"
        )
    if route in AUTO_ROUTES:
        if getattr(device, "type", str(device).partition(":")[0]) != "cuda":
            return "svd"
        if has_polar_form(penalty):
            return "polar"
        return "gesvda" if route == "auto-gesvda" else "svd"
    return route


def gpu_is_faster(penalty: Penalty, route: str = "auto", batch: int | None = None) -> bool:
    """Whether a batch with this penalty and requested route runs faster on a GPU than on the host's CPU.

    False where the step needs the exact SVD (``spectral: svd``, or ``auto`` for a penalty without a polar
    form: cuSOLVER loops over the batch); True on the polar route (3× at B = 5 on an H200 for ratio) and
    on the gesvda route (``gesvda``, ``auto-gesvda`` for the Schatten penalties); without a penalty, True
    from :data:`GPU_MIN_BATCH_UNPENALISED` networks (``batch=None``: assume a large batch).
    """
    if not penalty.spectral:
        return batch is None or batch >= GPU_MIN_BATCH_UNPENALISED
    if route == "svd":
        return False
    return has_polar_form(penalty) or route in ("gesvda", "auto-gesvda")


def wants_gpu(penalties: Sequence[Penalty], route: str, batch: int | None, device: str = "auto") -> bool:
    """Whether a training job asks for a GPU: never with ``device: cpu``, always with ``cuda``, and under
    ``auto`` when every penalty's batch is faster there (:func:`gpu_is_faster`)."""
    if device == "cpu":
        return False
    if device != "auto":
        return True
    return all(gpu_is_faster(p, route, batch) for p in penalties)


def resolve_device(
    device: str, penalties: Sequence[Penalty] = (), spectral: str = "auto", batch: int | None = None
) -> torch.device:
    """``auto`` is CUDA when available and the batch is faster there (:func:`wants_gpu`), else CPU; CUDA
    without one is an error that names the fix."""
    if device == "auto":
        on_gpu = torch.cuda.is_available() and wants_gpu(penalties, spectral, batch)
        return torch.device("cuda" if on_gpu else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(
            "device 'cuda' requested but torch.cuda.is_available() is False; use device cpu (--device cpu, "
            "or device: cpu in config.yaml)"
        )
    return torch.device(device)


def gpus_planned(device: str = "auto", gpus: bool | str = "auto") -> bool:
    """Whether the workflow's jobs get a GPU: never with ``device: cpu`` or ``gpus: false``; with
    ``gpus: true`` (a SLURM login node without one) or ``device: cuda``; under ``auto`` when torch sees one
    while Snakemake plans."""
    if device == "cpu" or gpus is False:
        return False
    if gpus is True or device.startswith("cuda"):
        return True
    return cuda_available()


def cuda_available() -> bool:
    """``torch.cuda.is_available()``, without importing torch where it is not imported yet (planning): torch's
    install has its CUDA library and the driver reports a device (``CUDA_VISIBLE_DEVICES`` honoured).  Where
    the two could differ (a driver too old for torch's CUDA), a job placed on a GPU runs on the CPU and says
    so (:func:`run_device`)."""
    if loaded("torch"):
        return torch.cuda.is_available()
    return _torch_has_cuda() and _driver_devices() > 0


def _torch_has_cuda() -> bool:
    spec = importlib.machinery.PathFinder.find_spec("torch")  # not sys.modules': that would load a lazy torch
    if spec is None or spec.origin is None:
        return False
    return any((Path(spec.origin).parent / "lib").glob("*torch_cuda*"))


def _driver_devices() -> int:
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return 0
    count = ctypes.c_int(0)
    if cuda.cuInit(0) != 0 or cuda.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return 0
    return count.value


def run_device(placement: str, device: str = "auto") -> str:
    """The device a job placed on ``placement`` (``cpu`` or ``gpu``) runs on: the config's CUDA device (or
    ``cuda``) for ``gpu``.  A ``gpu`` job on a machine without one (``gpus: true`` where there is none) runs
    on the CPU and says so; its result records the device it ran on."""
    if placement == "cpu":
        return "cpu"
    if device.startswith("cuda"):
        return device
    if not torch.cuda.is_available():
        print("note: this job was placed on a GPU (gpus: true) but torch sees none here; it runs on the CPU")
        return "cpu"
    return "cuda"


MOVIELENS_CPU_MODELS = ("embedding",)
"""MovieLens models that ``device: auto`` keeps on the CPU: the embedding model's minibatch steps are
launch-bound on a GPU (an epoch: 1.8 s on an H200, 1.0 s on 2 CPU cores); the LNN's penalised step is
5.7 ms on an H200 against 0.26 s on 2 CPU cores."""


def movielens_wants_gpu(model: str, device: str = "auto") -> bool:
    """Whether a MovieLens job of ``model`` asks for a GPU (the rule's ``gpu`` resource)."""
    if device == "cpu":
        return False
    return device != "auto" or model not in MOVIELENS_CPU_MODELS


def movielens_device(model: str, device: str = "auto") -> torch.device:
    """The device a MovieLens job of ``model`` trains on."""
    if device == "auto" and model in MOVIELENS_CPU_MODELS:
        return torch.device("cpu")
    return resolve_device(device)
