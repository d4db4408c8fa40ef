"""Running a baseline (:data:`matcomp.baselines.BASELINES`): its solver on a problem, a JSON-ready record."""

from __future__ import annotations

import importlib
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from . import check_method
from ._common import jsonable, observed_input

if TYPE_CHECKING:
    from matcomp.data import Problem


def _solver(method: str):
    """The method's solver, imported by name (the baseline step's code hash covers every module of
    ``matcomp/baselines/``: :data:`matcomp.store.codehash.STEPS`)."""
    spec = check_method(method)
    return importlib.import_module(f"{__package__}.{spec.solver}").complete


def _options(method: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with the method's fixed implementation (a different one is refused)."""
    fixed = check_method(method).implementation
    if fixed is None:
        return dict(options)
    if options.get("implementation", fixed) != fixed:
        raise ValueError(f"{method} runs implementation {fixed!r} only, got {options['implementation']!r}")
    return {**options, "implementation": fixed}


def complete(
    method: str, w_obs: np.ndarray, mask: np.ndarray | None = None, **options: Any
) -> tuple[np.ndarray, dict[str, Any]]:
    """Complete ``w_obs`` (NaN = unobserved, or ``mask`` True = observed) with baseline ``method``.

    Returns ``(w_hat, info)``; ``info["status"]`` is "ok" or "failed" (then ``w_hat`` is all NaN).
    """
    return _solver(method)(w_obs, mask, **_options(method, options))


def run_baseline(method: str, problem: Problem, **options: Any) -> dict[str, Any]:
    """Run baseline ``method`` on ``problem`` and return its JSON-ready record.

    Keys: method, implementation, test_error (all entries), test_error_unobserved, train_error,
    effective_rank, singular_values, seconds, status, message, options, info (method details),
    settings (the problem's), provenance.  For a method that takes it (``true_rank``, the OptSpace ones),
    ``rank="true"`` passes the problem's true rank
    (OptSpace's own estimate, ``rank=None``, tends to under-estimate at low sampling rates).
    """
    from matcomp.store.provenance import provenance
    from matcomp.training.metrics import effective_rank, test_error

    fn, spec = _solver(method), check_method(method)
    w, mask = observed_input(problem.w_star, problem.mask)
    call_options = _options(method, options)
    if spec.true_rank and call_options.get("rank") == "true":
        call_options["rank"] = int(problem.settings["rank"])  # hand OptSpace the true rank
    t0 = time.perf_counter()
    w_hat, info = fn(w, mask, **call_options)
    seconds = time.perf_counter() - t0
    finite = bool(np.isfinite(w_hat).all())
    if finite:
        sigma = np.linalg.svd(w_hat, compute_uv=False)
        erank = effective_rank(sigma)
        err = test_error(w_hat, problem.w_star)
        err_unobs = test_error(w_hat, problem.w_star, ~mask) if (~mask).any() else float("nan")
        err_train = test_error(w_hat, problem.w_star, mask)
    else:
        sigma = np.full(min(w_hat.shape), np.nan)
        erank = err = err_unobs = err_train = float("nan")
    info = dict(info)
    return jsonable(
        {
            "method": method,
            "implementation": info.pop("implementation", method),
            "test_error": err,
            "test_error_unobserved": err_unobs,
            "train_error": err_train,
            "effective_rank": erank,
            "singular_values": sigma,
            "seconds": seconds,
            "status": info.pop("status", "ok" if finite else "failed"),
            "message": info.pop("message", ""),
            "options": options,
            "info": info,
            "settings": dict(problem.settings),
            "provenance": provenance(),
        }
    )
