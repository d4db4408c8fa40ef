"""The names the planner and the report share (torch-free, imported by both; the baselines' from their registry): the printed labels of the
MovieLens models, the baseline methods, the optimizers and the penalties, the name of an experiment under a reading (``fig1@init_layer``),
and the columns that name a planned training cell.

Planning hands the claims step its budgets and planned cells keyed by these labels
(:mod:`matcomp.plan.budgets`), so both sides read them here rather than the planner importing report code.
"""

from __future__ import annotations

from .baselines import BASELINES

MODEL_NAMES = {"lnn": "Depth 1 LNN", "embedding": "User-Item Embedding"}
"""Table 2's models: config key -> printed name."""

METHOD_LABELS = {name: method.label for name, method in BASELINES.items()}
"""The baselines of Fig. 4/5: method -> printed label (from the registry, :data:`matcomp.baselines.BASELINES`)."""

PAPER_METHODS = "$paper_baselines"
"""In a claim's list of methods: every baseline of the paper (the registry's ``in_paper``), so that "all other
methods" takes a new baseline without an edit of claims.yaml."""

OPTIMIZER_LABELS = {
    "adam": "Adam", "adam_amsgrad": "Adam (AMSGrad)", "adagrad": "Adagrad", "adamax": "Adamax",
    "rmsprop": "RMSProp", "gd": "GD", "gd_momentum": "GD (w. momentum)", "adadelta": "Adadelta",
    "adamw": "AdamW", "nadam": "NAdam", "radam": "RAdam",
}  # fmt: skip
"""Optimizers (:data:`matcomp.training.optimizers.OPTIMIZERS`) -> printed label, as the paper's tables name them; a
registered optimizer without one is refused while planning (``tests/test_labels.py`` checks both)."""

PENALTY_LABELS = {
    "ratio": "Ratio",
    "nuclear": "Nuc",
    "none": "None",
    "schatten": "Sch",
    "schatten_ratio": "Sch",
}
"""Penalties (:data:`matcomp.training.penalties.PENALTIES`) -> printed label; a penalty with arguments prints them
after it ("Sch 1/2:2/3").  A registered penalty without one is refused while planning."""

READING_SEP = "@"
"""``fig1@init_layer``: experiment fig1 under the reading init_layer
(:func:`matcomp.plan.config.with_readings`)."""


def split_reading(name: str) -> tuple[str, str | None]:
    """``"fig1@init_layer"`` -> ``("fig1", "init_layer")``; a default experiment's reading is None."""
    base, _, reading = name.partition(READING_SEP)
    return base, reading or None


PLAN_COLUMNS = ("optimizer", "penalty", "depth", "lam", "n_obs")
"""The columns that name a planned training cell; a baseline experiment's rows are named by method, n_obs."""
