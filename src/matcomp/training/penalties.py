"""Spectral penalties R(W), as functions of the singular values.

Every penalty of the paper is a *spectral* function: it depends on W only through its singular values
σ = svdvals(W).  A penalty here is therefore a function of a batch of spectra ``sigma`` of shape
``[..., k]`` (k = min(m, n)) returning ``[...]``.  Two consequences:

* one SVD per training step serves the penalty, its gradient and the logged metrics;
* the gradient with respect to W follows from the gradient with respect to σ (Lewis, 1995): for
  ``R(W) = f(σ(W))`` with f absolutely symmetric, ``∇_W R = U diag(∂f/∂σ) Vᵀ``.  This is exactly what
  autograd through ``torch.linalg.svdvals`` computes; :func:`spectral_grad` does it from an SVD already
  at hand.

Adding a penalty is one function and one :data:`PENALTIES` entry.

The ratio penalty and its gradient
----------------------------------
For ``R(W) = ‖W‖_* / ‖W‖_F`` we have ``∂R/∂σ_i = 1/‖W‖_F − ‖W‖_* σ_i / ‖W‖_F³``, hence

    ∇_W R = (1/‖W‖_F) · (U Vᵀ − (‖W‖_* / ‖W‖_F²) · W).

The paper's Eq. (12) prints the prefactor of the first term as ``1/‖W‖_F²``; that is a misprint.  R is
homogeneous of degree 0 (R(cW) = R(W)), so its gradient must be homogeneous of degree −1; the printed
form is of degree −2 and fails a finite-difference check (see ``tests/test_penalties.py``).

Quasi-norm guard
----------------
``‖W‖_{S_p} = (Σ σ_i^p)^{1/p}`` with p < 1 has ``∂/∂σ_i = σ_i^{p−1} (Σσ^p)^{1/p−1}``, which is
unbounded as σ_i → 0 (and 0^{p−1} is inf, which autograd turns into NaN).  Singular values are
therefore clamped from below at ``eps`` (:data:`QUASI_EPS`, 1e-12 relative to nothing: an absolute
floor, far below any singular value that matters) before the power is taken.  Below the floor the
penalty is constant in σ_i, so an exactly-zero singular value receives zero gradient — a valid choice
of subgradient — and the value of the norm changes by at most k·eps^p.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from .lazy import lazy_import

if TYPE_CHECKING:
    import torch
else:
    torch = lazy_import("torch")  # imported on first use: planning reads the registry only

QUASI_EPS = 1e-12
"""Absolute floor applied to singular values before a power p < 1 (see module docstring)."""

_TINY = 1e-30


_ALIGN = 64


def _rowwise_pow(x: torch.Tensor, exponent: float) -> torch.Tensor:
    """``x ** exponent`` computed so that each batch row gets bit-identical results whatever the batch.

    PyTorch's CPU kernels evaluate a contiguous tensor in SIMD chunks and the leftover tail with scalar
    code, and SIMD ``pow`` (Sleef) and scalar ``std::pow`` differ in the last bit.  Which elements fall in
    the tail depends on the batch size, and the quasi-norm dynamics amplify such differences, so a cell
    would not be reproduced exactly by training it alone.  Padding every row to a multiple of 64 elements
    puts each row on its own chunk boundary, so each element takes the same code path in any batch.
    On a GPU every element runs the same device function whatever its position, so no padding is needed
    there (and the three extra kernels per power would be launch overhead).
    """
    if x.device.type != "cpu":
        return x.pow(exponent)
    shape = x.shape
    rows = x.reshape(-1, shape[-1] if x.dim() else 1)
    k = rows.shape[-1]
    pad = (-k) % _ALIGN
    if pad:
        rows = torch.cat([rows, rows.new_ones(rows.shape[0], pad)], dim=-1)
    return rows.pow(exponent)[:, :k].reshape(shape)


def _guarded_sum(sigma: torch.Tensor, p: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(σ guarded near 0 — clamped at :data:`QUASI_EPS` when p < 1 —, Σσ^p ``[..., 1]``)."""
    s = sigma.clamp_min(QUASI_EPS) if p < 1 else sigma
    return s, _rowwise_pow(s, p).sum(-1, keepdim=True)


