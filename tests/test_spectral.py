"""The polar route: Q and the penalties' gradients against the SVD, route selection, a short training run."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from spectra import matrices, route_errors, spectrum  # benchmarks/spectra.py (conftest)

from matcomp.data import make_problem
from matcomp.training.penalties import get_penalty, spectral_grad
from matcomp.training.placement import gpu_is_faster, resolve_route
from matcomp.training.spectral import polar_factor, polar_schedule, shifted_svd, value_and_grad
from matcomp.training.train import TrainConfig, train_batch


def polar_value_and_grad(penalty, w):  # noqa: ANN001, ANN201
    return value_and_grad(penalty, w, "polar")[1:]


def _random(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("shape", [(3, 30, 30), (2, 40, 25), (2, 25, 40)])
def test_polar_factor_matches_the_svd_in_float64(shape: tuple[int, int, int]) -> None:
    """Tall, wide and square: Q = U Vᵀ of the thin SVD, and Q has orthonormal columns (or rows)."""
    w = _random(shape)
    u, _, vh = torch.linalg.svd(w, full_matrices=False)
    q = polar_factor(w)
    np.testing.assert_allclose(q.numpy(), (u @ vh).numpy(), atol=1e-10)
    k = min(shape[1:])
    gram = q.mT @ q if shape[1] >= shape[2] else q @ q.mT
    np.testing.assert_allclose(gram.numpy(), np.broadcast_to(np.eye(k), gram.shape), atol=1e-10)


def test_polar_factor_of_rank_deficient_and_zero_matrices() -> None:
    """An odd polynomial keeps zero singular values at zero: Q = U_r V_rᵀ, a valid subgradient of ‖W‖_*.

    (A block-diagonal W with an exact zero block, so the zero singular values are exactly zero; singular
    values at rounding level are amplified by at most 2.6 per step and stay partly resolved.)"""
    a = _random((3, 3), 1)
    w = torch.zeros(2, 20, 20, dtype=torch.float64)
    w[0, 4:7, 10:13] = a
    q = polar_factor(w)
    u, s, vh = torch.linalg.svd(a)
    expect = torch.zeros(20, 20, dtype=torch.float64)
    expect[4:7, 10:13] = u @ vh
    np.testing.assert_allclose(q[0].numpy(), expect.numpy(), atol=1e-12)
    assert torch.equal(q[1], torch.zeros(20, 20, dtype=torch.float64))
    np.testing.assert_allclose(float((q[0] * w[0]).sum()), float(s.sum()), rtol=1e-12)


@pytest.mark.parametrize("name", ["ratio", "nuclear"])
def test_polar_value_and_grad_equal_the_svd_route_in_float64(name: str) -> None:
    penalty = get_penalty(name)
    w = _random((4, 30, 24), 3)
    value, grad = polar_value_and_grad(penalty, w)
    ref_value, ref_grad = spectral_grad(penalty, *torch.linalg.svd(w, full_matrices=False))
    np.testing.assert_allclose(value.numpy(), ref_value.numpy(), rtol=1e-12)
    np.testing.assert_allclose(grad.numpy(), ref_grad.numpy(), atol=1e-12)


def test_polar_route_is_as_accurate_as_the_float32_svd() -> None:
    """On training-like float32 spectra (rank 5 + a tail 1e-2, 1e-4 and 1e-6 of σ₁, the small singular
    values the penalty pushes on), the polar factor, ‖W‖_* and the ratio gradient are no further from the
    float64 SVD's than the float32 SVD's own are (benchmarks/route_accuracy.md has the full table)."""
    for tail in (1e-2, 1e-4, 1e-6):
        w = matrices(spectrum(5, tail, False, False), 4, seed=5).float()
        e = route_errors(w)
        assert e["polar_q"] <= e["svd_q"] and e["polar_grad"] <= e["svd_grad"], (tail, e)
        assert e["polar_nuc"] <= e["svd_nuc"], (tail, e)


def test_schedule_is_the_capped_scaled_newton_schulz_recurrence() -> None:
    """α_k maps both ends of [ℓ_k, 1] to one value, capped at 1.7 (values near 1 keep f(α) ≥ 0.09: no
    catastrophic cancellation); far fewer steps than unscaled Newton–Schulz."""
    alphas = polar_schedule(1e-8, 1e-7, polish=0)
    lower = 1e-8
    f = lambda y: 1.5 * y - 0.5 * y**3  # noqa: E731
    for alpha in alphas:
        assert alpha <= 1.7 and f(alpha) >= 0.09
        if alpha < 1.7:
            assert f(alpha * lower) == pytest.approx(f(alpha), rel=1e-9)
        lower = min(f(alpha * lower), f(alpha))
    assert 1 - lower <= 1e-7 and len(alphas) == 23
    x, plain = 1e-8, 0
    while 1 - x > 1e-7:
        x, plain = 1.5 * x - 0.5 * x**3, plain + 1
    assert plain == 50


@pytest.mark.parametrize("case", ["wide random", "nearly rank one"])
def test_polar_gradient_in_float32_as_accurate_as_the_svd(case: str) -> None:
    """Regression: uncapped Chen–Chow scaling sent singular values near 1 through f(√3) = 0 and lost
    their directions in float32 (5 % error on a random 31×41 matrix); capped, the polar route's ratio
    gradient is within a few times the float32 SVD's own error of the float64 SVD's."""
    g = torch.Generator().manual_seed(0)
    if case == "wide random":
        w = torch.randn(3, 31, 41, generator=g, dtype=torch.float64) * 0.3
    else:
        w = torch.randn(3, 100, 100, generator=g, dtype=torch.float64) * 0.3
        w = w + 30 * torch.randn(3, 100, 1, generator=g, dtype=torch.float64) @ torch.randn(
            3, 1, 100, generator=g, dtype=torch.float64
        )
    w32 = w.float()
    ratio = get_penalty("ratio")
    _, ref = spectral_grad(ratio, *torch.linalg.svd(w32.double(), full_matrices=False))
    _, g_svd = spectral_grad(ratio, *torch.linalg.svd(w32, full_matrices=False))
    _, g_polar = polar_value_and_grad(ratio, w32)
    err = lambda x: float((torch.linalg.matrix_norm(x.double() - ref) / torch.linalg.matrix_norm(ref)).max())  # noqa: E731
    assert err(g_polar) <= 5 * max(err(g_svd), 1e-6), (err(g_polar), err(g_svd))


def test_route_selection_and_errors() -> None:
    ratio, schatten, none = get_penalty("ratio"), get_penalty("schatten:1/2"), get_penalty("none")
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert resolve_route("auto", ratio, cpu) == "svd" and resolve_route("auto", ratio, cuda) == "polar"
    assert resolve_route("auto", schatten, cuda) == "svd" and resolve_route("auto", none, cuda) == "none"
    assert resolve_route("auto-gesvda", schatten, cuda) == "gesvda"
    assert (
        resolve_route("auto-gesvda", ratio, cuda) == "polar"
        and resolve_route("auto-gesvda", schatten, cpu) == "svd"
    )
    assert resolve_route("auto", schatten, cpu) == "svd" and resolve_route("gesvda", ratio, cpu) == "gesvda"
    assert resolve_route("polar", ratio, cpu) == "polar"
    with pytest.raises(ValueError, match="polar form"):
        resolve_route("polar", schatten, cpu)
    with pytest.raises(ValueError, match="spectral must be"):
        TrainConfig(spectral="qr").validate()
    assert gpu_is_faster(ratio) and gpu_is_faster(none)
    assert gpu_is_faster(schatten, "gesvda") and gpu_is_faster(schatten, "auto-gesvda")
    assert (
        not gpu_is_faster(schatten) and not gpu_is_faster(schatten, "svd") and not gpu_is_faster(ratio, "svd")
    )
    # unpenalised batches are launch-bound on a GPU below 32 cells; ratio wins from 5
    assert (
        not gpu_is_faster(none, batch=5) and gpu_is_faster(none, batch=32) and gpu_is_faster(ratio, batch=5)
    )


def test_short_training_run_polar_equals_svd_in_float64() -> None:
    """Adam + ratio, depth 2, float64, 300 steps, with an early stop: the routes give the same run."""
    problems = [make_problem(24, 20, 2, 200, seed=s) for s in (0, 1)]
    cfg = TrainConfig(optimizer="adam", penalty="ratio", depth=2, max_iters=300, log="every:50", device="cpu",
                      dtype="float64", tol=1e-7)  # fmt: skip
    svd = train_batch(problems, [0.05, 0.1], dataclasses.replace(cfg, spectral="svd"))
    polar = train_batch(problems, [0.05, 0.1], dataclasses.replace(cfg, spectral="polar"))
    assert polar.provenance["spectral_route"]["ratio"]["route"] == "polar"
    assert svd.provenance["spectral_route"] == {"ratio": {"route": "svd"}}
    for a, b in zip(svd.runs, polar.runs, strict=True):
        assert (a["iterations"], a["stop_reason"]) == (b["iterations"], b["stop_reason"])
        np.testing.assert_allclose(a["test_error"], b["test_error"], rtol=1e-7)
        np.testing.assert_allclose(a["effective_rank"], b["effective_rank"], rtol=1e-7)
    np.testing.assert_allclose(svd.trajectory.test_error, polar.trajectory.test_error, rtol=1e-7)


@pytest.mark.parametrize(("optimizer", "penalty", "depth"), [("adam", "ratio", 1), ("adagrad", "nuclear", 2)])
def test_polar_route_batched_equals_unbatched(optimizer: str, penalty: str, depth: int) -> None:
    """One polar call over the batch: each cell (differing in seed, λ, n_obs, rank; one stops early) gets
    what it gets alone."""
    small = make_problem(24, 20, 2, 50, seed=2)
    early = type(small)(small.w_star * 2e-3, small.mask, {**small.settings, "scaled": 2e-3})
    problems = [make_problem(24, 20, 2, 200, seed=0), make_problem(24, 20, 3, 300, seed=1), early]
    lams = [0.05, 0.2, 0.0]
    cfg = TrainConfig(optimizer=optimizer, penalty=penalty, depth=depth, max_iters=300, tol=1e-4, log="every:50",
                      device="cpu", dtype="float64", spectral="polar")  # fmt: skip
    batched = train_batch(problems, lams, cfg)
    assert batched.runs[2]["stop_reason"] == "converged"
    for i, (p, lam) in enumerate(zip(problems, lams)):
        alone = train_batch([p], [lam], cfg).runs[0]
        assert (batched.runs[i]["iterations"], batched.runs[i]["stop_reason"]) == (
            alone["iterations"],
            alone["stop_reason"],
        )
        np.testing.assert_allclose(batched.runs[i]["test_error"], alone["test_error"], rtol=1e-10)
        np.testing.assert_allclose(batched.runs[i]["effective_rank"], alone["effective_rank"], rtol=1e-10)


@pytest.mark.parametrize(
    ("route", "penalties"),
    [
        ("svd", ["ratio", "nuclear", "none", "schatten_ratio:1/2:2/3"]),
        ("polar", ["ratio", "none", "nuclear", "ratio"]),
    ],
)
def test_mixed_penalty_batch_equals_each_cell_alone(route: str, penalties: list[str]) -> None:
    """Cells with different penalties share one batch (one SVD or one polar factor per step); each gets
    what it gets trained alone with its own penalty."""
    problems = [make_problem(24, 20, 2, 200 + 20 * i, seed=i) for i in range(len(penalties))]
    lams = [0.05, 0.1, 0.0, 0.2][: len(penalties)]
    cfg = TrainConfig(optimizer="adam", penalty="ratio", depth=2, max_iters=200, log="every:50", device="cpu",
                      dtype="float64", spectral=route)  # fmt: skip
    mixed = train_batch(problems, lams, cfg, penalties=penalties)
    assert mixed.settings["penalty"] == sorted(set(penalties))  # each run's record names its own
    for i, (p, lam, pen) in enumerate(zip(problems, lams, penalties)):
        alone = train_batch([p], [lam], dataclasses.replace(cfg, penalty=pen)).runs[0]
        assert mixed.runs[i]["penalty"] == alone["penalty"] == pen
        for key in ("test_error", "effective_rank", "penalty_value", "data_term"):
            np.testing.assert_allclose(mixed.runs[i][key], alone[key], rtol=1e-10, atol=1e-300, err_msg=key)


def test_movielens_lnn_polar_route_follows_the_svd_route() -> None:
    """The depth-1 LNN's ratio penalty by the polar route: the same run as by the SVD route, to float32
    accuracy.  A well-conditioned start (init_std 0.3): from the paper's 1e-3 the spectrum is at float32
    resolution and Adam's normalised steps amplify the routes' rounding differences (1e-4 to 2e-3 after
    60 steps, depending on the machine), which would test the amplification, not the route."""
    from matcomp.movielens.train import train_lnn

    rng = np.random.default_rng(0)
    cells = rng.choice(30 * 40, 600, replace=False)
    users, items = np.divmod(cells, 40)
    ratings = rng.integers(1, 6, 600)
    idx = rng.permutation(600)
    kw = dict(shape=(31, 41), lam=1.5, n_iters=60, eval_every=20, device="cpu", lr=5e-3, init_std=0.3)
    svd = train_lnn(users + 1, items + 1, ratings, idx[:500], idx[500:], spectral="svd", **kw)
    polar = train_lnn(users + 1, items + 1, ratings, idx[:500], idx[500:], spectral="polar", **kw)
    assert (
        polar["provenance"]["spectral_route"]["route"] == "polar" and polar["settings"]["spectral"] == "polar"
    )
    assert svd["provenance"]["spectral_route"] == {"route": "svd"}
    for a, b in zip(svd["history"], polar["history"], strict=True):
        assert a["test_rmse"] == pytest.approx(b["test_rmse"], rel=1e-4)
        assert a["penalty"] == pytest.approx(b["penalty"], rel=1e-4)


@pytest.mark.parametrize("shape", [(40, 30), (30, 40)])
@pytest.mark.parametrize("tail", [1e-4, 1e-9])
def test_shifted_svd_is_at_least_as_accurate_as_the_float32_svd(shape: tuple[int, int], tail: float) -> None:
    """The gesvda route's decomposition (here through LAPACK: the same float64 formula) of a float32 W whose
    singular values span 10¹⁰ and include an exact zero (what made cuSOLVER's gesvda refuse W itself):
    W is reproduced, σ to ~eps64·‖W‖, and the Schatten gradients of a float64 SVD of the same W to 10⁻⁴,
    while the float32 SVD (the CPU route) gets them wrong entirely there (its σ^(p−1) sees rounding noise
    instead of the tail: measured errors 0.8–1.0 of the gradient's norm)."""
    g = torch.Generator().manual_seed(3)
    k = min(shape)
    sigma = torch.cat(
        [torch.linspace(10, 1, 5), tail * torch.logspace(0, -1, k - 6), torch.zeros(1)]
    ).double()
    u0, _ = torch.linalg.qr(torch.randn(2, shape[0], k, generator=g, dtype=torch.float64))
    v0, _ = torch.linalg.qr(torch.randn(2, shape[1], k, generator=g, dtype=torch.float64))
    w32 = ((u0 * sigma) @ v0.mT).float()
    u, s, vh = shifted_svd(w32)
    assert u.dtype == s.dtype == vh.dtype == torch.float64
    ref = torch.linalg.svd(w32.double(), full_matrices=False)
    torch.testing.assert_close((u * s[..., None, :]) @ vh, w32.double(), rtol=0, atol=1e-13)
    torch.testing.assert_close(s.sort(-1, descending=True).values, ref[1], rtol=0, atol=1e-13)
    single = torch.linalg.svd(w32, full_matrices=False)
    for spec in ("schatten:1/2", "schatten:1/3", "schatten_ratio:1/2:2/3"):
        pen = get_penalty(spec)
        _, g_ref = spectral_grad(pen, *ref)

        mine, theirs = _grad_error(pen, (u, s, vh), g_ref), _grad_error(pen, single, g_ref)
        assert mine < 1e-4 and mine <= theirs, (spec, mine, theirs)


def _grad_error(pen, usv, g_ref: torch.Tensor) -> float:
    grad = spectral_grad(pen, *(x.double() for x in usv))[1]
    return float((torch.linalg.matrix_norm(grad - g_ref) / torch.linalg.matrix_norm(g_ref)).max())


def test_gesvda_route_trains_like_the_svd_route_in_float64() -> None:
    """A short float64 run of Schatten cells (CPU: LAPACK for both) gives the SVD route's numbers, to 10⁻⁵:
    two float64 SVDs differ in the last bits of near-zero singular values, which σ^(p−1) amplifies (the
    penalty differs by 2e-7 after 50 steps, 2e-3 after 200: these dynamics are chaotic in the tail)."""
    problems = [make_problem(24, 20, 2, 200, seed=s) for s in range(2)]
    runs = {}
    for route in ("svd", "gesvda"):
        cfg = TrainConfig(optimizer="adam", penalty="schatten_ratio:1/2:2/3", depth=2, max_iters=50,
                          log="every:50", device="cpu", dtype="float64", spectral=route)  # fmt: skip
        res = train_batch(problems, [0.05, 0.1], cfg)
        assert res.provenance["spectral_route"]["schatten_ratio:1/2:2/3"]["route"] == route
        runs[route] = res.runs
    for a, b in zip(runs["svd"], runs["gesvda"], strict=True):
        for key in ("test_error", "effective_rank", "penalty_value"):
            np.testing.assert_allclose(a[key], b[key], rtol=1e-5, err_msg=key)


def test_an_svd_lapack_refuses_takes_the_fallback_and_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """One ill-conditioned matrix must not stop a batch (Adagrad + ratio at depth 1 hit this after ~10⁵
    steps): the batch's other matrices keep LAPACK's default, the refused one takes the float64 SVD."""
    import matcomp.training.spectral as sp

    w = _random((3, 12, 10)).float()
    original = torch.linalg.svd

    def refuses_the_second(m: torch.Tensor, full_matrices: bool = True):  # noqa: ANN202
        if m.dtype == torch.float32 and (m.dim() == 3 or torch.equal(m, w[1])):
            raise torch.linalg.LinAlgError("The algorithm failed to converge (simulated)")
        return original(m, full_matrices=full_matrices)

    before = sp.FALLBACKS["svd"]
    monkeypatch.setattr(torch.linalg, "svd", refuses_the_second)
    u, s, vh = sp._svd(w)
    monkeypatch.undo()
    assert sp.FALLBACKS["svd"] == before + 1 and u.dtype == torch.float32
    expect = torch.linalg.svd(w, full_matrices=False)
    torch.testing.assert_close(s, expect[1])  # the same singular values, whichever route
    torch.testing.assert_close(u[0], expect[0][0])  # the others exactly as LAPACK's default gives them
    torch.testing.assert_close((u * s.unsqueeze(-2)) @ vh, w, atol=1e-5, rtol=1e-5)
