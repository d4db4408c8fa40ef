"""Dynamics figures (Figures 1-3, 6-8): rows are optimizers, columns are test error, effective rank and
σ_1 / σ_r over iterations; one colour per depth (or per λ when a figure has one depth), the same in every
figure (:mod:`matcomp.style`). Drawn with seaborn: lines are means over seeds, bands ± one standard
deviation (``errorbar="sd"``); on the log-scaled axes (test error, singular values) both are taken of the
logarithm, so a band never crosses zero."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from ..labels import OPTIMIZER_LABELS  # noqa: E402
from ..store import results  # noqa: E402
from ..store.io import write_with  # noqa: E402
from .style import DASHES, depth_color, figure_footer, lam_colors, save_figure, set_theme  # noqa: E402
from .tables import summarize  # noqa: E402

ERROR, RANK = "test error", "effective rank"
HUE, STYLE = "setting", "singular value"  # legend titles of the colours and the line styles
LOG_QUANTITIES = (ERROR, "σ")  # drawn on log axes: values <= 0 are dropped


def load_cells(path: str | Path, depths: Sequence[int]) -> list[tuple[dict[str, Any], dict[str, np.ndarray]]]:
    """(cell description, trajectory) for each wanted depth of a job file."""
    result = results.read_result(path)
    out = []
    for cell in result.doc["cells"]:
        if cell["depth"] in depths:
            desc = {
                **result.doc["job"],
                "depth": cell["depth"],
                "seeds": [r["seed"] for r in cell.get("runs", [])],
            }
            out.append((desc, result.trajectory(cell["depth"])))
    return out


def _series(traj: dict[str, np.ndarray], sig_idx: Sequence[int]) -> dict[str, np.ndarray]:
    """Quantity name -> [seeds, iterations] array."""
    out = {ERROR: traj["test_error"], RANK: traj["effective_rank"]}
    for k in sig_idx:
        if k <= traj["spectrum"].shape[-1]:
            out[f"σ_{k}"] = traj["spectrum"][:, :, k - 1]
    return out


def trajectory_frame(
    loaded: Sequence[tuple[dict[str, Any], dict[str, np.ndarray]]], sig_idx: Sequence[int]
) -> pd.DataFrame:
    """Long format, one row per logged point: optimizer, depth, lam, seed, iteration, quantity, value.

    Iteration 0 is left out (log x axis); non-finite values, and values <= 0 of quantities drawn on a log
    axis, become NaN.
    """
    frames = []
    for cell, traj in loaded:
        it = traj["iterations"]
        keep = it > 0
        for quantity, arr in _series(traj, sig_idx).items():
            values = np.asarray(arr[:, keep], dtype=float)
            n_seeds, n_t = values.shape
            seeds = cell.get("seeds") if len(cell.get("seeds") or []) == n_seeds else range(n_seeds)
            bad = ~np.isfinite(values) | ((values <= 0) & quantity.startswith(LOG_QUANTITIES))
            frames.append(pd.DataFrame({
                "optimizer": cell["optimizer"], "n_obs": int(cell["n_obs"]), "depth": cell["depth"],
                "lam": float(cell["lam"]),
                "seed": np.repeat(list(seeds), n_t), "iteration": np.tile(it[keep], n_seeds),
                "quantity": quantity, "value": np.where(bad, np.nan, values).ravel(),
            }))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def _curves(df: pd.DataFrame) -> tuple[pd.Series, dict[str, str]]:
    """One curve label per row (depth, or λ when the figure has one depth) and its colour."""
    if df["depth"].nunique() > 1:
        depths = sorted(df["depth"].unique())
        return df["depth"].map(lambda d: f"depth {d}"), {f"depth {d}": depth_color(int(d)) for d in depths}
    colors = lam_colors(df["lam"].unique())
    return df["lam"].map(lambda x: f"λ = {x:g}"), {f"λ = {x:g}": c for x, c in colors.items()}


def line_widths(labels: Sequence[str], widest: float = 3.2, narrowest: float = 1.2) -> dict[str, float]:
    """Each curve's width, from the widest (drawn first, underneath) to the narrowest (on top): curves that
    coincide (Figure 3's GD at λ = 0 and 0.01) show as a thin line inside a wide one, both visible."""
    if len(labels) < 2:
        return {label: narrowest for label in labels}
    step = (widest - narrowest) / (len(labels) - 1)
    return {label: widest - i * step for i, label in enumerate(labels)}


def _draw_row(axes: Sequence[Any], sub: pd.DataFrame, palette: dict[str, str], legend: bool) -> None:
    ax_err, ax_rk, ax_sig = axes
    for ax in axes:
        ax.set_xscale("log")  # before drawing: seaborn then aggregates in log space
    ax_err.set_yscale("log")
    ax_sig.set_yscale("log")
    common = {"x": "iteration", "y": "value", "hue": HUE, "hue_order": list(palette), "palette": palette,
              "errorbar": "sd", "size": HUE, "sizes": line_widths(list(palette))}  # fmt: skip
    sns.lineplot(sub[sub["quantity"] == ERROR], ax=ax_err, legend=False, **common)
    sns.lineplot(sub[sub["quantity"] == RANK], ax=ax_rk, legend=False, **common)
    sig = sub[sub["quantity"].str.startswith("σ")].rename(columns={"quantity": STYLE})
    order = list(dict.fromkeys(sig[STYLE]))
    dashes = {q: DASHES[i % len(DASHES)] for i, q in enumerate(order)}
    sns.lineplot(sig, ax=ax_sig, style=STYLE, style_order=order, dashes=dashes, legend=legend, **common)
    for ax in (ax_err, ax_sig):
        _plain_if_narrow(ax)


def _plain_if_narrow(ax: Any) -> None:
    """A log axis whose drawn values span less than a decade gets a linear scale with plain numbers: on a log
    scale matplotlib labels such a range with repeated rounded ticks ("1 × 10⁰" twice for a curve that moves
    from 0.999998 to 1.000001, an untrained network under the mean reduction)."""
    lo, hi = ax.get_ylim()
    if 0 < lo and hi < 10 * lo:
        ax.set_yscale("linear")
        ax.set_ylim(lo, hi)
        ax.ticklabel_format(axis="y", style="plain", useOffset=False)


def dynamics_figure(
    name: str, experiment: dict[str, Any], cells: Sequence[str], pdf: str, png: str, csv: str,
    scale: str | None = None,
) -> None:  # fmt: skip
    """Draw the figure for ``experiment`` from its cells, with a footer saying what it shows (also in the
    png's ``Description``); also write the cells' summary csv."""
    set_theme()
    rank = int(experiment["rank"])
    sig_idx = list(dict.fromkeys([1, rank, *experiment.get("extra_sigma", [])]))
    loaded = [c for path in cells for c in load_cells(path, experiment["depths"])]
    df = trajectory_frame(loaded, sig_idx)
    df[HUE], palette = _curves(df)
    n_obs = sorted(df["n_obs"].unique())
    rows = [(o, n) for o in experiment["optimizers"] if o in set(df["optimizer"]) for n in n_obs]

    fig, axes = plt.subplots(len(rows), 3, figsize=(14, 3.4 * len(rows)), squeeze=False)
    for row, (opt, n) in enumerate(rows):
        ax_err, ax_rk, ax_sig = axes[row]
        _draw_row(axes[row], df[(df["optimizer"] == opt) & (df["n_obs"] == n)], palette, legend=row == 0)
        title = OPTIMIZER_LABELS[opt] + (f", {n} entries" if len(n_obs) > 1 else "")
        ax_err.set(ylabel=f"{title}\ntest error", xlabel="iteration")
        ax_rk.set(ylabel="effective rank", xlabel="iteration")
        ax_sig.set(ylabel="singular values", xlabel="iteration")
        ax_rk.axhline(rank, color="grey", lw=0.8, ls="--")
    sns.move_legend(axes[0][2], "upper left", bbox_to_anchor=(1.02, 1), fontsize=7, frameon=False)
    fig.suptitle(experiment.get("caption", name))
    summary = summarize(cells, experiment)
    footer = figure_footer(summary, scale)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    save_figure(fig, pdf, png, footer)
    summary.insert(0, "experiment", name)
    write_with(csv, lambda t: summary.to_csv(t, index=False))
