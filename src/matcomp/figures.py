"""Dynamics figures (Figures 1-3, 6-8): rows are optimizers, columns are test error, effective rank and
σ_1 / σ_r over iterations; one colour per depth (or per λ when a figure has one depth); bands over seeds
(mean ± standard error)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .io import read_json, write_with  # noqa: E402
from .tables import summarize  # noqa: E402
from .workflow import load_trajectory  # noqa: E402

OPT_LABELS = {"gd": "GD", "adam": "Adam"}


def load_cells(path: str | Path, depths: Sequence[int]) -> list[tuple[dict[str, Any], dict[str, np.ndarray]]]:
    """(cell description, trajectory) for each wanted depth of a job file."""
    doc = read_json(path)
    out = []
    for cell in doc["cells"]:
        if cell["depth"] in depths:
            desc = {**doc["job"], "depth": cell["depth"]}
            out.append((desc, load_trajectory(path, cell["depth"])))
    return out


def _band(ax, x, y, color, style="-", label=None, log=True) -> None:  # noqa: ANN001
    mean = np.nanmean(y, axis=0)
    se = np.nanstd(y, axis=0, ddof=1) / np.sqrt(y.shape[0]) if y.shape[0] > 1 else np.zeros_like(mean)
    ax.plot(x, mean, style, color=color, label=label, lw=1.4)
    lo = mean - se
    if log:
        lo = np.maximum(lo, mean * 1e-3)
    ax.fill_between(x, lo, mean + se, color=color, alpha=0.2, lw=0)


def dynamics_figure(
    name: str, experiment: dict[str, Any], cells: Sequence[str], pdf: str, png: str, csv: str
) -> None:
    """Draw the figure for ``experiment`` from its cells; also write the cells' summary csv."""
    rank = int(experiment["rank"])
    sig_idx = [1, rank, *experiment.get("extra_sigma", [])]
    loaded = [c for path in cells for c in load_cells(path, experiment["depths"])]
    optimizers = [o for o in experiment["optimizers"] if any(d["optimizer"] == o for d, _ in loaded)]
    depths = sorted({d["depth"] for d, _ in loaded})
    hue = "depth" if len(depths) > 1 else "lam"
    hues = sorted({d[hue] for d, _ in loaded})
    colors = dict(zip(hues, plt.get_cmap("tab10").colors, strict=False))
    if hue == "lam":  # the paper draws the unpenalised run in red
        colors = {
            h: ("tab:red" if h == 0 else c)
            for h, c in zip(hues, ["tab:red", "tab:blue", "tab:green"], strict=False)
        }
    styles = ["-", ":", "--", "-."]

    fig, axes = plt.subplots(len(optimizers), 3, figsize=(13, 3.4 * len(optimizers)), squeeze=False)
    for cell, traj in loaded:
        row = optimizers.index(cell["optimizer"])
        it = traj["iterations"]
        keep = it > 0
        x = it[keep]
        h = cell[hue]
        color = colors[h]
        label = f"depth {h}" if hue == "depth" else f"λ = {h:g}"
        ax_err, ax_rk, ax_sig = axes[row]
        _band(ax_err, x, traj["test_error"][:, keep], color, label=label)
        _band(ax_rk, x, traj["effective_rank"][:, keep], color, label=label, log=False)
        for j, k in enumerate(sig_idx):
            if k <= traj["spectrum"].shape[-1]:
                _band(ax_sig, x, traj["spectrum"][:, keep, k - 1], color, styles[j % len(styles)],
                      label=f"{label}, σ_{k}" if row == 0 else None)  # fmt: skip
    for row, opt in enumerate(optimizers):
        ax_err, ax_rk, ax_sig = axes[row]
        title = OPT_LABELS.get(opt, opt)
        ax_err.set(xscale="log", yscale="log", ylabel=f"{title}\ntest error", xlabel="iteration")
        ax_rk.set(xscale="log", ylabel="effective rank", xlabel="iteration")
        ax_sig.set(xscale="log", yscale="log", ylabel="singular values", xlabel="iteration")
        ax_rk.axhline(rank, color="grey", lw=0.8, ls="--")
        ax_err.legend(fontsize=7)
    axes[0][2].legend(fontsize=6, ncol=2)
    fig.suptitle(experiment.get("caption", name))
    fig.tight_layout()
    write_with(pdf, lambda t: fig.savefig(t, format="pdf"), ".pdf")
    write_with(png, lambda t: fig.savefig(t, format="png", dpi=110), ".png")
    plt.close(fig)
    df = summarize(cells, experiment)
    df.insert(0, "experiment", name)
    write_with(csv, lambda t: df.to_csv(t, index=False))
