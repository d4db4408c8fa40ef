"""The names the planner and the report share (torch-free, imported by both): the printed labels of the
MovieLens models and the baseline methods, the name of an experiment under a reading (``fig1@init_layer``),
and the columns that name a planned training cell.

Planning hands the claims step its budgets and planned cells keyed by these labels
(:mod:`matcomp.plan.budgets`), so both sides read them here rather than the planner importing report code.
"""

from __future__ import annotations

MODEL_NAMES = {"lnn": "Depth 1 LNN", "embedding": "User-Item Embedding"}
"""Table 2's models: config key -> printed name."""

METHOD_LABELS = {"cp": "CP", "si": "SI", "opt": "OPT", "opt_published": "OPT (published)"}
"""The baselines of Fig. 4/5: method (:data:`matcomp.baselines.BASELINES`) -> printed label."""

READING_SEP = "@"
"""``fig1@init_layer``: experiment fig1 under the reading init_layer
(:func:`matcomp.plan.config.with_readings`)."""


def split_reading(name: str) -> tuple[str, str | None]:
    """``"fig1@init_layer"`` -> ``("fig1", "init_layer")``; a default experiment's reading is None."""
    base, _, reading = name.partition(READING_SEP)
    return base, reading or None


PLAN_COLUMNS = ("optimizer", "penalty", "depth", "lam", "n_obs")
"""The columns that name a planned training cell; a baseline experiment's rows are named by method, n_obs."""
