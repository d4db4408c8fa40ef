"""Spectral routes: how a training step gets a spectral penalty's value and gradient.

``svd``
    One thin SVD ``W = U diag(σ) Vᵀ`` per step; R(σ) and ``∇R = U diag(∂R/∂σ) Vᵀ`` (Lewis' formula,
    :func:`matcomp.training.penalties.spectral_grad`).  Exact for every penalty; the singular values come for free.
``polar``
    Matrix products only.  The ratio penalty and the nuclear norm depend on W only through its polar
    factor ``Q = U Vᵀ`` and two norms: ``N = ‖W‖_* = ⟨Q, W⟩``, ``F = ‖W‖_F``, ``∇N = Q``,
    ``∇(N/F) = (Q − (N/F²)·W)/F``.  Q comes from a scaled Newton–Schulz iteration (:func:`polar_factor`),
    batched over cells; no singular values are computed except where a metric needs them (log points and
    the final result).  Penalties that need the singular values themselves (the Schatten quasi-norms,
    σ^(p−1)) have no polar form and always take the SVD route.
``gesvda``
    For the penalties that need singular values (the Schatten quasi-norms) on a GPU: the thin SVD of W
    from cuSOLVER's batched *approximate* SVD (``driver="gesvda"``: an eigen-decomposition of the Gram
    matrix, truly batched: 4.3 ms for 330 matrices 100×100 on an H200, against 3.8 ms per matrix for the
    default driver), in float64, of the shifted matrix ``[W; δI]`` (:func:`shifted_svd`).  On the CPU the
    same float64 computation runs through LAPACK (for tests).  Its gradients are at least as close to a
    float64 SVD's as the float32 SVD's are (benchmarks/README.md), but Schatten training does not follow
    the float32 SVD route's trajectories within their seed spread (benchmarks/gesvda_training.md), so no
    ``auto`` picks it: it is a named reading, chosen by ``gesvda`` or ``auto-gesvda``.
``auto``
    ``polar`` on a CUDA device for penalties that have a polar form (batched 100×100 SVDs loop over
    cuSOLVER there: 3.8 ms per matrix on an H200, while a batched product of 1 000 such matrices takes
    0.1 ms), ``svd`` otherwise: on the CPU (MKL's SVD of a 100×100 matrix, ~0.9 ms, is faster than the 50
    products of the polar iteration), and for the other spectral penalties, whose jobs ``device: auto``
    then runs on the CPU (:func:`matcomp.training.placement.gpu_is_faster`).
``auto-gesvda``
    As ``auto``, but on a CUDA device the penalties without a polar form take ``gesvda`` (their jobs then
    run on the GPU too).

The iteration
-------------
Newton–Schulz, ``X ← 1.5X − 0.5·X XᵀX`` from ``X₀ = W/‖W‖_F``, maps every singular value x ∈ (0, 1] of X
through ``f(x) = 1.5x − 0.5x³``, which converges to 1 but only multiplies a small x by 1.5 per step: a
singular value 10⁻⁸ of ‖W‖_F needs 50 steps (100 products).  The scaled variant applies f to ``α_k X``:
if every singular value lies in ``[ℓ_k, 1]``, the α that maps both ends of the interval to the same
value, ``f(α ℓ_k) = f(α)``, is ``α_k = √(3 / (1 + ℓ_k + ℓ_k²))`` (Chen & Chow's scaling), and a small
value is then multiplied by ``1.5·√3 ≈ 2.6`` per step.  But that α is close to √3 while ℓ_k is small, and
f(√3) = 0: a singular value near 1 is sent to about ℓ_k by the difference of two numbers near 2.6, so in
floating point it keeps only ``eps/ℓ_k`` of relative accuracy — in float32 its direction is destroyed
(a random 31×41 matrix: 5 % error in the ratio gradient).  The scaling is therefore capped,
``α_k = min(√(3 / (1 + ℓ_k + ℓ_k²)), 1.7)``: f(1.7) ≈ 0.094, so a value near 1 loses at most ~11 ulps,
and a small value grows by 2.55 per step; the interval becomes ``[ℓ_{k+1}, 1]`` with
``ℓ_{k+1} = min(f(α_k ℓ_k), f(α_k))``.  (A cap of 1.5, f = 0.56, is more accurate per call but, measured,
left Adam + ratio at depth 3 at a final test error of 2e-6 against the SVD route's 3e-7; 1.7 reaches
the SVD route's 3e-7–6e-7: benchmarks/polar_training.md.)  From ``ℓ₀`` (the *floor*: singular values
below ``ℓ₀·‖W‖_F`` are only partly resolved) the schedule is fixed in advance (:func:`polar_schedule`):
23 steps for ℓ₀ = 10⁻⁸ to bring the interval to within 10⁻⁷ of 1, against 50 unscaled; two last
unscaled steps polish rounding.  Every map is an odd polynomial, so a zero singular value
stays zero: on the null space Q is 0, which is a valid subgradient of ‖W‖_* there (the SVD route puts an
arbitrary unit direction there instead).  ``benchmarks/polar_accuracy.py`` measures Q and ‖W‖_* against a
float64 SVD on training-like spectra.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import TYPE_CHECKING, Any

from .lazy import lazy_import

if TYPE_CHECKING:
    import torch

    from .penalties import Penalty
else:
    torch = lazy_import("torch")  # imported on first use: planning reads the routes only

ROUTES = ("svd", "polar", "gesvda", "auto", "auto-gesvda")
AUTO_ROUTES = ("auto", "auto-gesvda")

_POOLS: dict[int, ThreadPoolExecutor] = {}


def batched_linalg(fn: Callable[[torch.Tensor], Any], w: torch.Tensor) -> Any:
    """``fn(w)`` for a batched LAPACK call (``torch.linalg.svd``, ``svdvals``), the same numbers, faster on the CPU.

    PyTorch's batched CPU SVD is a serial loop over the batch, and with more than one intra-op thread each
    small (100×100) SVD gets slower, not faster (1.3–1.5 ms instead of 0.9 ms here).  On the CPU, with
    ``torch.get_num_threads() > 1`` and a batch, the batch is split into that many chunks that run
    concurrently (LAPACK releases the GIL); every matrix is still decomposed by the same routine on its own,
    so the result is bit-identical to ``fn(w)`` where the matrices are whole 64-byte units (100×100
    float32: every chunk then starts at the alignment the matrix has in the whole batch).  One matrix
    (``w.dim() == 2``) is ``fn(w)``.
    """
    threads = torch.get_num_threads()
    if w.device.type != "cpu" or threads < 2 or w.dim() < 3 or w.shape[0] < 2:
        return fn(w)
    parts = min(threads, w.shape[0])
    pool = _POOLS.get(parts) or _POOLS.setdefault(parts, ThreadPoolExecutor(parts, thread_name_prefix="svd"))
    results = list(pool.map(fn, w.chunk(parts)))
    if isinstance(results[0], torch.Tensor):
        return torch.cat(results)
    return tuple(torch.cat(x) for x in zip(*results))


def _svd(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Thin SVD by LAPACK's default (gesdd); where it fails to converge, :func:`_fallback_svd` per matrix."""
    try:
        return torch.linalg.svd(w, full_matrices=False)
    except torch.linalg.LinAlgError:
        return _per_matrix(_fallback_svd, w)


