"""MovieLens100K pipeline on small synthetic data in the ml-100k format (no network)."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from matcomp.movielens.data import (
    ML100K_MD5,
    MovieLensDataError,
    download_ml100k,
    interaction_shape,
    load_ratings,
    make_synthetic_ml100k,
    ratings_matrix,
    split_ratings,
    verify_ml100k,
)
from matcomp.movielens.train import PAPER_BEST, train_cell, train_embedding, train_lnn
from matcomp.report.table2 import table2

N_USERS, N_ITEMS = 60, 90


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny matrices: one thread avoids thread-pool overhead on a shared 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def ml_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_synthetic_ml100k(tmp_path_factory.mktemp("synth") / "ml-100k", N_USERS, N_ITEMS, seed=0)


@pytest.fixture(scope="module")
def data(ml_dir: Path) -> tuple[np.ndarray, ...]:
    users, items, ratings = load_ratings(ml_dir)
    train, _, test = split_ratings(len(ratings), 0.8, seed=0)
    return users, items, ratings, train, test


# --- loader and splits -------------------------------------------------------------------------------


def test_loader_parses_ml100k_format(ml_dir: Path) -> None:
    users, items, ratings = load_ratings(ml_dir)
    lines = (ml_dir / "u.data").read_text().splitlines()
    assert len(ratings) == len(lines) == N_USERS * N_ITEMS // 2
    u0, i0, r0, _ = (int(x) for x in lines[0].split("\t"))
    assert (users[0], items[0], ratings[0]) == (u0, i0, r0)
    assert users.dtype == items.dtype == ratings.dtype == np.int64
    assert set(np.unique(ratings)) <= {1, 2, 3, 4, 5}
    assert users.min() == 1 and items.min() == 1
    assert interaction_shape(users, items) == (N_USERS + 1, N_ITEMS + 1)
    m = ratings_matrix(users, items, ratings)
    assert m.shape == (N_USERS + 1, N_ITEMS + 1)
    assert not m[0].any() and not m[:, 0].any()
    assert np.count_nonzero(m) == len(ratings)  # no duplicate cells


def test_loader_rejects_missing_and_malformed(tmp_path: Path) -> None:
    with pytest.raises(MovieLensDataError, match="movielens_dir"):
        load_ratings(tmp_path)
    (tmp_path / "u.data").write_text("1\tx\t3\t0\n")
    with pytest.raises(MovieLensDataError, match="parse"):
        load_ratings(tmp_path)


@pytest.mark.parametrize("train_frac, val_frac", [(0.9, 0.0), (0.8, 0.0), (0.8, 0.1)])
def test_splits_disjoint_covering_reproducible(train_frac: float, val_frac: float) -> None:
    n = 2700
    train, val, test = split_ratings(n, train_frac, seed=3, val_frac=val_frac)
    together = np.concatenate([train, val, test])
    assert len(together) == n and np.array_equal(np.sort(together), np.arange(n))
    assert len(test) == n - round(train_frac * n)
    assert len(val) == round(val_frac * round(train_frac * n))
    again = split_ratings(n, train_frac, seed=3, val_frac=val_frac)
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again, strict=True))
    other = split_ratings(n, train_frac, seed=4, val_frac=val_frac)
    assert not np.array_equal(test, other[2])
    # validation is carved from the training split: the test set does not depend on val_frac
    assert np.array_equal(test, split_ratings(n, train_frac, seed=3)[2])


def test_synthetic_is_reproducible(tmp_path: Path, ml_dir: Path) -> None:
    again = make_synthetic_ml100k(tmp_path / "again", N_USERS, N_ITEMS, seed=0)
    assert (again / "u.data").read_bytes() == (ml_dir / "u.data").read_bytes()


# --- models ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lnn_runs(data: tuple[np.ndarray, ...]) -> dict[float, dict]:
    """The paper's λ = 1.5 on the default sum data term; a larger lr and a mean-started bias for speed."""
    users, items, ratings, train, test = data
    return {
        lam: train_lnn(
            users, items, ratings, train, test, lr=1e-2, lam=lam, n_iters=800, bias_init="mean", device="cpu"
        )
        for lam in (0.0, 1.5)
    }


