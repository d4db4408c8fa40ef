"""Deep linear networks W = W_N ⋯ W_1, batched over independent cells.

A batch of B networks of depth N is a list of N tensors, layer j of shape ``[B, d_j, d_{j-1}]`` with
``d_0 = n``, ``d_N = m`` and hidden width ``width`` (the paper: d_0 = … = d_N = m = n = 100).  Depth 1 is a
single ``[B, m, n]`` matrix.  Each cell's layers are drawn from its own seed, on the CPU, so that a cell's
initial weights do not depend on the batch it is trained in or on the device.
"""

from __future__ import annotations

import numpy as np
import torch


def layer_shapes(m: int, n: int, depth: int, width: int | None = None) -> list[tuple[int, int]]:
    """Shapes ``(d_j, d_{j-1})`` of layers 1..N (the first acts on R^n, the last maps into R^m)."""
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    h = width if width is not None else max(m, n)
    dims = [n] + [h] * (depth - 1) + [m]
    return [(dims[j + 1], dims[j]) for j in range(depth)]


def init_seed(seed: int) -> int:
    """The torch seed for a cell's initial weights (a stream independent of the data's)."""
    return int(np.random.SeedSequence([int(seed), 2]).generate_state(1)[0])


def init_layers(
    seeds: list[int],
    m: int,
    n: int,
    depth: int,
    init_std: float = 1e-3,
    width: int | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> list[torch.Tensor]:
    """i.i.d. N(0, init_std²) layers for each seed, stacked as ``[B, d_j, d_{j-1}]`` per layer."""
    shapes = layer_shapes(m, n, depth, width)
    per_cell = []
    for seed in seeds:
        g = torch.Generator().manual_seed(init_seed(seed))
        per_cell.append([torch.randn(s, generator=g, dtype=torch.float64) * init_std for s in shapes])
    return [torch.stack([cell[j] for cell in per_cell]).to(dtype=dtype, device=device) for j in range(depth)]


def end_product(layers: list[torch.Tensor]) -> torch.Tensor:
    """The end-product matrix W = W_N ⋯ W_1 (batched)."""
    w = layers[0]
    for layer in layers[1:]:
        w = layer @ w
    return w