def _pnorm(sigma: torch.Tensor, p: float) -> torch.Tensor:
    """Schatten-p (quasi-)norm (Σ σ^p)^{1/p} over the last axis, guarded near σ = 0."""
    return _rowwise_pow(_guarded_sum(sigma, p)[1], 1.0 / p).squeeze(-1)


def _pnorm_dsigma(sigma: torch.Tensor, p: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(‖σ‖_p ``[..., 1]``, ∂‖σ‖_p/∂σ ``[..., k]``): ``σ_i^(p−1) · (Σσ^p)^(1/p−1)``, with the guard of
    :func:`_pnorm` (for p < 1, σ_i below :data:`QUASI_EPS` gets no gradient, as autograd through the
    clamp gives)."""
    s, total = _guarded_sum(sigma, p)
    grad = _rowwise_pow(s, p - 1.0) * _rowwise_pow(total, 1.0 / p - 1.0)
    if p < 1:
        grad = torch.where(sigma >= QUASI_EPS, grad, 0.0)
    return _rowwise_pow(total, 1.0 / p), grad


def schatten_dsigma(sigma: torch.Tensor, p: float) -> torch.Tensor:
    """∂‖σ‖_p/∂σ_i = σ_i^(p−1) (Σσ^p)^(1/p−1) (closed form: one autograd pass less per step)."""
    return _pnorm_dsigma(sigma, p)[1]


def schatten_ratio_dsigma(sigma: torch.Tensor, p: float, q: float) -> torch.Tensor:
    """∂(‖σ‖_p/‖σ‖_q)/∂σ = (∂‖σ‖_p − (‖σ‖_p/‖σ‖_q) ∂‖σ‖_q)/‖σ‖_q (denominator guarded as in
    :func:`schatten_ratio`)."""
    num, d_num = _pnorm_dsigma(sigma, p)
    den, d_den = _pnorm_dsigma(sigma, q)
    floored = den.clamp_min(_TINY)
    d_den = torch.where(den >= _TINY, d_den, 0.0)
    return (d_num - (num / floored) * d_den) / floored


def ratio(sigma: torch.Tensor) -> torch.Tensor:
    """‖W‖_* / ‖W‖_F: the paper's penalty (a spectral Hoyer measure)."""
    return sigma.sum(-1) / sigma.pow(2).sum(-1).clamp_min(_TINY).sqrt()


def ratio_dsigma(sigma: torch.Tensor) -> torch.Tensor:
    """∂/∂σ_i of ‖σ‖₁/‖σ‖₂: 1/‖W‖_F − ‖W‖_* σ_i/‖W‖_F³ (saves an autograd pass per step)."""
    fro = sigma.pow(2).sum(-1, keepdim=True).clamp_min(_TINY).sqrt()
    return 1.0 / fro - sigma.sum(-1, keepdim=True) * sigma / fro**3


def ratio_polar(
    q: torch.Tensor, w: torch.Tensor, nuc: torch.Tensor, fro: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """‖W‖_*/‖W‖_F and its gradient (Q − (‖W‖_*/‖W‖_F²)·W)/‖W‖_F from the polar factor Q."""
    fro = fro.clamp_min(_TINY)
    value = nuc / fro
    grad = (q - (value / fro)[..., None, None] * w) / fro[..., None, None]
    return value, grad


def nuclear_polar(
    q: torch.Tensor, w: torch.Tensor, nuc: torch.Tensor, fro: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """‖W‖_* = ⟨Q, W⟩ and its gradient Q."""
    return nuc, q


def nuclear(sigma: torch.Tensor) -> torch.Tensor:
    """‖W‖_*, the nuclear norm."""
    return sigma.sum(-1)


def none(sigma: torch.Tensor) -> torch.Tensor:
    """No penalty (R = 0)."""
    return torch.zeros(sigma.shape[:-1], dtype=sigma.dtype, device=sigma.device)


def schatten(sigma: torch.Tensor, p: float) -> torch.Tensor:
    """Schatten-p quasi-norm ‖W‖_{S_p} = (Σσ^p)^{1/p}."""
    return _pnorm(sigma, p)


def schatten_ratio(sigma: torch.Tensor, p: float, q: float) -> torch.Tensor:
    """‖W‖_{S_p} / ‖W‖_{S_q}; the paper uses p < q (a generalisation of the ratio penalty, p=1, q=2)."""
    return _pnorm(sigma, p) / _pnorm(sigma, q).clamp_min(_TINY)


@dataclass(frozen=True)
class PenaltyInfo:
    """A registry entry: the function of σ and how many extra numeric arguments it takes."""

    fn: Callable[..., torch.Tensor]
    n_args: int
    spectral: bool = True
    doc: str = ""
    dsigma: Callable[..., torch.Tensor] | None = None
    """Optional closed form of ∂fn/∂σ, ``dsigma(sigma, *args)``, else autograd (a backward pass per step:
    about twice the host time, which is what a GPU step of small kernels waits on); tests check it
    against autograd."""
    polar: Callable[..., tuple[torch.Tensor, torch.Tensor]] | None = None
    """Optional (value, ∇_W) from the polar factor Q and the norms: ``polar(q, w, nuclear, fro)``, for
    penalties that depend on W only through Q, ‖W‖_* and ‖W‖_F (the matmul-only route of
    :mod:`matcomp.training.spectral`); tests check it against the SVD route."""
    check: Callable[[tuple[Fraction, ...]], str | None] | None = None
    """Optional test of the arguments together: why they make no sense as this penalty, or None."""


def _ratio_order(args: tuple[Fraction, ...]) -> str | None:
    p, q = args
    if p == q:
        return f"p = q = {p} makes ‖W‖_Sp/‖W‖_Sq the constant 1 (no penalty at all)"
    if p > q:
        return (
            f"p = {p} > q = {q}: ‖W‖_Sp/‖W‖_Sq with p > q is largest at rank 1 and rewards high rank; "
            "the ratio penalties have p < q (the paper's 1/2:2/3, 1/3:2/3, 1/3:1/2; ratio is 1:2)"
        )
    return None


PENALTIES: dict[str, PenaltyInfo] = {
    "ratio": PenaltyInfo(ratio, 0, doc="‖W‖_*/‖W‖_F", dsigma=ratio_dsigma, polar=ratio_polar),
    "schatten_ratio": PenaltyInfo(
        schatten_ratio,
        2,
        doc="‖W‖_Sp/‖W‖_Sq with p < q, spec schatten_ratio:p:q",
        dsigma=schatten_ratio_dsigma,
        check=_ratio_order,
    ),
    "nuclear": PenaltyInfo(
        nuclear, 0, doc="‖W‖_*", dsigma=lambda sigma: torch.ones_like(sigma), polar=nuclear_polar
    ),
    "schatten": PenaltyInfo(schatten, 1, doc="‖W‖_Sp quasi-norm, spec schatten:p", dsigma=schatten_dsigma),
    "none": PenaltyInfo(none, 0, spectral=False, doc="no penalty"),
}


class UnknownPenaltyError(ValueError):
    """Raised for a penalty name or spec that the registry does not know."""


@dataclass(frozen=True)
class Penalty:
    """A parsed penalty spec such as ``"ratio"`` or ``"schatten_ratio:1/2:2/3"``."""

    name: str
    args: tuple[Fraction, ...] = ()

    @property
    def spec(self) -> str:
        return ":".join([self.name, *(str(a) for a in self.args)])

    @property
    def slug(self) -> str:
        """A file-name-safe form of the spec (``schatten_ratio-1_2-2_3``)."""
        return "-".join([self.name, *(str(a).replace("/", "_") for a in self.args)])

    @property
    def spectral(self) -> bool:
        return PENALTIES[self.name].spectral

    @property
    def numbers(self) -> tuple[float, ...]:
        """The arguments as floats, as the registry's functions take them."""
        return tuple(float(a) for a in self.args)

    def __call__(self, sigma: torch.Tensor) -> torch.Tensor:
        return PENALTIES[self.name].fn(sigma, *self.numbers)

    def of_matrix(self, w: torch.Tensor) -> torch.Tensor:
        """R(W) for a batch of matrices ``[..., m, n]`` (differentiable through ``svdvals``)."""
        if not self.spectral:
            return self(w.new_zeros((*w.shape[:-2], 1)))
        return self(torch.linalg.svdvals(w))


MAX_DENOMINATOR = 1000
"""An exponent is kept exactly as written (it names the job); one whose fraction needs a larger denominator
(``0.3333``, ``0.0001``) is refused rather than rounded to a value the user did not write."""


def _exponent(text: str, spec: str) -> Fraction:
    """One penalty argument, exact: a positive fraction (``1/2``) or decimal (``0.5``) whose denominator is
    at most :data:`MAX_DENOMINATOR`."""
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        value = None
    if value is None or value <= 0:
        raise UnknownPenaltyError(
            f"bad penalty argument {text!r} in {spec!r}: an exponent is a positive number such as 1/2 or 0.5"
        )
    if value.denominator > MAX_DENOMINATOR:
        near = value.limit_denominator(MAX_DENOMINATOR)
        hint = f" (the nearest with a denominator up to {MAX_DENOMINATOR} is {near})" if near > 0 else ""
        raise UnknownPenaltyError(
            f"penalty argument {text!r} in {spec!r} is {value} exactly, whose denominator exceeds "
            f"{MAX_DENOMINATOR}: exponents are kept exact, never rounded, so write the fraction you mean{hint}"
        )
    return value


def parse_penalty(spec: str) -> Penalty:
    """Parse ``name[:arg[:arg]]``; arguments may be fractions (``1/2``) or decimals.

    >>> parse_penalty("schatten_ratio:1/2:2/3").args
    (Fraction(1, 2), Fraction(2, 3))
    """
    if not isinstance(spec, str) or not spec:
        raise UnknownPenaltyError(f"penalty spec must be a non-empty string, got {spec!r}")
    name, *raw = spec.split(":")
    if name not in PENALTIES:
        raise UnknownPenaltyError(
            f"unknown penalty {name!r}; valid penalties: {', '.join(sorted(PENALTIES))}"
        )
    info = PENALTIES[name]
    if len(raw) != info.n_args:
        raise UnknownPenaltyError(
            f"penalty {name!r} takes {info.n_args} argument(s) ({info.doc}), got {len(raw)} in {spec!r}"
        )
    args = tuple(_exponent(a, spec) for a in raw)
    why = info.check(args) if info.check else None
    if why:
        raise UnknownPenaltyError(f"penalty {spec!r}: {why}")
    return Penalty(name, args)


def spectral_dsigma(penalty: Penalty, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """R(σ) and ∂R/∂σ for a batch of spectra ``[..., k]`` (closed form where the registry has one)."""
    closed_form = PENALTIES[penalty.name].dsigma
    if closed_form is not None:
        return penalty(sigma), closed_form(sigma, *penalty.numbers)
    with torch.enable_grad():
        s = sigma.detach().requires_grad_(True)
        value = penalty(s)
        (dsigma,) = torch.autograd.grad(value.sum(), s)
    return value.detach(), dsigma


def spectral_grad(
    penalty: Penalty, u: torch.Tensor, sigma: torch.Tensor, vh: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """R(σ) and ∇_W R = U diag(∂R/∂σ) Vᵀ from a thin SVD ``W = U diag(σ) Vh`` (batched).

    Returns ``(value [...], grad [..., m, n])``.  Exact for spectral penalties (the same result as
    autograd through ``torch.linalg.svdvals``), at the cost of one SVD that the caller already has.
    """
    value, dsigma = spectral_dsigma(penalty, sigma)
    return value, (u * dsigma.unsqueeze(-2)) @ vh


def normalize(spec: str, lam: float) -> tuple[str, float]:
    """(penalty spec, λ) with "no penalty" in one form: penalty ``none`` or λ = 0 ⇒ ("none", 0.0); otherwise
    the canonical spec (``schatten:0.5`` ⇒ ``schatten:1/2``)."""
    if spec == "none" or lam == 0:
        return "none", 0.0
    return get_penalty(spec).spec, float(lam)


def get_penalty(spec: str | Penalty) -> Penalty:
    """Registry lookup in the spirit of ``torch.optim``: a spec string or a :class:`Penalty`."""
    return spec if isinstance(spec, Penalty) else parse_penalty(spec)