@pytest.fixture(scope="module")
def emb_runs(data: tuple[np.ndarray, ...]) -> dict[float, dict]:
    users, items, ratings, train, test = data
    return {
        lam: train_embedding(
            users, items, ratings, train, test, lr=1e-2, batch_size=64, dim=8, lam_user=lam, n_epochs=20
        )
        for lam in (0.0, 0.1)
    }


def test_lnn_with_penalty_beats_global_mean(lnn_runs: dict[float, dict]) -> None:
    res = lnn_runs[1.5]
    assert res["test_rmse"] < 0.9 * res["global_mean_test_rmse"]
    assert res["iterations"] == 800 and not res["diverged"]
    assert res["settings"]["shape"] == [N_USERS + 1, N_ITEMS + 1]
    json.dumps(res)  # the result is JSON-ready
    assert res["provenance"]["device"] == "cpu"


def test_lnn_penalty_lowers_effective_rank(lnn_runs: dict[float, dict]) -> None:
    assert lnn_runs[1.5]["effective_rank"] < 0.7 * lnn_runs[0.0]["effective_rank"]
    assert lnn_runs[1.5]["test_rmse"] < lnn_runs[0.0]["test_rmse"]


def test_lnn_divergence_is_reported(data: tuple[np.ndarray, ...]) -> None:
    users, items, ratings, train, test = data
    res = train_lnn(
        users, items, ratings, train, test, optimizer="gd", lr=1.0, lam=0.0, n_iters=50, eval_every=10
    )
    assert res["diverged"] and res["iterations"] < 50
    assert not np.isfinite(res["test_rmse"]) and np.isnan(res["effective_rank"])
    res = {**res, "row": "GD", "train_frac": 0.8}
    cell = table2([res]).query("split == '80%' and model == 'Depth 1 LNN' and method == 'w. GD'")
    assert cell.rmse.item() == "diverged"


def test_embedding_beats_global_mean(emb_runs: dict[float, dict]) -> None:
    for res in emb_runs.values():
        assert res["test_rmse"] < 0.8 * res["global_mean_test_rmse"]
        assert 1 <= res["best_epoch"] <= res["epochs"] <= 20
    json.dumps(emb_runs[0.1])


def test_embedding_penalty_lowers_effective_rank(emb_runs: dict[float, dict]) -> None:
    assert emb_runs[0.1]["effective_rank_user"] < 0.75 * emb_runs[0.0]["effective_rank_user"]
    assert emb_runs[0.1]["effective_rank"] < emb_runs[0.0]["effective_rank"]


def test_training_is_reproducible_by_seed(data: tuple[np.ndarray, ...]) -> None:
    users, items, ratings, train, test = data
    kw = dict(lr=1e-2, batch_size=128, dim=4, lam_user=0.01, n_epochs=2, seed=5, device="cpu")
    a = train_embedding(users, items, ratings, train, test, **kw)
    b = train_embedding(users, items, ratings, train, test, **kw)
    assert a["test_rmse"] == b["test_rmse"] and a["history"] == b["history"]


def test_embedding_keeps_best_validation_checkpoint(data: tuple[np.ndarray, ...]) -> None:
    users, items, ratings, _, _ = data
    train, val, test = split_ratings(len(ratings), 0.8, seed=1, val_frac=0.1)
    kw = dict(lr=1e-2, batch_size=64, dim=8, lam_user=0.0, n_epochs=8, checkpoint="validation")
    res = train_embedding(users, items, ratings, train, test, val, **kw)
    best = min(h["val_rmse"] for h in res["history"])
    assert res["val_rmse"] == pytest.approx(best, abs=1e-6)
    assert res["history"][res["best_epoch"] - 1]["val_rmse"] == best
    assert res["checkpoint"] == res["settings"]["checkpoint"] == "validation"
    with pytest.raises(ValueError, match="val_frac > 0"):
        train_embedding(users, items, ratings, train, test, None, **kw)  # no validation part


# --- checkpoints -----------------------------------------------------------------------------

