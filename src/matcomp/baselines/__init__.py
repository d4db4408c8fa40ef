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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Method:
    """A baseline method, everything the planner, the workflow, the figures and the claims need of it: a new
    baseline is one function and one entry of :data:`BASELINES` (``tests/test_labels.py`` checks the rest)."""

    complete: CompleteFn
    label: str
    """Printed label (figures, tables, claims): the paper's short name."""
    plain: str
    """The label in words, for readers (``SoftImpute``)."""
    color: str | None = None
    """Its colour in every figure (:mod:`matcomp.report.style`); None: a shade of the method its label
    starts with, else one picked by a hash of the label."""
    env: str = "baselines.yaml"
    """The conda env (``envs/``) its jobs run in under ``--use-conda``."""
    cran: bool = False
    """Runs CRAN's ROptSpace where it is installed: its jobs wait for the workflow's ``roptspace`` rule
    (which installs it into ``results/R/library`` when CRAN is reachable) and are handed that library."""
    true_rank: bool = False
    """Takes ``rank: "true"`` (the problem's true rank) among its options."""
    implementation: str | None = None
    """Its fixed implementation (OptSpace published: ``builtin-published``), None where it has no choice or
    takes the config's."""
    implementation_key: str | None = None
    """The top-level config key whose value is its implementation (``optspace`` for the paper's OPT)."""
    check_implementation: Callable[[str], str] | None = None
    """Validates an ``implementation`` option (raises ValueError naming the valid ones); None: it takes none."""
    in_paper: bool = True
    """One of the paper's methods (claims over "all other methods" mean these)."""


def _optspace_implementation(implementation: str) -> str:
    from .optspace import check_implementation

    return check_implementation(implementation)


PUBLISHED_LABEL = "OPT (published)"
BASELINES: dict[str, Method] = {
    "cp": Method(_cp, "CP", "minimum nuclear norm", color="#029e73"),
    "si": Method(_si, "SI", "SoftImpute", color="#ca9161"),
    "opt": Method(_opt, "OPT", "OptSpace", color="#de8f05", env="r.yaml", cran=True, true_rank=True,
                  implementation_key="optspace", check_implementation=_optspace_implementation),
    "opt_published": Method(_opt_published, PUBLISHED_LABEL, "OptSpace, the published algorithm", env="r.yaml",
                            true_rank=True, implementation=PUBLISHED, check_implementation=_optspace_implementation,
                            in_paper=False),
}  # fmt: skip
"""Method name -> :class:`Method` (colours: the paper's green, brown and orange of seaborn's colorblind palette)."""


def _check_method(method: str) -> CompleteFn:
    try:
        return BASELINES[method].complete
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
    settings (the problem's), provenance.  For a method that takes it (``true_rank``, the OptSpace ones),
    ``rank="true"`` passes the problem's true rank
    (OptSpace's own estimate, ``rank=None``, tends to under-estimate at low sampling rates).
    """
    from matcomp.metrics import effective_rank, test_error
    from matcomp.provenance import provenance

    fn = _check_method(method)
    w, mask = observed_input(problem.w_star, problem.mask)
    call_options = dict(options)
    if BASELINES[method].true_rank and call_options.get("rank") == "true":
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


__all__ = ["BASELINES", "Method", "complete", "run_baseline"]
