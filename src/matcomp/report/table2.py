"""Table 2: our eight rows per split under every checkpoint (RMSE mean ± sd over seeds) beside the
paper's values and the literature rows it quotes; with a sweep, per checkpoint the grid point it selects.

Per checkpoint, and per (model, row, split), a sweep's grid point is selected on the lowest mean validation
RMSE over the seeds at that checkpoint (each seed's own point), or, for the ``test`` checkpoint only, the lowest mean test
RMSE (the paper's protocol as its text reads; optimistic, and labelled so).  ``table2_sweep.csv`` lists
every point with its validation and test RMSE under every checkpoint.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..labels import MODEL_NAMES
from ..movielens.terms import CHECKPOINT_NOTES, CHECKPOINTS, ROWS, split_label
from ..store import results as result_files
from ..store.io import write_with
from .paper import table2_rmse

PAPER_RMSE: dict[tuple[str, str, str], float] = table2_rmse()
"""The paper's Table 2 values for our rows: (split, model, row) -> RMSE (``paper_tables.yaml``)."""

QUOTED: list[tuple[str, str, bool, float, str]] = [
    ("90%", "NMF", False, 0.958, "[48]"),
    ("90%", "PMF", False, 0.952, "[48]"),
    ("90%", "SVD++", True, 0.913, "[40]"),
    ("90%", "NFM", False, 0.910, "[30]"),
    ("90%", "FM", False, 0.909, "[55]"),
    ("90%", "GraphRec", False, 0.898, "[53]"),
    ("90%", "AutoSVD++", True, 0.904, "[71]"),
    ("90%", "GraphRec+side feat.", True, 0.899, "[53]"),
    ("90%", "GraphRec+graph/side feat.", True, 0.883, "[53]"),
    ("80%", "IMC", True, 1.653, "[33, 65]"),
    ("80%", "GMC", True, 0.996, "[36]"),
    ("80%", "MC", True, 0.973, "[18]"),
    ("80%", "GRALS", True, 0.945, "[52]"),
    ("80%", "sRGCNN (sRMGCNN)", True, 0.929, "[49]"),
    ("80%", "GC-MC", True, 0.910, "[16]"),
    ("80%", "GC-MC+side feat.", True, 0.905, "[16]"),
]
"""Literature rows the paper quotes in Table 2: (split, model, uses side info, RMSE, reference)."""

COLUMNS = [
    "split",
    "model",
    "method",
    "uses_side_info",
    "checkpoint",
    "rmse_mean",
    "rmse_sd",
    "n_seeds",
    "rmse",
    "paper_rmse",
    "source",
    "reference",
    "n_train",
    "n_val",
    *(f"{col}_{ckpt}" for ckpt in CHECKPOINTS for col in ("rmse_mean", "rmse_sd", "rmse", "at")),
    "checkpoint_note",
]
"""``rmse_*`` are the headline checkpoint's (``checkpoint``); ``rmse_*_{checkpoint}`` / ``at_{checkpoint}``
every checkpoint's, with the epochs / steps its points came from."""


def _fmt(mean: float, sd: float, n: int) -> str:
    if n == 0 or not math.isfinite(mean):
        return "not run" if n == 0 else "diverged"
    return f"{mean:.3f}" if n == 1 or not math.isfinite(sd) else f"{mean:.3f} ± {sd:.3f}"


def _points(points: list[int], unit: str) -> str:
    """``[20, 20]`` -> ``"epoch 20"``; ``[18, 22, 20]`` -> ``"epochs 18–22"``."""
    if not points:
        return ""
    lo, hi = min(points), max(points)
    return f"{unit} {lo}" if lo == hi else f"{unit}s {lo}–{hi}"


