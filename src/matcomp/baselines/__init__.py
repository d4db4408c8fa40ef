"""The classic baselines of Fig. 4/5, each through its own library.

- ``cp``: minimum nuclear norm completion in CVXPY, solver SCS (:mod:`matcomp.baselines.cvx`);
- ``si``: fancyimpute's SoftImpute with library defaults (:mod:`matcomp.baselines.softimpute`);
- ``opt``: OptSpace in R through rpy2 as the paper ran it: CRAN's ROptSpace, or matcomp's twin of its
  steps (``implementation`` "auto", "roptspace", "builtin-cran"; :mod:`matcomp.baselines.optspace`);
- ``opt_published``: OptSpace as published (geodesic steps, Armijo search), matcomp's R port
  (implementation "builtin-published" always), drawn beside ``opt`` because the two differ.

Each method is a pure function ``complete(w_obs, mask=None, **options) -> (w_hat, info)`` over a matrix
with NaN at the unobserved entries; :func:`run_baseline` runs one on a :class:`~matcomp.data.Problem` and
returns a JSON-ready record.  The libraries are imported only when their method runs, so an environment
needs only the libraries of the methods it runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ._common import jsonable, observed_input

if TYPE_CHECKING:
    from matcomp.data import Problem

CompleteFn = Callable[..., tuple[np.ndarray, dict[str, Any]]]


def _cp(
    w_obs: np.ndarray, mask: np.ndarray | None = None, **options: Any
) -> tuple[np.ndarray, dict[str, Any]]:
    """CP: minimum nuclear norm (CVXPY + SCS); see :func:`matcomp.baselines.cvx.complete`."""
    from . import cvx

    return cvx.complete(w_obs, mask, **options)


def _si(
    w_obs: np.ndarray, mask: np.ndarray | None = None, **options: Any
) -> tuple[np.ndarray, dict[str, Any]]:
    """SI: fancyimpute SoftImpute; see :func:`matcomp.baselines.softimpute.complete`."""
    from . import softimpute

    return softimpute.complete(w_obs, mask, **options)


def _opt(
    w_obs: np.ndarray, mask: np.ndarray | None = None, **options: Any
) -> tuple[np.ndarray, dict[str, Any]]:
    """OPT: OptSpace in R; see :func:`matcomp.baselines.optspace.complete`."""
    from . import optspace

    return optspace.complete(w_obs, mask, **options)


PUBLISHED = "builtin-published"


def _opt_published(
    w_obs: np.ndarray, mask: np.ndarray | None = None, **options: Any
) -> tuple[np.ndarray, dict[str, Any]]:
    """OPT (published): the published OptSpace, implementation "builtin-published" (the only one)."""
    from . import optspace

    impl = options.pop("implementation", PUBLISHED)
    if impl != PUBLISHED:
        raise ValueError(f"opt_published runs implementation {PUBLISHED!r} only, got {impl!r}")
    return optspace.complete(w_obs, mask, implementation=PUBLISHED, **options)


BASELINES: dict[str, CompleteFn] = {"cp": _cp, "si": _si, "opt": _opt, "opt_published": _opt_published}
OPTSPACE_METHODS = ("opt", "opt_published")  # OptSpace in R: ``rank="true"`` passes the true rank


def _check_method(method: str) -> CompleteFn:
    try:
        return BASELINES[method]
    except (KeyError, TypeError):
        raise ValueError(f"unknown baseline {method!r}; valid: {', '.join(BASELINES)}") from None


def complete(
    method: str, w_obs: np.ndarray, mask: np.ndarray | None = None, **options: Any
) -> tuple[np.ndarray, dict[str, Any]]:
    """Complete ``w_obs`` (NaN = unobserved, or ``mask`` True = observed) with baseline ``method``.

    Returns ``(w_hat, info)``; ``info["status"]`` is "ok" or "failed" (then ``w_hat`` is all NaN).
    """
    return _check_method(method)(w_obs, mask, **options)


def run_baseline(method: str, problem: Problem, **options: Any) -> dict[str, Any]:
    """Run baseline ``method`` on ``problem`` and return its JSON-ready record.

    Keys: method, implementation, test_error (all entries), test_error_unobserved, train_error,
    effective_rank, singular_values, seconds, status, message, options, info (method details),
    settings (the problem's), provenance.  For the OptSpace methods (:data:`OPTSPACE_METHODS`),
    ``rank="true"`` passes the problem's true rank
    (OptSpace's own estimate, ``rank=None``, tends to under-estimate at low sampling rates).
    """
    from matcomp.metrics import effective_rank, test_error
    from matcomp.provenance import provenance

    fn = _check_method(method)
    w, mask = observed_input(problem.w_star, problem.mask)
    call_options = dict(options)
    if method in OPTSPACE_METHODS and call_options.get("rank") == "true":
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


__all__ = ["BASELINES", "OPTSPACE_METHODS", "complete", "run_baseline"]
