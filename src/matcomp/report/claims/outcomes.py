"""What a check yields per cell, pair, group or step (:class:`Outcome`), and the numbers it reads: each
seed's interval of a metric, settled iteration counts as bounds, and how they are printed."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..cells import split_seeds

OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
NOT_REACHED = "not reached at this budget"
UNINFORMATIVE = "uninformative"
"""Met only by cells of networks that did not train (or by the claim's untrained twin): no evidence."""
PRECEDENCE = ("not held", NOT_REACHED, "not run", UNINFORMATIVE, "inconclusive", "held")
"""A claim's verdict is the first of these that one of its checks gives."""
VERDICT_ORDER = ("held", "not held", NOT_REACHED, UNINFORMATIVE, "inconclusive", "not run")
SPREAD_METRICS = ("log10_test_error_se",)
"""Metrics over the seeds that one seed cannot measure (a cell with fewer than 2 is absent for them)."""
COUNTS = ("iters_to_err_", "iters_to_rank", "iters_to_sv", "sv_gap")
"""Metrics that are iteration counts (intervals: ``<metric>_lo``, ``<metric>_hi``)."""


# ---------------------------------------------------------------- outcomes


@dataclass
class Outcome:
    """One cell's (pair's, group's, step's) part of a check."""

    label: str
    text: str
    passes: bool | None  # None: not measured
    decided: bool
    how: list[str] = field(default_factory=list)  # each cell's decision, in words
    missing: bool = False  # a cell the check needs is not in this run (a pair's partner, a reference)
    neutral: bool = False  # no evidence either way: both sides fail alike where the claim is about success
    uninformative: bool = False  # it would pass, but on a cell whose network did not train


def _is_count(metric: str) -> bool:
    return metric.startswith(COUNTS)


SETTLING: tuple[str, ...] = ()
"""Counts whose bounds, once they settle a check, no more training could move.  None since the error times
are *settled* times (the iteration after which the error stays at the level to the end of the run: an error
that climbs back later moves it), like the rank milestone (reached and held to the end) and the singular
values' times (measured against the run's final values): only decided cells decide them."""


def settles(metric: str) -> bool:
    return metric.startswith(SETTLING)


def interval(row: pd.Series, metric: str) -> tuple[float, float]:
    """The metric as an interval: an iteration count's bounds, else (v, v); NaN when not measured."""
    if _is_count(metric) and f"{metric}_lo" in row and pd.notna(row[f"{metric}_lo"]):
        return float(row[f"{metric}_lo"]), float(row[f"{metric}_hi"])
    v = float(pd.to_numeric(row.get(metric, math.nan), errors="coerce"))
    ran = float(pd.to_numeric(row.get("max_iters", math.nan), errors="coerce"))
    if (
        metric.startswith("iters_to") and math.isnan(v) and not math.isnan(ran)
    ):  # a count without bounds: censored
        return ran, math.inf
    return v, v


SEEDED = ("test_error", "test_error_unobserved", "effective_rank")
"""Metrics whose ``<metric>_mean`` column has a per-seed twin ``<metric>_seeds`` (:mod:`matcomp.report.tables`)."""


SEEDED_COUNTS = (
    "iters_to_err_",
    "iters_to_sv1",
    "iters_to_svr",
    "iters_to_sv_stable",
    "iters_to_rank",
    "sv_gap",
)
"""Iteration counts (and the σ₁→σ_rank gap) with a per-seed twin ``<metric>_seeds`` (bounds per seed;
:mod:`matcomp.report.tables`)."""


def _seed_column(metric: str) -> str | None:
    if metric.endswith("_mean") and metric.removesuffix("_mean") in SEEDED:
        return f"{metric.removesuffix('_mean')}_seeds"
    return f"{metric}_seeds" if metric.startswith(SEEDED_COUNTS) else None


def seed_intervals(row: pd.Series, metric: str) -> list[tuple[float, float]] | None:
    """The metric per seed (a value v as (v, v), a count as its bounds), in the order of ``seeds``; None where
    the table has no per-seed column for it (then the cell's own value is read)."""
    col = _seed_column(metric)
    parts = split_seeds(row.get(col)) if col else None
    if not parts:
        return None
    out = []
    for part in parts:
        lo, _, hi = part.partition(":")
        out.append((float(lo), float(hi or lo)))
    return out


def seed_ids(row: pd.Series) -> list[str] | None:
    return split_seeds(row.get("seeds"))


def combine(results: Sequence[bool | None]) -> bool | None:
    """A statement about a cell holds for every seed: fails if one seed fails, open if one is open."""
    if any(r is False for r in results):
        return False
    return True if results and all(r is True for r in results) else None


def seed_word(results: Sequence[bool | None]) -> str:
    return f"{sum(r is True for r in results)} of {len(results)}"


def rank_undefined(row: pd.Series, metric: str) -> bool:
    n = pd.to_numeric(row.get("n_diverged", 0), errors="coerce")
    return metric.startswith("effective_rank") and bool(n and n > 0)


def number_text(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if math.isinf(x):
        return "∞"
    return f"{x:.3g}" if abs(x) >= 1e-3 else f"{x:.1e}"


def interval_text(lo: float, hi: float) -> str:
    return (
        number_text(lo)
        if lo == hi or (math.isnan(lo) and math.isnan(hi))
        else f"[{number_text(lo)}, {number_text(hi)}]"
    )


def select(df: pd.DataFrame, where: dict[str, Any]) -> pd.DataFrame:
    if df.empty:
        return df
    mask = np.ones(len(df), dtype=bool)
    for col, val in where.items():
        if col not in df:
            return df.iloc[0:0]
        vals = val if isinstance(val, list) else [val]
        mask &= df[col].isin(vals).to_numpy()
    return df[mask]


def cell_decision(df_row: pd.Series) -> tuple[bool, str]:
    return bool(df_row["_decided"]), f"{df_row['_label']}{HOW_SEP}{df_row['_how']}"


HOW_SEP = ": "
"""Between a cell's label and its decision in an outcome's ``how``."""


def untrained_guard(df: pd.DataFrame, outcomes: list[Outcome]) -> list[Outcome]:
    """A pass that rests on a cell whose network did not train (``trained`` False: its data term stayed
    above 1 % of its start and it did not diverge) is no evidence: an untrained network meets every
    "fails", "high rank" and "deeper is lower rank" criterion.  Such outcomes become uninformative."""
    if df.empty or "_trained" not in df:
        return outcomes
    untrained = set(df.loc[~df["_trained"], "_label"])
    for o in outcomes:
        if o.passes and untrained and any(h.split(HOW_SEP, 1)[0] in untrained for h in o.how):
            o.passes, o.uninformative = None, True
            o.text += " (met by a network that did not train: no evidence)"
    return outcomes
