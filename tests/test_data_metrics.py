"""Ground truth, sampling and metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from matcomp.data import ProblemError, load_problem, make_problem
from matcomp.training.metrics import effective_rank, effective_rank_t, test_error


def test_problem_is_a_function_of_its_settings() -> None:
    a, b = make_problem(40, 30, 3, 500, seed=1), make_problem(40, 30, 3, 500, seed=1)
    np.testing.assert_array_equal(a.w_star, b.w_star)
    np.testing.assert_array_equal(a.mask, b.mask)
    c = make_problem(40, 30, 3, 500, seed=2)
    assert not np.allclose(a.w_star, c.w_star)
    # the ground truth does not depend on how many entries are observed
    np.testing.assert_array_equal(a.w_star, make_problem(40, 30, 3, 900, seed=1).w_star)


def test_mask_has_exactly_n_obs_distinct_entries_and_rank_is_right() -> None:
    p = make_problem(50, 60, 4, 1234, seed=3)
    assert p.mask.dtype == bool and p.mask.sum() == 1234 == p.n_obs
    assert np.linalg.matrix_rank(p.w_star) == 4
    assert np.linalg.norm(p.w_star) == pytest.approx(np.sqrt(50 * 60))
    raw = make_problem(50, 60, 4, 1234, seed=3, normalize=False)
    assert np.linalg.norm(raw.w_star) != pytest.approx(np.sqrt(50 * 60))
    np.testing.assert_allclose(raw.w_star / np.linalg.norm(raw.w_star), p.w_star / np.linalg.norm(p.w_star))


@pytest.mark.parametrize(
    ("kw", "msg"), [({"n_obs": 10_001}, "n_obs must be"), ({"rank": 101}, "rank must be")]
)
def test_bad_settings(kw: dict, msg: str) -> None:
    with pytest.raises(ProblemError, match=msg):
        make_problem(**{"m": 100, "n": 100, "rank": 5, "n_obs": 2000, **kw})


def test_save_load_round_trip(tmp_path) -> None:
    p = make_problem(20, 20, 2, 100, seed=5)
    p.save(tmp_path / "p.npz")
    q = load_problem(tmp_path / "p.npz")
    np.testing.assert_array_equal(p.w_star, q.w_star)
    np.testing.assert_array_equal(p.mask, q.mask)
    assert q.settings == p.settings
    assert [f.name for f in tmp_path.iterdir()] == ["p.npz"]  # no temp file left behind
    with pytest.raises(ProblemError, match="data file not found"):
        load_problem(tmp_path / "missing.npz")


@pytest.mark.parametrize("k", [1, 3, 5, 17])
def test_effective_rank_of_k_equal_singular_values_is_k(k: int) -> None:
    sigma = np.r_[np.full(k, 2.5), np.zeros(10)]
    assert effective_rank(sigma) == pytest.approx(k)
    assert float(effective_rank_t(torch.tensor(sigma))) == pytest.approx(k)


def test_effective_rank_known_entropy() -> None:
    sigma = np.array([3.0, 1.0])  # p = (3/4, 1/4)
    h = -(0.75 * np.log(0.75) + 0.25 * np.log(0.25))
    assert effective_rank(sigma) == pytest.approx(np.exp(h))
    batch = torch.tensor([[3.0, 1.0, 0.0], [1.0, 1.0, 1.0]], dtype=torch.float64)
    torch.testing.assert_close(effective_rank_t(batch), torch.tensor([np.exp(h), 3.0], dtype=torch.float64))


def test_test_error() -> None:
    w_star = np.ones((2, 2))
    w = np.array([[1.0, 1.0], [1.0, 3.0]])
    assert test_error(w, w_star) == pytest.approx(4 / 4)
    assert test_error(w, w_star, np.array([[True, True], [True, False]])) == 0.0