def _checkpoint_cells(results: Sequence[Mapping[str, Any]], ckpt: str) -> dict[str, Any]:
    """Mean and sample sd of one checkpoint's test RMSE over the seeds present, and its points."""
    checkpoints = [r["checkpoints"].get(ckpt) for r in results]
    got = [x for x in checkpoints if x is not None]
    vals = [float(x["test_rmse"]) for x in got]
    n = len(vals)
    mean = float(sum(vals) / n) if n else float("nan")
    sd = float(statistics.stdev(vals)) if n > 1 and all(map(math.isfinite, vals)) else float("nan")
    text = _fmt(mean, sd, n) if got or not results else "n/a (no validation part)"
    points = [int(x["point"]) for x in got if x["point"] is not None]
    unit = got[0]["unit"] if got else ""
    return {"rmse_mean": mean, "rmse_sd": sd, "n": n, "rmse": text, "at": _points(points, unit)}


def headline_checkpoint(results: Iterable[Mapping[str, Any]]) -> str:
    """The ``checkpoint`` setting the results were run under (``last`` when there are none)."""
    found = {str(r.get("checkpoint", "last")) for r in results}
    if len(found) > 1:
        raise ValueError(f"results mix checkpoint settings: {', '.join(sorted(found))}")
    return found.pop() if found else "last"


def table2(
    results: Iterable[Mapping[str, Any]] | Mapping[str, Iterable[Mapping[str, Any]]],
    splits: Sequence[float] = (0.9, 0.8),
    checkpoint: str | None = None,
) -> pd.DataFrame:
    """Table 2 as a DataFrame (columns :data:`COLUMNS`).

    For every split in ``splits`` (plus any other ``train_frac`` found in ``results``) come our 8 rows
    (``source="run"``) with every checkpoint's test RMSE (mean and sample sd over the seeds present,
    ``"not run"`` when none) and the epochs / steps it came from, the headline checkpoint's (``checkpoint``;
    default: the setting the results were run under) as ``rmse_mean`` / ``rmse_sd`` / ``rmse``; then the
    literature rows the paper quotes for that split (``source="quoted"``, not run).  ``paper_rmse`` holds the
    paper's value of each row.  ``results`` are :func:`~matcomp.movielens.train.run_table2_row` dicts, or a
    mapping checkpoint -> the results that checkpoint's column uses (a sweep selects a grid point per checkpoint).
    """
    per_checkpoint = (
        {k: list(v) for k, v in results.items()}
        if isinstance(results, Mapping)
        else dict.fromkeys(CHECKPOINTS, list(results))
    )
    everything = [r for rs in per_checkpoint.values() for r in rs]
    checkpoint = checkpoint or headline_checkpoint(everything)
    if checkpoint not in CHECKPOINTS:
        raise ValueError(f"checkpoint must be one of {', '.join(CHECKPOINTS)}, got {checkpoint!r}")
    labels = [split_label(f) for f in splits]
    for r in everything:
        if split_label(r["train_frac"]) not in labels:
            labels.append(split_label(r["train_frac"]))
    rows: list[dict[str, Any]] = []
    for split in labels:
        for model, name in MODEL_NAMES.items():
            for row in ROWS:
                rows.append(_run_row(per_checkpoint, split, model, name, row, checkpoint))
        rows += [_quoted_row(q) for q in QUOTED if q[0] == split]
    return pd.DataFrame(rows, columns=COLUMNS)


def _run_row(
    per_checkpoint: Mapping[str, Sequence[Mapping[str, Any]]],
    split: str,
    model: str,
    name: str,
    row: str,
    checkpoint: str,
) -> dict[str, Any]:
    def cell(r: Mapping[str, Any]) -> bool:
        return r["model"] == model and r["row"] == row and split_label(r["train_frac"]) == split

    out: dict[str, Any] = {}
    for ckpt in CHECKPOINTS:
        c = _checkpoint_cells([r for r in per_checkpoint.get(ckpt, []) if cell(r)], ckpt)
        out |= {f"{k}_{ckpt}": c[k] for k in ("rmse_mean", "rmse_sd", "rmse", "at")}
        if ckpt == checkpoint:
            head = c
    mine = [r for r in per_checkpoint.get(checkpoint, []) if cell(r)]
    return {
        "split": split,
        "model": name,
        "method": f"w. {row}",
        "uses_side_info": "No",
        "checkpoint": checkpoint,
        "rmse_mean": head["rmse_mean"],
        "rmse_sd": head["rmse_sd"],
        "n_seeds": head["n"],
        "rmse": head["rmse"],
        "paper_rmse": PAPER_RMSE.get((split, model, row), float("nan")),
        "source": "run",
        "reference": "this reproduction",
        "n_train": int(mine[0]["n_train"]) if mine else None,
        "n_val": int(mine[0]["n_val"]) if mine else None,
        **out,
        "checkpoint_note": CHECKPOINT_NOTES[checkpoint],
    }


