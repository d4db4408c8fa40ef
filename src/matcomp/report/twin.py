"""The untrained twin of a cell table: the same cells as their networks were at iteration 0.

A criterion that the twin meets cannot tell a trained network from an untrained one, so it is no evidence
(issue 34): the claims judge every claim on the twin too (:func:`matcomp.report.claims.evaluate`), and a
claim held on the cells and on their twin is *uninformative*.  The twin keeps each cell's identity and
decision (a decided untrained network), takes its error and effective rank from the trajectory's first point
(``test_error_at_0``, ``effective_rank_at_0``; where a table lacks them, an untrained network's measured
values below), reaches no iteration milestone, and did not train (``trained`` False).  Baselines and
Table 2's rows (no trajectory from an initialisation) are left as they are.
"""

from __future__ import annotations

import math

import pandas as pd

UNTRAINED_ERR = 1.0
"""The test error of W₀ ≈ 0 (the end-to-end init 1e-3): ‖0 − W*‖²/‖W*‖²."""
UNTRAINED_RANK = {1: 80.0, 2: 66.0, 3: 57.0, 4: 50.0, 5: 44.0}
"""Effective ranks of random depth-1..5 products at initialisation (100×100; issue 34's measurement): deeper
products have lower rank before any training, which is why "deeper means lower rank" needs trained cells."""


def _count_columns(df: pd.DataFrame) -> list[str]:
    return [
        c
        for c in df
        if c.startswith(("iters_to_", "first_err_")) and not c.endswith(("_lo", "_hi", "_seeds"))
    ]


def networks(df: pd.DataFrame) -> pd.Series:
    """The rows of trained networks: an optimizer's cells, and the networks Figures 4-5 show as methods
    (``Adam:1+R``, ``GD:3``: a method named with a colon); not the baselines, not Table 2."""
    nets = pd.Series(False, index=df.index)
    if "optimizer" in df:
        nets |= df["optimizer"].notna() & (df["optimizer"].astype(str) != "")
    if "method" in df:
        nets |= df["method"].astype(str).str.contains(":", na=False)
    return nets


def untrained_twin(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every training cell (a row with an optimizer) replaced by its untrained network's numbers,
    decided (module docstring)."""
    twin = df.copy()
    nets = networks(twin)
    if not nets.any():
        return twin
    at0 = twin.get("test_error_at_0", pd.Series(math.nan, index=twin.index)).fillna(UNTRAINED_ERR)
    depth = pd.to_numeric(twin.get("depth", pd.Series(math.nan, index=twin.index)), errors="coerce")
    rank0 = depth.map(lambda d: UNTRAINED_RANK.get(int(d), 60.0) if pd.notna(d) else 60.0)
    rank0 = twin.get("effective_rank_at_0", pd.Series(math.nan, index=twin.index)).fillna(rank0)
    for col in ("test_error_mean", "test_error_unobserved_mean"):
        twin.loc[nets, col] = at0[nets]
    twin.loc[nets, "effective_rank_mean"] = rank0[nets]
    budget = pd.to_numeric(twin.get("max_iters", pd.Series(math.nan, index=twin.index)), errors="coerce")
    for col in _count_columns(twin):
        twin.loc[nets, col] = math.nan
        twin.loc[nets, f"{col}_lo"] = budget[nets].fillna(0.0)
        twin.loc[nets, f"{col}_hi"] = math.inf
    per_seed = [c for c in twin if c.endswith("_seeds") and c != "n_seeds"]
    for col in [*per_seed, "sv_gap", "sv_gap_lo", "sv_gap_hi", "log10_test_error_se"]:
        if col in twin:
            twin[col] = twin[col].astype(object)
            twin.loc[nets, col] = math.nan
    twin.loc[nets, ["n_diverged", "trained"]] = [0, False]
    twin.loc[nets, ["plateaued", "stop_reasons", "still_moving"]] = [True, "plateau", ""]
    return twin


ALIKE_ERR, ALIKE_RANK = 0.5, 20.0
"""The numbers of the *alike* twin: every network trained and failed the same way."""


def alike_twin(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every network's cell trained, decided and failing alike (Err 0.5, Rk 20, no milestone
    reached): a claim that compares (better, faster, lower with depth) cannot hold on it, and one of
    sameness holds on it only where failing alike is what its sentence says."""
    twin = untrained_twin(df)
    nets = networks(twin)
    for col in ("test_error_mean", "test_error_unobserved_mean"):
        if col in twin:
            twin.loc[nets, col] = ALIKE_ERR
    twin.loc[nets, "effective_rank_mean"] = ALIKE_RANK
    twin.loc[nets, "trained"] = True
    return twin
