"""Table 2's vocabulary, shared by the training runs and the table: its rows, models and checkpoints.

Kept apart from :mod:`matcomp.movielens.train` so that Table 2's code (:mod:`matcomp.report.table2`) does
not cover the training code, and the other way round (:mod:`matcomp.store.codehash`).
"""

from __future__ import annotations

ROWS: dict[str, tuple[str, bool]] = {
    "GD": ("gd", False),
    "GD+penalty": ("gd", True),
    "Adam": ("adam", False),
    "Adam+penalty": ("adam", True),
}
"""Table 2's four rows per model: label -> (optimizer, penalised)."""

MODELS = ("lnn", "embedding")

CHECKPOINTS = ("last", "train", "validation", "test")
"""The checkpoints every run yields (the ``checkpoint`` setting names the headline one)."""

CHECKPOINT_NOTES: dict[str, str] = {
    "last": "the last epoch / step (where training ended)",
    "train": "checkpoint of the lowest training error",
    "validation": "checkpoint chosen on the validation part of the training split (the test split never takes part)",
    "test": "checkpoint chosen on the test set, as appendix A.1 reads; optimistic",
}
"""Each checkpoint in words, for every output that uses it."""


def split_label(train_frac: float) -> str:
    """``0.9`` -> ``"90%"``."""
    return f"{round(100 * train_frac)}%"