def _quoted_row(quoted: tuple[str, str, bool, float, str]) -> dict[str, Any]:
    split, name, side, rmse, ref = quoted
    return {
        "split": split,
        "model": name,
        "method": "",
        "uses_side_info": "Yes" if side else "No",
        "rmse_mean": float("nan"),
        "rmse_sd": float("nan"),
        "n_seeds": 0,
        "rmse": "quoted",
        "paper_rmse": rmse,
        "source": "quoted",
        "reference": ref,
    }


_NOT_HYPER = {"seed", "split_seed", "movielens_dir", "device", "experiment", "data_sha256"}


def grid_point(result: Mapping[str, Any]) -> str:
    """A result's settings apart from its seed and where it ran (JSON): what a sweep selects among."""
    return json.dumps({k: v for k, v in result["config"].items() if k not in _NOT_HYPER}, sort_keys=True)


def selection_metric(ckpt: str) -> str:
    """What a sweep selects grid points on under a checkpoint: the test RMSE for ``test`` (the paper's protocol
    as its text reads; optimistic), otherwise the validation RMSE at that checkpoint's points."""
    return "test_rmse" if ckpt == "test" else "val_rmse"


def _mean_of(results: Sequence[Mapping[str, Any]], ckpt: str, metric: str) -> float:
    """Mean over the seeds of a checkpoint's ``metric`` (NaN where a checkpoint is missing)."""
    vals = [float((r["checkpoints"].get(ckpt) or {}).get(metric, math.nan)) for r in results]
    return sum(vals) / len(vals) if vals else math.nan


def _criterion(results: Sequence[Mapping[str, Any]], ckpt: str, where: str) -> float:
    metric = selection_metric(ckpt)
    if metric == "val_rmse" and any(r["checkpoints"].get("validation") is None for r in results):
        raise ValueError(
            f"{where}: several grid points but no validation RMSE; a sweep needs sweep.val_frac > 0 "
            "(only the 'test' checkpoint selects on the test split)"
        )
    mean = _mean_of(results, ckpt, metric)
    return mean if math.isfinite(mean) else math.inf


Groups = dict[tuple[str, str, float], dict[str, list[Mapping[str, Any]]]]


def _groups(results: Sequence[Mapping[str, Any]]) -> Groups:
    """(model, row, train_frac) -> grid point -> its results (one per seed)."""
    groups: Groups = {}
    for r in results:
        key = (r["model"], r["row"], float(r["train_frac"]))
        groups.setdefault(key, {}).setdefault(grid_point(r), []).append(r)
    return groups


def _best_points(groups: Groups, ckpt: str) -> dict[tuple[str, str, float], str]:
    """Per group, the grid point checkpoint ``ckpt`` selects (the only one when there is no sweep); diverged points
    (non-finite criterion) rank last."""
    best = {}
    for (model, row, frac), points in groups.items():
        where = f"{model} {row} at train_frac {frac}"
        best[(model, row, frac)] = (
            next(iter(points))
            if len(points) == 1
            else min(points, key=lambda p: _criterion(points[p], ckpt, where))
        )
    return best


