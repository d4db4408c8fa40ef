"""From outcomes to verdicts: one check's, a claim's (with the cells its plan names but the run lacks), the
claims file prepared (checkpoints and variants expanded) and every claim judged on a run's cells."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ...baselines import BASELINES
from ...labels import PAPER_METHODS, PLAN_COLUMNS
from ..cells import typed, value_text
from ..style import READING_SETTINGS
from ..twin import untrained_twin
from .checks import CHECKPOINT_WORDS, CHECKS, MIXED
from .decided import cell_label, decision
from .outcomes import NOT_REACHED, PRECEDENCE, UNINFORMATIVE, Outcome, select, untrained_guard

DEFAULT_CLAIMS = Path(__file__).resolve().parents[1] / "claims.yaml"


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


def _settings_of(df: pd.DataFrame, outcomes: Iterable[Outcome]) -> str:
    """The reading settings of the cells a claim read (:data:`matcomp.report.style.READING_SETTINGS`)."""
    labels = {o.label for o in outcomes}
    rows = [r for _, r in df.iterrows() if r["_label"] in labels or any(r["_label"] in lab for lab in labels)]
    parts = []
    for col, name in READING_SETTINGS.items():
        vals = sorted({value_text(r[col]) for r in rows if col in r and pd.notna(r[col]) and r[col] != ""})
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
        if value_text(cell[col]) not in {value_text(v) for v in (val if isinstance(val, list) else [val])}:
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
        return "" if v is None or pd.isna(v) else value_text(v)

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
        out += [f"{exp} " + "/".join(value_text(v) for v in cell.values()) for cell in cells
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
                    out.append(f"{col} {value_text(v)}")
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
    """One claim's row of the report: verdict, leaning, what we measured, the deciding cells, their reading settings;
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
        "settings": _settings_of(df, all_outcomes) if not df.empty else "",
    }  # fmt: skip


def prepare(claims: list[dict[str, Any]], where: str = "claims") -> list[dict[str, Any]]:
    """Claims checked for what a verdict needs (an empty ``checks`` list is an error: it would hold vacuously),
    ``check`` turned into ``checks``, ``checkpoints`` and ``variants`` expanded (already prepared ones pass)."""
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
    return expand_variants(expand_checkpoints(out))


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


# ---------------------------------------------------------------- checkpoints and variants of a claim


def _check_under(check: dict[str, Any], ckpt: str) -> dict[str, Any]:
    """``check`` reading its metric at the checkpoint ``ckpt``; a mixed one (:data:`MIXED`) reads a
    compare's ``a`` (the unpenalised row) at one checkpoint and ``b`` (the penalised row) at another, and a
    threshold (on a penalised row) at the latter."""
    metric = check["metric"]
    if ckpt not in MIXED:
        return {**check, "metric": f"{metric}_{ckpt}"}
    ra, rb = MIXED[ckpt]
    return {**check, "metric": f"{metric}_{rb}", "metric_a": f"{metric}_{ra}", "metric_b": f"{metric}_{rb}"}


def _one_per(
    claims: list[dict[str, Any]], key: str, each: Callable[[dict[str, Any]], list[tuple[str, str, list[Any]]]]
) -> list[dict[str, Any]]:
    """Claims carrying ``key`` become one claim per (label, its words, checks) that ``each(claim)``
    gives, its id ``"<id> [label]"``; the others pass unchanged."""
    out: list[dict[str, Any]] = []
    for claim in claims:
        if key not in claim:
            out.append(claim)
            continue
        base = {k: v for k, v in claim.items() if k != key}
        out += [{**base, "id": f"{claim['id']} [{label}]", "criterion": f"{claim['criterion']}; {key.removesuffix('s')}: {words}",
                 "checks": checks} for label, words, checks in each(claim)]  # fmt: skip
    return out


def expand_checkpoints(claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Claims with ``checkpoints`` (Table 2's) become one claim per checkpoint."""
    return _one_per(claims, "checkpoints", lambda claim: [
        (r, CHECKPOINT_WORDS[r], [_check_under(c, r) for c in claim["checks"]]) for r in claim["checkpoints"]
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
