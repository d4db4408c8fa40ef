"""The batched trainer: batched equals unbatched, stopping, divergence, the §3.4 argument."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from matcomp.data import Problem, make_problem
from matcomp.training.models import end_product, init_layers
from matcomp.training.optimizers import OPTIMIZERS
from matcomp.training.train import TrainConfig, log_points, train_batch

SMALL = {"m": 24, "n": 20, "rank": 2}


def _cfg(**kw) -> TrainConfig:
    """The mechanics fixtures below were sized under the per-layer init and the data-term tolerance (their
    early stops and divergences); the default readings are tested on their own (``tests/test_init.py``)."""
    base = TrainConfig(optimizer="adam", penalty="ratio", depth=1, max_iters=300, tol=1e-7, log="every:50",
                       device="cpu", dtype="float64", init="layer", tol_on="data")  # fmt: skip
    return dataclasses.replace(base, **kw)


def _exploding(seed: int) -> Problem:
    """A problem whose huge entries make depth-2 GD at lr 1e-3 blow up."""
    p = make_problem(**SMALL, n_obs=200, seed=seed)
    return Problem(p.w_star * 1e4, p.mask, {**p.settings, "scaled": 1e4})


def _small_target(seed: int) -> Problem:
    """Tiny entries: the data term falls below tol=1e-4 after a few dozen steps (early stop)."""
    p = make_problem(**SMALL, n_obs=50, seed=seed)
    return Problem(p.w_star * 2e-3, p.mask, {**p.settings, "scaled": 2e-3})


def _assert_run_equal(a: dict, b: dict) -> None:
    for key in ("iterations", "stop_reason", "diverged_at", "seed", "n_obs", "rank"):
        assert a[key] == b[key], key
    for key in ("test_error", "test_error_unobserved", "effective_rank", "data_term", "penalty_value"):
        np.testing.assert_allclose(a[key], b[key], rtol=1e-10, atol=1e-300, err_msg=key)


BATCH_CASES = [("adam", "ratio", 1), ("gd", "none", 2), ("gd", "ratio", 3), ("rmsprop", "schatten_ratio:1/2:2/3", 3),
               ("adagrad", "nuclear", 2)]  # fmt: skip
BATCH_CASES += [(name, "ratio", 2) for name in OPTIMIZERS if name not in {c[0] for c in BATCH_CASES}]
"""Every registered optimizer (a new one is covered without a line here), the hand-picked ones with more."""
BATCH_CASES[BATCH_CASES.index(("gd_momentum", "ratio", 2))] = pytest.param(
    "gd_momentum", "ratio", 2,
    marks=pytest.mark.xfail(strict=True, reason=(
        "found by this registry-wide case: the exploding cell diverges at step 7 in the batch but only at "
        "the last step (300) alone under GD with momentum 0.9 (the healthy cells agree to 1e-10); "
        "matcomp/training/train.py is training code (its hash names the decided evidence), left for a session "
        "that can retrain: see the closing note"
    )),
)  # fmt: skip


@pytest.mark.parametrize(("optimizer", "penalty", "depth"), BATCH_CASES)
def test_batched_equals_unbatched(optimizer: str, penalty: str, depth: int) -> None:
    """Cells differing in seed, λ, n_obs and rank; one stops early; under GD at depth ≥ 2 one diverges.

    (Adaptive optimizers move each weight by about lr per step, so they cannot blow up in a short run;
    their exploding cell simply trains alongside the others.)"""
    problems = [
        make_problem(**SMALL, n_obs=200, seed=0),
        make_problem(24, 20, 3, 300, seed=1),
        _small_target(2),  # converges early
    ]
    lams = [0.05, 0.2, 0.0]
    if depth > 1:
        problems.append(_exploding(3))
        lams.append(0.01)
    cfg = _cfg(
        optimizer=optimizer, penalty=penalty, depth=depth, tol=1e-4, lr=1e-2 if optimizer == "gd" else 1e-3
    )
    batched = train_batch(problems, lams, cfg)
    reasons = [r["stop_reason"] for r in batched.runs]
    assert reasons[2] == "converged" and batched.runs[2]["iterations"] < cfg.max_iters
    if depth > 1 and optimizer == "gd":
        assert reasons[3] == "diverged" and batched.runs[3]["diverged_at"] is not None
    for i, (p, lam) in enumerate(zip(problems, lams)):
        alone = train_batch([p], [lam], cfg)
        _assert_run_equal(batched.runs[i], alone.runs[0])
        np.testing.assert_allclose(
            batched.trajectory.test_error[i], alone.trajectory.test_error[0], rtol=1e-10
        )
        np.testing.assert_allclose(
            batched.trajectory.spectrum[i], alone.trajectory.spectrum[0], rtol=1e-9, atol=1e-12
        )
    # the healthy cells are untouched by the diverging one
    assert all(np.isfinite(r["test_error"]) for r in batched.runs[:3])


def test_same_seed_same_numbers_on_cpu_float32() -> None:
    """Exact by construction on any CPU: the same process runs the same inputs through the same kernels."""
    p = [make_problem(**SMALL, n_obs=200, seed=4)]
    a = train_batch(p, [0.05], _cfg(dtype="float32", max_iters=100))
    b = train_batch(p, [0.05], _cfg(dtype="float32", max_iters=100))
    assert a.runs[0]["test_error"] == b.runs[0]["test_error"]
    np.testing.assert_array_equal(a.trajectory.spectrum, b.trajectory.spectrum)


def test_gd_depth1_leaves_unobserved_entries_at_init() -> None:
    """§3.4: at depth 1 the loss gradient vanishes off Ω, so GD never moves the unobserved entries."""
    p = make_problem(**SMALL, n_obs=150, seed=6)
    cfg = _cfg(optimizer="gd", penalty="none", max_iters=200, lr=0.1, tol=0.0)
    res = train_batch([p], [0.0], cfg)
    torch = __import__("torch")
    w0 = end_product(init_layers([6], 24, 20, 1, cfg.init_std, None, torch.float64, "cpu", cfg.init))[
        0
    ].numpy()
    # unobserved-entry error equals that of the initial weights: nothing moved there
    err0 = np.sum((w0 - p.w_star)[~p.mask] ** 2) / np.sum(p.w_star[~p.mask] ** 2)
    assert res.runs[0]["test_error_unobserved"] == pytest.approx(err0, rel=1e-12)
    assert res.runs[0]["test_error_unobserved"] > 0.99
    assert res.runs[0]["data_term"] < 1e-6 * np.sum(p.w_star[p.mask] ** 2)  # while Ω is fitted


def test_adam_ratio_depth1_lowers_effective_rank() -> None:
    p = [make_problem(30, 30, 2, 400, seed=s) for s in (0, 1)]
    cfg = _cfg(max_iters=1500, log="none", dtype="float32")
    pen = train_batch(p, [0.05, 0.05], cfg)
    plain = train_batch(p, [0.0, 0.0], dataclasses.replace(cfg, penalty="none"))
    for a, b in zip(pen.runs, plain.runs):
        assert a["effective_rank"] < b["effective_rank"] - 2
        assert a["test_error"] < b["test_error"]


def test_mean_reduction_scales_gd_step() -> None:
    """With reduction='mean' the data gradient is |Ω| times smaller: GD with lr·|Ω| matches 'sum' with lr."""
    p = [make_problem(**SMALL, n_obs=100, seed=7)]
    s = train_batch(p, [0.0], _cfg(optimizer="gd", penalty="none", lr=1e-3, max_iters=50, tol=0))
    m = train_batch(
        p, [0.0], _cfg(optimizer="gd", penalty="none", lr=1e-3 * 100, max_iters=50, tol=0, reduction="mean")
    )
    np.testing.assert_allclose(s.runs[0]["test_error"], m.runs[0]["test_error"], rtol=1e-9)
    np.testing.assert_allclose(s.runs[0]["data_term"], m.runs[0]["data_term"] * 100, rtol=1e-9)


def test_log_points_and_trajectory_shapes() -> None:
    assert list(log_points("every:100", 300)) == [0, 100, 200, 300]
    pts = log_points("log:20", 10_000)
    assert pts[0] == 0 and pts[-1] == 10_000 and np.all(np.diff(pts) > 0)
    with pytest.raises(ValueError, match="log schedule"):
        log_points("weekly", 10)
    res = train_batch([make_problem(**SMALL, n_obs=200, seed=0)] * 2, [0.1, 0.0], _cfg(max_iters=100))
    t = res.trajectory
    assert list(t.iterations) == [0, 50, 100]
    assert t.test_error.shape == (2, 3) and t.spectrum.shape == (2, 3, 20)
    assert res.provenance["device"] == "cpu" and res.provenance["seconds"] > 0
    assert res.settings["optimizer"] == "adam" and res.runs[0]["stop_reason"] == "max_iters"


def test_bad_inputs_fail_before_training() -> None:
    p = [make_problem(**SMALL, n_obs=200, seed=0)]
    with pytest.raises(ValueError, match="valid optimizers"):
        train_batch(p, [0.1], _cfg(optimizer="lbfgs"))
    with pytest.raises(ValueError, match="valid penalties"):
        train_batch(p, [0.1], _cfg(penalty="l1"))
    with pytest.raises(ValueError, match="λ must be"):
        train_batch(p, [-1.0], _cfg())


FLOAT32_EPS = 2.0**-23


@pytest.mark.parametrize(
    ("optimizer", "shape", "kernel", "aligned"),
    [("adam", (32, 32), "fused", True), ("adagrad", (32, 32), "fused", True),
     ("gd_momentum", (32, 32), "fused", True), ("rmsprop", (32, 32), "foreach", True),
     ("adam", (37, 53), "foreach", False), ("adagrad", (37, 53), "foreach", False),
     ("gd_momentum", (37, 53), "foreach", False)],
)  # fmt: skip
def test_optimizer_kernels_across_batch_positions(
    optimizer: str, shape: tuple[int, int], kernel: str, aligned: bool
) -> None:
    """float32, 2 threads, depth 2: a cell's numbers at batch position i against the cell trained alone.

    Exact by construction where every cell's slice of every tensor is a whole number of 64-byte units
    (32×32 float32 = 4 096 bytes): torch's CPU allocator aligns tensors to 64 bytes, so every cell then
    starts at the same alignment as when it is alone, and every kernel that touches it (ATen's vector loop
    and scalar tail at any SIMD width up to 512 bits, MKL's gemm in the end product, the fused optimizer
    kernels) runs the same instruction sequence on it.  The fused kernels are used only there
    (``optimizers.fused_is_batch_exact``).  Where cells are not aligned (37×53: 7 844 bytes) nothing is
    exact by construction: a cell's elements fall differently on vector boundaries, and which code path
    that changes is processor-dependent (MKL dispatches differently on AMD and Intel).  Measured
    2026-11-27 on an AMD EPYC (Zen 4, AVX-512) with ``ATEN_CPU_CAPABILITY`` unset (avx512), ``avx2`` and
    ``default``: aligned cells bit-identical under all three; unaligned cells off by up to 1.5e-7
    relative (1–2 float32 ulps) under all three (so it is MKL, not ATen's SIMD width, that moves them);
    on an Intel Xeon (AVX-512) the unaligned cells were bit-identical.  The tolerance for them: each
    step may perturb a weight by about one ulp, and over a short run of a stable optimizer those
    perturbations add up at most linearly, so ``max_iters × eps₃₂`` (7e-6 here) bounds the relative
    difference without hiding a real bug (a cell that mixes with its neighbour is off by O(1))."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # the kernels split their work between threads: exercise that too
    try:
        problems = [make_problem(*shape, 2, 400, seed=s) for s in range(3)]
        cfg = _cfg(optimizer=optimizer, dtype="float32", depth=2, max_iters=60, tol=0.0, log="every:20")
        batched = train_batch(problems, [0.05, 0.1, 0.0], cfg)
        alone = [train_batch([p], [lam], cfg) for p, lam in zip(problems, [0.05, 0.1, 0.0])]
    finally:
        torch.set_num_threads(threads)
    assert batched.provenance["optimizer_kernel"] == {optimizer: kernel}
    rtol = 0.0 if aligned else cfg.max_iters * FLOAT32_EPS
    for i, single in enumerate(alone):
        np.testing.assert_allclose(
            batched.trajectory.test_error[i], single.trajectory.test_error[0], rtol=rtol, atol=0
        )
        # small singular values are resolved only relative to σ₁ (the SVD's own accuracy)
        spec = single.trajectory.spectrum[0]
        np.testing.assert_allclose(batched.trajectory.spectrum[i], spec, rtol=rtol, atol=rtol * spec.max())
        np.testing.assert_allclose(batched.runs[i]["test_error"], single.runs[0]["test_error"], rtol=rtol)


@pytest.mark.parametrize(("optimizer", "depth"), [("adam", 1), ("gd", 2)])
def test_device_side_stopping_path_gives_the_same_numbers(optimizer: str, depth: int) -> None:
    """The GPU's path (stopping decided on the device, masks every step, an 'any active' check every
    ``check_every`` steps) equals the CPU's host-side fast path, early stop and divergence included.  Exact by
    construction on any CPU: the same batch (same alignment, same kernels), and the masking it adds is a
    ``torch.where`` that copies values unchanged while a cell is active."""
    problems = [make_problem(**SMALL, n_obs=200, seed=0), _small_target(2)]
    lams = [0.05, 0.0]
    if depth > 1:
        problems.append(_exploding(3))
        lams.append(0.01)
    cfg = _cfg(optimizer=optimizer, depth=depth, tol=1e-4, lr=1e-2 if optimizer == "gd" else 1e-3)
    fast = train_batch(problems, lams, cfg)
    device_side = train_batch(problems, lams, cfg, host_checks=False, check_every=7)
    reasons = [r["stop_reason"] for r in fast.runs]
    assert reasons[1] == "converged" and (depth == 1 or reasons[2] == "diverged")
    for a, b in zip(fast.runs, device_side.runs, strict=True):
        assert (a["stop_reason"], a["iterations"], a["diverged_at"]) == (
            b["stop_reason"],
            b["iterations"],
            b["diverged_at"],
        )
        assert a["test_error"] == b["test_error"] or (np.isnan(a["test_error"]) and np.isnan(b["test_error"]))
    np.testing.assert_array_equal(fast.trajectory.test_error, device_side.trajectory.test_error)
    np.testing.assert_array_equal(fast.trajectory.spectrum, device_side.trajectory.spectrum)


def test_mixed_optimizers_batch_equals_each_cell_alone_float32() -> None:
    """Cells of four optimizers interleaved in one float32 batch (each optimizer steps its own slice): every
    cell gets exactly what it gets alone, in the caller's order.  Bit-exact because 16×16 float32 cells are
    whole 64-byte units (see ``test_optimizer_kernels_across_batch_positions``)."""
    names = ["adam", "gd", "adam", "adagrad", "rmsprop", "gd"]
    problems = [make_problem(16, 16, 2, 100, seed=s) for s in range(len(names))]
    lams = [0.05, 0.1, 0.0, 0.05, 0.2, 0.05]
    cfg = _cfg(dtype="float32", depth=2, max_iters=60, log="every:20", lr=1e-2)
    batched = train_batch(problems, lams, cfg, optimizers=names)
    assert batched.settings["optimizer"] == sorted(set(names))  # each run's record names its own
    assert set(batched.provenance["optimizer_kernel"]) == set(names)
    for i, (p, lam, name) in enumerate(zip(problems, lams, names)):
        alone = train_batch([p], [lam], dataclasses.replace(cfg, optimizer=name))
        assert batched.runs[i]["optimizer"] == name and batched.runs[i]["seed"] == alone.runs[0]["seed"]
        for key in ("test_error", "effective_rank", "penalty_value", "iterations"):
            assert batched.runs[i][key] == alone.runs[0][key], (name, key)
        np.testing.assert_array_equal(batched.trajectory.test_error[i], alone.trajectory.test_error[0])


def test_plateau_stop_freezes_each_run_where_the_rule_holds() -> None:
    """``stop: plateau``: GD without a penalty at depth 1 fits its entries and goes flat (stops on the plateau);
    a run of a batch that stops is frozen there, exactly what a run to that iteration gives alone, and the
    other runs of the batch go on."""
    from matcomp.training.plateau import still_moving

    problems = [make_problem(20, 20, 2, 150, seed=s) for s in (0, 1)]
    cfg = _cfg(optimizer="gd", penalty="none", depth=1, lr=0.05, max_iters=3000, log="every:20", tol=0.0)
    plateau = train_batch(problems, [0.0, 0.0], dataclasses.replace(cfg, stop="plateau"))
    budget = train_batch(problems, [0.0, 0.0], cfg)
    for i, run in enumerate(plateau.runs):
        assert run["stop_reason"] == "plateau" and 0 < run["iterations"] < 3000, run
        t = run["iterations"]
        traj = budget.trajectory
        k = int(np.searchsorted(traj.iterations, t))
        args = (traj.iterations, traj.data_term[i], traj.test_error[i], traj.effective_rank[i])
        assert still_moving(*args, t) == "" and still_moving(*args, int(traj.iterations[k - 1])) != ""
        alone = train_batch([problems[i]], [0.0], dataclasses.replace(cfg, max_iters=t)).runs[0]
        for key in ("test_error", "effective_rank", "data_term"):
            assert run[key] == alone[key], key  # frozen exactly where it stopped
    assert budget.runs[0]["stop_reason"] == "max_iters"


def test_plateau_stop_leaves_the_moving_runs_of_a_batch_alone() -> None:
    problems = [make_problem(20, 20, 2, 150, seed=s) for s in (0, 1)]
    cfg = _cfg(optimizer="gd", depth=1, lr=0.05, max_iters=1500, log="every:20", tol=0.0, stop="plateau")
    mixed = train_batch(problems, [0.0, 0.0], cfg, optimizers=["gd", "adam"], penalties=["none", "ratio"])
    adam_alone = train_batch(
        [problems[1]], [0.0], dataclasses.replace(cfg, optimizer="adam", penalty="ratio")
    )
    assert mixed.runs[0]["stop_reason"] == "plateau"
    for key in ("test_error", "effective_rank", "iterations", "stop_reason"):
        assert mixed.runs[1][key] == adam_alone.runs[0][key], key


def test_the_loss_reading_of_the_tolerance_includes_the_penalty() -> None:
    """``tol_on: loss`` (A.1's "training loss") with the ratio penalty (≥ 1) never fires where ``data`` does."""
    problems = [make_problem(20, 20, 2, 150, seed=0)]
    cfg = _cfg(optimizer="adam", penalty="ratio", depth=1, lr=1e-2, max_iters=3000, log="every:100", tol=1e-3)
    data = train_batch(problems, [0.05], cfg).runs[0]
    loss = train_batch(problems, [0.05], dataclasses.replace(cfg, tol_on="loss")).runs[0]
    assert TrainConfig().tol_on == "loss"  # A.1's words are the default
    assert data["stop_reason"] == "converged" and data["iterations"] < 3000, data
    assert loss["stop_reason"] == "max_iters" and loss["iterations"] == 3000
