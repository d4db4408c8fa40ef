"""Figures 4 and 5: the depth-1 network with Adam + ratio and deep GD networks against the classic
methods (CP, OPT, SI), test error and effective rank over the number of observed entries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..baselines import BASELINES
from ..labels import METHOD_LABELS
from ..store import results
from ..store.io import write_with
from .style import method_color

# "OPT" is the paper's curve (ROptSpace, or matcomp's twin of its steps); "OPT (published)" is the published
# algorithm (matcomp's port), drawn beside it.  Each row of the figure's csv names the implementation.


def collect(experiment: dict[str, Any], training: Sequence[str], baselines: Sequence[str]) -> pd.DataFrame:
    """Long format: method, rank, n_obs, seed, test_error, effective_rank, seconds, implementation, file."""
    from ..training.penalties import normalize as normalize_penalty
    from .tables import _reading_settings, data_term_ratios, seed_motion, trained

    rows = []
    nets = {
        (n["optimizer"], *normalize_penalty(n.get("penalty", "none"), n.get("lam", 0.0)), n["depth"]): n[
            "label"
        ]
        for n in experiment.get("networks", [])
    }
    for path in training:
        result = results.read_result(path)
        job = result.doc["job"]
        for cell in result.doc["cells"]:
            label = nets.get((job["optimizer"], job["penalty"], job["lam"], cell["depth"]))
            if label is None:
                continue
            arrays = result.trajectory(cell["depth"])
            fitted = [trained(x) for x in data_term_ratios(arrays, cell["runs"])]
            for r, moving, fit in zip(cell["runs"], seed_motion(path, cell, arrays), fitted, strict=True):
                rows.append({"method": label, "rank": job["rank"], "n_obs": job["n_obs"], "seed": r["seed"],
                             "test_error": r["test_error"], "effective_rank": r["effective_rank"],
                             "seconds": cell["provenance"]["seconds"] / len(cell["runs"]),
                             "implementation": f"matcomp/torch {job['optimizer']} depth {cell['depth']}",
                             "iterations": r["iterations"], "stop_reason": r["stop_reason"],
                             "max_iters": job["train"]["max_iters"], "still_moving": moving, "trained": fit,
                             **_reading_settings(job, cell), "file": str(path)})  # fmt: skip
    for path in baselines:
        doc = results.read(path)
        job = doc["job"]
        for r in doc["runs"]:
            rows.append({"method": METHOD_LABELS[job["method"]], "rank": job["rank"], "n_obs": job["n_obs"],
                         "seed": r["seed"], "test_error": r["test_error"], "effective_rank": r["effective_rank"],
                         "seconds": r["seconds"], "implementation": r["implementation"], "status": r["status"],
                         "file": str(path)})  # fmt: skip
    return pd.DataFrame(rows).sort_values(["method", "n_obs", "seed"], kind="stable").reset_index(drop=True)


def summary(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Per method and n_obs: means and sds over the seeds (a network's diverged seed counts as +inf test
    error, and in ``n_diverged``), and the networks' budget and plateau columns."""
    diverged = df.get("stop_reason", pd.Series(index=df.index, dtype=object)) == "diverged"
    df = df.assign(test_error=df["test_error"].where(~diverged, float("inf")), _diverged=diverged)
    g = df.groupby(["method", "rank", "n_obs"], sort=False)
    out = g.agg(
        test_error_mean=("test_error", "mean"), test_error_sd=("test_error", "std"),
        effective_rank_mean=("effective_rank", "mean"), effective_rank_sd=("effective_rank", "std"),
        n_seeds=("seed", "count"), n_diverged=("_diverged", "sum"), seconds_mean=("seconds", "mean"),
    ).reset_index()  # fmt: skip
    out = out.merge(_seed_columns(df), on=["method", "rank", "n_obs"])
    if "still_moving" in df:  # the networks' budget and plateau, for the claims (baselines: empty)
        from .tables import motion_columns

        out = out.merge(motion_columns(df, ["method", "rank", "n_obs"]), on=["method", "rank", "n_obs"])
    out.insert(0, "experiment", name)
    return out


def _seed_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Per method and n_obs: the seeds, their errors and ranks (a diverged seed's rank +inf, as in the
    training tables) for the claims' seed-by-seed reading, and whether every seed of a network trained."""
    from .tables import join_seeds

    def one(g: pd.DataFrame) -> pd.Series:
        diverged = g.get("stop_reason", pd.Series(index=g.index, dtype=object)) == "diverged"
        ranks = g["effective_rank"].where(~diverged, float("inf"))
        fit = g["trained"] if "trained" in g else pd.Series(dtype=object)
        return pd.Series({"seeds": ";".join(str(int(s)) for s in g["seed"]),
                          "test_error_seeds": join_seeds(list(g["test_error"])),
                          "effective_rank_seeds": join_seeds(list(ranks)),
                          "trained": bool(fit.astype(bool).all()) if fit.notna().any() else None})  # fmt: skip

    return df.groupby(["method", "rank", "n_obs"], sort=False)[list(df.columns)].apply(one).reset_index()


def plot_order(experiment: dict[str, Any], df: pd.DataFrame) -> list[str]:
    """The method labels drawn, in the experiment's ``plot`` order (default: every method in ``df``)."""
    wanted = [METHOD_LABELS.get(m, m) for m in experiment.get("plot", list(dict.fromkeys(df["method"])))]
    present = set(df["method"])
    return [m for m in dict.fromkeys(wanted) if m in present]