# small, unpenalised, fast: the embedding overfits after ~8 epochs, so the checkpoints pick different epochs
OVERFIT = dict(lr=3e-2, batch_size=64, dim=16, lam_user=0.0, n_epochs=12, device="cpu")
CURVES = {"train": "train_mse", "validation": "val_rmse", "test": "test_rmse"}


@pytest.fixture(scope="module")
def split3(data: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    users, items, ratings, _, _ = data
    return (users, items, ratings, *split_ratings(len(ratings), 0.8, seed=1, val_frac=0.2))


def _embedding(split3: tuple[np.ndarray, ...], ratings: np.ndarray | None = None, **kw: object) -> dict:
    users, items, r, train, val, test = split3
    return train_embedding(
        users, items, r if ratings is None else ratings, train, test, val, **{**OVERFIT, **kw}
    )


@pytest.fixture(scope="module")
def by_checkpoint(split3: tuple[np.ndarray, ...]) -> dict[str, dict]:
    return {c: _embedding(split3, checkpoint=c) for c in ("last", "train", "validation", "test")}


def test_each_reading_is_the_argmin_of_its_curve(by_checkpoint: dict[str, dict]) -> None:
    res = by_checkpoint["last"]
    hist = res["history"]
    assert set(res["checkpoints"]) == {"last", "train", "validation", "test"}
    assert res["checkpoints"]["last"]["point"] == hist[-1]["epoch"] == res["epochs"]
    for ckpt, curve in CURVES.items():
        values = [h[curve] for h in hist]
        got = res["checkpoints"][ckpt]
        assert got["point"] == hist[int(np.argmin(values))]["epoch"], ckpt
        assert got["test_rmse"] == hist[got["point"] - 1]["test_rmse"] and got["curve"] == curve
    assert res["checkpoints"]["test"]["test_rmse"] == min(h["test_rmse"] for h in hist)
    assert len({r["point"] for r in res["checkpoints"].values()}) >= 3  # the checkpoints do differ here
    assert (
        "optimistic" in res["checkpoints"]["test"]["note"]
        and "test set" in res["checkpoints"]["test"]["note"]
    )


def test_one_run_yields_every_reading_and_the_headline_keeps_its_parameters(
    by_checkpoint: dict[str, dict],
) -> None:
    """The checkpoint setting changes only which parameters are kept (headline RMSE, effective rank), never the
    checkpoints: they all come from the one run's curves."""
    checkpoints = by_checkpoint["last"]["checkpoints"]
    for checkpoint, res in by_checkpoint.items():
        assert res["checkpoints"] == checkpoints and res["history"] == by_checkpoint["last"]["history"]
        chosen = checkpoints[checkpoint]
        assert res["best_epoch"] == chosen["point"]
        assert res["test_rmse"] == pytest.approx(chosen["test_rmse"], abs=1e-6)  # the kept parameters
        assert res["val_rmse"] == pytest.approx(chosen["val_rmse"], abs=1e-6)
    assert by_checkpoint["validation"]["effective_rank"] != by_checkpoint["last"]["effective_rank"]


def test_validation_reading_never_reads_the_test_split(
    split3: tuple[np.ndarray, ...], by_checkpoint: dict[str, dict]
) -> None:
    users, items, ratings, train, val, test = split3
    poisoned = ratings.astype(float).copy()
    poisoned[test] = np.random.default_rng(0).uniform(-50, 50, len(test))  # nonsense test ratings
    res = _embedding(split3, poisoned, checkpoint="validation")
    clean = by_checkpoint["validation"]
    for ckpt in ("last", "train", "validation"):
        assert res["checkpoints"][ckpt]["point"] == clean["checkpoints"][ckpt]["point"], ckpt
        assert res["checkpoints"][ckpt]["val_rmse"] == clean["checkpoints"][ckpt]["val_rmse"]
    assert res["best_epoch"] == clean["best_epoch"] and res["effective_rank"] == clean["effective_rank"]
    assert res["checkpoints"]["test"]["test_rmse"] > 10  # the test curve did see the poison


def test_lnn_readings_at_its_evaluation_points(data: tuple[np.ndarray, ...]) -> None:
    users, items, ratings, _, _ = data
    train, val, test = split_ratings(len(ratings), 0.8, seed=1, val_frac=0.2)
    kw = dict(lr=1e-2, lam=0.0, n_iters=130, eval_every=20, bias_init="mean", device="cpu")
    res = train_lnn(users, items, ratings, train, test, val, checkpoint="validation", **kw)
    hist = res["history"]
    assert [h["iteration"] for h in hist] == [20, 40, 60, 80, 100, 120, 130]
    assert res["settings"]["eval_every"] == 20 and res["checkpoints"]["last"]["point"] == 130
    for ckpt, curve in {"train": "train_rmse", "validation": "val_rmse", "test": "test_rmse"}.items():
        assert (
            res["checkpoints"][ckpt]["point"] == hist[int(np.argmin([h[curve] for h in hist]))]["iteration"]
        )
        assert res["checkpoints"][ckpt]["unit"] == "step"
    assert res["best_iteration"] == res["checkpoints"]["validation"]["point"]
    assert res["test_rmse"] == pytest.approx(res["checkpoints"]["validation"]["test_rmse"], abs=1e-6)
    poisoned = ratings.astype(float).copy()
    poisoned[test] = 99.0
    again = train_lnn(users, items, poisoned, train, test, val, checkpoint="validation", **kw)
    assert again["best_iteration"] == res["best_iteration"]
    no_val = train_lnn(users, items, ratings, train, test, **kw)
    assert no_val["checkpoints"]["validation"] is None and no_val["checkpoint"] == "last"


# --- Table 2 -----------------------------------------------------------------------------------------


def test_train_cell_and_table(ml_dir: Path) -> None:
    results = []
    for model, extra in (
        ("lnn", {"n_iters": 20, "eval_every": 10}),
        ("embedding", {"n_epochs": 1, "dim": 4}),
    ):
        for row in ("Adam", "Adam+penalty"):
            for seed in (0, 1):
                cfg = {"movielens_dir": ml_dir, "model": model, "row": row, "train_frac": 0.9, "seed": seed}
                res = train_cell({**cfg, "check_sha": False, "device": "cpu", **extra})
                assert res["row"] == row and res["split"] == "90%" and res["optimizer"] == "adam"
                assert res["penalized"] == (row == "Adam+penalty")
                results.append(res)
    gd = train_cell({"movielens_dir": ml_dir, "row": "GD", "check_sha": False, "n_iters": 5, "eval_every": 5})
    assert gd["settings"]["reduction"] == "mean" and gd["settings"]["lam"] == 0.0  # ROW_DEFAULTS
    assert results[-1]["settings"]["lam_user"] == 0.01 and results[0]["settings"]["reduction"] == "sum"
    with pytest.raises(MovieLensDataError, match="sha256"):
        train_cell({"movielens_dir": ml_dir})  # the synthetic file is not the official u.data
    with pytest.raises(ValueError, match="unknown keys"):
        train_cell({"movielens_dir": ml_dir, "model": "lnn", "dim": 3})

    df = table2(results)
    ours, quoted = df[df.source == "run"], df[df.source == "quoted"]
    assert len(ours) == 16 and len(quoted) == 16  # 2 splits × 8 rows; 9 + 7 literature rows
    assert set(ours.split) == {"90%", "80%"}
    cell = ours[(ours.split == "90%") & (ours.model == "Depth 1 LNN") & (ours.method == "w. Adam+penalty")]
    vals = [r["test_rmse"] for r in results if r["model"] == "lnn" and r["row"] == "Adam+penalty"]
    assert cell.rmse_mean.item() == pytest.approx(np.mean(vals))
    assert cell.rmse_sd.item() == pytest.approx(np.std(vals, ddof=1))
    assert cell.n_seeds.item() == 2 and cell.paper_rmse.item() == 0.915
    not_run = ours[(ours.split == "80%")]
    assert (not_run.n_seeds == 0).all() and (not_run.rmse == "not run").all()
    assert quoted[quoted.model == "GC-MC"].paper_rmse.item() == 0.910
    assert (quoted.rmse == "quoted").all()
    # val_frac 0: the headline is the last iterate, there is no validation checkpoint, every run trains on it all
    assert cell.checkpoint.item() == "last" and cell.rmse_last.item() == cell.rmse.item()
    assert cell.rmse_validation.item() == "n/a (no validation part)" and cell.n_val.item() == 0


def test_train_cell_trains_once_for_every_reading(ml_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import matcomp.movielens.train as train_mod

    calls: list[dict] = []
    real = train_mod.train_embedding

    def counting(*args: object, **kwargs: object) -> dict:
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(train_mod, "train_embedding", counting)
    cfg = {"movielens_dir": ml_dir, "model": "embedding", "row": "Adam", "check_sha": False, "device": "cpu"}
    res = train_cell({**cfg, "val_frac": 0.1, "checkpoint": "test", "n_epochs": 3, "dim": 4})
    assert len(calls) == 1 and calls[0]["checkpoint"] == "test"
    assert set(res["checkpoints"]) == {"last", "train", "validation", "test"}
    assert all(res["checkpoints"][r]["point"] is not None for r in res["checkpoints"])
    assert (
        res["checkpoint"] == res["config"]["checkpoint"] == "test" and "optimistic" in res["checkpoint_note"]
    )
    assert res["n_val"] > 0 and res["n_train"] + res["n_val"] == round(0.9 * len(load_ratings(ml_dir)[2]))
    with pytest.raises(ValueError, match="val_frac > 0"):
        train_cell({**cfg, "checkpoint": "validation", "n_epochs": 1})
    with pytest.raises(ValueError, match="checkpoint must be one of"):
        train_cell({**cfg, "val_frac": 0.1, "checkpoint": "best", "n_epochs": 1})


def _reading_result(model: str, row: str, seed: int, tests: dict[str, float], point: dict[str, int]) -> dict:
    unit = "step" if model == "lnn" else "epoch"
    checkpoints = {
        r: {"point": point[r], "unit": unit, "test_rmse": v, "val_rmse": v + 0.01, "train_rmse": 0.5}
        for r, v in tests.items()
    }
    return {"model": model, "row": row, "train_frac": 0.9, "seed": seed, "checkpoint": "validation",
            "checkpoints": checkpoints, "n_train": 81000, "n_val": 9000}  # fmt: skip


# the measurements on the real data (one seed), as result dicts
MEASURED = [
    _reading_result("embedding", "Adam", 0, {"last": 1.268, "train": 1.268, "validation": 0.93, "test": 0.914},
                    {"last": 100, "train": 100, "validation": 21, "test": 20}),
    _reading_result("embedding", "Adam+penalty", 0, {"last": 1.215, "train": 1.215, "validation": 0.922, "test": 0.916},
                    {"last": 100, "train": 100, "validation": 22, "test": 20}),
    _reading_result("lnn", "Adam", 0, {"last": 1.774, "train": 1.774, "validation": 1.775, "test": 1.774},
                    {"last": 20000, "train": 20000, "validation": 12000, "test": 11000}),
    _reading_result("lnn", "Adam+penalty", 0, {"last": 0.964, "train": 0.964, "validation": 0.957, "test": 0.954},
                    {"last": 20000, "train": 20000, "validation": 11500, "test": 11000}),
]  # fmt: skip


def test_table_has_the_readings_as_columns() -> None:
    from matcomp.report.table2 import _md, _tex

    df = table2(MEASURED, splits=[0.9])
    cell = df[(df.model == "User-Item Embedding") & (df.method == "w. Adam+penalty")].iloc[0]
    assert cell.checkpoint == "validation" and cell.rmse == "0.922" and cell.rmse_test == "0.916"
    assert (cell.rmse_last, cell.at_last, cell.at_test) == ("1.215", "epoch 100", "epoch 20")
    assert df.columns.tolist().index("paper_rmse") < df.columns.tolist().index("rmse_last")
    md = _md(df.assign(experiment="table2"))
    assert (
        "| Model | Uses side info | RMSE (paper) | last | train | validation | test (optimistic) | source |"
        in md
    )
    assert "| User-Item Embedding w. Adam+penalty | No | 0.906 | 1.215 (epoch 100) |" in md
    assert "checkpoint chosen on the test set, as appendix A.1 reads; optimistic" in md
    assert "81000 ratings" in md and "9000 held out" in md
    assert "as appendix A.1 reads; optimistic" in _tex(df)
    two = [MEASURED[0], {**MEASURED[0], "seed": 1, "checkpoints": {**MEASURED[0]["checkpoints"], "test": {
        **MEASURED[0]["checkpoints"]["test"], "point": 24, "test_rmse": 0.916}}}]  # fmt: skip
    cell = table2(two, splits=[0.9]).query("model == 'User-Item Embedding' and method == 'w. Adam'").iloc[0]
    assert cell.rmse_test == "0.915 ± 0.001" and cell.at_test == "epochs 20–24" and cell.n_seeds == 2


def test_claims_are_judged_under_each_reading() -> None:
    import yaml

    from matcomp.report.claims import DEFAULT_CLAIMS, evaluate

    claims = [c for c in yaml.safe_load(DEFAULT_CLAIMS.read_text())["claims"] if c["id"].startswith("T2-")]
    df = table2(MEASURED, splits=[0.9]).assign(experiment="table2")
    res = evaluate(claims, df).set_index("id")
    for ckpt in ("last", "train", "validation", "test"):
        assert f"T2-embedding-adam-penalty [{ckpt}]" in res.index
    assert res.loc["T2-embedding-adam-penalty [last]", "verdict"] == "not held"  # 1.215
    assert res.loc["T2-embedding-adam-penalty [validation]", "verdict"] == "held"  # 0.922
    assert res.loc["T2-lnn-adam-penalty [test]", "verdict"] == "not held"  # 0.954 > 0.95
    assert "optimistic" in res.loc["T2-lnn-adam-penalty [test]", "criterion"]
    # "can improve" sets no size: the embedding's 1.27 vs 1.22 (last) improves by 4 % (> 2 %), though far from the
    # paper's 1.4-2x; read at the test checkpoint the penalty does not improve at all
    assert res.loc["T2-penalty-improves-adam [last]", "verdict"] == "held"
    assert "1.27/1.22 = 1.04" in res.loc["T2-penalty-improves-adam [last]", "ours"]
    assert res.loc["T2-penalty-improves-adam [test]", "verdict"] == "not held"  # 0.914 vs 0.916
    assert res.loc["T2-penalty-improves-gd [last]", "verdict"] == "inconclusive"  # no GD rows measured
    names = res.loc["T2-paper-values-checkpoint", "ours"]
    assert (
        "w. Adam: paper 1.282, reached at the last epoch / step (where training ended) and with the checkpoint of the "
        "lowest training error" in names
    )
    # 0.916 (test) is closer to 0.906 than 0.922 (validation): both within 0.02, the closest named first
    assert (
        "paper 0.906, reached with the checkpoint chosen on the test set, as appendix A.1 reads; optimistic and "
        "with the checkpoint chosen on the validation part" in names
    )
    assert "Depth 1 LNN/w. Adam: paper 1.844, reached under no checkpoint" in names
    assert res.loc["T2-paper-values-checkpoint", "verdict"] == "not held"


# --- download and verification (file:// URLs and a patched urlopen only) --------------------------------


def _zip_of(ml_dir: Path, dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w") as zf:
        zf.write(ml_dir / "u.data", "ml-100k/u.data")
        zf.writestr("ml-100k/README", "synthetic")
    return dest


def _assert_one_line_naming_key(err: pytest.ExceptionInfo[MovieLensDataError]) -> None:
    msg = str(err.value)
    assert "movielens_dir" in msg and "\n" not in msg


def test_wrong_zip_checksum_fails_and_leaves_nothing(tmp_path: Path, ml_dir: Path) -> None:
    url = _zip_of(ml_dir, tmp_path / "ml-100k.zip").as_uri()
    dest = tmp_path / "data" / "ml-100k"
    with pytest.raises(MovieLensDataError, match="checksum mismatch") as err:
        download_ml100k(dest, url=url)  # the official md5 cannot match our zip
    _assert_one_line_naming_key(err)
    assert ML100K_MD5 in str(err.value)
    assert not (tmp_path / "data").exists()
    # with an existing parent folder, the parent stays and stays empty
    (tmp_path / "data").mkdir()
    with pytest.raises(MovieLensDataError, match="checksum mismatch"):
        download_ml100k(dest, url=url, md5="0" * 32)
    assert list((tmp_path / "data").iterdir()) == []


def test_wrong_udata_checksum_fails_and_leaves_nothing(tmp_path: Path, ml_dir: Path) -> None:
    zip_path = _zip_of(ml_dir, tmp_path / "ml-100k.zip")
    md5 = hashlib.md5(zip_path.read_bytes()).hexdigest()
    (tmp_path / "data").mkdir()
    with pytest.raises(MovieLensDataError, match="u.data") as err:
        download_ml100k(tmp_path / "data" / "ml-100k", url=zip_path.as_uri(), md5=md5)
    _assert_one_line_naming_key(err)
    assert list((tmp_path / "data").iterdir()) == []


def test_download_with_matching_checksums_installs_folder(tmp_path: Path, ml_dir: Path) -> None:
    zip_path = _zip_of(ml_dir, tmp_path / "ml-100k.zip")
    md5 = hashlib.md5(zip_path.read_bytes()).hexdigest()
    sha = hashlib.sha256((ml_dir / "u.data").read_bytes()).hexdigest()
    dest = tmp_path / "data" / "ml-100k"
    assert download_ml100k(dest, url=zip_path.as_uri(), md5=md5, sha256=sha) == dest
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["ml-100k"]
    assert (dest / "u.data").read_bytes() == (ml_dir / "u.data").read_bytes()
    assert verify_ml100k(dest, sha256=sha) == dest / "u.data"
    # a second call finds the verified folder and does not download
    assert download_ml100k(dest, url="file:///nonexistent/ml-100k.zip", md5=md5, sha256=sha) == dest


def test_offline_error_names_movielens_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(MovieLensDataError, match="could not download") as err:
        download_ml100k(tmp_path / "data" / "ml-100k")
    _assert_one_line_naming_key(err)
    assert not (tmp_path / "data").exists()


def test_missing_local_file_url_names_movielens_dir(tmp_path: Path) -> None:
    with pytest.raises(MovieLensDataError, match="could not download") as err:
        download_ml100k(tmp_path / "ml-100k", url=(tmp_path / "absent.zip").as_uri())
    _assert_one_line_naming_key(err)
    assert list(tmp_path.iterdir()) == []


def test_verify_names_movielens_dir(tmp_path: Path, ml_dir: Path) -> None:
    with pytest.raises(MovieLensDataError) as err:
        verify_ml100k(tmp_path)
    _assert_one_line_naming_key(err)
    with pytest.raises(MovieLensDataError, match="sha256") as err:
        verify_ml100k(ml_dir)
    _assert_one_line_naming_key(err)
    assert verify_ml100k(ml_dir, check_sha=False) == ml_dir / "u.data"


def test_lnn_init_reading_is_recorded_and_changes_the_numbers(data: tuple[np.ndarray, ...]) -> None:
    """The LNN keeps the literal std 1e-3 (A.1's init sentence is about the synthetic experiments); [7]'s
    end-to-end rule is a named reading that moves the penalised LNN's RMSE (issue 24: say which)."""
    users, items, ratings, train, test = data
    runs = {init: train_lnn(users, items, ratings, train, test, lr=1e-2, lam=1.5, n_iters=300, bias_init="mean",
                            device="cpu", init=init) for init in ("layer", "end_to_end")}  # fmt: skip
    assert PAPER_BEST["lnn"]["init"] == "layer" and runs["layer"]["settings"]["init"] == "layer"
    assert runs["end_to_end"]["settings"]["init"] == "end_to_end"
    assert abs(runs["layer"]["test_rmse"] - runs["end_to_end"]["test_rmse"]) > 0.01
