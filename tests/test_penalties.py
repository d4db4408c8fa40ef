"""Penalty values and gradients against closed forms."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch

from matcomp.training.penalties import (
    PENALTIES,
    UnknownPenaltyError,
    get_penalty,
    parse_penalty,
    spectral_dsigma,
    spectral_grad,
)

torch.set_default_dtype(torch.float64)


def _random(m: int = 7, n: int = 5, rank: int | None = None, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if rank is None:
        return 3.0 * torch.randn(m, n, generator=g, dtype=torch.float64)
    return torch.randn(m, rank, generator=g, dtype=torch.float64) @ torch.randn(
        rank, n, generator=g, dtype=torch.float64
    )


def _autograd(spec: str, w: torch.Tensor) -> torch.Tensor:
    w = w.clone().requires_grad_(True)
    get_penalty(spec).of_matrix(w).backward()
    return w.grad


def _ratio_closed_form(w: torch.Tensor, power: int = 1) -> torch.Tensor:
    """(1/‖W‖_F^power)(UVᵀ − ‖W‖_*/‖W‖_F² · W); power=1 is right, power=2 is Eq. (12) as printed."""
    u, s, vh = torch.linalg.svd(w, full_matrices=False)
    fro, nuc = torch.linalg.norm(w), s.sum()
    return (u @ vh - nuc / fro**2 * w) / fro**power


@pytest.mark.parametrize("rank", [None, 2, 1])
def test_ratio_gradient_matches_closed_form(rank: int | None) -> None:
    w = _random(rank=rank, seed=3)
    torch.testing.assert_close(_autograd("ratio", w), _ratio_closed_form(w), rtol=1e-9, atol=1e-10)


def test_eq12_as_printed_is_wrong() -> None:
    """The paper's Eq. (12) has 1/‖W‖_F²; finite differences side with 1/‖W‖_F."""
    w = _random(seed=4)
    assert torch.linalg.norm(w) > 2  # so the two forms differ
    direction = _random(seed=5)
    eps = 1e-6
    r = get_penalty("ratio").of_matrix
    fd = (r(w + eps * direction) - r(w - eps * direction)) / (2 * eps)
    right = (_ratio_closed_form(w, 1) * direction).sum()
    printed = (_ratio_closed_form(w, 2) * direction).sum()
    assert abs(fd - right) < 1e-7 * max(1.0, abs(float(fd)))
    assert abs(fd - printed) > 1e-3 * abs(float(fd))


