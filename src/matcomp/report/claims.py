"""The paper's quantitative claims, as data (``claims.yaml``), checked against what we measured.

Each claim names a selection of cells (experiment + column filters), a metric and a criterion:

* ``threshold``: every selected cell satisfies ``metric op value`` (``op``: <=, >=, <, >, ==round);
* ``compare``: two selections ``a`` and ``b`` (matched on ``match`` columns, e.g. depth) and a relation
  between their metrics: ``ratio_at_least`` (a/b >= value) or ``log10_within`` (|log10 a − log10 b| <= value).

Verdicts: ``held``, ``not held``, ``not reached at this budget``, ``not run`` (the cells are not part of
this run's config) or ``inconclusive`` (a quantity could not be measured, e.g. a threshold never crossed by
either side).  A failed check is ``not held`` only if one of its failing cells is decided: it ran the
paper's budget, stopped by the paper's rule, diverged, or had plateaued (``plateaued`` in the tables; the
rule is :func:`matcomp.plateau.still_moving`).  Where every failing cell ran a smaller budget and was still
moving, it is ``not reached at this budget`` and names them (:func:`budget_notes`).  The budgets come from
:func:`claim_budgets`: this run's config and the project's config.yaml at scale ``paper``.
Iterations-to-error that were never reached are censored at the cell's iteration budget; a comparison
that only holds thanks to censoring says so, and one that fails on a count censored below the paper's
budget is not reached.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ..io import write_with

OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
DEFAULT_CLAIMS = Path(__file__).with_name("claims.yaml")


def load_results(tables: Sequence[str | Path]) -> pd.DataFrame:
    frames = [pd.read_csv(t) for t in tables if Path(t).exists()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


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


def _value(row: pd.Series, metric: str) -> tuple[float, bool]:
    """The metric of a row, and whether it was censored (a threshold never crossed)."""
    v = row.get(metric, math.nan)
    if metric.startswith("iters_to_err") and (v is None or not np.isfinite(v)):
        return float(row["max_iters"]), True
    return float(v) if v is not None else math.nan, False


def _lbl(v: Any) -> str:
    """A label part: 3.0 -> '3' (columns become float when csvs with gaps are concatenated)."""
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _fmt(x: float) -> str:
    return "n/a" if not np.isfinite(x) else (f"{x:.3g}" if abs(x) >= 1e-3 else f"{x:.1e}")


# --- budgets: "not held" only where the paper's budget ran or the failing cells had stopped moving --------

NOT_REACHED = "not reached at this budget"
PRECEDENCE = ("not held", NOT_REACHED, "not run", "inconclusive", "held")
"""A claim's verdict is the first of these that one of its checks gives."""
VERDICT_ORDER = ("held", "not held", NOT_REACHED, "inconclusive", "not run")
T2_BUDGETS = (("lnn", "n_iters", "steps"), ("embedding", "n_epochs", "epochs"))
"""MovieLens: which setting of each model is its budget, and in what unit."""


def budgets(config: dict[str, Any]) -> dict[str, Any]:
    """Each experiment's training budget in an effective config: ``{"budget", "unit"}`` (iterations) for the
    synthetic experiments, ``{model name: {"budget", "unit"}}`` for MovieLens (LNN steps, embedding epochs)."""
    from ..plan.config import deep_merge

    out: dict[str, Any] = {}
    for name, exp in config.get("experiments", {}).items():
        if exp.get("kind") == "movielens":
            from .table2 import MODEL_NAMES

            out[name] = {
                MODEL_NAMES[m]: {"budget": exp[m][key], "unit": unit}
                for m, key, unit in T2_BUDGETS
                if key in exp.get(m, {})
            }
        else:
            train = deep_merge(config.get("train", {}), exp.get("train", {}))
            out[name] = {"budget": train["max_iters"], "unit": "iterations"}
    return out


def claim_budgets(config: dict[str, Any], config_file: str | Path) -> dict[str, Any]:
    """``{"run": budgets of this run's effective config, "paper": those of config_file at scale paper}``."""
    from ..plan.config import effective_config

    raw = yaml.safe_load(Path(config_file).read_text())
    return {"run": budgets(config), "paper": budgets(effective_config({**raw, "scale": "paper"}))}


