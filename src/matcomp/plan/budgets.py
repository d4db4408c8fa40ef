"""The budgets and members the claims are judged against, computed while planning and handed to the claims
step (``workflow/rules/report.smk``): this run's budgets, the paper scale's, and every cell the paper scale
plans (a claim about *every* member of a selection reads its members here, not from a hand list)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..labels import METHOD_LABELS, MODEL_NAMES, PLAN_COLUMNS, split_reading
from ..training.settings import effective_train
from .config import SYNTHETIC_KINDS, effective_config, read_yaml
from .jobs import experiment_cells

T2_BUDGETS = (("lnn", "n_iters", "steps"), ("embedding", "n_epochs", "epochs"))
"""MovieLens: which setting of each model is its budget, and in what unit."""


def budgets(config: dict[str, Any]) -> dict[str, Any]:
    """Each experiment's training budget in an effective config: ``{"budget", "unit"}`` (iterations) for the
    synthetic experiments, ``{model name: {"budget", "unit"}}`` for MovieLens (LNN steps, embedding epochs)."""
    out: dict[str, Any] = {}
    for name, exp in config.get("experiments", {}).items():
        if exp.get("kind") == "movielens":
            out[name] = {
                MODEL_NAMES[m]: {"budget": exp[m][key], "unit": unit}
                for m, key, unit in T2_BUDGETS
                if key in exp.get(m, {})
            }
        elif exp.get("kind") != "baselines" or exp.get("networks"):
            out[name] = {"budget": effective_train(config, exp)["max_iters"], "unit": "iterations"}
    return out


def claim_budgets(config: dict[str, Any], config_file: str | Path) -> dict[str, Any]:
    """``{"run": budgets of this run's effective config, "paper": those of config_file at scale paper,
    "plan": the cells config_file plans at scale paper (:func:`planned_cells`)}``."""
    raw = read_yaml(config_file)
    paper = effective_config({**raw, "scale": "paper"})
    return {"run": budgets(config), "paper": budgets(paper), "plan": planned_cells(paper)}


def planned_cells(config: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per default experiment, the cells it plans: training cells by :data:`PLAN_COLUMNS`, and for a
    baselines experiment its rows by ``method`` (network label or method name) and ``n_obs``.  A claim
    about every member of a selection reads its members here, not from a hand list."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, exp in config.get("experiments", {}).items():
        if split_reading(name)[1] is not None or exp.get("kind") not in SYNTHETIC_KINDS:
            continue
        if exp["kind"] == "baselines":
            methods = [n["label"] for n in exp.get("networks", [])]
            methods += [METHOD_LABELS.get(m, m) for m in exp.get("methods", {})]
            out[name] = [{"method": m, "n_obs": int(n)} for n in exp["n_obs_grid"] for m in methods]
            continue
        out[name] = [{col: getattr(c, col) for col in PLAN_COLUMNS} for c in experiment_cells(exp, config)]
    return out