def select_by_checkpoint(
    results: Sequence[Mapping[str, Any]], checkpoint: str
) -> tuple[dict[str, list[Mapping[str, Any]]], pd.DataFrame]:
    """Per checkpoint, and per (model, row, split), the grid point that checkpoint selects (:func:`selection_metric`).

    Returns checkpoint -> the selected results (all seeds of each chosen point), and one row per grid point:
    its settings, per checkpoint the mean validation and test RMSE at that checkpoint's points and whether it
    was selected, and the headline checkpoint's (``checkpoint``) as ``val_rmse_mean`` / ``test_rmse_mean`` /
    ``selected``.  Without a sweep every result is selected under every checkpoint.  A sweep whose results have
    no validation part is an error: only the ``test`` checkpoint may select on the test split.
    """
    groups = _groups(results)
    best = {ckpt: _best_points(groups, ckpt) for ckpt in CHECKPOINTS}
    chosen = {
        ckpt: [r for key, points in groups.items() for r in points[best[ckpt][key]]] for ckpt in CHECKPOINTS
    }
    rows: list[dict[str, Any]] = []
    for (model, row, frac), points in groups.items():
        for point, rs in points.items():
            per = {}
            for ckpt in CHECKPOINTS:
                per[f"val_rmse_mean_{ckpt}"] = _mean_of(rs, ckpt, "val_rmse")
                per[f"test_rmse_mean_{ckpt}"] = _mean_of(rs, ckpt, "test_rmse")
                per[f"selected_{ckpt}"] = point == best[ckpt][(model, row, frac)]
            rows.append(
                {
                    "split": split_label(frac),
                    "model": model,
                    "row": row,
                    "settings": point,
                    "n_seeds": len(rs),
                    "checkpoint": checkpoint,
                    "val_rmse_mean": per[f"val_rmse_mean_{checkpoint}"],
                    "test_rmse_mean": per[f"test_rmse_mean_{checkpoint}"],
                    "selected": per[f"selected_{checkpoint}"],
                    **per,
                    "results_of": "; ".join(
                        str(r.get("result_file", f"seed {r['config'].get('seed')}")) for r in rs
                    ),
                }
            )
    return chosen, pd.DataFrame(rows)


_CHECKPOINT_HEADS = {
    "last": "last",
    "train": "train",
    "validation": "validation",
    "test": "test (optimistic)",
}


def _trained_on(sub: pd.DataFrame, split: str) -> str:
    """What every checkpoint of a split was trained on, in words."""
    ran = sub[(sub["source"] == "run") & sub["n_train"].notna()]
    if ran.empty:
        return ""
    n_train, n_val = int(ran["n_train"].iloc[0]), int(ran["n_val"].iloc[0])
    if n_val == 0:
        return (
            f"Every run trained on the whole {split} training split ({n_train} ratings); no validation "
            "part, so no validation checkpoint."
        )
    return (
        f"Every run trained on {n_train} ratings: the {split} training split minus {n_val} held out as the "
        "validation part (less data than the whole training split)."
    )


def _legend(df: pd.DataFrame, sweeping: bool) -> list[str]:
    headline = str(df["checkpoint"].dropna().iloc[0]) if df["checkpoint"].notna().any() else "last"
    lines = ["Checkpoints of the same runs (one training run per seed gives every column):", ""]
    lines += [f"- **{_CHECKPOINT_HEADS[r]}**: {CHECKPOINT_NOTES[r]}." for r in CHECKPOINTS]
    lines += [
        "",
        "Every run stops the embedding model where A.1 does (its training error rising three epochs in a "
        "row); the cell's parenthesis is the epoch / step (range over the seeds) its checkpoints came from.",
        f"Headline checkpoint (the `checkpoint` setting: the csv's `rmse_mean`, the sweep's `selected`): "
        f"**{headline}** -- {CHECKPOINT_NOTES[headline]}.",
    ]
    if sweeping:
        lines.append(
            "Hyper-parameters: each column reports the grid point its own checkpoint selects (validation RMSE at "
            "that checkpoint's points; the test column on the test RMSE, as the paper's text reads; "
            "optimistic); see table2_sweep.csv."
        )
    return [*lines, ""]


