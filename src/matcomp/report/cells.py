"""The hand-off from the table steps to the claims: the cell tables' columns and their types.

The tables (:mod:`.tables`), the comparison summaries (:mod:`.comparison`) and Table 2 (:mod:`.table2`)
each write one csv; the claims, the readings report and the robustness page read them back with
:func:`read_tables`, which gives every column its type again.  A csv alone loses them: an integer column
becomes float when a table without it is concatenated (depth 3 -> 3.0), a flag comes back as the string
"True", a label "None" as a missing value.  Stop reasons are one text field per cell (:func:`join_stops`,
:func:`stop_set`), so the csv stays one row per cell for a reader.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

INTEGERS = (
    "depth",
    "rank",
    "n_obs",
    "n_seeds",
    "n_diverged",
    "n_blown_up",
    "max_iters",
    "n_train",
    "n_val",
    "seed",
)
"""Integer columns (a cell without one has it missing, not NaN-as-float)."""
FLAGS = ("plateaued", "trained")
"""True/False columns (missing where they do not apply: a baseline has no plateau, no training)."""
TYPES = {**dict.fromkeys(INTEGERS, "Int64"), **dict.fromkeys(FLAGS, "boolean")}
STOP_SEP = ";"
SEEDS_SEP = ";"
"""Joins a cell's per-seed values in one field (``seeds``, ``<metric>_seeds``: :func:`split_seeds`)."""
BLOWN_UP = 10.0
"""A seed whose test error ends at or above this has blown up: its product lies √10 times further from W*
than the zero matrix does (the zero matrix, and so an untrained network, scores 1), while its numbers stay
finite, so training never stopped it as diverged: the scale-invariant ratio penalty leaves the product's
norm free where the data term holds it weakly (Adam + ratio at depth 4 with the data term averaged; at depth
1 with 1 000 observed entries summed: Err ~10², Rk 1.7).  Counted apart (``n_blown_up``), never a stop
reason."""


def blown_up(test_error: Any) -> bool:
    """Whether one seed's finite test error says its product blew up (:data:`BLOWN_UP`)."""
    x = pd.to_numeric(test_error, errors="coerce")
    return bool(np.isfinite(x) and x >= BLOWN_UP)


def join_stops(reasons: Iterable[str]) -> str:
    """The stop reasons of a cell's seeds as one field: ``"converged;max_iters"`` (sorted, each once)."""
    return STOP_SEP.join(sorted(set(reasons)))


def stop_set(field: Any) -> frozenset[str]:
    """The stop reasons in a field written by :func:`join_stops` (empty when missing)."""
    return frozenset(s for s in field.split(STOP_SEP) if s) if isinstance(field, str) else frozenset()


def value_text(v: Any) -> str:
    """A label part: 3.0 -> '3' (columns become float when csvs with gaps are concatenated)."""
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def split_seeds(value: Any) -> list[str] | None:
    """A per-seed field (``;``-joined: :func:`matcomp.report.tables.join_seeds`) as its parts (a single seed's
    number, as pandas reads it, too); None when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    return value.split(SEEDS_SEP) if isinstance(value, str) else [value_text(value)]


def flag(value: Any) -> bool:
    """A flag column's value (:data:`FLAGS`) as a bool: missing is False."""
    return isinstance(value, bool | np.bool_) and bool(value)


def typed(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every column of :data:`TYPES` it has in its type."""
    return df.astype({c: t for c, t in TYPES.items() if c in df})


def read_table(path: str | Path) -> pd.DataFrame:
    """One table's csv, typed: only an empty field is missing (a label "None" stays a label)."""
    return typed(pd.read_csv(path, keep_default_na=False, na_values=[""]))


def read_tables(paths: Sequence[str | Path]) -> pd.DataFrame:
    """The existing tables among ``paths``, typed (:func:`read_table`) and concatenated."""
    frames = [read_table(p) for p in paths if Path(p).exists()]
    return typed(pd.concat(frames, ignore_index=True)) if frames else pd.DataFrame()
