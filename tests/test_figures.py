"""Figures through seaborn: one palette, method colours shared across figures, sd bands over seeds."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_hex

import matcomp.report.figures as figures
from matcomp.report.comparison import draw_comparison
from matcomp.report.style import DEPTH_COLORS, PALETTE, UNPENALISED, lam_colors, method_color

matplotlib.use("Agg")
SEEDS = [0, 1, 2]


def test_method_colours_are_shared_and_deterministic() -> None:
    for d in (3, 4, 5):
        assert method_color(f"GD:{d}") == DEPTH_COLORS[d]  # GD:k in Figures 4-5 = depth k in Figures 1-2
    assert method_color("Adam:1+R") == lam_colors([0.0, 0.01])[0.01]  # the penalised depth-1 network
    assert lam_colors([0, 1e-2])[0] == UNPENALISED
    published = method_color("OPT (published)")  # a new label: a shade of the method it names
    assert published not in PALETTE and published == method_color("OPT (published)")
    assert method_color("GD:30") != method_color("GD:3")
    assert method_color("something new") == method_color("something new")


def _trajectory(rng: np.random.Generator, n_seeds: int = 3) -> dict[str, np.ndarray]:
    it = np.array([0, 1, 10, 100, 1000])
    t = it[None, :] * rng.uniform(0.5, 1.5, (n_seeds, 1))
    err = 1 / (1 + t / 50)
    err[0, -1] = 0.0  # exactly zero on a log axis: dropped, not -inf
    spec = np.stack([1e-3 * (1 + t) / (k + 1) for k in range(6)], axis=-1)
    return {"iterations": it, "test_error": err, "effective_rank": 5 + 50 / (1 + t), "spectrum": spec}


def test_trajectory_frame_is_long_format() -> None:
    rng = np.random.default_rng(0)
    cell = {"optimizer": "adam", "depth": 2, "lam": 0.0, "n_obs": 2000, "seeds": SEEDS}
    df = figures.trajectory_frame([(cell, _trajectory(rng))], [1, 5])
    assert set(df["quantity"]) == {"test error", "effective rank", "σ_1", "σ_5"}
    assert len(df) == 4 * 3 * 4  # quantities × seeds × iterations > 0
    assert sorted(df["seed"].unique()) == SEEDS and (df["iteration"] > 0).all()
    err = df[df["quantity"] == "test error"]
    assert err["value"].isna().sum() == 1


@pytest.mark.parametrize("depths", [[2, 3], [1]])
def test_dynamics_figure_draws_sd_bands(tmp_path: Path, monkeypatch, depths: list[int]) -> None:  # noqa: ANN001
    rng = np.random.default_rng(1)
    lams = [0.0] if len(depths) > 1 else [0.0, 0.01]

    def load_cells(path: str, wanted: list[int]) -> list:
        return [
            ({"optimizer": path, "depth": d, "lam": lam, "n_obs": 2000, "seeds": SEEDS}, _trajectory(rng))
            for d in wanted
            for lam in lams
        ]

    drawn = {}
    monkeypatch.setattr(figures, "load_cells", load_cells)
    summary = pd.DataFrame({"cell": ["gd", "adam"], "max_iters": 1500, "iterations_mean": [1500.0, 932.0],
                            "stop_reasons": ["max_iters", "converged;plateau"], "n_seeds": 2, "n_obs": 2000,
                            "init": "end_to_end", "tol_on": "loss", "stop_rule": "plateau", "route": "none"})  # fmt: skip
    monkeypatch.setattr(figures, "summarize", lambda cells, exp: summary)
    monkeypatch.setattr(figures.plt, "close", lambda fig: drawn.setdefault("fig", fig))
    exp = {"rank": 5, "depths": depths, "optimizers": ["gd", "adam"], "caption": "test"}
    out = {ext: str(tmp_path / f"fig.{ext}") for ext in ("pdf", "png", "csv")}
    figures.dynamics_figure("figX", exp, ["gd", "adam"], out["pdf"], out["png"], out["csv"], "quick")
    assert all(Path(p).stat().st_size > 0 for p in out.values())
    from PIL import Image

    said = Image.open(out["png"]).info["Description"]  # the figure says what it shows
    for words in ("scale quick", "budget 1500 iterations, ran 932–1,500", "converged, max_iters, plateau",
                  "seeds 2", "n_obs 2000", "init end_to_end", "tolerance on loss", "stop rule plateau"):  # fmt: skip
        assert words in said, (words, said)
    printed = [t.get_text() for t in drawn["fig"].texts if "\n" in t.get_text()]  # wrapped to the width
    assert any(said == " ".join(text.split()) for text in printed)
    fig_chars = drawn["fig"].get_figwidth() * 72 / (0.6 * 7)
    assert all(len(line) <= fig_chars for text in printed for line in text.splitlines())
    axes = drawn["fig"].axes
    assert len(axes) == 6
    n_curves = len(depths) * len(lams)
    for ax in axes:
        assert sum(isinstance(c, PolyCollection) for c in ax.collections) >= n_curves  # one band per curve
    colours = {to_hex(line.get_color()) for line in axes[0].get_lines()}
    want = {DEPTH_COLORS[d] for d in depths} if len(depths) > 1 else set(lam_colors(lams).values())
    assert colours == want


def test_comparison_figure_colours_and_order() -> None:
    rng = np.random.default_rng(2)
    rows = [
        {"method": m, "n_obs": n, "seed": s, "test_error": rng.uniform(1e-6, 1e-2), "effective_rank": 5.0 + s}
        for m in ("Adam:1+R", "GD:3", "CP", "OPT (published)")
        for n in (1000, 2000)
        for s in SEEDS
    ]
    for r in rows:  # the networks stopped at a 1 500-iteration budget, Adam:1+R still moving
        if r["method"] in ("Adam:1+R", "GD:3"):
            moving = "data term still falling" if r["method"] == "Adam:1+R" else ""
            r.update(max_iters=1500, stop_reason="max_iters", still_moving=moving)
    order = ["Adam:1+R", "CP", "OPT (published)"]
    fig = draw_comparison(pd.DataFrame(rows), order, 5, "test")
    ax_err, ax_rk = fig.axes
    assert ax_err.get_yscale() == "log"
    assert [t.get_text() for t in ax_rk.get_legend().get_texts()] == [  # words first, how each ended
        "Adam, depth 1, ratio penalty (Adam:1+R)\n    stopped at its budget of 1,500 iterations, still moving",
        "minimum nuclear norm (CP)\n    run to convergence",
        "OptSpace, the published algorithm\n    run to convergence",
    ]
    lines = [line for line in ax_err.get_lines() if line.get_marker() not in (None, "None", "")]
    assert [to_hex(line.get_color()) for line in lines] == [method_color(m) for m in order]
    hollow = [line.get_markerfacecolor() == "white" for line in lines]
    assert hollow == [True, False, False]  # the stopped network is dashed with hollow markers
    assert lines[0].get_linestyle() != "-" and lines[1].get_linestyle() == "-"
    assert sum(isinstance(c, PolyCollection) for c in ax_rk.collections) == len(order)


def test_robustness_marks_and_figure(tmp_path: Path) -> None:
    """Cells alike in failing are marked apart from cells alike in succeeding (issue 25.3: the robustness
    tables' '=' at quick were all failures); the figure draws one heatmap per statement."""
    from matcomp.report.robustness import write_robustness

    def row(opt: str, lam: float, err: float, rank: float) -> dict:
        return {"experiment": "robust_lambda", "optimizer": opt, "penalty": "ratio", "depth": 1, "lam": lam,
                "rank": 5, "test_error_mean": err, "effective_rank_mean": rank}  # fmt: skip

    rows = [row("adam", 0.05, 1e-7, 5.0), row("adam", 1e-4, 2e-7, 5.0), row("adam", 0.1, 0.5, 40.0),
            row("gd", 0.05, 0.8, 60.0), row("gd", 1e-4, 0.8, 61.0)]  # fmt: skip
    pd.DataFrame(rows).to_csv(tmp_path / "robust_lambda.csv", index=False)
    out = {k: str(tmp_path / f"r.{k}") for k in ("md", "csv", "pdf", "png")}
    res = write_robustness(
        [str(tmp_path / "robust_lambda.csv")], out["md"], out["csv"], out["pdf"], out["png"]
    )
    marks = {
        (r["optimizer"], c): str(r[c]).split()[-1]
        for _, r in res.iterrows()
        for c in res
        if c.startswith("lam=")
    }
    assert marks[("adam", "lam=0.0001")] == "=" and marks[("adam", "lam=0.1")] == "≠"
    assert marks[("gd", "lam=0.0001")] == "✗=" and marks[("gd", "lam=0.05")] == "ref"
    assert Path(out["png"]).stat().st_size > 10_000 and "`✗=` both fail" in Path(out["md"]).read_text()