def _cell(r: pd.Series, ckpt: str) -> str:
    at = r[f"at_{ckpt}"]
    return f"{r[f'rmse_{ckpt}']} ({at})" if isinstance(at, str) and at else str(r[f"rmse_{ckpt}"])


def _md(df: pd.DataFrame, sweeping: bool = False) -> str:
    lines = [
        "# Table 2: MovieLens100K, test RMSE (mean ± sd over seeds) under each checkpoint; quoted rows "
        "are the paper's, not run",
        "",
        *_legend(df, sweeping),
    ]
    heads = " | ".join(_CHECKPOINT_HEADS[r] for r in CHECKPOINTS)
    for split, sub in df.groupby("split", sort=False):
        lines += [f"## {split} train split", "", _trained_on(sub, split), ""]
        lines += [
            f"| Model | Uses side info | RMSE (paper) | {heads} | source |",
            "|---" * (4 + len(CHECKPOINTS)) + "|",
        ]
        for _, r in sub.iterrows():
            name = f"{r['model']} {r['method']}".strip()
            paper = "" if pd.isna(r["paper_rmse"]) else f"{r['paper_rmse']:.3f}"
            ours = [_cell(r, ckpt) if r["source"] == "run" else "" for ckpt in CHECKPOINTS]
            lines.append(f"| {name} | {r['uses_side_info']} | {paper} | {' | '.join(ours)} | {r['source']} |")
        lines.append("")
    return "\n".join(lines)


def _tex(df: pd.DataFrame) -> str:
    caption = (
        r"MovieLens100K: test RMSE under each checkpoint of the same runs (test: checkpoint chosen on "
        r"the test set, as appendix A.1 reads; optimistic)"
    )
    heads = " & ".join(_CHECKPOINT_HEADS[r] for r in CHECKPOINTS)
    out = [r"\begin{table}[t]", r"\centering", rf"\caption{{{caption}}}", r"\begin{tabular}{lll" + "l" * len(CHECKPOINTS) + "}",
           r"\toprule", rf"Split & Model & RMSE (paper) & {heads} \\", r"\midrule"]  # fmt: skip
    for _, r in df.iterrows():
        name = f"{r['model']} {r['method']}".strip().replace("_", r"\_").replace("&", r"\&")
        paper = "" if pd.isna(r["paper_rmse"]) else f"{r['paper_rmse']:.3f}"
        ours = [_cell(r, x).replace("±", r"$\pm$") if r["source"] == "run" else "" for x in CHECKPOINTS]
        split = r["split"].replace("%", r"\%")
        out.append(f"{split} & {name} & {paper} & {' & '.join(ours)} \\\\")
    out += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(out) + "\n"


def write_table2(
    results: Sequence[str], splits: Sequence[float], csv: str, md: str, tex: str, sweep_csv: str | None = None
) -> pd.DataFrame:
    """Table 2 from result files: every checkpoint side by side (per checkpoint, the grid point it
    selects where a row has several), the headline checkpoint the one the results were run under."""
    loaded = []
    for path, r in zip(results, result_files.read_all(list(results)), strict=True):
        r["result_file"] = str(path)
        loaded.append(r)
    checkpoint = headline_checkpoint(loaded)
    chosen, grid = select_by_checkpoint(loaded, checkpoint)
    df = table2(chosen, splits=splits, checkpoint=checkpoint)
    df.insert(0, "experiment", "table2")
    sweeping = bool(len(grid)) and bool((~grid["selected"]).any())
    if sweep_csv is not None:
        write_with(sweep_csv, lambda t: grid.to_csv(t, index=False))
    write_with(csv, lambda t: df.to_csv(t, index=False))
    write_with(md, lambda t: Path(t).write_text(_md(df, sweeping)))
    write_with(tex, lambda t: Path(t).write_text(_tex(df)))
    return df
