"""Table 2 in the workflow: the config's ``kind: movielens`` experiment -> one job per (model, row, split,
seed), each a cached result file whose path names its settings (plus a hash of the hyper-parameters)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .experiments import short_hash
from .io import read_json, write_json, write_with

DOWNLOAD_DIR = "results/movielens/ml-100k"


def row_slug(row: str) -> str:
    return row.lower().replace("+", "_")


def data_dir(config: dict[str, Any]) -> str:
    """The ml-100k folder the jobs read: ``movielens_dir`` if set, else the download rule's folder."""
    return config.get("movielens_dir") or DOWNLOAD_DIR


def movielens_jobs(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Result path -> the flat run config of :func:`matcomp.movielens.run_table2_row`."""
    jobs: dict[str, dict[str, Any]] = {}
    for name, exp in config["experiments"].items():
        if exp.get("kind") != "movielens" or not exp.get("enabled", True):
            continue
        for model in exp["models"]:
            hyper = dict(exp.get(model) or {})
            for row in exp["rows"]:
                for frac in exp["splits"]:
                    for seed in exp.get("seeds", config["seeds"]):
                        run = {"model": model, "row": row, "train_frac": float(frac), "seed": int(seed),
                               "val_frac": float(exp.get("val_frac", 0.0)), **hyper,
                               "check_sha": bool(config.get("movielens_verify", True))}  # fmt: skip
                        h = short_hash(run)
                        path = f"results/movielens/{model}/{row_slug(row)}/split{round(100 * frac)}_s{seed}_{h}.json"
                        jobs[path] = {**run, "experiment": name}
    return jobs


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
    results: Sequence[str], splits: Sequence[float], csv: str, md: str, tex: str
) -> pd.DataFrame:
    from .movielens import table2

    df = table2([read_json(p) for p in results], splits=splits)
    df.insert(0, "experiment", "table2")
    write_with(csv, lambda t: df.to_csv(t, index=False))
    write_with(md, lambda t: Path(t).write_text(_md(df)))
    write_with(tex, lambda t: Path(t).write_text(_tex(df)))
    return df