def _truthy(v: Any) -> bool:
    return bool(v) if isinstance(v, bool | np.bool_) else str(v).strip().lower() == "true"


def _cell_label(row: pd.Series) -> str:
    method = row.get("method")
    keys = (
        ("split", "model", "method", "n_obs")
        if isinstance(method, str) and method
        else ("optimizer", "penalty", "depth")
    )
    label = "/".join(_lbl(row[k]) for k in keys if k in row and pd.notna(row[k]))
    lam = row.get("lam", math.nan) if keys[0] == "optimizer" else math.nan
    return f"{row.get('experiment', '')} {label}".strip() + (f"/λ={lam:g}" if pd.notna(lam) else "")


def budget_notes(row: pd.Series, budget: dict[str, Any] | None) -> tuple[str, str]:
    """``(moving, below)`` for one table row: ``below`` names the cell and its budget if it ran fewer
    iterations (epochs, steps) than the paper's without the paper's stopping rule firing; ``moving`` does so
    if it was, moreover, still moving (not ``plateaued``).  Both ``""`` otherwise, and for baseline solvers
    (no ``max_iters``: they run to their own convergence).  MovieLens rows without ``max_iters`` take this
    run's configured budget for their model, and without ``plateaued`` count as still moving."""
    paper = (budget or {}).get("paper", {}).get(row.get("experiment"))
    if paper is not None and "budget" not in paper:  # MovieLens: one budget per model
        paper = paper.get(row.get("model"))
        if pd.isna(row.get("max_iters", math.nan)):
            row = row.copy()
            row["max_iters"] = budget["run"].get(row["experiment"], {}).get(row["model"], {}).get("budget")
    ran = pd.to_numeric(row.get("max_iters", math.nan), errors="coerce")
    stops = {s for s in str(row.get("stop_reasons", "")).split(";") if s and s != "nan"}
    if (
        paper is None
        or pd.isna(ran)
        or ran >= paper["budget"]
        or (stops and stops <= {"converged", "diverged"})
    ):
        return "", ""
    below = f"{_cell_label(row)}: budget {int(ran)} of the paper's {int(paper['budget'])} {paper['unit']}"
    if _truthy(row.get("plateaued", False)):
        return "", below
    why = row.get("still_moving")
    return f"{below}, still moving ({why if isinstance(why, str) and why else 'no plateau record'})", below


def with_budget_notes(df: pd.DataFrame, budget: dict[str, Any] | None) -> pd.DataFrame:
    """``df`` with the columns ``_moving`` and ``_below`` of :func:`budget_notes`."""
    if df.empty:
        return df
    notes = [budget_notes(row, budget) for _, row in df.iterrows()]
    return df.assign(_moving=[m for m, _ in notes], _below=[b for _, b in notes])


def _note(row: pd.Series, col: str) -> str:
    v = row.get(col, "")
    return v if isinstance(v, str) else ""


def _failed(notes: Sequence[Sequence[str]], details: str) -> tuple[str, str]:
    """A failed check, from the notes of each failing cell (or pair): none where it is decided, else the
    cells that could still change it.  One decided failure is ``not held``."""
    if all(notes):
        named = dict.fromkeys(n for cell in notes for n in cell)
        return NOT_REACHED, f"{details} — {NOT_REACHED}: " + "; ".join(named)
    return "not held", details


def _censored(note: str) -> list[str]:
    return [f"{note}, error level never reached (censored)"] if note else []


def _pair_notes(row: pd.Series, rel: str, va: float, vb: float, ca: bool, cb: bool, iters: bool) -> list[str]:
    """Which sides of a failing pair could still change it: a side still moving below the paper's budget,
    or an iteration count censored below it that could grow in the direction that would pass."""
    notes: list[str] = []
    for side, v, other, censored in (("a", va, vb, ca), ("b", vb, va, cb)):
        if not iters:
            notes += [_note(row, f"_moving_{side}")] if _note(row, f"_moving_{side}") else []
        elif censored and (side == "a" if rel == "ratio_at_least" else v <= other):
            notes += _censored(_note(row, f"_below_{side}"))
    return notes


