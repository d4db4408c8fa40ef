"""Table 2 in the workflow: the config's ``kind: movielens`` experiment -> one job per (model, row, split,
seed), each a cached result file whose path names its settings (plus a hash of the hyper-parameters).

With ``sweep.enabled`` every row becomes a grid of such jobs (the search grids of appendix A.1), each
trained on the training split minus a validation part (``sweep.val_frac``); Table 2 then reports, per
(model, row, split), the grid point with the lowest mean validation RMSE over the seeds, and
``table2_sweep.csv`` lists every point with its validation and test RMSE.  The test split never takes
part in the selection.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

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


def movielens_jobs(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Result path -> the flat run config of :func:`matcomp.movielens.run_table2_row`."""
    jobs: dict[str, dict[str, Any]] = {}
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
        for model in exp["models"]:
            hyper = dict(exp.get(model) or {})
            for row in exp["rows"]:
                where = f"experiments.{name}.sweep.{model}"
                points = sweep_points(model, row, sweep.get(model) or {}, where) if sweeping else [{}]
                for point in points:
                    for frac in exp["splits"]:
                        for seed in exp.get("seeds", config["seeds"]):
                            run = {"model": model, "row": row, "train_frac": float(frac), "seed": int(seed),
                                   "val_frac": val_frac, **hyper, **point,
                                   "check_sha": bool(config.get("movielens_verify", True))}  # fmt: skip
                            h = short_hash(run)
                            path = f"results/movielens/{model}/{row_slug(row)}/split{round(100 * frac)}_s{seed}_{h}.json"
                            jobs[path] = {**run, "experiment": name}
    return jobs


_NOT_HYPER = {"seed", "split_seed", "movielens_dir", "device", "experiment"}


def grid_point(result: Mapping[str, Any]) -> str:
    """A result's settings apart from its seed and where it ran (JSON): what a sweep selects among."""
    return json.dumps({k: v for k, v in result["config"].items() if k not in _NOT_HYPER}, sort_keys=True)


def _mean_val_rmse(results: Sequence[Mapping[str, Any]], where: str) -> float:
    vals = [r.get("val_rmse") for r in results]
    if any(v is None for v in vals):
        raise ValueError(
            f"{where}: several grid points but no validation RMSE; a sweep needs sweep.val_frac > 0 "
            "(selection never uses the test split)"
        )
    mean = sum(float(v) for v in vals) / len(vals)
    return mean if math.isfinite(mean) else math.inf


def select_by_validation(
    results: Sequence[Mapping[str, Any]],
) -> tuple[list[Mapping[str, Any]], pd.DataFrame]:
    """Per (model, row, split): the grid point with the lowest mean validation RMSE over its seeds.

    Returns the selected results (all seeds of each chosen point) and one row per grid point (validation
    and test RMSE means, ``selected``).  With one point per (model, row, split) -- no sweep -- every result
    is selected.  Points with a diverged (non-finite) validation RMSE rank last; a sweep whose results carry
    no validation RMSE is an error (its ``val_frac`` was 0), since selecting on the test split is not allowed.
    """
    from .movielens import split_label

    groups: dict[tuple[str, str, float], dict[str, list[Mapping[str, Any]]]] = {}
    for r in results:
        key = (r["model"], r["row"], float(r["train_frac"]))
        groups.setdefault(key, {}).setdefault(grid_point(r), []).append(r)
    selected: list[Mapping[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for (model, row, frac), points in groups.items():
        if len(points) == 1:
            best = next(iter(points))
        else:
            where = f"{model} {row} at train_frac {frac}"
            best = min(points, key=lambda p: _mean_val_rmse(points[p], where))
        selected.extend(points[best])
        for point, rs in points.items():
            vals = [r.get("val_rmse") for r in rs]
            rows.append(
                {
                    "split": split_label(frac),
                    "model": model,
                    "row": row,
                    "settings": point,
                    "n_seeds": len(rs),
                    "val_rmse_mean": (
                        float("nan") if any(v is None for v in vals) else sum(map(float, vals)) / len(vals)
                    ),
                    "test_rmse_mean": sum(float(r["test_rmse"]) for r in rs) / len(rs),
                    "selected": point == best,
                    "results_of": "; ".join(
                        str(r.get("result_file", f"seed {r['config'].get('seed')}")) for r in rs
                    ),
                }
            )
    return selected, pd.DataFrame(rows)


def run_job(run: dict[str, Any], u_data: str, out: str, device: str = "auto") -> None:
    from .movielens import run_table2_row

    cfg = {k: v for k, v in run.items() if k != "experiment"}
    result = run_table2_row({**cfg, "movielens_dir": str(Path(u_data).parent), "device": device})
    write_json(out, result)


def _md(df: pd.DataFrame) -> str:
    lines = [
        "# Table 2: MovieLens100K, test RMSE (mean ± sd over seeds; quoted rows are the paper's, not run)",
        "",
    ]
    for split, sub in df.groupby("split", sort=False):
        lines += [
            f"## {split} train split",
            "",
            "| Model | Uses side info | RMSE (ours) | RMSE (paper) | source |",
            "|---|---|---|---|---|",
        ]
        for _, r in sub.iterrows():
            name = f"{r['model']} {r['method']}".strip()
            paper = "" if pd.isna(r["paper_rmse"]) else f"{r['paper_rmse']:.3f}"
            ours = r["rmse"] if r["source"] == "run" else ""
            lines.append(f"| {name} | {r['uses_side_info']} | {ours} | {paper} | {r['source']} |")
        lines.append("")
    return "\n".join(lines)


def _tex(df: pd.DataFrame) -> str:
    out = [r"\begin{table}[t]", r"\centering", r"\caption{MovieLens100K: test RMSE}", r"\begin{tabular}{llllr}", r"\toprule",
           r"Split & Model & RMSE (ours) & RMSE (paper) & source \\", r"\midrule"]  # fmt: skip
    for _, r in df.iterrows():
        name = f"{r['model']} {r['method']}".strip().replace("_", r"\_").replace("&", r"\&")
        paper = "" if pd.isna(r["paper_rmse"]) else f"{r['paper_rmse']:.3f}"
        ours = str(r["rmse"]).replace("±", r"$\pm$") if r["source"] == "run" else ""
        out.append(
            f"{r['split'].replace('%', chr(92) + '%')} & {name} & {ours} & {paper} & {r['source']} \\\\"
        )
    out += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(out) + "\n"


def write_table2(
    results: Sequence[str], splits: Sequence[float], csv: str, md: str, tex: str, sweep_csv: str | None = None
) -> pd.DataFrame:
    """Table 2 from result files (selecting by validation RMSE where a row has several grid points)."""
    from .movielens import table2

    loaded = []
    for path in results:
        r = read_json(path)
        r["result_file"] = str(path)
        loaded.append(r)
    chosen, grid = select_by_validation(loaded)
    df = table2(chosen, splits=splits)
    df.insert(0, "experiment", "table2")
    if sweep_csv is not None:
        write_with(sweep_csv, lambda t: grid.to_csv(t, index=False))
    write_with(csv, lambda t: df.to_csv(t, index=False))
    write_with(md, lambda t: Path(t).write_text(_md(df)))
    write_with(tex, lambda t: Path(t).write_text(_tex(df)))
    return df
