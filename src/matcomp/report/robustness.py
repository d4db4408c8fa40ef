"""The paper's robustness statements at a glance (``results/tables/robustness.{md,csv}``, ``figures/robustness.{pdf,png}``).

For each statement (λ for the ratio penalty, λ for Table 1's combinations, the learning rate, the sample
size) one block: rows are the cells (optimizer, penalty, depth), columns the values of the setting that
varies, each entry ``Err / Rk`` and a mark against the reference value on the headline criterion (Err ≤
1e-3 and Rk = the data's rank): ``=`` both succeed, ``✗=`` both fail (no evidence), ``≠`` one does, ``ref``
the reference; and a figure of the same (``figures/robustness.{pdf,png}``).  Whether a difference is decided is the claims report's business (claims ``R-*``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..store.io import write_with
from .cells import read_tables
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


def _mark(ok: bool, ref_ok: bool | None) -> str:
    """A cell's mark against its reference: ``?`` without one, ``≠`` on the other side, ``=`` both succeed,
    ``✗=`` both fail (alike in failing: no evidence for the statement)."""
    if ref_ok is None:
        return "?"
    if ok != ref_ok:
        return "≠"
    return "=" if ok else "✗="


def entries(
    df: pd.DataFrame, experiments: Sequence[str], varied: str, ref: tuple[str, object]
) -> pd.DataFrame:
    """One statement's cells, long: optimizer, penalty, depth, the varied setting's ``value``, Err, Rk and the
    mark: ``ref``; ``=`` both succeed; ``✗=`` both fail (alike in failing: no evidence for the statement);
    ``≠`` one does and the other not; ``?`` without a reference."""
    names = [e for e in experiments if e != ref[1]] if ref[0] == "experiment" else list(experiments)
    sel = df[df["experiment"].isin(experiments)]
    keys = ["optimizer", "penalty", "depth"]
    wanted = set(map(tuple, sel[sel["experiment"].isin(names)][keys].to_numpy()))
    sel = sel[[tuple(k) in wanted for k in sel[keys].to_numpy()]]
    rows = []
    for key, group in sel.groupby(keys, sort=False):
        ref_row = group[group[ref[0]] == ref[1]]
        ref_ok = _success(ref_row.iloc[0]) if len(ref_row) else None
        for _, r in group.sort_values(varied).iterrows():
            mark = "ref" if r[ref[0]] == ref[1] else _mark(_success(r), ref_ok)
            rows.append({**dict(zip(keys, key)), "value": r[varied], "test_error": r["test_error_mean"],
                         "effective_rank": r["effective_rank_mean"], "mark": mark})  # fmt: skip
    return pd.DataFrame(rows, columns=[*keys, "value", "test_error", "effective_rank", "mark"])


def block(df: pd.DataFrame, experiments: Sequence[str], varied: str, ref: tuple[str, object]) -> pd.DataFrame:
    """One statement's cells: rows (optimizer, penalty, depth), one column per value of ``varied``."""
    long = entries(df, experiments, varied, ref)
    rows = []
    for key, group in long.groupby(["optimizer", "penalty", "depth"], sort=False):
        entry = dict(zip(["optimizer", "penalty", "depth"], key))
        for _, r in group.iterrows():
            entry[f"{varied}={r['value']:g}"] = (
                f"{fmt_err(r['test_error'])} / {fmt_rank(r['effective_rank'])} {r['mark']}"
            )
        rows.append(entry)
    return pd.DataFrame(rows)


def robustness_figure(
    panels: dict[str, tuple[str, pd.DataFrame]], pdf: str, png: str, footer: str = ""
) -> None:
    """One heatmap per statement: rows the cells, columns the values of the varied setting, colour log10 of
    the test error, each entry its Err, Rk and mark against the reference (:func:`_mark`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import seaborn as sns

    from .style import save_figure, set_theme

    set_theme()
    heights = [
        max(len(long.groupby(["optimizer", "penalty", "depth"])), 1) for _, long in panels.values()
    ] or [1]
    fig, axes = plt.subplots(len(heights), 1, figsize=(9, 1.2 + 0.32 * sum(heights) + 0.9 * len(heights)),
                             squeeze=False, gridspec_kw={"height_ratios": heights})  # fmt: skip
    for ax, (title, (varied, long)) in zip(axes[:, 0], panels.items(), strict=False):
        if long.empty:
            ax.set_axis_off()
            ax.set_title(f"{title}: no cells")
            continue
        long = long.assign(
            cell=long["optimizer"] + " · " + long["penalty"] + " · depth " + long["depth"].astype(str)
        )
        cells = list(dict.fromkeys(long["cell"]))
        err = long.pivot(index="cell", columns="value", values="test_error").reindex(cells)
        text = long.assign(t=[f"{fmt_err(e)} / {fmt_rank(r)} {m}" for e, r, m in
                              zip(long["test_error"], long["effective_rank"], long["mark"])])  # fmt: skip
        notes = text.pivot(index="cell", columns="value", values="t").reindex(cells)
        sns.heatmap(np.log10(err.clip(lower=1e-12)), annot=notes.fillna(""), fmt="", ax=ax, cmap="viridis_r",
                    vmin=-8, vmax=0, cbar_kws={"label": "log10 test error"}, annot_kws={"fontsize": 6})  # fmt: skip
        ax.set(title=title, xlabel=varied, ylabel="")
        ax.tick_params(axis="y", labelrotation=0)
        ax.set_xticklabels([f"{float(t.get_text()):g}" for t in ax.get_xticklabels()])
    fig.suptitle(
        "Robustness statements, Err / Rk per setting against the reference ('ref'):\n'=' both succeed "
        "(Err ≤ 1e-3, Rk = rank), '✗=' both fail (no evidence), '≠' one succeeds and the other not",
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    save_figure(fig, pdf, png, footer, fontsize=6)


def write_robustness(
    tables: Sequence[str], md: str, csv: str, pdf: str | None = None, png: str | None = None,
    scale: str | None = None,
) -> pd.DataFrame:  # fmt: skip
    df = read_tables(tables)
    df = df if not df.empty else pd.DataFrame(columns=["experiment"])
    lines = [
        "# The paper's robustness statements",
        "",
        f"Entries: Err / Rk and a mark against the reference (`ref`) on success (Err ≤ {SUCCESS_ERR:g} and Rk = "
        "the data's rank): `=` both succeed, `✗=` both fail (alike in failing: no evidence for the statement), "
        "`≠` one does and the other not. The claims R-* judge them on decided cells.",
    ]
    out, panels = [], {}
    for title, (experiments, varied, ref, says) in STATEMENTS.items():
        if not set(experiments) - {ref[1]} <= set(df["experiment"]):
            lines += ["", f"## {title}: not run"]
            continue
        panels[title] = (varied, entries(df, experiments, varied, ref))
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
    if pdf and png:
        from .style import figure_footer

        footer = figure_footer(df, scale, "entries: each cell's mean over seeds at the end of its run")
        robustness_figure(panels, pdf, png, footer)
    return result
