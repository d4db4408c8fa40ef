"""Input checks shared by the classic baselines."""

from __future__ import annotations

import os
from typing import Any

import numpy as np


def observed_input(w_obs: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(w, mask)``: a float64 copy with NaN at every unobserved entry, and the boolean mask.

    ``w_obs`` marks missing entries with NaN; when ``mask`` (True = observed) is given it wins, and the
    entries it hides are set to NaN whatever they hold.
    """
    w = np.array(w_obs, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"expected a 2-D matrix, got shape {w.shape}")
    if mask is None:
        mask = ~np.isnan(w)
    else:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != w.shape:
            raise ValueError(f"mask shape {mask.shape} differs from matrix shape {w.shape}")
        if np.isnan(w[mask]).any():
            raise ValueError("an entry marked observed by the mask is NaN")
    if not mask.any():
        raise ValueError("the matrix has no observed entries")
    if not np.isfinite(w[mask]).all():
        raise ValueError("observed entries must be finite")
    w[~mask] = np.nan
    return w, mask


def nan_matrix(shape: tuple[int, ...]) -> np.ndarray:
    """The result of a failed completion: all NaN."""
    return np.full(shape, np.nan)


def jsonable(value: Any) -> Any:
    """Numpy scalars and arrays in ``value`` turned into plain Python (for result files)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value
