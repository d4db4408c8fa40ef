"""Accuracy of the polar route: Q and ‖W‖_* against a float64 SVD, beside the float32 SVD's own error.

Training-like spectra, 100×100: a rank-r signal (σ from 10 down to 1, or r repeated values) plus a tail
of 100 − r values spread log-uniformly over one decade below ``tail``·σ₁ (or all equal to it: a cluster),
for tails from 1e-2 down to 1e-8 of σ₁, with random singular vectors.  Each matrix is rounded to the
working dtype first, and the reference is the float64 SVD of that rounded matrix, so what is measured is
each route's own error, not the rounding of W.  Columns: the worst over 8 matrices of ‖Q − Q_ref‖_F and of
the relative error of ‖W‖_* (polar: ⟨Q, W⟩; SVD: Σσ), and of the ratio penalty's gradient, relative to
its norm.

    python benchmarks/polar_accuracy.py [--out benchmarks/polar_accuracy.md]
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import torch

from matcomp.penalties import get_penalty, spectral_grad
from matcomp.spectral import polar_factor, polar_value_and_grad

RATIO = get_penalty("ratio")


def spectrum(rank: int, tail: float, repeated: bool, clustered: bool, n: int = 100) -> torch.Tensor:
    signal = torch.full((rank,), 10.0) if repeated else torch.linspace(10, 1, rank)
    rest = torch.full((n - rank,), 10 * tail) if clustered else 10 * tail * torch.logspace(0, -1, n - rank)
    return torch.cat([signal, rest]).double()


def matrices(sigma: torch.Tensor, count: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    n = sigma.shape[0]
    u, _ = torch.linalg.qr(torch.randn(count, n, n, generator=g, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(count, n, n, generator=g, dtype=torch.float64))
    return (u * sigma) @ v.mT


def errors(w: torch.Tensor) -> dict[str, float]:
    """Worst-case errors of the polar route and of the SVD in w's dtype, against float64 on the same w."""
    ref = w.double()
    u, s, vh = torch.linalg.svd(ref, full_matrices=False)
    q_ref, nuc_ref = u @ vh, s.sum(-1)
    _, g_ref = spectral_grad(RATIO, u, s, vh)
    out = {}
    us, ss, vhs = torch.linalg.svd(w, full_matrices=False)
    _, g_svd = spectral_grad(RATIO, us, ss, vhs)
    q_polar = polar_factor(w)
    _, g_polar = polar_value_and_grad(RATIO, w)
    g_norm = torch.linalg.matrix_norm(g_ref)
    for name, q, nuc, g in (
        ("svd", us @ vhs, ss.sum(-1), g_svd),
        ("polar", q_polar, (q_polar * w).sum((-2, -1)), g_polar),
    ):
        out[f"{name}_q"] = float(torch.linalg.matrix_norm(q.double() - q_ref).max())
        out[f"{name}_nuc"] = float(((nuc.double() - nuc_ref) / nuc_ref).abs().max())
        out[f"{name}_grad"] = float((torch.linalg.matrix_norm(g.double() - g_ref) / g_norm).max())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/polar_accuracy.md")
    a = ap.parse_args()
    head = (
        "| dtype | spectrum | tail / σ₁ | ‖ΔQ‖_F svd | ‖ΔQ‖_F polar | rel ‖W‖_* svd | rel ‖W‖_* polar "
        "| rel ∇ratio svd | rel ∇ratio polar |"
    )
    lines = [
        "# Polar route accuracy against a float64 SVD (`benchmarks/polar_accuracy.py`)",
        "",
        f"Machine: {platform.machine()}, torch {torch.__version__}; 8 random 100×100 matrices per row, worst case.",
        "",
        head,
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    kinds = {"rank 5": (5, False, False), "rank 10": (10, False, False),
             "rank 5, repeated σ": (5, True, False), "rank 5, clustered tail": (5, False, True)}  # fmt: skip
    for dtype in (torch.float32, torch.float64):
        for label, (rank, repeated, clustered) in kinds.items():
            for tail in (1e-2, 1e-4, 1e-6, 1e-8):
                w = matrices(spectrum(rank, tail, repeated, clustered), 8, seed=rank).to(dtype)
                e = errors(w)
                row = (
                    f"| {str(dtype)[6:]} | {label} | {tail:g} | {e['svd_q']:.1e} | {e['polar_q']:.1e} | "
                    f"{e['svd_nuc']:.1e} | {e['polar_nuc']:.1e} | {e['svd_grad']:.1e} | {e['polar_grad']:.1e} |"
                )
                print(row, flush=True)
                lines.append(row)
    Path(a.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