PLAIN = {method.label: method.plain for method in BASELINES.values()}
"""A baseline's label in words (the registry's ``plain``)."""


def plain_label(method: str) -> str:
    """``Adam:1+R`` -> ``Adam, depth 1, ratio penalty (Adam:1+R)``; ``GD:3`` -> ``GD, depth 3 (GD:3)``; the
    classic methods by name (``SoftImpute (SI)``): the words first, the paper's short label after."""
    if method in PLAIN:
        return f"{PLAIN[method]} ({method})" if "(" not in method else PLAIN[method]
    opt, _, rest = method.partition(":")
    depth, penalised = rest.rstrip("+R"), rest.endswith("+R")
    if opt and depth.isdigit():
        return f"{opt}, depth {depth}{', ratio penalty' if penalised else ''} ({method})"
    return method


def _how_it_ended(df: pd.DataFrame, method: str) -> str:
    """``run to convergence`` (a classic solver), else how the network's seeds ended at the budget."""
    rows = df[df["method"] == method]
    if "max_iters" not in rows or rows["max_iters"].isna().all():
        return "run to convergence"
    budget = int(rows["max_iters"].max())
    moving = rows["still_moving"].fillna("").astype(str).str.len().gt(0) & rows["stop_reason"].eq("max_iters")
    if moving.any():
        return f"stopped at its budget of {budget:,} iterations, still moving"
    return f"converged or plateaued within {budget:,} iterations"


def draw_comparison(df: pd.DataFrame, order: Sequence[str], rank: int, title: str) -> Any:
    """Test error (log) and effective rank over n_obs, one seaborn line per method: mean over seeds ± one
    standard deviation (on the log axis both are taken of the logarithm). Each legend entry says in words
    what the method is and how it ended: a network stopped at its budget while still moving is marked so,
    and drawn dashed with hollow markers, beside solvers run to convergence. Returns the matplotlib figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    from .style import set_theme

    set_theme()
    data = df[df["method"].isin(order)].copy()
    data["test_error"] = data["test_error"].where(data["test_error"] > 0)  # log axis
    ended = {m: _how_it_ended(data, m) for m in order}
    names = {m: f"{plain_label(m)}\n    {ended[m]}" for m in order}
    data["method"] = data["method"].map(names)
    fig, (ax_err, ax_rk) = plt.subplots(1, 2, figsize=(13, 4.4))
    ax_err.set_yscale("log")  # before drawing: seaborn then aggregates in log space
    stopped = {names[m]: ended[m].startswith("stopped") for m in order}
    kw = {"x": "n_obs", "hue": "method", "hue_order": [names[m] for m in order], "errorbar": "sd",
          "style": "method", "style_order": [names[m] for m in order], "markers": {n: "o" for n in stopped},
          "dashes": {n: (4, 2) if s else "" for n, s in stopped.items()}, "markersize": 5,
          "palette": {names[m]: method_color(m) for m in order}}  # fmt: skip
    sns.lineplot(data, y="test_error", ax=ax_err, legend=False, **kw)
    sns.lineplot(data, y="effective_rank", ax=ax_rk, **kw)
    ax_err.set(xlabel="observed entries", ylabel="test error")
    ax_rk.set(xlabel="observed entries", ylabel="effective rank")
    ax_rk.axhline(rank, color="grey", ls="--", lw=0.8)
    sns.move_legend(ax_rk, "upper left", bbox_to_anchor=(1.02, 1), fontsize=7, title=None, frameon=False)
    for ax in (ax_err, ax_rk):  # hollow markers on the dashed lines: the networks stopped at their budget
        for line in [*ax.get_lines(), *(ax.get_legend().get_lines() if ax.get_legend() else [])]:
            if line.get_linestyle() not in ("-", "None") and line.get_marker() not in (None, "None", ""):
                line.set_markerfacecolor("white")
                line.set_markeredgecolor(line.get_color())
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def comparison_figure(
    name: str, experiment: dict[str, Any], training: Sequence[str], baselines: Sequence[str],
    pdf: str, png: str, csv: str, summary_csv: str, scale: str | None = None,
) -> None:  # fmt: skip

    from .style import figure_footer, save_figure

    df = collect(experiment, training, baselines)
    summ = summary(df, name)
    fig = draw_comparison(
        df, plot_order(experiment, df), int(experiment["rank"]), experiment.get("caption", name)
    )
    nets = df[df["max_iters"].notna()] if "max_iters" in df else df.iloc[0:0]
    footer = figure_footer(_footer_frame(nets), scale, "networks only; lines: mean over seeds, bands ± 1 sd")
    save_figure(fig, pdf, png, footer)
    write_with(csv, lambda t: df.to_csv(t, index=False))
    write_with(summary_csv, lambda t: summ.to_csv(t, index=False))


def _footer_frame(nets: pd.DataFrame) -> pd.DataFrame:
    """The networks' per-seed rows in the columns :func:`matcomp.report.style.figure_footer` reads."""
    if nets.empty:
        return nets
    counts = nets.groupby(["method", "n_obs"])["seed"].count().rename("n_seeds").reset_index()
    return nets.rename(columns={"stop_reason": "stop_reasons", "iterations": "iterations_mean"}).merge(
        counts, on=["method", "n_obs"]
    )
