"""Table 2 in the workflow: the config's ``kind: movielens`` experiment -> one job per (model, row, split,
seed), each a cached result file whose path names its settings (plus a hash of the hyper-parameters).

Every run records its (train, validation, test) RMSE at every evaluation point and so yields every checkpoint
reading (``last``, ``train``, ``validation``, ``test``; see :mod:`matcomp.movielens.train`); Table 2 shows
them side by side, and the experiment's ``checkpoint`` names the headline one.  With ``val_frac`` > 0 every
run trains on the training split minus that fraction (the validation part), whatever the reading.

With ``sweep.enabled`` every row becomes a grid of such jobs (the search grids of appendix A.1), each
trained on the training split minus a validation part (``sweep.val_frac``); per (model, row, split) and per
reading, Table 2 reports the grid point that reading selects: the lowest mean validation RMSE over the seeds
at that reading's checkpoints, or, for the ``test`` reading only, the lowest mean test RMSE (the paper's
protocol as its text reads; optimistic, and labelled so).  ``table2_sweep.csv`` lists every point with its
validation and test RMSE under every reading.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .codehash import code_info
from .experiments import ConfigError, short_hash
from .io import read_json, write_json, write_with

DOWNLOAD_DIR = "results/movielens/ml-100k"


def row_slug(row: str) -> str:
    return row.lower().replace("+", "_")


def data_dir(config: dict[str, Any]) -> str:
    """The ml-100k folder the jobs read: ``movielens_dir`` if set, else the download rule's folder."""
    return config.get("movielens_dir") or DOWNLOAD_DIR


#: the embedding model's λ axis: which embedding matrix a grid value of ``lam`` penalises
PENALIZE = {"user": (1.0, 0.0), "item": (0.0, 1.0), "both": (1.0, 1.0)}
_LAMBDA_KEYS = ("lam", "lam_user", "lam_item")


def sweep_points(model: str, row: str, grid: Mapping[str, Sequence[Any]], where: str) -> list[dict[str, Any]]:
    """The hyper-parameter points of one (model, row) under a sweep grid (a cartesian product).

    ``grid`` maps hyper-parameters of the model (see :data:`matcomp.movielens.PAPER_BEST`) to lists of
    values; ``lam`` is the penalty strength, and for the embedding model ``penalize`` (``user``, ``item``,
    ``both``; default ``user``) says which embedding it applies to (or give ``lam_user`` / ``lam_item``
    lists, crossed as they are).  Unpenalised rows drop the λ axes (their λ is 0), so a
    grid point is never trained twice.  Errors name the config key ``where``.
    """
    from .movielens import PAPER_BEST, ROWS

    valid = set(PAPER_BEST[model]) | {"lam"} | ({"penalize"} if model == "embedding" else set())
    for key, values in grid.items():
        if key not in valid:
            raise ConfigError(
                f"config key '{where}.{key}': not a {model} hyper-parameter; valid: {', '.join(sorted(valid))}"
            )
        if not isinstance(values, list) or not values:
            raise ConfigError(f"config key '{where}.{key}': must be a non-empty list, got {values!r}")
    for v in grid.get("lam", []) + grid.get("lam_user", []) + grid.get("lam_item", []):
        if not isinstance(v, int | float) or v < 0 or not math.isfinite(v):
            raise ConfigError(f"config key '{where}': λ must be a number >= 0, got {v!r}")
    if model == "embedding" and "lam" in grid and {"lam_user", "lam_item"} & set(grid):
        raise ConfigError(
            f"config key '{where}': give either lam (with penalize) or lam_user / lam_item, not both"
        )
    if "penalize" in grid and "lam" not in grid:
        raise ConfigError(f"config key '{where}.penalize': needs a 'lam' list to apply")
    for target in grid.get("penalize", []):
        if target not in PENALIZE:
            raise ConfigError(
                f"config key '{where}.penalize': {target!r} is not one of {', '.join(PENALIZE)}"
            )
    penalized = ROWS[row][1]
    axes = {k: v for k, v in grid.items() if k not in (*_LAMBDA_KEYS, "penalize")}
    lam_points: list[dict[str, Any]] = [{}]
    if penalized and "lam" in grid:
        if model == "lnn":
            lam_points = [{"lam": float(v)} for v in grid["lam"]]
        else:
            lam_points = [
                {"lam_user": PENALIZE[t][0] * float(v), "lam_item": PENALIZE[t][1] * float(v)}
                for t in grid.get("penalize", ["user"])
                for v in grid["lam"]
            ]
    elif penalized:
        keys = [k for k in ("lam_user", "lam_item") if k in grid]
        lam_points = [dict(zip(keys, vals)) for vals in itertools.product(*(grid[k] for k in keys))]
    points: list[dict[str, Any]] = []
    for lam_point in lam_points:
        for vals in itertools.product(*axes.values()):
            point = {**dict(zip(axes, vals)), **lam_point}
            if point not in points:
                points.append(point)
    return points


