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

from matcomp.movielens import (
    ML100K_MD5,
    MovieLensDataError,
    download_ml100k,
    interaction_shape,
    load_ratings,
    make_synthetic_ml100k,
    ratings_matrix,
    run_table2_row,
    split_ratings,
    table2,
    train_embedding,
    train_lnn,
    verify_ml100k,
)

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
    res = train_embedding(
        users, items, ratings, train, test, val, lr=1e-2, batch_size=64, dim=8, lam_user=0.0, n_epochs=8
    )
    best = min(h["val_rmse"] for h in res["history"])
    assert res["val_rmse"] == pytest.approx(best, abs=1e-6)
    assert res["history"][res["best_epoch"] - 1]["val_rmse"] == best
    assert res["settings"]["checkpoint"] == "best validation RMSE"


# --- Table 2 -----------------------------------------------------------------------------------------


def test_run_table2_row_and_table(ml_dir: Path) -> None:
    results = []
    for model, extra in (
        ("lnn", {"n_iters": 20, "eval_every": 10}),
        ("embedding", {"n_epochs": 1, "dim": 4}),
    ):
        for row in ("Adam", "Adam+penalty"):
            for seed in (0, 1):
                cfg = {"movielens_dir": ml_dir, "model": model, "row": row, "train_frac": 0.9, "seed": seed}
                res = run_table2_row({**cfg, "check_sha": False, "device": "cpu", **extra})
                assert res["row"] == row and res["split"] == "90%" and res["optimizer"] == "adam"
                assert res["penalized"] == (row == "Adam+penalty")
                results.append(res)
    gd = run_table2_row(
        {"movielens_dir": ml_dir, "row": "GD", "check_sha": False, "n_iters": 5, "eval_every": 5}
    )
    assert gd["settings"]["reduction"] == "mean" and gd["settings"]["lam"] == 0.0  # ROW_DEFAULTS
    assert results[-1]["settings"]["lam_user"] == 0.01 and results[0]["settings"]["reduction"] == "sum"
    with pytest.raises(MovieLensDataError, match="sha256"):
        run_table2_row({"movielens_dir": ml_dir})  # the synthetic file is not the official u.data
    with pytest.raises(ValueError, match="unknown keys"):
        run_table2_row({"movielens_dir": ml_dir, "model": "lnn", "dim": 3})

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
