"""The paper's robustness statements at a glance (``results/tables/robustness.{md,csv}``).

For each statement (λ for the ratio penalty, λ for Table 1's combinations, the learning rate, the sample
size) one block: rows are the cells (optimizer, penalty, depth), columns the values of the setting that
varies, each entry ``Err / Rk`` and a mark: ``=`` where the cell is on the same side of the headline
criterion (Err ≤ 1e-3 and Rk = the data's rank) as the reference value, ``≠`` where it is not, ``ref`` for
the reference.  Whether a difference is decided is the claims report's business (claims ``R-*``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..io import write_with
from .tables import fmt_err, fmt_rank

STATEMENTS = {  # block: (experiments, varied column, reference (column, value), what the paper says)
    "λ, ratio penalty (A.1)": (["robust_lambda"], "lam", ("lam", 0.05), "robust across λ ∈ [1e-4, 1e-1]"),
    "λ, ratio penalty, rank 10 (Figs. 7-8)": (["robust_lambda_r10"], "lam", ("lam", 1e-4), "results hold for λ ∈ [1e-6, 1e-1] (Fig. 7, against its λ = 1e-4), [1e-4, 1e-1] at depth 1 (Fig. 8)"),
    "λ, Table 1's combinations (A.3)": (["robust_combinations"], "lam", ("lam", 0.05), "similar for λ ∈ [1e-6, 1e-1]"),
    "learning rate α (A.1)": (["table1", "robust_lr5e4", "robust_lr1e4"], "lr", ("experiment", "table1"), "no qualitative differences for α ∈ {5e-4, 1e-4}"),
    "sample size (A.1, A.3)": (["table1", "robust_n_obs"], "n_obs", ("experiment", "table1"), "similar for 2500, 3000"),
}  # fmt: skip
SUCCESS_ERR = 1e-3


def _success(row: pd.Series) -> bool:
    return bool(row["test_error_mean"] <= SUCCESS_ERR and round(row["effective_rank_mean"]) == row["rank"])


def block(df: pd.DataFrame, experiments: Sequence[str], varied: str, ref: tuple[str, object]) -> pd.DataFrame:
    """One statement's cells: rows (optimizer, penalty, depth), one column per value of ``varied``."""
    names = [e for e in experiments if e != ref[1]] if ref[0] == "experiment" else list(experiments)
    sel = df[df["experiment"].isin(experiments)]
    keys = ["optimizer", "penalty", "depth"]
    wanted = set(map(tuple, sel[sel["experiment"].isin(names)][keys].to_numpy()))
    sel = sel[[tuple(k) in wanted for k in sel[keys].to_numpy()]]
    rows = []
    for key, group in sel.groupby(keys, sort=False):
        ref_row = group[group[ref[0]] == ref[1]]
        ref_ok = _success(ref_row.iloc[0]) if len(ref_row) else None
        entry = dict(zip(keys, key))
        for _, r in group.sort_values(varied).iterrows():
            is_ref = r[ref[0]] == ref[1]
            mark = "ref" if is_ref else "?" if ref_ok is None else "=" if _success(r) == ref_ok else "≠"
            entry[f"{varied}={r[varied]:g}"] = (
                f"{fmt_err(r['test_error_mean'])} / {fmt_rank(r['effective_rank_mean'])} {mark}"
            )
        rows.append(entry)
    return pd.DataFrame(rows)


def write_robustness(tables: Sequence[str], md: str, csv: str) -> pd.DataFrame:
    frames = [pd.read_csv(t) for t in tables if Path(t).exists()]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["experiment"])
    lines = [
        "# The paper's robustness statements",
        "",
        f"Entries: Err / Rk, and `=` where the cell is on the same side of Err ≤ {SUCCESS_ERR:g} and Rk = the "
        "data's rank as the reference (`ref`), `≠` where it is not. The claims R-* judge them on decided cells.",
    ]
    out = []
    for title, (experiments, varied, ref, says) in STATEMENTS.items():
        if not set(experiments) - {ref[1]} <= set(df["experiment"]):
            lines += ["", f"## {title}: not run"]
            continue
        b = block(df, experiments, varied, ref)
        lines += ["", f"## {title}", "", f"The paper: {says}.", ""]
        if b.empty:
            lines.append("(no cells)")
            continue
        cols = list(b.columns)
        lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += [
            "| " + " | ".join("" if pd.isna(v) else str(v) for v in r) + " |"
            for r in b.itertuples(index=False)
        ]
        out.append(b.assign(statement=title))
    result = pd.concat(out, ignore_index=True) if out else pd.DataFrame()
    write_with(csv, lambda t: result.to_csv(t, index=False))
    write_with(md, lambda t: Path(t).write_text("\n".join(lines) + "\n"))
    return result
