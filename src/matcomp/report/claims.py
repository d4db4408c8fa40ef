"""The paper's claims (``claims.yaml``), judged only on evidence: cells whose outcome is decided.

**Cells and when they are decided.**  A cell is a row of a results table (one optimizer × penalty × λ ×
depth × data setting over its seeds; a baseline at one n_obs; a Table 2 row).  It is *decided* when more
training could not change it under the paper's protocol: every seed stopped by the tolerance, diverged,
stopped on a plateau, or ran out of budget having plateaued (:mod:`matcomp.plateau`); or the cell ran the
paper's budget (``config.yaml`` read at scale ``paper``: 5·10⁵ iterations).  Baselines run to their own
solver's convergence and are decided.  A Table 2 row is decided when it ran the budget the project's
config sets at scale paper (the *configured* budget: the paper states none for the LNN).

**Checks** (each names the cells it reads by column filters):

* ``threshold``: ``metric op value`` for every selected cell (``quantifier: any``: for at least one);
* ``compare``: pairs of cells ``a``, ``b`` matched on ``match`` columns, ``ratio_at_least`` (a/b ≥ value)
  or ``log10_within`` (|log10 a − log10 b| ≤ value); two test errors ≤ ``ERR_FLOOR`` are the same (both
  recovered) for log10_within and for a ratio ≤ 1; ``success`` ({op, value}): a pair that both miss it is no
  evidence (sameness of failure); ``b_must`` ({op, value}): a pair whose ``b`` misses it fails;
  ``farther_from``: a is no nearer ``value`` than b by more than ``tol`` ("rank recovery at least as good");
  ``success: {…, alike: fails}``: a pair that both miss it fails (the sentence names them as succeeding);
  ``metric_a`` / ``metric_b`` read a different column on each side (the quoted RMSE of Table 2);
* ``spread``: per group of ``by`` columns, max/min of the metric over the selected cells ``at_most`` (or
  ``at_least``) value: "near simultaneous across depths";
* ``monotone``: along ``along`` (e.g. n_obs), each next value at most ``value`` × the previous one
  (``direction: rises``: at least); a censored count cannot be ordered and leaves its step open;
* ``agrees_with``: per group of ``by``, every cell is on the same side of ``metric op value`` as the group's
  ``reference`` cell: "no qualitative difference" across λ, learning rates or sample sizes;
* ``reading_match``: Table 2's cells within ``tol`` of the paper's RMSE under some checkpoint reading;
* ``either``: per cell of ``where`` (or pair of a compare), one of ``checks`` passes.

Each check yields one *outcome* per cell (or pair, group, step): passes or fails, decided or not.
Iteration counts (``iters_to_err_*``, ``iters_to_rank``, ``iters_to_sv*``) are intervals: an error level
counts once the error *stays* at or below it to the end of the run (a settled time, resolved to the logged
points), a seed that never got there counts as more than the iterations it ran (and at most never), and a
ratio of two counts passes only when its bounds make it certain, fails when they make it impossible, and is
undetermined otherwise (decided cells: *inconclusive*; else not reached).  **Seed by seed**: where a table
keeps each seed's values (``<metric>_seeds``, ``seeds``), a threshold holds for a cell only if it holds for
every seed ("4 of 5 seeds" otherwise), and a compare pairs the two cells' seeds (seed s of every cell shares
W* and Ω); a cell's own count is its slowest seed's.  A diverged seed's test error and rank count as +∞: it
fails every recovery and supports every "fails" statement.  **Untrained networks**: a pass that rests on a
cell whose network did not train (``trained`` False) is *uninformative*, and every claim is judged on its
untrained twin too (:mod:`.twin`): one the twin holds is uninformative, never held.  A value that is not
measured (NaN) leaves its outcome open; an iteration count a table gives without bounds is censored at the
iterations the cell ran ([max_iters, ∞]).

**Verdicts.**  A check is *held* when every outcome is decided and passes (``any``: one decided outcome
passes); *not held* when a decided outcome fails (``any``: every outcome decided and failing); *uninformative* when
only untrained cells would pass it; *not reached at this budget* when the outcomes it needs are undecided — then it *leans* held or not held by what the
undecided cells show now; *inconclusive* when decided cells cannot measure it; *not run* when its cells are
not in this run.  A claim takes the first of ``not held``, ``not reached``, ``not run``, ``uninformative``,
``inconclusive``, ``held`` among its checks.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ..baselines import BASELINES
from ..labels import PAPER_METHODS, PLAN_COLUMNS
from ..movielens.readings import READING_NOTES
from .cells import flag, stop_set, typed
from .paper import ERR_FLOOR
from .style import READINGS
from .twin import untrained_twin

OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
DEFAULT_CLAIMS = Path(__file__).with_name("claims.yaml")
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


# ---------------------------------------------------------------- budgets and when a cell is decided


def _lbl(v: Any) -> str:
    """A label part: 3.0 -> '3' (columns become float when csvs with gaps are concatenated)."""
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def cell_label(row: pd.Series) -> str:
    """``experiment optimizer/penalty/depth/λ`` (training), ``experiment split/model/method`` (Table 2),
    ``experiment method/n_obs`` (Figures 4-5)."""
    if isinstance(row.get("model"), str) and row.get("model"):
        keys: tuple[str, ...] = ("split", "model", "method")
    elif isinstance(row.get("method"), str) and row.get("method"):
        keys = ("method", "n_obs")
    else:
        keys = ("optimizer", "penalty", "depth", "n_obs")
    label = "/".join(_lbl(row[k]) for k in keys if k in row and pd.notna(row[k]))
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


def _stopped(row: pd.Series, stops: set[str], unit: str) -> str:
    """``stopped at 45,074 iterations (mean over seeds) by the plateau stop``: where and why the seeds ended."""
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


def _settles(metric: str) -> bool:
    return metric.startswith(SETTLING)


def _interval(row: pd.Series, metric: str) -> tuple[float, float]:
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


def _seed_column(metric: str) -> str | None:
    if metric.endswith("_mean") and metric.removesuffix("_mean") in SEEDED:
        return f"{metric.removesuffix('_mean')}_seeds"
    return f"{metric}_seeds" if metric.startswith("iters_to_err_") else None


def _split(value: Any) -> list[str] | None:
    """A ``;``-joined per-seed field as its parts (a single seed's number, as pandas reads it, too)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    return value.split(";") if isinstance(value, str) else [_lbl(value)]


def seed_intervals(row: pd.Series, metric: str) -> list[tuple[float, float]] | None:
    """The metric per seed (a value v as (v, v), a count as its bounds), in the order of ``seeds``; None where
    the table has no per-seed column for it (then the cell's own value is read)."""
    col = _seed_column(metric)
    parts = _split(row.get(col)) if col else None
    if not parts:
        return None
    out = []
    for part in parts:
        lo, _, hi = part.partition(":")
        out.append((float(lo), float(hi or lo)))
    return out


def seed_ids(row: pd.Series) -> list[str] | None:
    return _split(row.get("seeds"))


def _combine(results: Sequence[bool | None]) -> bool | None:
    """A statement about a cell holds for every seed: fails if one seed fails, open if one is open."""
    if any(r is False for r in results):
        return False
    return True if results and all(r is True for r in results) else None


def _seed_word(results: Sequence[bool | None]) -> str:
    return f"{sum(r is True for r in results)} of {len(results)}"


def _rank_undefined(row: pd.Series, metric: str) -> bool:
    n = pd.to_numeric(row.get("n_diverged", 0), errors="coerce")
    return metric.startswith("effective_rank") and bool(n and n > 0)


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if math.isinf(x):
        return "∞"
    return f"{x:.3g}" if abs(x) >= 1e-3 else f"{x:.1e}"


def _fmt_interval(lo: float, hi: float) -> str:
    return _fmt(lo) if lo == hi or (math.isnan(lo) and math.isnan(hi)) else f"[{_fmt(lo)}, {_fmt(hi)}]"


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


def _cell_decision(df_row: pd.Series) -> tuple[bool, str]:
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


def _meets(lo: float, hi: float, op: str, target: float) -> bool | None:
    """``[lo, hi] op target``: True when every value of the interval meets it, False when none does."""
    if op == "==round":
        return (False if math.isinf(lo) else bool(round(lo) == target)) if lo == hi else None
    sure, impossible = (
        OPS[op](lo, target) and OPS[op](hi, target),
        not (OPS[op](lo, target) or OPS[op](hi, target)),
    )
    return True if sure else False if impossible else None


def _threshold(df: pd.DataFrame, c: dict[str, Any]) -> list[Outcome]:
    metric, op, target = c["metric"], c["op"], c["value"]
    out = []
    for _, row in select(df, c["where"]).iterrows():
        decided, how = _cell_decision(row)
        label = cell_label(row)
        if metric in SPREAD_METRICS and not pd.to_numeric(row.get("n_seeds", 0), errors="coerce") >= 2:
            out.append(Outcome(f"{label} (one seed: no spread)", f"{label} (one seed: no spread)", None, decided,
                               [how], missing=True))  # fmt: skip
            continue
        seeds = seed_intervals(row, metric)
        if seeds is not None:  # seed by seed: the cell meets it only if every seed does
            results = [_meets(lo, hi, op, target) for lo, hi in seeds]
            values = ", ".join(_fmt_interval(lo, hi) for lo, hi in seeds)
            text = (
                f"{label}: {values} ({_seed_word(results)} seeds meet it)"
                if len(seeds) > 1
                else f"{label}: {values}"
            )
            out.append(Outcome(label, text, _combine(results), decided, [how]))
            continue
        lo, hi = _interval(row, metric)
        if _rank_undefined(row, metric):
            out.append(Outcome(label, f"{label}: diverged seeds", False, decided, [how]))
            continue
        if math.isnan(lo):
            out.append(Outcome(label, f"{label}: n/a", None, decided, [how]))
            continue
        passes = _meets(lo, hi, op, target)
        decided = decided or (_settles(metric) and passes is not None)  # bounds that settle it are final
        out.append(Outcome(label, f"{label}: {_fmt_interval(lo, hi)}", passes, decided, [how]))
    return out


def _pairs(df: pd.DataFrame, c: dict[str, Any]) -> tuple[list[tuple[pd.Series, pd.Series]], list[str]]:
    """(the matched pairs, the labels of cells of either side without a partner)."""
    a, b = select(df, c["a"]), select(df, c["b"])
    match = c.get("match", [])

    def same(ra: pd.Series, rb: pd.Series) -> bool:
        return all(_lbl(ra[m]) == _lbl(rb[m]) for m in match)

    pairs = [(ra, rb) for _, ra in a.iterrows() for _, rb in b.iterrows() if same(ra, rb)]
    alone = [cell_label(r) for _, r in a.iterrows() if not any(same(r, rb) for _, rb in b.iterrows())]
    alone += [cell_label(r) for _, r in b.iterrows() if not any(same(ra, r) for _, ra in a.iterrows())]
    return pairs, alone


def _log10_gap(alo: float, ahi: float, blo: float, bhi: float) -> tuple[float, float]:
    """Bounds of |log10 a − log10 b| for a ∈ [alo, ahi], b ∈ [blo, bhi] (censored counts are intervals)."""
    la, ha, lb, hb = (
        math.log10(max(x, 1e-300)) if not math.isinf(x) else math.inf for x in (alo, ahi, blo, bhi)
    )
    lo = max(0.0, la - hb, lb - ha)
    hi = max(abs(ha - lb), abs(hb - la)) if not (math.isinf(ha) or math.isinf(hb)) else math.inf
    return lo, hi


def _ratio(alo: float, ahi: float, blo: float, bhi: float) -> tuple[float, float]:
    """Bounds of a/b for a ∈ [alo, ahi], b ∈ [blo, bhi] (b > 0)."""
    lo = alo / bhi if bhi > 0 and not math.isinf(bhi) else (0.0 if math.isinf(bhi) else math.nan)
    hi = ahi / blo if blo > 0 else math.nan
    return lo, hi


def _both_fail(ra: pd.Series, rb: pd.Series, success: dict[str, Any]) -> bool:
    """Both cells settled on the failing side of ``success`` (``{metric, op, value}``)."""
    return _side(ra, success) is False and _side(rb, success) is False


def _relation(c: dict[str, Any], a: tuple[float, float], b: tuple[float, float]) -> tuple[bool | None, str]:
    """(passes, what was measured) of one pair of values (a cell's, or one seed's on each side)."""
    metric, target, rel = c["metric"], float(c["value"]), c["relation"]
    (alo, ahi), (blo, bhi) = a, b
    if any(math.isnan(x) for x in (alo, blo)) or (rel == "ratio_at_least" and not blo > 0):
        return None, "n/a"
    if (
        metric.startswith("test_error")
        and max(ahi, bhi) <= ERR_FLOOR
        and (rel == "log10_within" or target <= 1)
    ):
        return True, f"{_fmt(alo)} vs {_fmt(blo)} (both ≤ {ERR_FLOOR:g}: both recovered W*)"
    if rel == "ratio_at_least":
        lo, hi = _ratio(alo, ahi, blo, bhi)
        passes = True if lo >= target else False if hi < target else None
        return passes, f"{_fmt_interval(alo, ahi)}/{_fmt_interval(blo, bhi)} = {_fmt_interval(lo, hi)}"
    if rel == "log10_within":
        lo, hi = _log10_gap(alo, ahi, blo, bhi)
        passes = True if hi <= target else False if lo > target else None
        gap = f"{lo:.2f}" if lo == hi else f"[{lo:.2f}, {'∞' if math.isinf(hi) else f'{hi:.2f}'}]"
        return passes, f"{_fmt_interval(alo, ahi)} vs {_fmt_interval(blo, bhi)} (Δlog10 = {gap})"
    if rel == "farther_from":  # a no nearer to ``value`` than b, up to ``tol``
        gap_a, gap_b = abs(alo - target), abs(blo - target)
        passes = None if alo != ahi or blo != bhi else bool(gap_a >= gap_b - float(c.get("tol", 0)))
        return passes, f"|{_fmt(alo)} − {target:g}| vs |{_fmt(blo)} − {target:g}|"
    raise ValueError(f"unknown relation {rel!r}")


def _value_pairs(ra: pd.Series, rb: pd.Series, c: dict[str, Any]) -> list[tuple[tuple, tuple]]:
    """The values to compare: seed by seed where both cells have per-seed values of the same seeds (the same
    ground truth and mask: seed s of every cell shares them), else the two cells' own values."""
    ma, mb = c.get("metric_a", c["metric"]), c.get("metric_b", c["metric"])
    sa, sb, ida, idb = seed_intervals(ra, ma), seed_intervals(rb, mb), seed_ids(ra), seed_ids(rb)
    if sa and sb and ida and idb and len(sa) == len(ida) and len(sb) == len(idb):
        common = [s for s in ida if s in idb]
        if common:
            return [(sa[ida.index(s)], sb[idb.index(s)]) for s in common]
    return [(_interval(ra, ma), _interval(rb, mb))]


def _compare(df: pd.DataFrame, c: dict[str, Any]) -> list[Outcome]:
    metric = c["metric"]
    pairs, alone = _pairs(df, c)
    out = [
        Outcome(f"{label} (no partner)", f"{label}: no partner", None, False, missing=True) for label in alone
    ]
    for ra, rb in pairs:
        (da, how_a), (db, how_b) = _cell_decision(ra), _cell_decision(rb)
        decided = da and db
        key = f"{cell_label(ra)} vs {cell_label(rb)}"
        if c.get("b_must") and _side(rb, {**c["b_must"], "metric": metric}) is False:
            blo, _ = _interval(rb, c.get("metric_b", metric))
            text = f"{key}: {cell_label(rb)} misses {metric} {c['b_must']['op']} {c['b_must']['value']:g} ({_fmt(blo)})"
            out.append(Outcome(key, text, False, db, [how_b]))
            continue
        if c.get("success") and _both_fail(ra, rb, {**c["success"], "metric": metric}):
            miss = f"{key}: both miss {metric} {c['success']['op']} {c['success']['value']:g}"
            if (
                c["success"].get("alike") == "fails"
            ):  # the sentence names them as succeeding: failing is not it
                out.append(
                    Outcome(key, f"{miss} (the sentence says they succeed)", False, decided, [how_a, how_b])
                )
            else:
                out.append(Outcome(key, f"{miss} (alike in failing: no evidence)", None, decided, [how_a, how_b],
                                   neutral=True))  # fmt: skip
            continue
        results = [_relation(c, a, b) for a, b in _value_pairs(ra, rb, c)]
        passes = _combine([r for r, _ in results])
        text = f"{key}: " + "; ".join(t for _, t in results)
        text += f" ({_seed_word([r for r, _ in results])} seed pairs meet it)" if len(results) > 1 else ""
        decided = decided or (_settles(metric) and passes is not None)  # bounds that settle it are final
        if passes is None and decided:  # the bounds cannot settle it under the protocol
            text += " (bounds undetermined)"
        out.append(Outcome(key, text, passes, decided, [how_a, how_b]))
    return out


def _spread(df: pd.DataFrame, c: dict[str, Any]) -> list[Outcome]:
    """Per group of ``by``: the largest over the smallest of the metric across the selected cells."""
    metric, target, rel = c["metric"], float(c["value"]), c.get("relation", "at_most")
    sel = select(df, c["where"])
    out = []
    for key, group in sel.groupby(c.get("by", []) or (lambda _: "all"), sort=False):
        intervals = [_interval(r, metric) for _, r in group.iterrows()]
        decisions = [_cell_decision(r) for _, r in group.iterrows()]
        label = f"{c['where'].get('experiment', '')} {key}"
        if len(intervals) < 2 or any(math.isnan(lo) or lo <= 0 for lo, _ in intervals):
            out.append(Outcome(label, f"{label}: n/a", None, all(d for d, _ in decisions)))
            continue
        lo = max(lo for lo, _ in intervals) / min(hi for _, hi in intervals)
        hi = max(hi for _, hi in intervals) / min(lo for lo, _ in intervals)
        sure, impossible = (hi <= target, lo > target) if rel == "at_most" else (lo >= target, hi < target)
        passes = True if sure else False if impossible else None
        decided = all(d for d, _ in decisions) or (_settles(metric) and passes is not None)
        text = f"{label}: max/min over {len(intervals)} cells = {_fmt_interval(lo, hi)}"
        out.append(Outcome(label, text, passes, decided, [h for _, h in decisions]))
    return out


def _side(row: pd.Series, c: dict[str, Any]) -> bool | None:
    """Whether ``row`` satisfies ``metric op value`` (None: not measured or not settled by its bounds)."""
    outcome = _threshold(pd.DataFrame([row]), {**c, "where": {}})
    return outcome[0].passes if outcome else None


def _agrees_with(df: pd.DataFrame, c: dict[str, Any]) -> list[Outcome]:
    """Per group of ``by``: each cell on the same side of ``metric op value`` as the group's reference cell."""
    sel = select(df, c["where"])
    out = []
    for _, group in sel.groupby(c["by"], sort=False):
        ref = select(group, c["reference"])
        others = group.drop(index=ref.index)
        for _, row in others.iterrows():
            label = cell_label(row)
            if len(ref) != 1:
                out.append(Outcome(f"{label}: reference {c['reference']}", f"{label}: no reference cell "
                                   f"{c['reference']}", None, False, missing=True))  # fmt: skip
                continue
            r = ref.iloc[0]
            (dr, hr), (dc, hc) = _cell_decision(r), _cell_decision(row)
            mine, theirs = _side(row, c), _side(r, c)
            passes = None if mine is None or theirs is None else mine == theirs
            word = {True: "meets", False: "misses", None: "n/a"}
            text = f"{label} {word[mine]} it, reference {cell_label(r)} {word[theirs]} it"
            alike_failing = mine is False and theirs is False
            text += " (alike in failing: no evidence)" if alike_failing else ""
            out.append(Outcome(label, text, passes, dr and dc, [hr, hc], neutral=alike_failing))
    return out


def _log_spread(row: pd.Series, metric: str) -> float:
    """How far a test error's seeds lie apart, in log10 (the range of their logs; 0 for one seed or where
    the table has no per-seed values): a step smaller than this is seed noise, not a rise or a fall."""
    seeds = seed_intervals(row, metric) if metric.startswith("test_error") else None
    logs = [math.log10(lo) for lo, hi in seeds or [] if lo == hi and 0 < lo < math.inf]
    return max(logs) - min(logs) if len(logs) > 1 else 0.0


def _falls(p: tuple[float, float], n: tuple[float, float], factor: float, rises: bool = False) -> bool | None:
    """``n <= factor · p`` (``rises``: ``n >= factor · p``) for intervals ``p``, ``n`` (a censored count, a
    gap resolved to the logging): True when certain, False when impossible, None when the bounds cannot
    order them or a value is not measured.  No floor: an error that rises from 1e-7 to 9e-5 rises."""
    (plo, phi), (nlo, nhi) = p, n
    if any(math.isnan(x) for x in (plo, phi, nlo, nhi)):
        return None
    if rises:
        return True if nlo >= factor * phi else False if nhi < factor * plo else None
    return True if nhi <= factor * plo else False if nlo > factor * phi else None


def _step(
    c: dict[str, Any], prev: pd.Series, nxt: pd.Series, factor: float, noise: bool
) -> tuple[bool | None, str]:
    metric, rises = c["metric"], c.get("direction", "falls") == "rises"
    p, n = _interval(prev, metric), _interval(nxt, metric)
    margin = 10 ** max(_log_spread(prev, metric), _log_spread(nxt, metric)) if noise else 1.0
    passes = _falls(p, n, factor / margin if rises else factor * margin, rises)
    text = f"{_fmt_interval(*p)} → {_fmt_interval(*n)}" + (
        f" (seed noise ×{margin:.2g})" if margin > 1 else ""
    )
    return passes, text


def _monotone(df: pd.DataFrame, c: dict[str, Any]) -> list[Outcome]:
    """Along ``along``, each next value at most ``value`` × the previous (up to the seeds' spread of a test
    error); with ``overall``, also the last at most the first / ``overall`` ("improving": a flat or rising
    curve is not; no noise margin).  ``direction: rises`` turns both round."""
    factor, along = float(c["value"]), c["along"]
    rises = c.get("direction", "falls") == "rises"
    rows = [r for _, r in select(df, c["where"]).sort_values(along).iterrows()]
    out = []
    for prev, nxt in zip(rows, rows[1:]):
        (dp, hp), (dn, hn) = _cell_decision(prev), _cell_decision(nxt)
        label = f"{cell_label(prev)} → {_lbl(nxt[along])}"
        passes, text = _step(c, prev, nxt, factor, noise=True)
        out.append(Outcome(label, f"{label}: {text}", passes, dp and dn, [hp, hn]))
    if c.get("overall") and len(rows) > 1:
        first, last = rows[0], rows[-1]
        (d1, h1), (d2, h2) = _cell_decision(first), _cell_decision(last)
        label = f"{cell_label(first)} ⇒ {_lbl(last[along])}"
        whole = float(c["overall"]) if rises else 1 / float(c["overall"])
        bound = f"at least {c['overall']:g}×" if rises else f"at most 1/{c['overall']:g} of"
        passes, text = _step(c, first, last, whole, noise=False)
        out.append(Outcome(label, f"{label}: {text} ({bound} it)", passes, d1 and d2, [h1, h2]))
    return out


# ---------------------------------------------------------------- Table 2: checkpoint readings
# Table 2's csv holds our test RMSE under every checkpoint reading of the same runs (``rmse_mean_<reading>``,
# ``at_<reading>``: see matcomp.movielens.train).  A claim with ``readings: [...]`` is judged once per
# reading (id ``"<id> [<reading>]"``, each check's metric ``"<metric>_<reading>"``); ``reading_match`` names,
# per cell, the readings under which ours comes within ``tol`` of the paper's RMSE.

MIXED = {"mixed-validation": ("train", "validation"), "mixed-test": ("train", "test")}
"""Mixed checkpoint readings of Table 2: the unpenalised row at its lowest training error, the penalised one at
its best validation (or test) checkpoint, one way the paper's numbers come out on the real data (issue 24)."""
READING_WORDS = {
    "mixed-validation": "mixed: the unpenalised row at its lowest training error, the penalised row at its best "
    "validation checkpoint (each row read its own way)",
    "mixed-test": "mixed: the unpenalised row at its lowest training error, the penalised row at its best test "
    "checkpoint (each row read its own way; optimistic)",
    **{
        r: ("with the " if note.startswith("checkpoint") else "at ") + note
        for r, note in READING_NOTES.items()
    },
}
"""Each reading in words after "reached": the mixed ones here, the runs' own from Table 2's vocabulary."""


def _reading_match(df: pd.DataFrame, c: dict[str, Any]) -> list[Outcome]:
    """Every selected cell comes within ``tol`` of the paper's RMSE under at least one of ``readings``."""
    out = []
    for _, row in select(df, c["where"]).iterrows():
        paper, tol = float(row["paper_rmse"]), float(c["tol"])
        decided, how = _cell_decision(row)
        parts, hits = [], []
        for reading in c["readings"]:
            v = float(row.get(f"rmse_mean_{reading}", math.nan))
            if not np.isfinite(v):
                continue
            at = row.get(f"at_{reading}")
            hit = abs(v - paper) <= tol
            hits += [(abs(v - paper), reading)] if hit else []
            parts.append(
                f"{reading} {v:.3f}{f', {at}' if isinstance(at, str) and at else ''}{' ✓' if hit else ''}"
            )
        label = cell_label(row)
        if not parts:
            out.append(Outcome(label, f"{label}: paper {paper:.3f}; n/a", None, decided, [how]))
            continue
        reached = " and ".join(READING_WORDS[r] for _, r in sorted(hits)) if hits else "under no reading"
        text = f"{label}: paper {paper:.3f}, reached {reached} ({'; '.join(parts)})"
        out.append(Outcome(label, text, bool(hits), decided, [how]))
    return out


def _either(df: pd.DataFrame, c: dict[str, Any]) -> list[Outcome]:
    """Per cell of ``where``: passes when one of ``checks`` (each applied to the same cells) passes, fails
    when all fail ("fails to recover the rank or the error"); decided when its sub-outcomes are."""
    per = [
        CHECKS[sub["type"]](df, {**sub, "where": c["where"]} if "where" in c else sub) for sub in c["checks"]
    ]
    by_label: dict[str, list[Outcome]] = {}
    for outcomes in per:
        for o in outcomes:
            by_label.setdefault(o.label, []).append(o)
    out = []
    for label, os in by_label.items():
        passes = True if any(o.passes for o in os) else False if all(o.passes is False for o in os) else None
        decided = any(o.passes and o.decided for o in os) or all(o.decided for o in os)
        how = list(dict.fromkeys(h for o in os for h in o.how))
        missing, neutral = any(o.missing for o in os), all(o.neutral for o in os)
        out.append(Outcome(label, " or ".join(o.text for o in os), passes, decided, how, missing, neutral))
    return out


CHECKS: dict[str, Callable[[pd.DataFrame, dict[str, Any]], list[Outcome]]] = {
    "threshold": _threshold,
    "compare": _compare,
    "spread": _spread,
    "monotone": _monotone,
    "agrees_with": _agrees_with,
    "reading_match": _reading_match,
    "either": _either,
}


# ---------------------------------------------------------------- verdicts


def check_verdict(outcomes: Sequence[Outcome], quantifier: str = "all") -> tuple[str, str]:
    """(verdict, leaning) of one check from its outcomes (module docstring); leaning is "" unless the
    verdict is not reached."""
    if not outcomes:
        return "not run", ""
    decided = [o for o in outcomes if o.decided]
    if quantifier == "any":
        if any(o.passes for o in decided):
            return "held", ""
        if len(decided) == len(outcomes):
            return ("not held", "") if all(o.passes is False for o in outcomes) else ("inconclusive", "")
        lean = "leaning held" if any(o.passes for o in outcomes) else "leaning not held"
        return NOT_REACHED, lean
    if any(o.passes is False for o in decided):
        return "not held", ""
    if len(decided) == len(outcomes):
        return ("held", "") if all(o.passes for o in outcomes) else ("inconclusive", "")
    open_ = [o for o in outcomes if not o.decided]
    return NOT_REACHED, "leaning not held" if any(o.passes is False for o in open_) else "leaning held"


def _decided_frame(df: pd.DataFrame, budget: dict[str, Any] | None) -> pd.DataFrame:
    if df.empty:
        return df
    decisions = [decision(row, budget) for _, row in df.iterrows()]
    return df.assign(_decided=[d for d, _ in decisions], _how=[h for _, h in decisions])


def _labelled(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with each row's :func:`cell_label` (``_label``), computed once per table."""
    return df.assign(_label=[cell_label(r) for _, r in df.iterrows()]) if not df.empty else df


def _readings_of(df: pd.DataFrame, outcomes: Iterable[Outcome]) -> str:
    """The named readings behind the cells a claim read (:data:`matcomp.report.style.READINGS`)."""
    labels = {o.label for o in outcomes}
    rows = [r for _, r in df.iterrows() if r["_label"] in labels or any(r["_label"] in lab for lab in labels)]
    parts = []
    for col, name in READINGS.items():
        vals = sorted({_lbl(r[col]) for r in rows if col in r and pd.notna(r[col]) and r[col] != ""})
        if vals:
            parts.append(f"{name} {'/'.join(vals)}")
    return "; ".join(parts)


SELECTIONS = ("where", "a", "b")  # the keys of a check that select cells


def _matches(cell: dict[str, Any], where: dict[str, Any]) -> bool:
    """Whether a planned cell satisfies the selection's filters on the columns it has."""
    for col, val in where.items():
        if col == "experiment":
            continue
        if col not in cell:
            return False
        if _lbl(cell[col]) not in {_lbl(v) for v in (val if isinstance(val, list) else [val])}:
            return False
    return True


def _unplanned_filters(where: dict[str, Any], cells: list[dict[str, Any]]) -> bool:
    """The selection filters on a column the plan does not name (then the plan cannot list its members)."""
    cols = set(cells[0]) if cells else set()
    return any(col != "experiment" and col not in cols for col in where)


def _plan_key(experiment: Any, cell: dict[str, Any]) -> tuple[str, ...]:
    """A cell's identity for the plan: its experiment, :data:`PLAN_COLUMNS` and method ("" where absent)."""

    def part(col: str) -> str:
        v = cell.get(col)
        return "" if v is None or pd.isna(v) else _lbl(v)

    return (str(experiment), *(part(c) for c in (*PLAN_COLUMNS, "method")))


@dataclass(frozen=True)
class Members:
    """The paper-scale plan (:func:`planned_cells`) beside the keys of the cells a table has: built once per
    table (:func:`members_of`), read by every check of every claim."""

    plan: dict[str, list[dict[str, Any]]]
    present: frozenset[tuple[str, ...]]


def members_of(df: pd.DataFrame, plan: dict[str, list[dict[str, Any]]] | None) -> Members | None:
    if not plan:
        return None
    records = df.to_dict("records") if not df.empty else []
    return Members(plan, frozenset(_plan_key(r.get("experiment"), r) for r in records))


def missing_planned(where: dict[str, Any], members: Members) -> list[str]:
    """The cells the plan has for this selection that the table lacks: every depth, penalty, λ, n_obs or
    method of the experiment that the selection's filters admit."""
    exps = where.get("experiment")
    out = []
    for exp in exps if isinstance(exps, list) else [exps] if exps else []:
        cells = members.plan.get(exp, [])
        if _unplanned_filters(where, cells):
            continue
        out += [f"{exp} " + "/".join(_lbl(v) for v in cell.values()) for cell in cells
                if _matches(cell, where) and _plan_key(exp, cell) not in members.present]  # fmt: skip
    return out


def missing_members(df: pd.DataFrame, chk: dict[str, Any], members: Members | None = None) -> list[str]:
    """The values a check lists (``optimizer: [adam, adamax]``, ``depth: [3, 4, 5]``) that select no cell of
    ``df``, and with ``members`` (:func:`members_of`) every planned cell of a selection that ``df`` lacks: a
    claim about all of them is not held on the others' evidence, never held without them."""
    out = []
    for key in SELECTIONS:
        where = chk.get(key) or {}
        for col, vals in where.items():
            if not isinstance(vals, list):
                continue
            for v in vals:
                if select(df, {**where, col: v}).empty:
                    out.append(f"{col} {_lbl(v)}")
        if members:
            out += missing_planned(where, members)
    for sub in chk.get("checks", []):  # an either's sub-checks, on its cells or on their own selections
        out += missing_members(df, {**sub, "where": chk["where"]} if "where" in chk else sub, members)
    return list(dict.fromkeys(out))


def _check_verdict_with_missing(
    df: pd.DataFrame, chk: dict[str, Any], outcomes: list[Outcome], members: Members | None = None
) -> tuple[str, str, list[str]]:
    """(verdict, leaning, missing): a check that would be held (or open) with listed or planned cells absent
    (or a pair without its partner, a group without its reference) is not run, unless it holds for *any*
    cell and one already does; a decided failure stands."""
    present = [o for o in outcomes if not o.missing and not o.neutral]
    verdict, leaning = check_verdict(present, chk.get("quantifier", "all"))
    neutral = [o for o in outcomes if o.neutral and not o.missing]
    if not present and neutral:  # every cell fails alike: sameness of failure is not the claim
        verdict, leaning = (
            ("inconclusive", "") if all(o.decided for o in neutral) else (NOT_REACHED, "leaning not held")
        )
    if verdict == "inconclusive" and any(o.uninformative for o in present):
        verdict = UNINFORMATIVE
    missing = missing_members(df, chk, members) if not df.empty else []
    missing += [o.label for o in outcomes if o.missing]
    if missing and verdict != "not held" and not (verdict == "held" and chk.get("quantifier") == "any"):
        return "not run", "", missing
    return verdict, leaning, missing


def judge(claim: dict[str, Any], df: pd.DataFrame, members: Members | None = None) -> dict[str, Any]:
    """One claim's row of the report: verdict, leaning, what we measured, the deciding cells, readings;
    ``members`` (:func:`members_of` of ``df``) names the members of every selection."""
    checks = claim["checks"]
    verdicts, details, deciding, all_outcomes = [], [], [], []
    for chk in checks:
        outcomes = untrained_guard(df, CHECKS[chk["type"]](df, chk)) if not df.empty else []
        verdict, leaning, missing = _check_verdict_with_missing(df, chk, outcomes, members)
        verdicts.append((verdict, leaning))
        text = "; ".join(o.text for o in outcomes) or "no such cells in this run"
        details.append(text + (f" (not in this run: {', '.join(missing)})" if missing and outcomes else ""))
        deciding += [h for o in outcomes for h in o.how]
        all_outcomes += outcomes
    verdict = next(v for v in PRECEDENCE if v in [x for x, _ in verdicts] + ["held"])
    leans = [lean for v, lean in verdicts if v == NOT_REACHED]
    leaning = (
        ("leaning not held" if "leaning not held" in leans else "leaning held")
        if verdict == NOT_REACHED
        else ""
    )
    return {
        "id": claim["id"], "source": claim["source"], "quote": " ".join(claim["quote"].split()),
        "paper": claim["paper"], "criterion": claim["criterion"], "ours": " | ".join(details),
        "verdict": verdict, "leaning": leaning, "structural": claim.get("structural", ""),
        "cells": "; ".join(dict.fromkeys(deciding)),
        "readings": _readings_of(df, all_outcomes) if not df.empty else "",
    }  # fmt: skip


def prepare(claims: list[dict[str, Any]], where: str = "claims") -> list[dict[str, Any]]:
    """Claims checked for what a verdict needs (an empty ``checks`` list is an error: it would hold vacuously),
    ``check`` turned into ``checks``, ``readings`` and ``variants`` expanded (already prepared ones pass)."""
    ids = [c["id"] for c in claims]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{where}: duplicate claim ids {sorted({i for i in ids if ids.count(i) > 1})}")
    out = []
    for claim in claims:
        checks = claim.get("checks") or ([claim["check"]] if "check" in claim else [])
        if not checks:
            raise ValueError(f"{where}: claim {claim['id']} has no checks (it would be held on nothing)")
        for chk in checks:
            if chk.get("type") not in CHECKS:
                raise ValueError(f"{where}: claim {claim['id']}: unknown check type {chk.get('type')!r}")
        checks = [with_paper_methods(chk) for chk in checks]
        out.append({**{k: v for k, v in claim.items() if k != "check"}, "checks": checks})
    return expand_variants(expand_readings(out))


def with_paper_methods(node: Any) -> Any:
    """``node`` with each :data:`matcomp.labels.PAPER_METHODS` in a list of methods replaced by the paper's
    baselines from their registry (CP, SI, OPT): "all other methods" takes a new one without an edit here."""
    if isinstance(node, dict):
        return {k: with_paper_methods(v) for k, v in node.items()}
    if isinstance(node, list):
        paper = [m.label for m in BASELINES.values() if m.in_paper]
        return [x for item in node for x in (paper if item == PAPER_METHODS else [with_paper_methods(item)])]
    return node


def load_untested(path: str | Path = DEFAULT_CLAIMS) -> list[dict[str, Any]]:
    """The paper's statements the claims file lists as not tested (``untested:``), each with why."""
    return list(yaml.safe_load(Path(path).read_text()).get("untested") or [])


def load_claims(path: str | Path = DEFAULT_CLAIMS) -> list[dict[str, Any]]:
    """The claims file, prepared (:func:`prepare`)."""
    return prepare(yaml.safe_load(Path(path).read_text())["claims"], str(path))


def with_decisions(df: pd.DataFrame, budget: dict[str, Any] | None) -> pd.DataFrame:
    """``df`` with ``_decided`` and ``_how`` (:func:`decision`) and ``_label``; without ``budget`` every cell is
    decided (as for tables of final results).  Columns of :data:`matcomp.report.cells.TYPES` get their type."""
    df = typed(df)
    if not df.empty:  # only a cell that says it did not train is untrained (baselines, Table 2: no column)
        df = df.assign(_trained=df["trained"].fillna(True).astype(bool) if "trained" in df else True)
    if budget is not None:
        return _labelled(_decided_frame(df, budget))
    return _labelled(df.assign(_decided=True, _how="given as final")) if not df.empty else df


def evaluate(
    claims: list[dict[str, Any]], df: pd.DataFrame, budget: dict[str, Any] | None = None
) -> pd.DataFrame:
    """One row per claim; ``budget`` (:func:`claim_budgets`) decides which cells are decided."""
    claims = prepare(claims)
    real, twin = with_decisions(df, budget), with_decisions(untrained_twin(df), budget)
    members = members_of(real, (budget or {}).get("plan"))
    rows = []
    for claim in claims:
        row = judge(claim, real, members)
        if row["verdict"] == "held":
            shadow = judge(claim, twin, members)
            if shadow["verdict"] == "held" and shadow["ours"] != row["ours"]:  # it reads training cells
                row["verdict"] = UNINFORMATIVE
                row["ours"] += (
                    f" | its untrained twin (the same cells at iteration 0) meets it too: {shadow['ours']}"
                )
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- readings and variants of a claim


def _check_under(check: dict[str, Any], reading: str) -> dict[str, Any]:
    """``check`` reading its metric at the checkpoint ``reading``; a mixed reading (:data:`MIXED`) reads a
    compare's ``a`` (the unpenalised row) at one checkpoint and ``b`` (the penalised row) at another, and a
    threshold (on a penalised row) at the latter."""
    metric = check["metric"]
    if reading not in MIXED:
        return {**check, "metric": f"{metric}_{reading}"}
    ra, rb = MIXED[reading]
    return {**check, "metric": f"{metric}_{rb}", "metric_a": f"{metric}_{ra}", "metric_b": f"{metric}_{rb}"}


def _one_per(
    claims: list[dict[str, Any]], key: str, each: Callable[[dict[str, Any]], list[tuple[str, str, list[Any]]]]
) -> list[dict[str, Any]]:
    """Claims carrying ``key`` become one claim per (label, reading in words, checks) that ``each(claim)``
    gives, its id ``"<id> [label]"``; the others pass unchanged."""
    out: list[dict[str, Any]] = []
    for claim in claims:
        if key not in claim:
            out.append(claim)
            continue
        base = {k: v for k, v in claim.items() if k != key}
        out += [{**base, "id": f"{claim['id']} [{label}]", "criterion": f"{claim['criterion']}; reading: {words}",
                 "checks": checks} for label, words, checks in each(claim)]  # fmt: skip
    return out


def expand_readings(claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Claims with ``readings`` (Table 2's checkpoint readings) become one claim per reading."""
    return _one_per(claims, "readings", lambda claim: [
        (r, READING_WORDS[r], [_check_under(c, r) for c in claim["checks"]]) for r in claim["readings"]
    ])  # fmt: skip


def _overlaid(check: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """``check`` with ``overlay``'s column filters added to each of its cell selections."""
    return {**check, **{k: {**check[k], **overlay} for k in SELECTIONS if k in check}}


def expand_variants(claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Claims with ``variants`` ({label: column filters}) become one claim per variant, each of its cell
    selections (``where``, ``a``, ``b``) with the variant's filters: e.g. the Schatten precision (experiment
    table4 or table4_gesvda) or the rank-10 sample size (n_obs 3000 or 3500)."""
    return _one_per(claims, "variants", lambda claim: [
        (label, label, [_overlaid(c, overlay) for c in claim["checks"]]) for label, overlay in claim["variants"].items()
    ])  # fmt: skip


# ---------------------------------------------------------------- the report


def verdict_counts(res: pd.DataFrame) -> str:
    """``held: 9, not held: 1, not reached at this budget: 17, ...``: every verdict that occurs, in a fixed
    order (held, not held and not reached always)."""
    counts = res["verdict"].value_counts().to_dict() if not res.empty else {}
    order = [*VERDICT_ORDER, *sorted(set(counts) - set(VERDICT_ORDER))]
    text = ", ".join(f"{v}: {counts.get(v, 0)}" for v in order if counts.get(v) or v in VERDICT_ORDER[:3])
    if "structural" in res and not res.empty:
        decided = res[res["verdict"].isin(["held", "not held"]) & (res["structural"].fillna("") != "")]
        text += (
            f" (of the held / not held, {len(decided)} structural: true by construction)"
            if len(decided)
            else ""
        )
    return text


def legend() -> list[str]:
    """What the verdicts mean, with the decision rule and the plateau rule's numbers."""
    from ..plateau import PLATEAU_FITTED, PLATEAU_LOG10_ERR, PLATEAU_RANK

    return [
        "**Decision rule.** A claim is **held** or **not held** only on *decided* cells: cells that ran the "
        "paper's budget (5·10⁵ iterations; Table 2: the configured budget at scale paper), stopped by the "
        "tolerance, diverged, or had plateaued (rule below). A threshold an untrained network already meets "
        "(W₀ ≈ 0 gives test error ≈ 1) is no evidence until the cell is decided. **not reached at this "
        "budget**: the cells a check needs are not decided yet; *leaning held / leaning not held* says "
        "what they show now. **inconclusive**: decided cells cannot measure it (or the bounds of a censored "
        "iteration count cannot settle a ratio). **not run**: its cells are not in this run. Baselines (CP, "
        "SI, OPT) run to their own solver's convergence and count as decided. A diverged seed's error counts "
        "as +∞ (a success claim cannot hold on the survivors); an iteration count that a seed never reached "
        "counts as more than the iterations it ran. **Seed by seed**: a cell meets a criterion only if every "
        "seed does, and cells are compared seed by seed; an error level counts once the error stays at or "
        "below it to the end of the run. **uninformative**: met only by cells whose networks did not train "
        "(data term above 1 % of its start, not diverged), or by the claim's untrained twin (the same cells "
        "at iteration 0).",
        "",
        f"Plateau rule (per seed; a cell has plateaued when all its seeds have): its data term is below "
        f"{PLATEAU_FITTED:.0%} of its value at iteration 0, and over the last decade of iterations (the "
        f"logged points in [T/10, T]) log10 of its test error varies by at most {PLATEAU_LOG10_ERR} and its "
        f"effective rank by at most {PLATEAU_RANK}. The data-term condition tells a saddle from a plateau: "
        "un-penalised GD at depth ≥ 3 sits at test error 1.0 with every logged quantity flat for thousands of "
        "iterations before it drops. A decision from a plateau below the paper's budget is a judgement (a "
        "run can leave a plateau later); `benchmarks/plateau_validation.md` measures how often it was wrong.",
        "",
        "Readings (each cell's are in the `readings` column): the initialisation (`init`: end_to_end, the "
        "end product's scale as in [7]'s code, or layer, every layer's std, A.1 read literally), what the 1e-7 "
        "tolerance read (`tol_on`: the whole loss as A.1 words it, or the data term alone), the stop rule "
        "(`budget` or `plateau`), the spectral route "
        "(`svd`: the float32 SVD of the paper's code; `gesvda`: float64), and the momentum of GD (w. "
        "momentum) (A.1 says PyTorch defaults, whose momentum is 0; the project uses 0.9).",
    ]


def to_markdown(res: pd.DataFrame, scale: str, untested: list[dict[str, Any]] | None = None) -> str:
    lines = [
        "# Claims of Zhao (2022), checked",
        "",
        f"Scale: **{scale}**" + ("" if scale == "paper" else " (budgets and seeds below the paper's)"),
        "",
        "Verdicts: " + verdict_counts(res),
        "",
        *legend(),
        "",
    ]
    res = res.assign(_group=res["source"].map(claim_group), _order=res["verdict"].map(_verdict_rank))
    for group in sorted(res["_group"].unique(), key=_group_rank):
        lines += ["", f"## {group}", "", HEADER, "|---|---|---|---|---|---|---|---|---|"]
        for _, r in res[res["_group"] == group].sort_values("_order", kind="stable").iterrows():
            lines.append(_row(r))
    lines += [
        "",
        "## Statements not tested",
        "",
        "| source | statement (verbatim) | why not |",
        "|---|---|---|",
    ]
    lines += [
        f"| {u['source']} | {u['quote']} | {u['why']} |"
        for u in (load_untested() if untested is None else untested)
    ]
    return "\n".join(lines) + "\n"


HEADER = "| id | source | claim (verbatim) | paper | criterion | ours | verdict | decided by / still open | readings |"
FOLD = 400
"""Characters of a measurement or cell list shown before the rest is folded (``<details>``)."""


def claim_group(source: str) -> str:
    """The table or figure a claim is about (``Table 1 / §3.5`` -> ``Table 1``), else the robustness and
    general statements."""
    m = re.match(r"(Table \d|Figure \d)", str(source))
    return m.group(1) if m else "Robustness and general statements"


def _group_rank(group: str) -> tuple[int, str]:
    kind = 0 if group.startswith("Table") else 1 if group.startswith("Figure") else 2
    return kind, group


def _verdict_rank(verdict: str) -> int:
    return VERDICT_ORDER.index(verdict) if verdict in VERDICT_ORDER else len(VERDICT_ORDER)


def _fold(text: str) -> str:
    """Long text as its first :data:`FOLD` characters with the rest folded away."""
    text = str(text).replace("|", "/").replace("\n", " ")
    if len(text) <= FOLD:
        return text
    cut = text.rfind("; ", 0, FOLD)
    cut = cut if cut > 0 else FOLD
    return f"{text[:cut]} <details><summary>more</summary>{text[cut:]}</details>"


def _row(r: pd.Series) -> str:
    """One claim's line of ``claims.md``: decided claims first in their group, long lists folded."""
    verdict = f"**{r['verdict']}**" + (f" ({r['leaning']})" if r.get("leaning") else "")
    if isinstance(r.get("structural"), str) and r["structural"]:
        verdict += f" — structural, not evidence: {r['structural']}"
    if isinstance(r.get("other_readings"), str) and r["other_readings"]:
        verdict += f"; changes with the reading: {r['other_readings']} (results/readings.md)"
    cells = [r["id"], r["source"], r["quote"], r["paper"], r["criterion"], _fold(r["ours"]), verdict,
             _fold(r["cells"]), r["readings"]]  # fmt: skip
    return "| " + " | ".join(str(c).replace("|", "/").replace("\n", " ") for c in cells) + " |"
