"""The appendix-A.1 sweep of Table 2: grid expansion, config errors, selection per checkpoint (on
validation RMSE; on test RMSE only for the `test` ckpt)."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from matcomp.jobs.movielens import run_movielens_job
from matcomp.movielens.data import UDATA_SHA256, file_digest, make_synthetic_ml100k
from matcomp.plan.config import ConfigError, load
from matcomp.plan.movielens import movielens_jobs, sweep_points
from matcomp.report.table2 import select_by_checkpoint, table2, write_table2

BASE = {
    "seeds": [0],
    "movielens_verify": False,
    "experiments": {
        "table2": {
            "kind": "movielens",
            "models": ["lnn", "embedding"],
            "rows": ["GD", "Adam+penalty"],
            "splits": [0.9, 0.8],
            "seeds": [0, 1],
            "lnn": {"n_iters": 30, "eval_every": 10},
            "embedding": {"n_epochs": 1, "dim": 4},
            "sweep": {
                "enabled": True,
                "val_frac": 0.2,
                "lnn": {"lam": [0.1, 1.5, 20.0], "lr": [1e-3, 1e-4]},
                "embedding": {"lam": [1e-3, 1e-1], "penalize": ["user", "item"], "dim": [2, 8]},
            },
        }
    },
}


def _config(**sweep) -> dict:
    cfg = copy.deepcopy(BASE)
    cfg["experiments"]["table2"]["sweep"].update(sweep)
    return cfg


def _checked(cfg: dict) -> dict:
    """``cfg`` over the project's config.yaml (its experiments replaced), checked as the workflow checks it."""
    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())
    raw.pop("scales")
    raw.pop("readings")  # they rerun synthetic experiments, which these configs replace
    return load({**raw, **cfg})


def test_grid_points_drop_lambda_for_unpenalised_rows() -> None:
    grid = BASE["experiments"]["table2"]["sweep"]
    lnn_pen = sweep_points("lnn", "Adam+penalty", grid["lnn"], "w")
    assert len(lnn_pen) == 6 and {"lam": 20.0, "lr": 1e-4} in lnn_pen
    assert sweep_points("lnn", "GD", grid["lnn"], "w") == [{"lr": 1e-3}, {"lr": 1e-4}]  # λ axis dropped
    emb = sweep_points("embedding", "Adam+penalty", grid["embedding"], "w")
    assert len(emb) == 2 * 2 * 2
    assert {"dim": 8, "lam_user": 0.0, "lam_item": 0.1} in emb and {
        "dim": 2,
        "lam_user": 1e-3,
        "lam_item": 0.0,
    } in emb
    assert sweep_points("embedding", "Adam", grid["embedding"], "w") == [{"dim": 2}, {"dim": 8}]
    # explicit per-embedding λ lists are crossed as given
    both = sweep_points("embedding", "GD+penalty", {"lam_user": [0.0, 0.01], "lam_item": [0.1]}, "w")
    assert both == [{"lam_user": 0.0, "lam_item": 0.1}, {"lam_user": 0.01, "lam_item": 0.1}]


def test_sweep_jobs_count_and_validation_part() -> None:
    jobs = movielens_jobs(_config())
    # per split and seed: lnn 2 (GD: lr) + 6 (λ × lr); embedding 2 (GD: dim) + 8; × 2 splits × 2 seeds
    assert len(jobs) == (2 + 6 + 2 + 8) * 2 * 2
    assert {j.settings["val_frac"] for j in jobs.values()} == {0.2}
    assert all(j.settings["n_iters"] == 30 for j in jobs.values() if j.settings["model"] == "lnn")
    off = copy.deepcopy(BASE)
    off["experiments"]["table2"]["sweep"]["enabled"] = False
    assert len(movielens_jobs(off)) == 2 * 2 * 2 * 2  # models × rows × splits × seeds: the paper's best only


