"""The paper's quantitative claims, as data (``claims.yaml``), checked against what we measured.

Each claim names a selection of cells (experiment + column filters), a metric and a criterion:

* ``threshold``: every selected cell satisfies ``metric op value`` (``op``: <=, >=, <, >, ==round);
* ``compare``: two selections ``a`` and ``b`` (matched on ``match`` columns, e.g. depth) and a relation
  between their metrics: ``ratio_at_least`` (a/b >= value) or ``log10_within`` (|log10 a − log10 b| <= value).

Verdicts: ``held``, ``not held``, ``not run`` (the cells are not part of this run's config) or
``inconclusive`` (a quantity could not be measured, e.g. a threshold never crossed by either side).
Iterations-to-error that were never reached are censored at the cell's iteration budget; a comparison
that only holds thanks to censoring says so.
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

from .io import write_with

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


def _threshold(df: pd.DataFrame, c: dict[str, Any]) -> tuple[str, str]:
    sel = select(df, c["where"])
    if sel.empty:
        return "not run", "no such cells in this run"
    metric, op, target = c["metric"], c["op"], c["value"]
    ok, parts, undetermined = True, [], False
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
        parts.append(f"{label}: {_fmt(v)}")
    verdict = "inconclusive" if undetermined and ok else ("held" if ok else "not held")
    return verdict, "; ".join(parts)


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
    ok, parts, inconclusive = True, [], False
    for _, row in merged.iterrows():
        va, ca = _value(row.rename(lambda k: k[:-2] if k.endswith("_a") else k), metric)
        vb, cb = _value(row.rename(lambda k: k[:-2] if k.endswith("_b") else k), metric)
        key = ",".join(f"{m}={_lbl(row[m])}" for m in match) + (
            f" {row['method_a']}" if "method_a" in row and "method" not in match else ""
        )
        if not (np.isfinite(va) and np.isfinite(vb)) or (ca and cb):
            inconclusive = True
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
    verdict = "inconclusive" if inconclusive and ok else ("held" if ok else "not held")
    return verdict, "; ".join(parts)


CHECKS = {"threshold": _threshold, "compare": _compare}


def evaluate(claims: list[dict[str, Any]], df: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for claim in expand_readings(claims):
        checks = claim["checks"] if "checks" in claim else [claim["check"]]
        verdicts, details = [], []
        for chk in checks:
            v, d = CHECKS[chk["type"]](df, chk)
            verdicts.append(v)
            details.append(d)
        if "not held" in verdicts:
            verdict = "not held"
        elif "not run" in verdicts:
            verdict = "not run"
        elif "inconclusive" in verdicts:
            verdict = "inconclusive"
        else:
            verdict = "held"
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


def to_markdown(res: pd.DataFrame, scale: str) -> str:
    counts = res["verdict"].value_counts().to_dict()
    lines = [
        "# Claims of Zhao (2022), checked",
        "",
        f"Scale: **{scale}**"
        + ("" if scale == "paper" else " (budgets and seeds below the paper's: verdicts are indicative)"),
        "",
        "Verdicts: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())),
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
    claims_file: str | Path, tables: Sequence[str | Path], md: str, csv: str, scale: str = "paper"
) -> pd.DataFrame:
    claims = yaml.safe_load(Path(claims_file).read_text())["claims"]
    res = evaluate(claims, load_results(tables))
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
