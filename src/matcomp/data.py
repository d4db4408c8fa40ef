"""Synthetic matrix-completion problems: a rank-r ground truth W* and an observed set Ω.

Following the design of Arora et al. (2019), which the paper mirrors: ``W* = U Vᵀ`` with i.i.d. N(0, 1)
factors ``U ∈ R^{m×r}``, ``V ∈ R^{n×r}``, rescaled (by default) so that ‖W*‖_F = √(mn), i.e. entries of
RMS 1.  With that normalisation the relative test error ‖W−W*‖²/‖W*‖² equals the paper's mean-squared
error (1/mn)‖W−W*‖².  Ω holds ``n_obs`` entries drawn uniformly without repetition.

The pair (W*, Ω) is a pure function of ``(m, n, rank, n_obs, seed, normalize)``.  W* depends on the seed
only (not on n_obs), and Ω is drawn from an independent stream, so problems that differ only in n_obs
share their ground truth.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .store.io import write_with

_FORMAT = "matcomp.problem/1"


class ProblemError(ValueError):
    """Invalid problem settings or an unreadable problem file."""


def validate_settings(m: int, n: int, rank: int, n_obs: int) -> None:
    """Raise :class:`ProblemError` (one clear line) for impossible settings."""
    if m < 1 or n < 1:
        raise ProblemError(f"matrix shape must be positive, got {m}x{n}")
    if not 1 <= rank <= min(m, n):
        raise ProblemError(f"rank must be in 1..min(m, n) = {min(m, n)}, got {rank}")
    if not 1 <= n_obs <= m * n:
        raise ProblemError(f"n_obs must be in 1..m*n = {m * n}, got {n_obs}")


@dataclass(frozen=True)
class Problem:
    """A ground truth ``w_star`` [m, n] (float64) and a boolean ``mask`` of observed entries."""

    w_star: np.ndarray
    mask: np.ndarray
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return self.w_star.shape  # type: ignore[return-value]

    @property
    def n_obs(self) -> int:
        return int(self.mask.sum())

    def observed(self) -> np.ndarray:
        """W* with unobserved entries set to NaN (the input of the classic baselines)."""
        return np.where(self.mask, self.w_star, np.nan)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write an ``.npz`` with the settings inside, atomically (:func:`matcomp.store.io.write_with`)."""
        settings = np.array(json.dumps({"format": _FORMAT, **self.settings}))
        write_with(
            path,
            lambda tmp: np.savez_compressed(tmp, w_star=self.w_star, mask=self.mask, settings=settings),
            ".npz",
        )  # with the umask's permissions, like every other output


def make_ground_truth(m: int, n: int, rank: int, seed: int, normalize: bool = True) -> np.ndarray:
    """Rank-``rank`` ``U Vᵀ`` from seed ``seed`` (independent of how many entries are observed)."""
    rng = np.random.default_rng([seed, 0])
    u = rng.standard_normal((m, rank))
    v = rng.standard_normal((n, rank))
    w = u @ v.T
    if normalize:
        w *= np.sqrt(m * n) / np.linalg.norm(w)
    return w


def sample_mask(m: int, n: int, n_obs: int, seed: int) -> np.ndarray:
    """``n_obs`` distinct entries of an m×n matrix, uniformly at random."""
    rng = np.random.default_rng([seed, 1])
    flat = rng.choice(m * n, size=n_obs, replace=False)
    mask = np.zeros(m * n, dtype=bool)
    mask[flat] = True
    return mask.reshape(m, n)


def make_problem(
    m: int = 100, n: int = 100, rank: int = 5, n_obs: int = 2000, seed: int = 0, normalize: bool = True
) -> Problem:
    """The (W*, Ω) pair for these settings; a pure function of its arguments."""
    m, n, rank, n_obs, seed = int(m), int(n), int(rank), int(n_obs), int(seed)
    validate_settings(m, n, rank, n_obs)
    settings = {"m": m, "n": n, "rank": rank, "n_obs": n_obs, "seed": seed, "normalize": bool(normalize)}
    return Problem(make_ground_truth(m, n, rank, seed, normalize), sample_mask(m, n, n_obs, seed), settings)


def load_problem(path: str | os.PathLike[str]) -> Problem:
    """Read a problem written by :meth:`Problem.save`; a clear error if missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise ProblemError(
            f"data file not found: {path} (create it with `matcomp data` or the workflow's data rule)"
        )
    try:
        with np.load(path, allow_pickle=False) as z:
            settings = json.loads(str(z["settings"]))
            w_star, mask = z["w_star"], z["mask"].astype(bool)
    except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ProblemError(
            f"not a matcomp problem file: {path} ({type(err).__name__}: {err}); if the workflow made it, "
            f"remove it and rerun, which makes it again: rm {path}"
        ) from None
    if settings.pop("format", None) != _FORMAT or w_star.shape != mask.shape:
        raise ProblemError(f"not a matcomp problem file: {path}")
    return Problem(w_star, mask, settings)


def damaged_problems(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Why each of the existing ``paths`` cannot be read as a problem (truncated, not a zip, wrong format):
    the planning check runs it on every data file a job reads, so a damaged one stops the run before any
    job, named, instead of killing the job that loads it."""
    out = []
    for path in dict.fromkeys(str(p) for p in paths):  # empty: marked done by `snakemake --touch`
        if Path(path).exists() and Path(path).stat().st_size > 0:
            try:
                load_problem(path)
            except ProblemError as err:
                out.append(str(err))
    return out
