"""Figures 4 and 5: the depth-1 network with Adam + ratio and deep GD networks against the classic
methods (CP, OPT, SI), test error and effective rank over the number of observed entries."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .data import load_problem
from .io import read_json, write_json, write_with

METHOD_LABELS = {"cp": "CP", "si": "SI", "opt": "OPT"}
COLORS = {"Adam:1+R": "tab:red", "GD:3": "tab:blue", "GD:4": "tab:cyan", "GD:5": "tab:purple",
          "CP": "tab:green", "OPT": "tab:orange", "SI": "tab:brown"}  # fmt: skip


def run_baseline_job(
    job: dict[str, Any], data_files: Sequence[str], out: str, r_lib: str | None = None
) -> None:
    """Run one baseline method on every seed of one (rank, n_obs); one result file (atomic)."""
    from .baselines import run_baseline
    from .provenance import provenance

    options = dict(job["options"])
    if job["method"] == "opt" and r_lib:
        options["r_lib"] = r_lib
    runs = []
    for path, seed in zip(data_files, job["seeds"], strict=True):
        problem = load_problem(path)
        rec = run_baseline(job["method"], problem, **options)
        rec["seed"] = seed
        runs.append(rec)
        print(
            f"{job['method']} seed {seed}: test_error={rec['test_error']:.3g} ({rec['implementation']}, {rec['status']})"
        )
    write_json(
        out, {"job": job, "runs": runs, "provenance": provenance(seconds=sum(r["seconds"] for r in runs))}
    )


def collect(experiment: dict[str, Any], training: Sequence[str], baselines: Sequence[str]) -> pd.DataFrame:
    """Long format: method, rank, n_obs, seed, test_error, effective_rank, seconds, implementation, file."""
    from .experiments import normalize_penalty  # imports torch: keep it out of the baseline jobs' start-up

    rows = []
    nets = {
        (n["optimizer"], *normalize_penalty(n.get("penalty", "none"), n.get("lam", 0.0)), n["depth"]): n[
            "label"
        ]
        for n in experiment.get("networks", [])
    }
    for path in training:
        doc = read_json(path)
        job = doc["job"]
        for cell in doc["cells"]:
            label = nets.get((job["optimizer"], job["penalty"], job["lam"], cell["depth"]))
            if label is None:
                continue
            for r in cell["runs"]:
                rows.append({"method": label, "rank": job["rank"], "n_obs": job["n_obs"], "seed": r["seed"],
                             "test_error": r["test_error"], "effective_rank": r["effective_rank"],
                             "seconds": cell["provenance"]["seconds"] / len(cell["runs"]),
                             "implementation": f"matcomp/torch {job['optimizer']} depth {cell['depth']}",
                             "iterations": r["iterations"], "file": str(path)})  # fmt: skip
    for path in baselines:
        doc = read_json(path)
        job = doc["job"]
        for r in doc["runs"]:
            rows.append({"method": METHOD_LABELS[job["method"]], "rank": job["rank"], "n_obs": job["n_obs"],
                         "seed": r["seed"], "test_error": r["test_error"], "effective_rank": r["effective_rank"],
                         "seconds": r["seconds"], "implementation": r["implementation"], "status": r["status"],
                         "file": str(path)})  # fmt: skip
    return pd.DataFrame(rows).sort_values(["method", "n_obs", "seed"], kind="stable").reset_index(drop=True)


def summary(df: pd.DataFrame, name: str) -> pd.DataFrame:
    g = df.groupby(["method", "rank", "n_obs"], sort=False)
    out = g.agg(
        test_error_mean=("test_error", "mean"), test_error_sd=("test_error", "std"),
        effective_rank_mean=("effective_rank", "mean"), effective_rank_sd=("effective_rank", "std"),
        n_seeds=("seed", "count"), seconds_mean=("seconds", "mean"),
    ).reset_index()  # fmt: skip
    out.insert(0, "experiment", name)
    return out


def comparison_figure(
    name: str, experiment: dict[str, Any], training: Sequence[str], baselines: Sequence[str],
    pdf: str, png: str, csv: str, summary_csv: str,
) -> None:  # fmt: skip
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = collect(experiment, training, baselines)
    summ = summary(df, name)
    fig, (ax_err, ax_rk) = plt.subplots(1, 2, figsize=(11, 4))
    for method in experiment.get("plot", list(dict.fromkeys(df["method"]))):
        label = METHOD_LABELS.get(method, method)
        sub = df[df["method"] == label]
        if sub.empty:
            continue
        g = sub.groupby("n_obs")
        x = np.array(sorted(g.groups))
        for ax, col, log in ((ax_err, "test_error", True), (ax_rk, "effective_rank", False)):
            mean = g[col].mean().loc[x].to_numpy()
            se = (g[col].std().fillna(0) / np.sqrt(g[col].count())).loc[x].to_numpy()
            color = COLORS.get(label)
            ax.plot(x, mean, "o-", color=color, label=label, ms=3)
            lo = np.maximum(mean - se, mean * 1e-3) if log else mean - se
            ax.fill_between(x, lo, mean + se, color=color, alpha=0.2, lw=0)
    ax_err.set(yscale="log", xlabel="observed entries", ylabel="test error")
    ax_rk.set(xlabel="observed entries", ylabel="effective rank")
    ax_rk.axhline(int(experiment["rank"]), color="grey", ls="--", lw=0.8)
    ax_err.legend(fontsize=8)
    fig.suptitle(experiment.get("caption", name))
    fig.tight_layout()
    write_with(pdf, lambda t: fig.savefig(t, format="pdf"), ".pdf")
    write_with(png, lambda t: fig.savefig(t, format="png", dpi=110), ".png")
    plt.close(fig)
    write_with(csv, lambda t: df.to_csv(t, index=False))
    write_with(summary_csv, lambda t: summ.to_csv(t, index=False))


def roptspace_status(lib_dir: str, out: str, implementation: str) -> None:
    """Try to install ROptSpace into ``lib_dir`` (when asked for) and record what happened."""
    from .baselines.optspace import install_roptspace

    installed = False
    if implementation in ("auto", "roptspace"):
        Path(lib_dir).mkdir(parents=True, exist_ok=True)
        installed = install_roptspace(lib_dir)
    if implementation == "roptspace" and not installed:
        raise RuntimeError(
            "optspace: roptspace was asked for but ROptSpace could not be installed from CRAN; "
            "set `optspace: builtin` (or `auto`) in config.yaml"
        )
    write_json(out, {"implementation": implementation, "roptspace_installed": installed, "lib": lib_dir})
