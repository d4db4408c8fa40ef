"""Training-like spectra for measuring the spectral routes (``route_accuracy.py`` here, and
``tests/test_spectral.py``, whose conftest puts this folder on ``sys.path``).

A 100×100 matrix with a rank-r signal (σ from 10 down to 1, or r repeated values) plus a tail of 100 − r
values spread log-uniformly over one decade below ``tail``·σ₁ (or all equal to it: a cluster), with random
singular vectors: what a network looks like once it has found its low-rank part.  :func:`route_errors`
measures the polar route and the SVD in a matrix's own dtype against a float64 SVD of the same (rounded)
matrix, so what is measured is each route's own error, not the rounding of W.
"""

from __future__ import annotations

import torch

from matcomp.training.penalties import get_penalty, spectral_grad
from matcomp.training.spectral import polar_factor, value_and_grad

RATIO = get_penalty("ratio")


def spectrum(
    rank: int, tail: float, repeated: bool = False, clustered: bool = False, n: int = 100
) -> torch.Tensor:
    """σ (float64, descending): the signal, then the tail at ``tail``·σ₁ (see the module docstring)."""
    signal = torch.full((rank,), 10.0) if repeated else torch.linspace(10, 1, rank)
    rest = torch.full((n - rank,), 10 * tail) if clustered else 10 * tail * torch.logspace(0, -1, n - rank)
    return torch.cat([signal, rest]).double()


def matrices(sigma: torch.Tensor, count: int, seed: int) -> torch.Tensor:
    """``count`` float64 matrices with singular values ``sigma`` and random singular vectors."""
    g = torch.Generator().manual_seed(seed)
    n = sigma.shape[0]
    u, _ = torch.linalg.qr(torch.randn(count, n, n, generator=g, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(count, n, n, generator=g, dtype=torch.float64))
    return (u * sigma) @ v.mT


def route_errors(w: torch.Tensor) -> dict[str, float]:
    """Worst-case errors (over the batch) of the polar route and of the SVD in w's dtype against a float64
    SVD of the same w: ``{route}_q`` (‖Q − Q_ref‖_F), ``{route}_nuc`` (relative ‖W‖_*), ``{route}_grad``
    (the ratio penalty's gradient, relative to its norm)."""
    ref = w.double()
    u, s, vh = torch.linalg.svd(ref, full_matrices=False)
    q_ref, nuc_ref = u @ vh, s.sum(-1)
    _, g_ref = spectral_grad(RATIO, u, s, vh)
    us, ss, vhs = torch.linalg.svd(w, full_matrices=False)
    _, g_svd = spectral_grad(RATIO, us, ss, vhs)
    q_polar = polar_factor(w)
    _, _, g_polar = value_and_grad(RATIO, w, "polar")
    g_norm = torch.linalg.matrix_norm(g_ref)
    out = {}
    for name, q, nuc, g in (
        ("svd", us @ vhs, ss.sum(-1), g_svd),
        ("polar", q_polar, (q_polar * w).sum((-2, -1)), g_polar),
    ):
        out[f"{name}_q"] = float(torch.linalg.matrix_norm(q.double() - q_ref).max())
        out[f"{name}_nuc"] = float(((nuc.double() - nuc_ref) / nuc_ref).abs().max())
        out[f"{name}_grad"] = float((torch.linalg.matrix_norm(g.double() - g_ref) / g_norm).max())
    return out