@pytest.mark.parametrize(
    ("sweep", "match"),
    [
        ({"val_frac": 0.0}, r"'experiments.table2.sweep.val_frac'.*\(0, 1\)"),
        (
            {"lnn": {"lam": [0.1], "dim": [3]}},
            r"'experiments.table2.sweep.lnn.dim': not a lnn hyper-parameter",
        ),
        (
            {"embedding": {"lam": 0.1}},
            r"'experiments.table2.sweep.embedding.lam': 0.1 is not of type 'array'",
        ),
        (
            {"embedding": {"lam": [0.1], "penalize": ["users"]}},
            r"penalize.*'users' is not one of user, item, both",
        ),
        ({"lnn": {"lam": [-1.0]}}, r"λ must be a number >= 0"),
        (
            {"embedding": {"lam": [0.1], "lam_user": [0.1]}},
            r"either lam \(with penalize\) or lam_user / lam_item",
        ),
        (
            {"embedding": {"penalize": ["item"]}},
            r"'experiments.table2.sweep.embedding.penalize': needs a 'lam' list",
        ),
    ],
)
def test_bad_sweep_config_names_the_key(sweep: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        _checked(_config(**sweep))


def test_checkpoint_setting_reaches_every_job_and_is_checked() -> None:
    off = copy.deepcopy(BASE)
    exp = off["experiments"]["table2"]
    exp["sweep"]["enabled"] = False
    exp.update(checkpoint="test")
    assert {j.settings["checkpoint"] for j in movielens_jobs(_checked(off)).values()} == {"test"}
    exp.update(checkpoint="validation", val_frac=0.0)
    with pytest.raises(ConfigError, match=r"'experiments.table2.checkpoint': 'validation' needs .*val_frac"):
        _checked(off)
    exp.update(checkpoint="best", val_frac=0.1)
    with pytest.raises(ConfigError, match=r"'experiments.table2.checkpoint': 'best' is not one of"):
        _checked(off)


def _result(model: str, row: str, frac: float, seed: int, lam: float, val: float, test: float) -> dict:
    """A result whose every checkpoint has the given validation and test RMSE, except ``last`` (worse on both)."""
    cfg = {"model": model, "row": row, "train_frac": frac, "seed": seed, "lam": lam, "val_frac": 0.1}
    ckpt = {"point": 5, "unit": "epoch", "val_rmse": val, "test_rmse": test, "train_rmse": 0.5}
    checkpoints = {r: dict(ckpt) for r in ("train", "validation", "test")}
    checkpoints["last"] = {**ckpt, "point": 9, "val_rmse": val + 0.5, "test_rmse": test + 0.5}
    return {"model": model, "row": row, "train_frac": frac, "config": cfg, "checkpoints": checkpoints,
            "checkpoint": "validation", "n_train": 900, "n_val": 100}  # fmt: skip


RESULTS = [
    # λ = 1: best validation, worse test; λ = 2: best test, worse validation; λ = 3 diverged
    _result("lnn", "Adam+penalty", 0.9, 0, 1.0, 0.90, 1.20),
    _result("lnn", "Adam+penalty", 0.9, 1, 1.0, 0.92, 1.10),
    _result("lnn", "Adam+penalty", 0.9, 0, 2.0, 0.95, 0.80),
    _result("lnn", "Adam+penalty", 0.9, 1, 2.0, 0.95, 0.82),
    _result("lnn", "Adam+penalty", 0.9, 0, 3.0, math.nan, math.nan),
    _result("lnn", "Adam+penalty", 0.9, 1, 3.0, math.nan, math.nan),
    _result("lnn", "Adam", 0.9, 0, 0.0, 1.5, 1.6),  # a row with one point: selected as is
]


def _lams(chosen: list[dict]) -> list[tuple[float, int]]:
    return sorted((r["config"]["lam"], r["config"]["seed"]) for r in chosen if r["row"] == "Adam+penalty")


def test_selection_uses_validation_never_test() -> None:
    chosen, grid = select_by_checkpoint(RESULTS, "validation")
    for ckpt in ("last", "train", "validation"):
        assert _lams(chosen[ckpt]) == [(1.0, 0), (1.0, 1)], ckpt
    assert len(grid) == 4 and grid.selected.sum() == 2
    sel = grid[grid.selected & (grid.row == "Adam+penalty")]
    assert sel.val_rmse_mean.item() == pytest.approx(0.91)
    assert sel.test_rmse_mean.item() == pytest.approx(1.15)
    assert sel.test_rmse_mean_last.item() == pytest.approx(1.65) and sel.checkpoint.item() == "validation"
    assert '"lam": 1.0' in sel.settings.item()
    no_val = [dict(r, checkpoints={**r["checkpoints"], "validation": None}) for r in RESULTS[:4]]
    with pytest.raises(ValueError, match="val_frac > 0"):
        select_by_checkpoint(no_val, "validation")


def test_the_test_reading_selects_on_test_and_says_so() -> None:
    """The sweep's selection follows the checkpoint: only the `test` column picks its grid point on the test RMSE."""
    chosen, grid = select_by_checkpoint(RESULTS, "test")
    assert _lams(chosen["test"]) == [(2.0, 0), (2.0, 1)]
    assert _lams(chosen["validation"]) == [(1.0, 0), (1.0, 1)]
    sel = grid[grid.selected & (grid.row == "Adam+penalty")]
    assert (
        '"lam": 2.0' in sel.settings.item()
        and sel.selected_test.item()
        and not sel.selected_validation.item()
    )
    df = table2(chosen, splits=[0.9], checkpoint="test")
    cell = df[(df.model == "Depth 1 LNN") & (df.method == "w. Adam+penalty")].iloc[0]
    assert cell.rmse_mean == pytest.approx(0.81) and cell.rmse_mean_validation == pytest.approx(1.15)
    assert cell.checkpoint_note == "checkpoint chosen on the test set, as appendix A.1 reads; optimistic"


def test_sweep_end_to_end_on_synthetic_data(tmp_path: Path) -> None:
    """Grid jobs on ml-100k-format data -> Table 2 reports each row's validation-best point."""
    ml = make_synthetic_ml100k(tmp_path / "ml-100k", 40, 60, seed=1)
    cfg = {**copy.deepcopy(BASE), "movielens_dir": str(ml)}
    exp = cfg["experiments"]["table2"]
    exp.update(models=["lnn"], rows=["Adam+penalty"], splits=[0.9], seeds=[0])
    exp["sweep"]["lnn"] = {"lam": [1e-3, 100.0]}
    jobs = movielens_jobs(cfg)
    assert len(jobs) == 2
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for path, run in jobs.items():
            run_movielens_job(run.params(), str(ml / "u.data"), str(tmp_path / path), device="cpu")
    finally:
        torch.set_num_threads(n)
    out = tmp_path / "tables"
    df = write_table2(
        [str(tmp_path / p) for p in jobs], [0.9], str(out / "t.csv"), str(out / "t.md"), str(out / "t.tex"),
        str(out / "sweep.csv"),
    )  # fmt: skip
    grid = pd.read_csv(out / "sweep.csv")
    assert len(grid) == 2 and grid.selected.sum() == 1
    best = grid.loc[grid.val_rmse_mean.idxmin()]
    assert bool(best.selected) and str(tmp_path) in best.results_of
    row = df[(df.source == "run") & (df.model == "Depth 1 LNN") & (df.method == "w. Adam+penalty")]
    assert row.rmse_mean.item() == pytest.approx(best.test_rmse_mean)
    # every checkpoint is a column, each from the grid point it selects, with the step it came from
    for ckpt in ("last", "train", "validation", "test"):
        chosen = grid.loc[grid[f"selected_{ckpt}"]].iloc[0]
        assert row[f"rmse_mean_{ckpt}"].item() == pytest.approx(chosen[f"test_rmse_mean_{ckpt}"])
        assert row[f"at_{ckpt}"].item().startswith("step ")
    md = (out / "t.md").read_text()
    assert "test (optimistic)" in md and "each column reports the grid point its own checkpoint selects" in md


def test_other_data_is_another_result(tmp_path: Path) -> None:
    """Issue 27.5: with movielens_verify false a different u.data (whatever its mtime) gave the old result or
    overwrote it in place; its digest is now in every job's settings and name, and a job refuses a file that
    changed after planning."""
    ml = make_synthetic_ml100k(tmp_path / "ml-100k", 40, 60, seed=1)
    cfg = {**copy.deepcopy(BASE), "movielens_dir": str(ml)}
    cfg["experiments"]["table2"].update(models=["lnn"], rows=["Adam"], splits=[0.9], seeds=[0])
    before = movielens_jobs(cfg)
    path, job = next(iter(before.items()))
    assert job.settings["data_sha256"] == file_digest(ml / "u.data", "sha256")
    make_synthetic_ml100k(tmp_path / "ml-100k", 40, 60, seed=2)  # other ratings, same place
    after = movielens_jobs(cfg)
    assert set(after).isdisjoint(before)
    with pytest.raises(ValueError, match="changed after Snakemake planned the job"):
        run_movielens_job(job.params(), str(ml / "u.data"), str(tmp_path / path), device="cpu")
    assert not (tmp_path / path).exists()
    official = movielens_jobs({**cfg, "movielens_verify": True})
    assert next(iter(official.values())).settings["data_sha256"] == UDATA_SHA256
