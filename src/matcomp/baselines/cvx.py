"""CP: minimum nuclear norm completion, ``minimize ‖X‖_*  s.t.  X_Ω = W*_Ω``, in CVXPY with SCS.

SCS is named explicitly: on the 100×100 problem it solves in about 1.4 s, while CVXPY's other installed
conic solvers (CLARABEL, CVXOPT) grow to 10–20 GB on the same problem.  A solver failure is recorded in the
returned info (``status`` "failed", ``solver_status``, ``message``) with an all-NaN matrix; it never raises.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ._common import nan_matrix, observed_input

IMPLEMENTATION = "cvxpy"  # recorded as "cvxpy/<SOLVER>"
DEFAULT_SOLVER = "SCS"
# CVXPY's own defaults for SCS 3 (eps 1e-5 rather than SCS's 1e-4), written out so results record them.
DEFAULT_SCS_OPTIONS: dict[str, Any] = {"eps_abs": 1e-5, "eps_rel": 1e-5, "max_iters": 100_000}
_OK = ("optimal", "optimal_inaccurate")


def complete(
    w_obs: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    solver: str = DEFAULT_SOLVER,
    solver_options: dict[str, Any] | None = None,
    verbose: bool = False,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Minimum nuclear norm matrix agreeing with ``w_obs`` on the observed entries.

    ``w_obs`` has NaN where unobserved (or pass ``mask``, True = observed).  ``solver_options`` are passed
    to ``Problem.solve`` on top of :data:`DEFAULT_SCS_OPTIONS` (for SCS).  Returns ``(w_hat, info)``.
    """
    import cvxpy as cp

    w, mask = observed_input(w_obs, mask)
    opts = dict(DEFAULT_SCS_OPTIONS) if solver.upper() == "SCS" else {}
    opts.update(solver_options or {})
    rows, cols = np.nonzero(mask)
    x = cp.Variable(w.shape)
    problem = cp.Problem(cp.Minimize(cp.normNuc(x)), [x[rows, cols] == w[rows, cols]])
    info: dict[str, Any] = {
        "implementation": f"{IMPLEMENTATION}/{solver}",
        "solver": solver,
        "solver_options": opts,
        "versions": _versions(solver),
    }
    t0 = time.perf_counter()
    try:
        problem.solve(solver=solver, verbose=verbose, **opts)
        solver_status, message = str(problem.status), ""
    except (cp.error.SolverError, ValueError, ArithmeticError) as err:
        solver_status, message = "solver_error", f"{type(err).__name__}: {err}".splitlines()[0]
    info["wall_seconds"] = time.perf_counter() - t0
    info["solver_status"] = solver_status
    stats = getattr(problem, "solver_stats", None)
    if stats is not None:
        info["solve_seconds"] = stats.solve_time
        info["setup_seconds"] = stats.setup_time
        info["iterations"] = stats.num_iters
    value = x.value
    if solver_status in _OK and value is not None and np.isfinite(value).all():
        w_hat = np.asarray(value, dtype=np.float64)
        info["status"] = "ok"
        info["objective"] = float(problem.value)
    else:
        w_hat = nan_matrix(w.shape)
        info["status"] = "failed"
        info["objective"] = float("nan")
        message = message or f"solver status {solver_status!r}"
    info["message"] = message
    return w_hat, info


def _versions(solver: str) -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {}
    for name in ("cvxpy", solver.lower()):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out
