"""Cell results -> the paper's tables (Err and Rk per optimizer × depth × penalty; mean over seeds)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import results
from ..io import write_with
from ..penalties import get_penalty
from ..plateau import still_moving

PENALTY_LABELS = {
    "ratio": "Ratio",
    "nuclear": "Nuc",
    "none": "None",
}


def penalty_label(spec: str) -> str:
    """Column label as in the paper: Ratio, Sch 1/2:2/3, Sch 1/3, Nuc, None."""
    pen = get_penalty(spec)
    if pen.name in PENALTY_LABELS:
        return PENALTY_LABELS[pen.name]
    return "Sch " + ":".join(str(a) for a in pen.args)


def _stats(values: list[float]) -> tuple[float, float]:
    arr = np.array([np.nan if v is None else v for v in values], dtype=float)
    if arr.size == 0 or np.all(np.isnan(arr)):
        return math.nan, math.nan
    return float(np.nanmean(arr)), float(np.nanstd(arr, ddof=1)) if np.sum(~np.isnan(arr)) > 1 else 0.0


def seed_motion(path: str | Path, cell: dict[str, Any]) -> list[str]:
    """Per seed of one cell (depth) of a job file: ``""`` if it converged, diverged or plateaued
    (:func:`still_moving`), else why it was still moving when its budget ran out."""
    runs = cell["runs"]
    arrays = results.load_trajectory(path, cell["depth"])
    out = []
    for i, r in enumerate(runs):
        if r["stop_reason"] != "max_iters":
            out.append("")
            continue
        out.append(
            still_moving(
                arrays["iterations"], arrays["data_term"][i], arrays["test_error"][i],
                arrays["effective_rank"][i], int(r["iterations"]),
            )
        )  # fmt: skip
    return out


def motion_columns(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group of per-seed rows with ``stop_reason``, ``max_iters`` and ``still_moving`` (:func:`seed_motion`):
    ``stop_reasons``, ``max_iters``, ``plateaued`` and ``still_moving`` as in :func:`cell_summaries`; empty
    for groups without them (the baselines of Figures 4-5)."""

    def one(g: pd.DataFrame) -> pd.Series:
        if g["max_iters"].isna().all():
            return pd.Series(
                {"stop_reasons": "", "max_iters": math.nan, "plateaued": math.nan, "still_moving": ""}
            )
        moving = [m for m in g["still_moving"] if isinstance(m, str) and m]
        return pd.Series(
            {
                "stop_reasons": ";".join(sorted(set(g["stop_reason"].dropna()))),
                "max_iters": g["max_iters"].max(),
                "plateaued": not moving,
                "still_moving": moving[0] if moving else "",
            }
        )

    cols = ["stop_reason", "max_iters", "still_moving"]
    return df.groupby(keys, sort=False)[cols].apply(one).reset_index()


def cell_summaries(path: str | Path) -> list[dict[str, Any]]:
    """One row per cell (depth) of a job file: settings, mean/sd over seeds, stop reasons, the file.

    ``plateaued``: every seed converged, diverged or had plateaued when its budget ran out (:func:`still_moving`);
    ``still_moving``: otherwise why the first such seed had not ("" when plateaued).
    """
    doc = results.read(path)
    job = doc["job"]
    rows = []
    for cell in doc["cells"]:
        runs = cell["runs"]
        row: dict[str, Any] = {
            "optimizer": job["optimizer"],
            "depth": cell["depth"],
            "penalty": job["penalty"],
            "penalty_label": penalty_label(job["penalty"]),
            "lam": job["lam"],
            "rank": job["rank"],
            "n_obs": job["n_obs"],
            "n_seeds": len(runs),
        }
        for key in ("test_error", "test_error_unobserved", "effective_rank", "iterations"):
            row[f"{key}_mean"], row[f"{key}_sd"] = _stats([r[key] for r in runs])
        for thr in ("0.01", "0.001", "0.0001"):
            hits = [r["iterations_to_test_error"].get(thr) for r in runs]
            row[f"iters_to_err_{thr}"] = (
                float(np.median(hits)) if all(h is not None for h in hits) else math.nan
            )
        row["stop_reasons"] = ";".join(sorted({r["stop_reason"] for r in runs}))
        row["max_iters"] = job["train"]["max_iters"]
        moving = [m for m in seed_motion(path, cell) if m]
        row["plateaued"] = not moving
        row["still_moving"] = moving[0] if moving else ""
        row["seconds"] = cell["provenance"]["seconds"]
        row["device"] = cell["provenance"]["device"]
        row["file"] = str(path)
        rows.append(row)
    return rows