def _threshold(df: pd.DataFrame, c: dict[str, Any]) -> tuple[str, str]:
    sel = select(df, c["where"])
    if sel.empty:
        return "not run", "no such cells in this run"
    metric, op, target = c["metric"], c["op"], c["value"]
    ok, parts, undetermined, fails = True, [], False, []
    for _, row in sel.iterrows():
        v, _ = _value(row, metric)
        keys = (
            ("split", "model", "method", "n_obs")
            if "method" in c["where"]
            else ("optimizer", "penalty", "depth")
        )
        label = "/".join(_lbl(row[k]) for k in keys if k in row and pd.notna(row[k])) + (
            f"/λ={row['lam']:g}" if "lam" in c["where"] else ""
        )
        if not np.isfinite(v):
            undetermined = True
            parts.append(f"{label}: n/a")
            continue
        hit = round(v) == target if op == "==round" else OPS[op](v, target)
        ok &= bool(hit)
        fails += [] if hit else [[_note(row, "_moving")] if _note(row, "_moving") else []]
        parts.append(f"{label}: {_fmt(v)}")
    if fails:
        return _failed(fails, "; ".join(parts))
    return ("inconclusive" if undetermined else "held"), "; ".join(parts)


def _compare(df: pd.DataFrame, c: dict[str, Any]) -> tuple[str, str]:
    a, b = select(df, c["a"]), select(df, c["b"])
    if a.empty or b.empty:
        return "not run", "no such cells in this run"
    match = c.get("match", [])
    merged = (
        a.merge(b, on=match, suffixes=("_a", "_b"))
        if match
        else a.assign(_k=1).merge(b.assign(_k=1), on="_k", suffixes=("_a", "_b"))
    )
    if merged.empty:
        return "not run", "no matching pairs"
    metric, target, rel = c["metric"], float(c["value"]), c["relation"]
    ok, parts, inconclusive, fails = True, [], False, []
    iters = metric.startswith("iters_to_err")
    for _, row in merged.iterrows():
        va, ca = _value(row.rename(lambda k: k[:-2] if k.endswith("_a") else k), metric)
        vb, cb = _value(row.rename(lambda k: k[:-2] if k.endswith("_b") else k), metric)
        key = ",".join(f"{m}={_lbl(row[m])}" for m in match) + (
            f" {row['method_a']}" if _note(row, "method_a") and "method" not in match else ""
        )
        if not (np.isfinite(va) and np.isfinite(vb)) or (ca and cb):
            both = [n for s in "ab" for n in _censored(_note(row, f"_below_{s}"))] if ca and cb else []
            if both:  # neither side reached the level, and one of them ran below the paper's budget
                fails.append(both)
            inconclusive |= not both
            parts.append(f"{key}: n/a")
            continue
        if rel == "ratio_at_least":
            r = va / vb if vb > 0 else math.inf
            hit = r >= target
            note = " (censored)" if (ca or cb) else ""
            parts.append(f"{key}: {_fmt(va)}/{_fmt(vb)} = {_fmt(r)}{note}")
        elif rel == "log10_within":
            d = abs(math.log10(max(va, 1e-300)) - math.log10(max(vb, 1e-300)))
            hit = d <= target
            parts.append(f"{key}: {_fmt(va)} vs {_fmt(vb)} (Δlog10 = {d:.2f})")
        else:
            raise ValueError(f"unknown relation {rel!r}")
        ok &= bool(hit)
        fails += [] if hit else [_pair_notes(row, rel, va, vb, ca, cb, iters)]
    if fails:
        return _failed(fails, "; ".join(parts))
    return ("inconclusive" if inconclusive else "held"), "; ".join(parts)


CHECKS = {"threshold": _threshold, "compare": _compare}
BUDGET_AWARE = ("threshold", "compare")
"""Checks that apply the budget rule per failing cell; for any other, a ``not held`` is ``not reached``
when one of its ``where`` cells was still moving below the paper's budget (:func:`_budget_fallback`)."""


def _budget_fallback(df: pd.DataFrame, chk: dict[str, Any], verdict: str, details: str) -> tuple[str, str]:
    if verdict != "not held" or chk["type"] in BUDGET_AWARE or "_moving" not in df:
        return verdict, details
    moving = [[m] for m in select(df, chk.get("where", {})).get("_moving", []) if isinstance(m, str) and m]
    return _failed(moving, details) if moving else (verdict, details)