@pytest.mark.parametrize("rank", [None, 3])
def test_nuclear_gradient_is_uvt(rank: int | None) -> None:
    w = _random(rank=rank, seed=6)
    u, _, vh = torch.linalg.svd(w, full_matrices=False)
    torch.testing.assert_close(_autograd("nuclear", w), u @ vh, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize(
    "spec",
    ["ratio", "nuclear", "schatten:1/2", "schatten:1/3", "schatten_ratio:1/2:2/3", "schatten_ratio:1/3:1/2"],
)
def test_spectral_grad_equals_autograd_batched(spec: str) -> None:
    w = torch.stack([_random(seed=s) for s in range(4)])
    u, s, vh = torch.linalg.svd(w, full_matrices=False)
    value, grad = spectral_grad(get_penalty(spec), u, s, vh)
    wg = w.clone().requires_grad_(True)
    ref = get_penalty(spec).of_matrix(wg)
    ref.sum().backward()
    torch.testing.assert_close(value, ref.detach())
    torch.testing.assert_close(grad, wg.grad, rtol=1e-8, atol=1e-10)


def test_penalty_values_on_known_spectrum() -> None:
    sigma = torch.tensor([4.0, 1.0, 0.0])
    assert float(get_penalty("ratio")(sigma)) == pytest.approx(5 / 17**0.5)
    assert float(get_penalty("nuclear")(sigma)) == pytest.approx(5.0)
    assert float(get_penalty("schatten:1/2")(sigma)) == pytest.approx(9.0, rel=1e-5)
    assert float(get_penalty("schatten_ratio:1/2:1")(sigma)) == pytest.approx(9 / 5, rel=1e-5)
    assert float(get_penalty("none")(sigma)) == 0.0


def test_quasi_norm_guard_gives_finite_gradient_at_zero_singular_value() -> None:
    w = _random(rank=2, seed=7)  # 5 - 2 = 3 zero singular values
    for spec in ("schatten:1/3", "schatten_ratio:1/3:2/3"):
        assert torch.isfinite(_autograd(spec, w)).all()


def test_ratio_is_scale_invariant() -> None:
    w = _random(seed=8)
    r = get_penalty("ratio").of_matrix
    assert float(r(w)) == pytest.approx(float(r(10 * w)))


def test_parse_errors_name_valid_choices() -> None:
    with pytest.raises(UnknownPenaltyError, match="valid penalties: none, nuclear, ratio"):
        parse_penalty("hoyer")
    with pytest.raises(UnknownPenaltyError, match="takes 2 argument"):
        parse_penalty("schatten_ratio:1/2")
    assert parse_penalty("schatten_ratio:0.5:2/3").slug == "schatten_ratio-1_2-2_3"
    assert set(PENALTIES) == {"ratio", "schatten_ratio", "nuclear", "schatten", "none"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [("schatten:0.0001", "is 1/10000 exactly"), ("schatten:0.3333", r"is 3333/10000 exactly.*nearest .* is 1/3"),
     ("schatten_ratio:1:1", "the constant 1"), ("schatten_ratio:2:1", "rewards high rank")],
)  # fmt: skip
def test_exponents_are_kept_exact_and_ratios_must_favour_low_rank(spec: str, message: str) -> None:
    """Issue 27.8: 0.0001 used to become exponent 0 and 0.3333 silently 1/3; a p:q ratio with p >= q is no
    low-rank penalty (constant, or largest at rank 1)."""
    with pytest.raises(UnknownPenaltyError, match=message):
        parse_penalty(spec)
    assert parse_penalty("schatten:0.125").args == (Fraction(1, 8),)  # an exact decimal stays as written


CLOSED_FORMS = ["ratio", "nuclear", "schatten:1/2", "schatten:1/3", "schatten:2/3", "schatten:3/2",
                "schatten_ratio:1/2:2/3", "schatten_ratio:1/3:1/2", "schatten_ratio:1/3:2/3", "schatten_ratio:1:2"]  # fmt: skip


def test_every_closed_form_is_checked() -> None:
    assert {get_penalty(s).name for s in CLOSED_FORMS} == {n for n, i in PENALTIES.items() if i.dsigma}


@pytest.mark.parametrize("spec", CLOSED_FORMS)
def test_closed_form_dsigma_matches_autograd(spec: str) -> None:
    """Spectra with an exact zero, a value below the quasi-norm floor (no gradient through the clamp),
    repeated values, and the paper's training range (σ from 1 down to 1e-8)."""
    sigma = torch.tensor(
        [[5.0, 2.0, 0.5, 0.0], [1.0, 1.0, 1.0, 1.0], [3.0, 1e-3, 1e-13, 0.0], [1.0, 1e-2, 1e-5, 1e-8]],
        dtype=torch.float64,
        requires_grad=True,
    )
    pen = get_penalty(spec)
    pen(sigma).sum().backward()
    value, dsigma = spectral_dsigma(pen, sigma.detach())
    torch.testing.assert_close(value, pen(sigma.detach()), rtol=0, atol=0)
    torch.testing.assert_close(dsigma, sigma.grad, rtol=1e-12, atol=0)


@pytest.mark.parametrize("spec", ["schatten:1/3", "schatten_ratio:1/2:2/3"])
def test_closed_form_dsigma_of_a_batch_equals_each_row_alone_float32(spec: str) -> None:
    """Bit-exact on any x86-64 CPU: every power goes through ``_rowwise_pow`` (each row on its own SIMD
    chunk boundary) and the rest is IEEE arithmetic and per-row sums; a batch of 37 rows of 100 (neither a
    multiple of a vector width) against each row as a batch of one."""
    g = torch.Generator().manual_seed(0)
    sigma = torch.rand(37, 100, generator=g).pow(8).sort(-1, descending=True).values.float()
    pen = get_penalty(spec)
    value, dsigma = spectral_dsigma(pen, sigma)
    for i in range(sigma.shape[0]):
        v, d = spectral_dsigma(pen, sigma[i : i + 1].clone())
        assert torch.equal(v, value[i : i + 1]) and torch.equal(d, dsigma[i : i + 1]), i
