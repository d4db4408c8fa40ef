"""Cell results -> the paper's tables (Err and Rk per optimizer × depth × penalty; mean over seeds)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .io import read_json, trajectory_path, write_with
from .penalties import get_penalty

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


PLATEAU_WINDOW = 10.0
"""The plateau rule (:func:`still_moving`) judges the last decade of a run: the logged points in [T/10, T]."""
PLATEAU_FITTED = 1e-2
"""Largest final data term, as a fraction of its value at iteration 0, of a run that can count as plateaued."""
PLATEAU_LOG10_ERR = 0.05
"""Widest band of log10(test error) over the last decade of a plateaued run (a change under 12 %)."""
PLATEAU_RANK = 0.5
"""Widest band of the effective rank over that decade (less than what can move its rounding by one)."""


def still_moving(
    iterations: np.ndarray,
    data_term: np.ndarray,
    test_error: np.ndarray,
    effective_rank: np.ndarray,
    stop: int,
) -> str:
    """Why a run that was stopped by its budget at ``stop`` was still moving there; ``""`` if it had plateaued.

    The plateau rule: (1) the data term at ``stop`` is at most :data:`PLATEAU_FITTED` of its value at
    iteration 0, and over the last decade of the run (the logged points in [stop / 10, stop], at least 3)
    (2) log10 of the test error and (3) the effective rank vary by at most :data:`PLATEAU_LOG10_ERR` and
    :data:`PLATEAU_RANK`.  (1) is what tells a saddle from a plateau: un-penalised GD at depth ≥ 3 sits at
    test error 1.0 with its data term at its initial value for thousands of iterations before it drops,
    flat in every logged quantity.  Every network here can fit its observed entries (width ≥ 100, no rank
    constraint) and the penalties weigh little next to the data term, so a run whose data term is still above
    1 % of where it started is not at a minimum of its objective, however flat its curves.
    """
    upto = iterations <= stop
    it, d, e, r = iterations[upto], data_term[upto], test_error[upto], effective_rank[upto]
    window = it >= stop / PLATEAU_WINDOW
    if stop < PLATEAU_WINDOW or window.sum() < 3:
        return "too few logged points to judge"
    if not (np.isfinite(d[[0, -1]]).all() and np.isfinite(e[window]).all() and np.isfinite(r[window]).all()):
        return "non-finite values"
    fitted = d[-1] / d[0] if d[0] > 0 else 0.0
    if fitted > PLATEAU_FITTED:
        return f"data term still at {fitted:.1%} of its start"
    moved = float(np.ptp(np.log10(np.maximum(e[window], 1e-30))))
    if moved > PLATEAU_LOG10_ERR:
        return f"test error moved {moved:.2g} decades over the last 10x of iterations"
    ranks = float(np.ptp(r[window]))
    if ranks > PLATEAU_RANK:
        return f"effective rank moved {ranks:.2g} over the last 10x of iterations"
    return ""


def seed_motion(path: str | Path, cell: dict[str, Any]) -> list[str]:
    """Per seed of one cell (depth) of a job file: ``""`` if it converged, diverged or plateaued
    (:func:`still_moving`), else why it was still moving when its budget ran out."""
    runs = cell["runs"]
    traj = trajectory_path(path)
    if not traj.exists():
        return ["" if r["stop_reason"] != "max_iters" else "no trajectory to judge" for r in runs]
    with np.load(traj) as z:
        pre = f"d{cell['depth']}/"
        arrays = {k: z[pre + k] for k in ("iterations", "data_term", "test_error", "effective_rank")}
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
    doc = read_json(path)
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
