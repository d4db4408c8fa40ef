"""Deep linear networks W = W_N ⋯ W_1, batched over independent cells.

A batch of B networks of depth N is a list of N tensors, layer j of shape ``[B, d_j, d_{j-1}]`` with
``d_0 = n``, ``d_N = m`` and hidden width ``width`` (the paper: d_0 = … = d_N = m = n = 100).  Depth 1 is a
single ``[B, m, n]`` matrix.  Each cell's layers are drawn from its own seed, on the CPU, so that a cell's
initial weights do not depend on the batch it is trained in or on the device.

Initialisation (A.1: "standard deviation 10^{-3} as in [7]"), two readings of the scale s (:data:`INITS`):

* ``end_to_end`` ([7]'s code, Arora et al. 2019, ``initialization = 'gaussian'``): s is the scale of the
  end-product matrix.  Layer j of shape ``(d_j, d_{j-1})`` is N(0, σ_j²) with σ_j = s^(1/N) / √d_j, so each
  layer multiplies a column's expected squared norm by s^(2/N) and E‖W₀‖²_F = s²·n (n = d_0, the input
  dimension): ‖W₀‖_F ≈ s·√n, the target [7] asserts to within 0.8–1.2.  For the paper's square layers
  (every d_j = n) σ_j = s^(1/N)/√n is [7]'s rule exactly; [7] asserts square layers, and dividing by the
  output dimension is the choice that keeps its target s·√n for other widths.
* ``layer`` (the sentence read literally): every layer N(0, s²), so ‖W₀‖_F ≈ s^N·n^((N+1)/2).

Both draw the same standard normals for a seed and scale them, so the readings differ only in the scale.
"""

from __future__ import annotations

import numpy as np
import torch

from .settings import INITS


def layer_shapes(m: int, n: int, depth: int, width: int | None = None) -> list[tuple[int, int]]:
    """Shapes ``(d_j, d_{j-1})`` of layers 1..N (the first acts on R^n, the last maps into R^m)."""
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    h = width if width is not None else max(m, n)
    dims = [n] + [h] * (depth - 1) + [m]
    return [(dims[j + 1], dims[j]) for j in range(depth)]


def layer_stds(shapes: list[tuple[int, int]], init_std: float, init: str = "end_to_end") -> list[float]:
    """The standard deviation of each layer's entries under the reading ``init`` (:data:`INITS`)."""
    if init == "layer":
        return [init_std] * len(shapes)
    if init == "end_to_end":
        return [init_std ** (1.0 / len(shapes)) / d_out**0.5 for d_out, _ in shapes]
    raise ValueError(f"init must be one of {', '.join(INITS)}, got {init!r}")


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
    init: str = "end_to_end",
) -> list[torch.Tensor]:
    """Gaussian layers for each seed, scaled by the reading ``init`` (:func:`layer_stds`), stacked as
    ``[B, d_j, d_{j-1}]`` per layer."""
    shapes = layer_shapes(m, n, depth, width)
    stds = layer_stds(shapes, init_std, init)
    per_cell = []
    for seed in seeds:
        g = torch.Generator().manual_seed(init_seed(seed))
        per_cell.append(
            [torch.randn(s, generator=g, dtype=torch.float64) * std for s, std in zip(shapes, stds)]
        )
    return [torch.stack([cell[j] for cell in per_cell]).to(dtype=dtype, device=device) for j in range(depth)]


def end_product(layers: list[torch.Tensor]) -> torch.Tensor:
    """The end-product matrix W = W_N ⋯ W_1 (batched)."""
    w = layers[0]
    for layer in layers[1:]:
        w = layer @ w
    return w