def summarize(paths: Sequence[str | Path], experiment: dict[str, Any] | None = None) -> pd.DataFrame:
    """Rows of every cell in ``paths``; with ``experiment``, only its optimizers × depths, in its order."""
    df = pd.DataFrame([row for p in paths for row in cell_summaries(p)])
    if experiment is not None and not df.empty:
        df = df[df["optimizer"].isin(experiment["optimizers"]) & df["depth"].isin(experiment["depths"])]
        order = {o: i for i, o in enumerate(experiment["optimizers"])}
        pens = {get_penalty(p).spec: i for i, p in enumerate(experiment.get("penalties", []))}
        df = df.assign(_o=df["optimizer"].map(order), _p=df["penalty"].map(pens).fillna(len(pens)))
        df = df.sort_values(["_o", "depth", "_p", "lam"], kind="stable").drop(columns=["_o", "_p"])
    return df.reset_index(drop=True)


def fmt_err(x: float) -> str:
    """The paper's style: 0.72, 4e-7, 7e+5, 1.6e+3."""
    if x is None or not np.isfinite(x):
        return "n/a"
    if 0.01 <= abs(x) < 10:
        return f"{x:.2f}"
    mant, exp = f"{x:.1e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    return f"{mant}e{int(exp):+d}".replace("e+", "e+").replace("e-0", "e-")


def fmt_rank(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else str(int(round(x)))


def paper_layout(df: pd.DataFrame) -> pd.DataFrame:
    """Rows (optimizer, depth); columns (penalty, Err|Rk), in config order."""
    opt_order = list(dict.fromkeys(df["optimizer"]))
    pen_order = list(dict.fromkeys(df["penalty_label"]))
    cols = {}
    for pen in pen_order:
        sub = df[df["penalty_label"] == pen].set_index(["optimizer", "depth"])
        cols[(pen, "Err")] = sub["test_error_mean"].map(fmt_err)
        cols[(pen, "Rk")] = sub["effective_rank_mean"].map(fmt_rank)
    wide = pd.DataFrame(cols)
    index = [(o, d) for o in opt_order for d in sorted(df["depth"].unique()) if (o, d) in wide.index]
    wide = wide.loc[index]
    wide.index.names = ["Optimizer", "Depth"]
    return wide


def to_markdown(wide: pd.DataFrame, title: str) -> str:
    header = ["Optimizer", "Depth"] + [f"{p} {m}" for p, m in wide.columns]
    lines = [f"# {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (opt, depth), row in wide.iterrows():
        lines.append("| " + " | ".join([opt, str(depth), *row.tolist()]) + " |")
    return "\n".join(lines) + "\n"


def to_latex(wide: pd.DataFrame, caption: str) -> str:
    pens = list(dict.fromkeys(p for p, _ in wide.columns))
    spec = "ll" + "rr" * len(pens)
    out = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{caption}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
    ]
    out.append(
        " & ".join(["Optimizer", "Depth"] + [rf"\multicolumn{{2}}{{c}}{{{p}}}" for p in pens]) + r" \\"
    )
    out.append(" & ".join(["", ""] + ["Err", "Rk"] * len(pens)) + r" \\")
    out.append(r"\midrule")
    for (opt, depth), row in wide.iterrows():
        out.append(" & ".join([opt.replace("_", r"\_"), str(depth), *row.tolist()]) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(out) + "\n"


def write_table(
    name: str, experiment: dict[str, Any], jobs: Sequence[str], csv: str, md: str, tex: str
) -> pd.DataFrame:
    """Summarise the experiment's cells; write the long csv (sd, unobserved error, files) and md/tex layouts."""
    df = summarize(jobs, experiment)
    df.insert(0, "experiment", name)
    wide = paper_layout(df)
    caption = f"{name}: test error (Err, mean over {int(df['n_seeds'].max())} seeds) and effective rank (Rk)"
    write_with(md, lambda t: Path(t).write_text(to_markdown(wide, caption)))
    write_with(tex, lambda t: Path(t).write_text(to_latex(wide, caption)))
    write_with(csv, lambda t: df.to_csv(t, index=False))
    return df
