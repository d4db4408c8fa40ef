"""The two MovieLens models of Table 2: a depth-1 linear network and Spotlight's explicit factorization."""

from __future__ import annotations

import torch
from torch import nn

from ..training.models import layer_stds


class DepthOneLNN(nn.Module):
    """A single full matrix ``W`` [n_users, n_items] plus one scalar bias: ``pred(u, i) = W[u, i] + b``.

    ``W`` starts Gaussian at the scale ``init_std`` under one of the synthetic experiments' readings
    (``init``, :mod:`matcomp.training.models`: ``layer``, std init_std, the LNN's default, or ``end_to_end``, [7]'s
    std init_std/√n_users), ``b`` at ``bias_init``.
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        init_std: float = 1e-3,
        bias_init: float = 0.0,
        generator: torch.Generator | None = None,
        init: str = "layer",
    ) -> None:
        super().__init__()
        (std,) = layer_stds([(n_users, n_items)], init_std, init)
        w = torch.randn(n_users, n_items, generator=generator, dtype=torch.float32) * std
        self.weight = nn.Parameter(w)
        self.bias = nn.Parameter(torch.tensor(float(bias_init), dtype=torch.float32))

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self.weight[users, items] + self.bias

    def matrix(self) -> torch.Tensor:
        """The learned matrix W (without the bias)."""
        return self.weight


class EmbeddingModel(nn.Module):
    """Spotlight's ``BilinearNet``: ``pred(u, i) = ⟨p_u, q_i⟩ + b_u + b_i``.

    Embeddings start at N(0, (1/dim)²) (Spotlight's ``ScaledEmbedding``), biases at 0 (``ZeroEmbedding``);
    there is no global bias.
    """

    def __init__(self, n_users: int, n_items: int, dim: int = 64, generator: torch.Generator | None = None):
        super().__init__()
        self.user_embeddings = nn.Embedding(n_users, dim)
        self.item_embeddings = nn.Embedding(n_items, dim)
        self.user_biases = nn.Embedding(n_users, 1)
        self.item_biases = nn.Embedding(n_items, 1)
        with torch.no_grad():
            for emb in (self.user_embeddings, self.item_embeddings):
                emb.weight.copy_(torch.randn(emb.weight.shape, generator=generator) / dim)
            self.user_biases.weight.zero_()
            self.item_biases.weight.zero_()

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        p = self.user_embeddings(users)
        q = self.item_embeddings(items)
        return (p * q).sum(-1) + self.user_biases(users).squeeze(-1) + self.item_biases(items).squeeze(-1)

    def matrix(self) -> torch.Tensor:
        """The bilinear part of the interaction matrix, ``P Qᵀ`` [n_users, n_items] (rank ≤ dim)."""
        return self.user_embeddings.weight @ self.item_embeddings.weight.T
