"""Metrics of a completed matrix: test error and effective rank (numpy and batched torch)."""

from __future__ import annotations

import numpy as np
import torch


def test_error(w: np.ndarray, w_star: np.ndarray, mask: np.ndarray | None = None) -> float:
    """‖W − W*‖²_F / ‖W*‖²_F, over the entries where ``mask`` is True (all entries if None)."""
    if mask is None:
        mask = np.ones_like(w_star, dtype=bool)
    diff = (w - w_star)[mask]
    return float(np.sum(diff**2) / np.sum(w_star[mask] ** 2))


test_error.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def effective_rank(sigma: np.ndarray) -> float:
    """Roy & Vetterli's effective rank exp(H(p)), p = σ/‖σ‖₁, with 0·log 0 = 0.

    k equal non-zero singular values give exactly k; the zero matrix gives 0 (no spectrum).
    """
    s = np.abs(np.asarray(sigma, dtype=np.float64))
    total = s.sum()
    if not np.isfinite(total) or total <= 0:
        return float("nan") if not np.isfinite(total) else 0.0
    p = s[s > 0] / total
    return float(np.exp(-np.sum(p * np.log(p))))


def effective_rank_t(sigma: torch.Tensor) -> torch.Tensor:
    """Batched :func:`effective_rank` over the last axis of a torch tensor."""
    s = sigma.abs()
    p = s / s.sum(-1, keepdim=True)
    h = -torch.where(p > 0, p * torch.log(p), torch.zeros_like(p)).sum(-1)
    return torch.exp(h)


def relative_error_t(
    w: torch.Tensor, w_star: torch.Tensor, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Batched ‖(W − W*)∘weight‖² / ‖W*∘weight‖² over the last two axes."""
    d = (w - w_star) ** 2
    t = w_star**2
    if weight is not None:
        d, t = d * weight, t * weight
    return d.sum((-2, -1)) / t.sum((-2, -1))
