"""Accuracy of the spectral routes against a float64 SVD, on training-like spectra (``spectra.py`` here).

One study for the polar route and the gesvda route (it replaces the former ``polar_accuracy.py`` and the
accuracy half of ``gpu_routes_probe.py``):

1. **ratio / nuclear, the polar route**: ‖Q − Q_ref‖_F, the relative error of ‖W‖_* and of the ratio
   penalty's gradient, for the SVD in W's dtype and the polar route, float32 and float64;
2. **Schatten penalties, the gesvda route**: the relative error of each Schatten penalty's gradient and of
   σ, for the float32 SVD (the default route) and the float64 shifted SVD of the gesvda route
   (:func:`matcomp.training.spectral.shifted_svd`: cuSOLVER's gesvda on a GPU, LAPACK on the CPU).

Each matrix is rounded to the working dtype first and the reference is the float64 SVD of that rounded
matrix, so what is measured is each route's own error.  8 random 100×100 matrices per row, worst case.

    python benchmarks/route_accuracy.py [--device cuda] [--out benchmarks/route_accuracy.md]
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import torch
from spectra import matrices, route_errors, spectrum  # this folder's

from matcomp.training.penalties import get_penalty, spectral_grad
from matcomp.training.spectral import shifted_svd

SCHATTEN = [get_penalty(s) for s in ("schatten:1/2", "schatten:1/3", "schatten_ratio:1/2:2/3", "ratio")]
KINDS = {"rank 5": (5, False, False), "rank 10": (10, False, False),
         "rank 5, repeated σ": (5, True, False), "rank 5, clustered tail": (5, False, True)}  # fmt: skip
TAILS = (1e-2, 1e-4, 1e-6, 1e-8)


def polar_table() -> list[str]:
    lines = [
        "## 1. The polar route (ratio, nuclear)",
        "",
        "| dtype | spectrum | tail / σ₁ | ‖ΔQ‖_F svd | ‖ΔQ‖_F polar | rel ‖W‖_* svd | rel ‖W‖_* polar "
        "| rel ∇ratio svd | rel ∇ratio polar |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for dtype in (torch.float32, torch.float64):
        for name, (rank, repeated, clustered) in KINDS.items():
            for tail in TAILS:
                e = route_errors(matrices(spectrum(rank, tail, repeated, clustered), 8, seed=rank).to(dtype))
                lines.append(
                    f"| {str(dtype)[6:]} | {name} | {tail:g} | {e['svd_q']:.1e} | {e['polar_q']:.1e} | "
                    f"{e['svd_nuc']:.1e} | {e['polar_nuc']:.1e} | {e['svd_grad']:.1e} | {e['polar_grad']:.1e} |"
                )
    return lines


def schatten_errors(w32: torch.Tensor, device: torch.device) -> dict[str, str]:
    """Worst relative error of each penalty's gradient and of σ, float32 SVD and the gesvda route."""
    ref = torch.linalg.svd(w32.double(), full_matrices=False)
    routes = {"float32 SVD": torch.linalg.svd(w32, full_matrices=False)}
    try:
        routes["gesvda (float64, shifted)"] = [x.cpu() for x in shifted_svd(w32.to(device))]
    except RuntimeError as err:  # cuSOLVER's convergence check
        routes["gesvda (float64, shifted)"] = str(err).split("(")[0].strip() + " refused"
    out: dict[str, str] = {}
    for name, usv in routes.items():
        for pen in SCHATTEN:
            if isinstance(usv, str):
                out[f"{pen.spec} {name}"] = usv
                continue
            _, g_ref = spectral_grad(pen, *ref)
            _, g = spectral_grad(pen, *(x.double() for x in usv))
            rel = torch.linalg.matrix_norm(g - g_ref) / torch.linalg.matrix_norm(g_ref)
            out[f"{pen.spec} {name}"] = f"{float(rel.max()):.1e}"
        if not isinstance(usv, str):
            s = usv[1].double().sort(-1, descending=True).values
            out[f"sigma {name}"] = f"{float(((s - ref[1]).abs() / ref[1][:, :1]).max()):.1e}"
    return out


def schatten_table(device: torch.device) -> list[str]:
    names = ("float32 SVD", "gesvda (float64, shifted)")
    lines = [
        f"## 2. The gesvda route (Schatten penalties), gesvda on {device}",
        "",
        "| spectrum | tail / σ₁ | quantity | " + " | ".join(names) + " |",
        "|---|---:|---|---:|---:|",
    ]
    for rank in (5, 10):
        for tail in TAILS:
            for clustered in (False, True):
                err = schatten_errors(
                    matrices(spectrum(rank, tail, False, clustered), 8, seed=rank).float(), device
                )
                for q in [p.spec for p in SCHATTEN] + ["sigma"]:
                    head = f"rank {rank}{' clustered' if clustered else ''} | {tail:g} | {q}"
                    lines.append(f"| {head} | " + " | ".join(err.get(f"{q} {n}", "") for n in names) + " |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", help="where the gesvda route runs (cuda: cuSOLVER)")
    ap.add_argument("--out", default="benchmarks/route_accuracy.md")
    a = ap.parse_args()
    device = torch.device(a.device)
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or platform.machine()
    )
    lines = [
        "# Spectral routes against a float64 SVD (`benchmarks/route_accuracy.py`)",
        "",
        f"Machine: {name}, torch {torch.__version__}; 8 random 100×100 matrices per row, worst case.",
        "",
        *polar_table(),
        "",
        *schatten_table(device),
    ]
    Path(a.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