def _checkpoint_setting(exp: Mapping[str, Any], name: str, val_frac: float) -> str:
    """The experiment's headline checkpoint reading, checked (``validation`` needs a validation part)."""
    from .movielens import READINGS

    checkpoint = str(exp.get("checkpoint", "last"))
    if checkpoint not in READINGS:
        raise ConfigError(
            f"config key 'experiments.{name}.checkpoint': {checkpoint!r} is not one of {', '.join(READINGS)}"
        )
    if checkpoint == "validation" and val_frac <= 0.0:
        raise ConfigError(
            f"config key 'experiments.{name}.checkpoint': 'validation' needs a validation part of the training "
            f"split: set experiments.{name}.val_frac in (0, 1)"
        )
    return checkpoint


def movielens_jobs(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Result path -> the flat run config of :func:`matcomp.movielens.run_table2_row`."""
    jobs: dict[str, dict[str, Any]] = {}
    code = code_info("movielens")  # in the hash: new code, new paths
    for name, exp in config["experiments"].items():
        if exp.get("kind") != "movielens" or not exp.get("enabled", True):
            continue
        sweep = exp.get("sweep") or {}
        sweeping = bool(sweep.get("enabled", False))
        val_frac = float(sweep.get("val_frac", 0.0) if sweeping else exp.get("val_frac", 0.0))
        if sweeping and not 0.0 < val_frac < 1.0:
            raise ConfigError(
                f"config key 'experiments.{name}.sweep.val_frac': a sweep selects on a validation part of the "
                f"training split: set it in (0, 1), got {val_frac}"
            )
        checkpoint = _checkpoint_setting(exp, name, val_frac)
        for model in exp["models"]:
            hyper = dict(exp.get(model) or {})
            for row in exp["rows"]:
                where = f"experiments.{name}.sweep.{model}"
                points = sweep_points(model, row, sweep.get(model) or {}, where) if sweeping else [{}]
                for point in points:
                    for frac in exp["splits"]:
                        for seed in exp.get("seeds", config["seeds"]):
                            run = {"model": model, "row": row, "train_frac": float(frac), "seed": int(seed),
                                   "val_frac": val_frac, "checkpoint": checkpoint, **hyper, **point,
                                   "check_sha": bool(config.get("movielens_verify", True))}  # fmt: skip
                            h = short_hash({**run, "code": code["hash"]})
                            path = f"results/movielens/{model}/{row_slug(row)}/split{round(100 * frac)}_s{seed}_{h}.json"
                            jobs[path] = {**run, "experiment": name, "code": code}
    return jobs


_NOT_HYPER = {"seed", "split_seed", "movielens_dir", "device", "experiment"}


def grid_point(result: Mapping[str, Any]) -> str:
    """A result's settings apart from its seed and where it ran (JSON): what a sweep selects among."""
    return json.dumps({k: v for k, v in result["config"].items() if k not in _NOT_HYPER}, sort_keys=True)


def selection_metric(reading: str) -> str:
    """What a sweep selects grid points on under a reading: the test RMSE for ``test`` (the paper's protocol
    as its text reads; optimistic), otherwise the validation RMSE at that reading's checkpoints."""
    return "test_rmse" if reading == "test" else "val_rmse"


def _mean_of(results: Sequence[Mapping[str, Any]], reading: str, metric: str) -> float:
    """Mean over the seeds of a reading's ``metric`` (NaN where a reading is missing)."""
    vals = [float((r["readings"].get(reading) or {}).get(metric, math.nan)) for r in results]
    return sum(vals) / len(vals) if vals else math.nan


def _criterion(results: Sequence[Mapping[str, Any]], reading: str, where: str) -> float:
    metric = selection_metric(reading)
    if metric == "val_rmse" and any(r["readings"].get("validation") is None for r in results):
        raise ValueError(
            f"{where}: several grid points but no validation RMSE; a sweep needs sweep.val_frac > 0 "
            "(only the 'test' reading selects on the test split)"
        )
    mean = _mean_of(results, reading, metric)
    return mean if math.isfinite(mean) else math.inf


Groups = dict[tuple[str, str, float], dict[str, list[Mapping[str, Any]]]]


def _groups(results: Sequence[Mapping[str, Any]]) -> Groups:
    """(model, row, train_frac) -> grid point -> its results (one per seed)."""
    groups: Groups = {}
    for r in results:
        key = (r["model"], r["row"], float(r["train_frac"]))
        groups.setdefault(key, {}).setdefault(grid_point(r), []).append(r)
    return groups


def _best_points(groups: Groups, reading: str) -> dict[tuple[str, str, float], str]:
    """Per group, the grid point ``reading`` selects (the only one when there is no sweep); diverged points
    (non-finite criterion) rank last."""
    best = {}
    for (model, row, frac), points in groups.items():
        where = f"{model} {row} at train_frac {frac}"
        best[(model, row, frac)] = (
            next(iter(points))
            if len(points) == 1
            else min(points, key=lambda p: _criterion(points[p], reading, where))
        )
    return best


def select_by_reading(
    results: Sequence[Mapping[str, Any]], checkpoint: str
) -> tuple[dict[str, list[Mapping[str, Any]]], pd.DataFrame]:
    """Per reading, and per (model, row, split), the grid point that reading selects (:func:`selection_metric`).

    Returns reading -> the selected results (all seeds of each chosen point), and one row per grid point:
    its settings, per reading the mean validation and test RMSE at that reading's checkpoints and whether it
    was selected, and the headline reading's (``checkpoint``) as ``val_rmse_mean`` / ``test_rmse_mean`` /
    ``selected``.  Without a sweep every result is selected under every reading.  A sweep whose results have
    no validation part is an error: only the ``test`` reading may select on the test split.
    """
    from .movielens import READINGS, split_label

    groups = _groups(results)
    best = {reading: _best_points(groups, reading) for reading in READINGS}
    chosen = {
        reading: [r for key, points in groups.items() for r in points[best[reading][key]]]
        for reading in READINGS
    }
    rows: list[dict[str, Any]] = []
    for (model, row, frac), points in groups.items():
        for point, rs in points.items():
            per = {}
            for reading in READINGS:
                per[f"val_rmse_mean_{reading}"] = _mean_of(rs, reading, "val_rmse")
                per[f"test_rmse_mean_{reading}"] = _mean_of(rs, reading, "test_rmse")
                per[f"selected_{reading}"] = point == best[reading][(model, row, frac)]
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


def run_job(run: dict[str, Any], u_data: str, out: str, device: str = "auto") -> None:
    from .movielens import run_table2_row

    cfg = {k: v for k, v in run.items() if k not in ("experiment", "code")}
    result = run_table2_row({**cfg, "movielens_dir": str(Path(u_data).parent), "device": device})
    write_json(out, {**result, "code": run.get("code")})


_READING_HEADS = {"last": "last", "train": "train", "validation": "validation", "test": "test (optimistic)"}


def _trained_on(sub: pd.DataFrame, split: str) -> str:
    """What every reading of a split was trained on, in words."""
    ran = sub[(sub["source"] == "run") & sub["n_train"].notna()]
    if ran.empty:
        return ""
    n_train, n_val = int(ran["n_train"].iloc[0]), int(ran["n_val"].iloc[0])
    if n_val == 0:
        return (
            f"Every reading trained on the whole {split} training split ({n_train} ratings); no validation "
            "part, so no validation reading."
        )
    return (
        f"Every reading trained on {n_train} ratings: the {split} training split minus {n_val} held out as the "
        "validation part (less data than the whole training split)."
    )


def _legend(df: pd.DataFrame, sweeping: bool) -> list[str]:
    from .movielens import READING_NOTES, READINGS

    headline = str(df["checkpoint"].dropna().iloc[0]) if df["checkpoint"].notna().any() else "last"
    lines = ["Readings of the same runs (one training run per seed gives every column):", ""]
    lines += [f"- **{_READING_HEADS[r]}**: {READING_NOTES[r]}." for r in READINGS]
    lines += [
        "",
        "Every reading stops the embedding model where A.1 does (its training error rising three epochs in a "
        "row); the cell's parenthesis is the epoch / step (range over the seeds) its checkpoints came from.",
        f"Headline reading (the `checkpoint` setting: the csv's `rmse_mean`, the sweep's `selected`): "
        f"**{headline}** -- {READING_NOTES[headline]}.",
    ]
    if sweeping:
        lines.append(
            "Hyper-parameters: each column reports the grid point its own reading selects (validation RMSE at "
            "that reading's checkpoints; the test column on the test RMSE, as the paper's text reads; "
            "optimistic); see table2_sweep.csv."
        )
    return [*lines, ""]


def _cell(r: pd.Series, reading: str) -> str:
    at = r[f"at_{reading}"]
    return f"{r[f'rmse_{reading}']} ({at})" if isinstance(at, str) and at else str(r[f"rmse_{reading}"])


def _md(df: pd.DataFrame, sweeping: bool = False) -> str:
    from .movielens import READINGS

    lines = [
        "# Table 2: MovieLens100K, test RMSE (mean ± sd over seeds) under each checkpoint reading; quoted rows "
        "are the paper's, not run",
        "",
        *_legend(df, sweeping),
    ]
    heads = " | ".join(_READING_HEADS[r] for r in READINGS)
    for split, sub in df.groupby("split", sort=False):
        lines += [f"## {split} train split", "", _trained_on(sub, split), ""]
        lines += [
            f"| Model | Uses side info | RMSE (paper) | {heads} | source |",
            "|---" * (4 + len(READINGS)) + "|",
        ]
        for _, r in sub.iterrows():
            name = f"{r['model']} {r['method']}".strip()
            paper = "" if pd.isna(r["paper_rmse"]) else f"{r['paper_rmse']:.3f}"
            ours = [_cell(r, reading) if r["source"] == "run" else "" for reading in READINGS]
            lines.append(f"| {name} | {r['uses_side_info']} | {paper} | {' | '.join(ours)} | {r['source']} |")
        lines.append("")
    return "\n".join(lines)


def _tex(df: pd.DataFrame) -> str:
    from .movielens import READINGS

    caption = (
        r"MovieLens100K: test RMSE under each checkpoint reading of the same runs (test: checkpoint chosen on "
        r"the test set, as appendix A.1 reads; optimistic)"
    )
    heads = " & ".join(_READING_HEADS[r] for r in READINGS)
    out = [r"\begin{table}[t]", r"\centering", rf"\caption{{{caption}}}", r"\begin{tabular}{lll" + "l" * len(READINGS) + "}",
           r"\toprule", rf"Split & Model & RMSE (paper) & {heads} \\", r"\midrule"]  # fmt: skip
    for _, r in df.iterrows():
        name = f"{r['model']} {r['method']}".strip().replace("_", r"\_").replace("&", r"\&")
        paper = "" if pd.isna(r["paper_rmse"]) else f"{r['paper_rmse']:.3f}"
        ours = [_cell(r, x).replace("±", r"$\pm$") if r["source"] == "run" else "" for x in READINGS]
        split = r["split"].replace("%", r"\%")
        out.append(f"{split} & {name} & {paper} & {' & '.join(ours)} \\\\")
    out += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(out) + "\n"


def write_table2(
    results: Sequence[str], splits: Sequence[float], csv: str, md: str, tex: str, sweep_csv: str | None = None
) -> pd.DataFrame:
    """Table 2 from result files: every checkpoint reading side by side (per reading, the grid point it
    selects where a row has several), the headline reading the one the results were run under."""
    from .movielens.table import headline_checkpoint, table2

    loaded = []
    for path in results:
        r = read_json(path)
        r["result_file"] = str(path)
        loaded.append(r)
    checkpoint = headline_checkpoint(loaded)
    chosen, grid = select_by_reading(loaded, checkpoint)
    df = table2(chosen, splits=splits, checkpoint=checkpoint)
    df.insert(0, "experiment", "table2")
    sweeping = bool(len(grid)) and bool((~grid["selected"]).any())
    if sweep_csv is not None:
        write_with(sweep_csv, lambda t: grid.to_csv(t, index=False))
    write_with(csv, lambda t: df.to_csv(t, index=False))
    write_with(md, lambda t: Path(t).write_text(_md(df, sweeping)))
    write_with(tex, lambda t: Path(t).write_text(_tex(df)))
    return df