def evaluate(
    claims: list[dict[str, Any]], df: pd.DataFrame, budget: dict[str, Any] | None = None
) -> pd.DataFrame:
    """One row per claim; ``budget`` (:func:`claim_budgets`) enables ``not reached at this budget``."""
    df = with_budget_notes(df, budget)
    rows = []
    for claim in expand_readings(claims):
        checks = claim["checks"] if "checks" in claim else [claim["check"]]
        verdicts, details = [], []
        for chk in checks:
            v, d = _budget_fallback(df, chk, *CHECKS[chk["type"]](df, chk))
            verdicts.append(v)
            details.append(d)
        verdict = next(v for v in PRECEDENCE if v in [*verdicts, "held"])
        rows.append(
            {
                "id": claim["id"],
                "source": claim["source"],
                "quote": claim["quote"].strip(),
                "paper": claim["paper"],
                "criterion": claim["criterion"],
                "ours": " | ".join(details),
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows)


def verdict_counts(res: pd.DataFrame) -> str:
    """``held: 9, not held: 1, not reached at this budget: 17, ...``: every verdict that occurs, in a fixed order
    (held, not held and not reached always)."""
    counts = res["verdict"].value_counts().to_dict() if not res.empty else {}
    order = [*VERDICT_ORDER, *sorted(set(counts) - set(VERDICT_ORDER))]
    return ", ".join(f"{v}: {counts.get(v, 0)}" for v in order if counts.get(v) or v in VERDICT_ORDER[:3])


def legend() -> list[str]:
    """What the verdicts mean, with the plateau rule's numbers and its limits."""
    from ..plateau import PLATEAU_FITTED, PLATEAU_LOG10_ERR, PLATEAU_RANK

    return [
        "**held**: every check holds (at this run's budget; a claim that holds here is not re-judged at the "
        "paper's). **not held**: a check fails on a cell that is decided: it ran the paper's budget, stopped "
        "by the paper's rule (data term < tol), diverged, or had plateaued. **not reached at this budget**: "
        "every cell that fails a check ran a smaller budget than the paper's and was still moving when it "
        "ran out (or never reached an error level whose iteration count decides the check); those cells are "
        "named with their budget. Baselines (CP, SI, OPT) run to their own solver's convergence and count as "
        "decided. MovieLens rows are judged by their configured steps (LNN) and epochs (embedding) against "
        "the paper-scale config, and count as still moving below it.",
        "",
        f"Plateau rule (per seed; a cell has plateaued when all its seeds have): its data term is below "
        f"{PLATEAU_FITTED:.0%} of its value at iteration 0, and over the last decade of iterations (the "
        f"logged points in [T/10, T]) log10 of its test error varies by at most {PLATEAU_LOG10_ERR} and its "
        f"effective rank by at most {PLATEAU_RANK}. The data-term condition is what tells a saddle from a "
        "plateau: un-penalised GD at depth ≥ 3 sits at test error 1.0 with every logged quantity flat for "
        "thousands of iterations before it drops. Limits: a run that has fitted its observed entries can "
        "still leave a plateau later (a slow drift along the fitted set, or a saddle past the data fit), so a "
        "**not held** from a plateaued cell below the paper's budget is a judgement, not a measurement; and a "
        "**held** at a smaller budget could change at the paper's.",
    ]


def to_markdown(res: pd.DataFrame, scale: str) -> str:
    lines = [
        "# Claims of Zhao (2022), checked",
        "",
        f"Scale: **{scale}**"
        + ("" if scale == "paper" else " (budgets and seeds below the paper's: verdicts are indicative)"),
        "",
        "Verdicts: " + verdict_counts(res),
        "",
        *legend(),
        "",
        "| id | source | claim | paper | criterion | ours | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, r in res.iterrows():
        cells = [
            r["id"],
            r["source"],
            r["quote"],
            r["paper"],
            r["criterion"],
            r["ours"],
            f"**{r['verdict']}**",
        ]
        lines.append("| " + " | ".join(str(c).replace("|", "/").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def check_claims(
    claims_file: str | Path,
    tables: Sequence[str | Path],
    md: str,
    csv: str,
    scale: str = "paper",
    budget: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Evaluate ``claims_file`` on ``tables``; ``budget`` (:func:`claim_budgets`) as in :func:`evaluate`."""
    claims = yaml.safe_load(Path(claims_file).read_text())["claims"]
    res = evaluate(claims, load_results(tables), budget)
    res.insert(0, "scale", scale)
    write_with(csv, lambda t: res.to_csv(t, index=False))
    write_with(md, lambda t: Path(t).write_text(to_markdown(res, scale)))
    return res


# --- Table 2: checkpoint readings ----------------------------------------------------------------------
# Table 2's csv holds our test RMSE under every checkpoint reading of the same runs (``rmse_mean_<reading>``,
# ``at_<reading>``: see matcomp.movielens).  A claim with ``readings: [...]`` is judged once per reading (id
# ``"<id> [<reading>]"``, each check's metric ``"<metric>_<reading>"``); the ``reading_match`` check names,
# per cell, the readings under which ours comes within ``tol`` of the paper's RMSE.

READING_WORDS = {
    "last": "at the last epoch / step",
    "train": "with the checkpoint of lowest training error",
    "validation": "with the checkpoint chosen on the validation part of the training split",
    "test": "with the checkpoint chosen on the test set, as appendix A.1 reads; optimistic",
}


def _check_under(check: dict[str, Any], reading: str) -> dict[str, Any]:
    return {**check, "metric": f"{check['metric']}_{reading}"}


def expand_readings(claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Claims with ``readings`` become one claim per reading; the others pass through."""
    out: list[dict[str, Any]] = []
    for claim in claims:
        if "readings" not in claim:
            out.append(claim)
            continue
        base = {k: v for k, v in claim.items() if k not in ("readings", "check", "checks")}
        checks = claim["checks"] if "checks" in claim else [claim["check"]]
        for reading in claim["readings"]:
            out.append(
                {
                    **base,
                    "id": f"{claim['id']} [{reading}]",
                    "criterion": f"{claim['criterion']}; reading: {READING_WORDS[reading]}",
                    "checks": [_check_under(c, reading) for c in checks],
                }
            )
    return out


def _reading_match_cell(row: pd.Series, readings: Sequence[str], tol: float) -> tuple[str, bool | None]:
    """One cell: its value under each reading, the readings within ``tol`` of the paper's (closest first), and
    whether there is one (None: no value under any reading)."""
    paper = float(row["paper_rmse"])
    label = "/".join(_lbl(row[k]) for k in ("split", "model", "method") if k in row and pd.notna(row[k]))
    parts, hits, seen = [], [], False
    for reading in readings:
        v = float(row.get(f"rmse_mean_{reading}", math.nan))
        if not np.isfinite(v):
            continue
        seen = True
        at = row.get(f"at_{reading}")
        where = f", {at}" if isinstance(at, str) and at else ""
        hit = abs(v - paper) <= tol
        if hit:
            hits.append((abs(v - paper), reading))
        parts.append(f"{reading} {v:.3f}{where}{' ✓' if hit else ''}")
    if not seen:
        return f"{label}: paper {paper:.3f}; n/a", None
    reached = " and ".join(READING_WORDS[r] for _, r in sorted(hits)) if hits else "under no reading"
    return f"{label}: paper {paper:.3f}, reached {reached} ({'; '.join(parts)})", bool(hits)


def _reading_match(df: pd.DataFrame, c: dict[str, Any]) -> tuple[str, str]:
    """Every selected cell comes within ``tol`` of the paper's RMSE under at least one of ``readings``."""
    sel = select(df, c["where"])
    if sel.empty:
        return "not run", "no such cells in this run"
    cells = [_reading_match_cell(row, c["readings"], float(c["tol"])) for _, row in sel.iterrows()]
    oks = [ok for _, ok in cells]
    verdict = "not held" if False in oks else ("inconclusive" if None in oks else "held")
    return verdict, "; ".join(text for text, _ in cells)


CHECKS["reading_match"] = _reading_match
