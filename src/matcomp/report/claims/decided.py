"""When a cell is decided (module :mod:`matcomp.report.claims`): its budget against the paper's, how its seeds
stopped, and the cell label every verdict names."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import pandas as pd

from ..cells import blown_up, flag, split_seeds, stop_set, value_text

# ---------------------------------------------------------------- budgets and when a cell is decided


def cell_label(row: pd.Series) -> str:
    """``experiment optimizer/penalty/depth/λ`` (training), ``experiment split/model/method`` (Table 2),
    ``experiment method/n_obs`` (Figures 4-5)."""
    if isinstance(row.get("model"), str) and row.get("model"):
        keys: tuple[str, ...] = ("split", "model", "method")
    elif isinstance(row.get("method"), str) and row.get("method"):
        keys = ("method", "n_obs")
    else:
        keys = ("optimizer", "penalty", "depth", "n_obs")
    label = "/".join(value_text(row[k]) for k in keys if k in row and pd.notna(row[k]))
    lam = row.get("lam", math.nan) if keys[0] == "optimizer" else math.nan
    return f"{row.get('experiment', '')} {label}".strip() + (f"/λ={lam:g}" if pd.notna(lam) else "")


def _paper_budget(row: pd.Series, budget: dict[str, Any] | None) -> tuple[dict | None, float]:
    """(the paper-scale budget of the row's experiment (and model), what the row ran)."""
    paper = (budget or {}).get("paper", {}).get(row.get("experiment"))
    ran = pd.to_numeric(row.get("max_iters", math.nan), errors="coerce")
    if paper is not None and "budget" not in paper:  # MovieLens: one budget per model
        paper = paper.get(row.get("model"))
        if pd.isna(ran):
            run = (budget or {}).get("run", {}).get(row.get("experiment"), {}).get(row.get("model"), {})
            ran = pd.to_numeric(run.get("budget", math.nan), errors="coerce")
    return paper, ran


STOP_WORDS = {"converged": "the tolerance", "plateau": "the plateau stop", "max_iters": "its budget",
              "diverged": "divergence"}  # fmt: skip


class SeedStop(NamedTuple):
    seed: str
    iterations: int
    reason: str
    blew_up: bool  # its test error says its product's norm ran away (:data:`matcomp.report.cells.BLOWN_UP`)

    def words(self) -> str:
        return f"by {STOP_WORDS.get(self.reason, self.reason)}" + (
            ", its product blown up" if self.blew_up else ""
        )


def seed_stops(row: pd.Series) -> list[SeedStop]:
    """Each seed of a training cell: where and why it stopped, and whether it blew up (empty for a row without
    per-seed columns: a baseline, a table written before them)."""
    keys = ("seeds", "iterations_seeds", "stop_reason_seeds", "test_error_seeds")
    seeds, iters, why, errs = (split_seeds(row.get(k)) for k in keys)
    if not (seeds and iters and why and len(seeds) == len(iters) == len(why)):
        return []
    errs = errs if errs and len(errs) == len(seeds) else [None] * len(seeds)
    return [
        SeedStop(s, int(float(i)), w, blown_up(e)) for s, i, w, e in zip(seeds, iters, why, errs, strict=True)
    ]


def _stopped(row: pd.Series, stops: set[str], unit: str) -> str:
    """Where and why the seeds ended, seed by seed: ``stopped at 45,074 iterations by the plateau stop
    (both seeds)``, ``stopped at 5,360 iterations by the tolerance (seed 0), 500,000 by its budget (seed 1)``;
    a row without per-seed columns gives the mean over its seeds."""
    per_seed = seed_stops(row)
    if per_seed:
        if len({(s.iterations, s.words()) for s in per_seed}) == 1:
            who = {1: "", 2: "both seeds"}.get(len(per_seed), f"all {len(per_seed)} seeds")
            return f"stopped at {per_seed[0].iterations:,} {unit} {per_seed[0].words()}" + (
                f" ({who})" if who else ""
            )
        parts = [f"{s.iterations:,}{f' {unit}' if k == 0 else ''} {s.words()} (seed {s.seed})"
                 for k, s in enumerate(per_seed)]  # fmt: skip
        return "stopped at " + ", ".join(parts)
    ran = pd.to_numeric(row.get("iterations_mean", math.nan), errors="coerce")
    at = (
        f"at {ran:,.0f} {unit}{' (mean over seeds)' if row.get('n_seeds', 1) != 1 else ''} "
        if pd.notna(ran)
        else ""
    )
    return f"stopped {at}by {' / '.join(STOP_WORDS.get(s, s) for s in sorted(stops)) or 'its budget'}"


def decision(row: pd.Series, budget: dict[str, Any] | None) -> tuple[bool, str]:
    """(decided, how): whether more training could still change this cell, and in words why (or why not):
    where its seeds stopped and by what (tolerance, plateau stop, budget, divergence)."""
    paper, ran = _paper_budget(row, budget)
    stops = stop_set(row.get("stop_reasons"))
    if paper is None or (pd.isna(ran) and not stops):
        return True, "solver run to its own convergence" if row.get("method") else "no budget to compare with"
    unit = paper["unit"]
    if pd.notna(ran) and ran >= paper["budget"]:
        kind = "configured budget" if unit in ("steps", "epochs") else "paper's budget"
        return True, f"{_stopped(row, stops, unit)}; budget: the {kind}, {int(paper['budget']):,} {unit}"
    if flag(row.get("plateaued")) and stops:
        return (
            True,
            f"{_stopped(row, stops, unit)}, plateaued: decided below the paper's {int(paper['budget']):,}",
        )
    why = row.get("still_moving")
    why = why if isinstance(why, str) and why else "no plateau record"
    kind = "configured" if unit in ("steps", "epochs") else "paper's"
    return False, f"budget {int(ran)} of the {kind} {int(paper['budget'])} {unit}, still moving ({why})"