def svdvals(w: torch.Tensor) -> torch.Tensor:
    """Singular values by LAPACK's default; where it fails to converge, :func:`_fallback_svd` per matrix."""
    try:
        return torch.linalg.svdvals(w)
    except torch.linalg.LinAlgError:
        return _per_matrix(lambda m: _fallback_svd(m)[1], w)


def _per_matrix(fn: Callable[[torch.Tensor], Any], w: torch.Tensor) -> Any:
    if w.dim() == 2:
        return fn(w)
    parts = [fn(m) for m in w]
    return (
        torch.stack(parts)
        if isinstance(parts[0], torch.Tensor)
        else tuple(torch.stack(x) for x in zip(*parts))
    )


FALLBACKS = {"svd": 0}
"""How many matrices took :func:`_fallback_svd` in this process (the trainer records it in provenance)."""


def _fallback_svd(m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The SVD of one matrix where LAPACK's default (divide and conquer, gesdd) refuses it as ill-conditioned
    (seen for Adagrad + ratio at depth 1 after ~10⁵ steps): gesdd again if it converges alone, else the
    float64 SVD, else the QR-iteration driver (gesvd, scipy), each cast back to the matrix's dtype.  Without
    it one such matrix stops the whole batch; a result records how many took it."""
    try:
        return torch.linalg.svd(m, full_matrices=False)
    except torch.linalg.LinAlgError:
        FALLBACKS["svd"] += 1
    try:
        u, s, vh = torch.linalg.svd(m.double(), full_matrices=False)
    except torch.linalg.LinAlgError:
        import scipy.linalg

        u, s, vh = (torch.from_numpy(x) for x in scipy.linalg.svd(
            m.detach().cpu().double().numpy(), full_matrices=False, lapack_driver="gesvd"))  # fmt: skip
    return tuple(x.to(dtype=m.dtype, device=m.device) for x in (u, s, vh))


POLAR_FLOOR = {"float32": 1e-8, "float64": 1e-12}
"""ℓ₀ by dtype: singular values below ``ℓ₀·‖W‖_F`` are not fully resolved by the polar route."""

POLAR_TOL = {"float32": 1e-7, "float64": 1e-14}
"""The schedule stops scaling once the guaranteed interval is within this of 1."""


def _precision(dtype: torch.dtype) -> str:
    """The key of :data:`POLAR_FLOOR` and :data:`POLAR_TOL` for ``dtype`` (``torch.float32`` → ``float32``)."""
    return str(dtype).removeprefix("torch.")


@cache
def _dtype_schedule(dtype: torch.dtype) -> tuple[float, ...]:
    """:func:`polar_schedule` for ``dtype``'s floor and tolerance (looked up once per dtype: it runs every step)."""
    return polar_schedule(POLAR_FLOOR[_precision(dtype)], POLAR_TOL[_precision(dtype)])


ALPHA_CAP = 1.7
"""Largest scaling of a step: f(1.7) ≈ 0.094 keeps values near 1 from cancelling away (module docstring)."""

POLISH_STEPS = 2
"""Unscaled Newton–Schulz steps after the scaled schedule (they remove the schedule's rounding)."""


@cache
def polar_schedule(floor: float, tol: float, polish: int = POLISH_STEPS) -> tuple[float, ...]:
    """The scalings α_k of the scaled Newton–Schulz iteration from ``[floor, 1]`` to within ``tol`` of 1."""
    if not 0 < floor < 1 or not 0 < tol < 1:
        raise ValueError(f"polar floor and tol must lie in (0, 1), got {floor}, {tol}")
    lower, alphas = floor, []
    while 1 - lower > tol and len(alphas) < 200:
        alpha = min(math.sqrt(3 / (1 + lower + lower * lower)), ALPHA_CAP)
        alphas.append(alpha)
        lower = min(_newton_schulz(alpha * lower), _newton_schulz(alpha))
    return tuple(alphas) + (1.0,) * polish


def _newton_schulz(y: float) -> float:
    return 1.5 * y - 0.5 * y**3


def polar_steps(dtype: torch.dtype) -> int:
    """How many Newton–Schulz steps (two batched products each) one polar factor costs in ``dtype``."""
    return len(_dtype_schedule(dtype))


def polar_factor(w: torch.Tensor, fro: torch.Tensor | None = None) -> torch.Tensor:
    """The polar factor Q = U Vᵀ of a batch ``[..., m, n]`` by the scaled Newton–Schulz iteration.

    Works on the smaller Gram matrix (``XᵀX`` when m ≥ n, else ``XXᵀ``), so a 944×1683 matrix costs
    products with a 944×944 Gram.  ``fro`` (‖W‖_F per matrix) may be passed when already at hand.
    A zero matrix gives Q = 0.
    """
    alphas = _dtype_schedule(w.dtype)
    if fro is None:
        fro = torch.linalg.matrix_norm(w)
    shape = w.shape
    x = (w / fro.clamp_min(torch.finfo(w.dtype).tiny)[..., None, None]).reshape(-1, *shape[-2:])
    tall = shape[-2] >= shape[-1]
    for alpha in alphas:
        # f(αx) = 1.5αx − 0.5α³·x xᵀx: one Gram product, one fused multiply-add of the batch
        if tall:
            x = torch.baddbmm(x, x, x.mT @ x, beta=1.5 * alpha, alpha=-0.5 * alpha**3)
        else:
            x = torch.baddbmm(x, x @ x.mT, x, beta=1.5 * alpha, alpha=-0.5 * alpha**3)
    return x.reshape(shape)


def has_polar_form(penalty: Penalty) -> bool:
    """Whether ``penalty``'s value and gradient follow from Q, ‖W‖_* and ‖W‖_F (its registry entry)."""
    from .penalties import PENALTIES

    return PENALTIES[penalty.name].polar is not None and not penalty.args


GESVDA_SHIFT = 1e-6
"""δ/‖W‖_F in :func:`shifted_svd`: keeps the Gram matrix's condition number below 10¹² (cuSOLVER's gesvda
refused matrices whose singular values spanned 10⁹, benchmarks/device/2026-11-27-h200-probe: the Gram
squares that)."""


def shifted_svd(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Thin SVD ``(U, σ, Vᵀ)`` of a batch ``[..., m, n]``, in float64, through the SVD of ``[W; δI]``.

    The shifted matrix has Gram matrix ``WᵀW + δ²I``: the same right singular vectors V as W, and a
    condition number at most ``(‖W‖_F/δ)²`` = 10¹², which cuSOLVER's Gram-based batched SVD (``gesvda``,
    on CUDA; LAPACK on the CPU) handles.  Then ``W V = U diag(σ)``: σ is the norm of each column of ``W V``
    (accurate to about ``eps64·‖W‖``, far below float32's resolution of W's own entries) and U its
    normalised columns; a column with σ = 0 gets U = 0 (a valid subgradient direction for the penalties
    here; the SVD route puts an arbitrary unit vector there).  The order of σ is not guaranteed (spectral
    functions do not depend on it).  A batch that gesvda still refuses falls back to the default driver.
    """
    w64 = w.double()
    wide = w64.shape[-2] < w64.shape[-1]
    if wide:
        w64 = w64.mT
    n = w64.shape[-1]
    delta = GESVDA_SHIFT * torch.linalg.matrix_norm(w64)
    eye = torch.eye(n, dtype=w64.dtype, device=w64.device)
    shifted = torch.cat([w64, delta[..., None, None] * eye], dim=-2)
    driver = "gesvda" if w64.device.type == "cuda" else None
    try:
        vh = torch.linalg.svd(shifted, full_matrices=False, driver=driver)[2]
    except RuntimeError:  # cuSOLVER's convergence check: take the exact (looped) driver for this step
        vh = torch.linalg.svd(shifted, full_matrices=False)[2]
    wv = w64 @ vh.mT
    sigma = torch.linalg.vector_norm(wv, dim=-2)
    u = torch.where(
        sigma[..., None, :] > 0, wv / sigma.clamp_min(torch.finfo(w64.dtype).tiny)[..., None, :], 0.0
    )
    if wide:
        return vh.mT, sigma, u.mT
    return u, sigma, vh


def polar_parts(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(Q, ‖W‖_* = ⟨Q, W⟩, ‖W‖_F) of a batch: what a penalty's ``polar`` function takes besides W."""
    fro = torch.linalg.matrix_norm(w)
    q = polar_factor(w, fro)
    return q, (q * w).sum((-2, -1)), fro


class GraphedPolar:
    """:func:`polar_parts` on a CUDA device, replayed as a CUDA graph (bit-identical to the eager call).

    The polar iteration is ~50 small batched products: with tens of cells a step is bound by kernel
    launches (H200: 1.46 ms eager, 0.53 ms replayed, for 64 matrices 100×100), so the trainer captures it
    once per batch shape and replays it.  Elsewhere (the CPU), or if capture fails, it calls
    :func:`polar_parts`.  The results are copies (the graph's buffers are overwritten by the next call).
    """

    def __init__(self) -> None:
        self.graphs: dict[tuple, tuple[torch.cuda.CUDAGraph, torch.Tensor, tuple] | None] = {}

    def __call__(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if w.device.type != "cuda":
            return polar_parts(w)
        key = (tuple(w.shape), w.dtype, w.device)
        if key not in self.graphs:
            self.graphs[key] = self._capture(w)
        entry = self.graphs[key]
        if entry is None:
            return polar_parts(w)
        graph, static, outs = entry
        static.copy_(w)
        graph.replay()
        return tuple(x.clone() for x in outs)

    @staticmethod
    def _capture(w: torch.Tensor):
        static = w.detach().clone()
        try:
            side = torch.cuda.Stream(w.device)
            side.wait_stream(torch.cuda.current_stream(w.device))
            with torch.cuda.stream(side):
                for _ in range(2):  # warm-up outside the graph (cuBLAS workspaces, allocator)
                    polar_parts(static)
            torch.cuda.current_stream(w.device).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                outs = polar_parts(static)
        except RuntimeError:  # no graph support here: stay eager
            return None
        return graph, static, outs


def route_entry(record: dict, spec: str) -> dict:
    """One penalty's route record from a batch's ``spectral_route``: a batch of one penalty records one
    route, a mixed batch one per penalty spec."""
    return record if "route" in record else record[spec]


def route_record(route: str, dtype: torch.dtype) -> dict[str, object]:
    """What a result records about the route that made it (with the polar schedule where it ran)."""
    record: dict[str, object] = {"route": route}
    if route == "gesvda":
        record.update(shift=GESVDA_SHIFT, precision="float64", solver="cuSOLVER gesvda (CPU: LAPACK)")
    if route == "polar":
        record.update(
            floor=POLAR_FLOOR[_precision(dtype)],
            tol=POLAR_TOL[_precision(dtype)],
            steps=polar_steps(dtype),
            iteration="scaled Newton-Schulz",
        )
    return record


# ---------------------------------------------------------------- the one dispatch of a route


def route_parts(route: str, w: torch.Tensor, polar: Callable[[torch.Tensor], tuple] | None = None) -> tuple:
    """What a route computes once per step for a batch ``[..., m, n]`` (or one matrix), shared by every
    penalty on it: ``svd`` (U, σ, Vᵀ) by LAPACK/cuSOLVER in W's dtype, ``gesvda`` (U, σ, Vᵀ) in float64
    (:func:`shifted_svd`), ``polar`` (Q, ‖W‖_*, ‖W‖_F) by ``polar`` (default :func:`polar_parts`, or a
    :class:`GraphedPolar`)."""
    if route == "svd":
        return batched_linalg(_svd, w)
    if route == "gesvda":
        return shifted_svd(w)
    if route == "polar":
        return (polar or polar_parts)(w)
    raise ValueError(f"route_parts: no parts for route {route!r}")


def penalties_from_parts(
    groups: Sequence[tuple[Penalty, torch.Tensor | None]], route: str, parts: tuple, w: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """R(W) and ∇_W R (in W's dtype) of a batch whose rows carry different penalties, from the route's
    :func:`route_parts` of the same W: ``groups`` are (penalty, its rows; None: every row).

    On an SVD route each penalty's ∂R/∂σ fills its rows and one ``U diag(∂R/∂σ) Vᵀ`` serves them all, on the
    factors as the SVD returned them (their memory layout decides the product's rounding, so each matrix
    gets exactly the product it gets alone); on the polar route each penalty's formula takes its rows."""
    from .penalties import PENALTIES, spectral_dsigma

    whole = len(groups) == 1 and groups[0][1] is None
    if route == "polar":
        q, nuc, fro = parts
        if whole:
            return PENALTIES[groups[0][0].name].polar(q, w, nuc, fro)
        value, grad = torch.zeros_like(fro), torch.zeros_like(w)
        for pen, rows in groups:
            v, g = PENALTIES[pen.name].polar(*(x.index_select(0, rows) for x in (q, w, nuc, fro)))
            value.index_copy_(0, rows, v)
            grad.index_copy_(0, rows, g)
        return value, grad
    u, s, vh = parts
    if whole:
        value, dsigma = spectral_dsigma(groups[0][0], s)
    else:
        value, dsigma = torch.zeros_like(s[..., 0]), torch.zeros_like(s)
        for pen, rows in groups:
            v, d = spectral_dsigma(pen, s.index_select(0, rows))
            value.index_copy_(0, rows, v)
            dsigma.index_copy_(0, rows, d)
    return value.to(w.dtype), ((u * dsigma.unsqueeze(-2)) @ vh).to(w.dtype)


def value_and_grad(
    penalty: Penalty, w: torch.Tensor, route: str, polar: Callable[[torch.Tensor], tuple] | None = None
) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor | None]:
    """(σ or None, R(W), ∇_W R or None) of a batch W (or one matrix) by a resolved route
    (:func:`matcomp.training.placement.resolve_route`): ``svd``, ``gesvda``, ``polar`` or ``none``.

    σ is returned where the route computed it in W's precision (``svd``), for the logs; ``none`` gives
    R = 0 and no gradient."""
    if route == "none":
        return None, torch.zeros(w.shape[:-2], dtype=w.dtype, device=w.device), None
    parts = route_parts(route, w, polar)
    value, grad = penalties_from_parts([(penalty, None)], route, parts, w)
    return (parts[1] if route == "svd" else None), value, grad
