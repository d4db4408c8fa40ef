"""The plateau rule: when has a training run stopped moving?

One rule serves two places: the report (a run that ran out of budget counts as *decided* only where the
rule says it had plateaued) and the trainer's ``stop: plateau`` setting (a run stops at the first logged
point where the rule holds).  Both read the same logged points, so a run stopped by the rule is exactly
the run that the report would have judged plateaued at that point.

The rule, per run, at iteration ``t`` (a logged point):

1. its data term at ``t`` is at most :data:`PLATEAU_FITTED` of its value at iteration 0, and over the
   last decade (the logged points in [t / 10, t], at least 3 of them)
2. log10 of its test error varies by at most :data:`PLATEAU_LOG10_ERR` and
3. its effective rank by at most :data:`PLATEAU_RANK`, and
4. the local drift of either at the end of that decade (the mean of its last quarter of points minus that
   of the quarter before), carried on linearly in iterations to the paper's budget
   (:data:`PLATEAU_HORIZON`), stays within those bands.

(4) was added after the full-budget validation (``benchmarks/plateau_validation.md``): GD + ratio at depth 1
is flat to 0.07 in rank over [172, 1 722] once it has fitted its entries, and the first rule stopped it
there at Rk 68.8; the penalty then drifts it, slowly and steadily, to Rk 62.9 by 5·10⁵ steps.  A band over
one decade cannot see a drift that slow; its projection to the budget can.  The drift is taken at the end
of the decade, so that a run that has saturated (an exponential approach, flat at the end) still counts.

(1) is what tells a saddle from a plateau: un-penalised GD at depth ≥ 3 sits at test error 1.0 with its
data term at its initial value for thousands of iterations before it drops, flat in every logged
quantity.  Every network here can fit its observed entries (width ≥ 100, no rank constraint) and the
penalties weigh little next to the data term, so a run whose data term is still above 1 % of where it
started is not at a minimum of its objective, however flat its curves.
"""

from __future__ import annotations

import numpy as np

PLATEAU_WINDOW = 10.0
"""The rule judges the last decade of a run: the logged points in [t/10, t]."""
PLATEAU_FITTED = 1e-2
"""Largest data term, as a fraction of its value at iteration 0, of a run that can count as plateaued."""
PLATEAU_LOG10_ERR = 0.05
"""Widest band of log10(test error) over the last decade of a plateaued run (a change under 12 %)."""
PLATEAU_RANK = 0.5
"""Widest band of the effective rank over that decade (less than what can move its rounding by one)."""
PLATEAU_MIN_POINTS = 3
"""Fewest logged points in the last decade for the rule to judge at all."""
PLATEAU_HORIZON = 500_000
"""The paper's budget (§A.1): the question the rule answers is whether training on to it would move the run."""


def still_moving(
    iterations: np.ndarray,
    data_term: np.ndarray,
    test_error: np.ndarray,
    effective_rank: np.ndarray,
    stop: int,
) -> str:
    """Why a run was still moving at iteration ``stop``; ``""`` if it had plateaued there (the rule above).

    The arrays are one run's logged values at ``iterations`` (points after ``stop`` are ignored).
    """
    upto = iterations <= stop
    it, d, e, r = iterations[upto], data_term[upto], test_error[upto], effective_rank[upto]
    window = it >= stop / PLATEAU_WINDOW
    if stop < PLATEAU_WINDOW or window.sum() < PLATEAU_MIN_POINTS:
        return "too few logged points to judge"
    if not (np.isfinite(d[[0, -1]]).all() and np.isfinite(e[window]).all() and np.isfinite(r[window]).all()):
        return "non-finite values"
    fitted = d[-1] / d[0] if d[0] > 0 else 0.0
    if fitted > PLATEAU_FITTED:
        return f"data term still at {fitted:.1%} of its start"
    moved = float(np.ptp(np.log10(np.maximum(e[window], 1e-30))))
    if moved > PLATEAU_LOG10_ERR:
        return f"test error moved {moved:.2g} decades over the last 10x of iterations"
    ranks = float(np.ptp(r[window]))
    if ranks > PLATEAU_RANK:
        return f"effective rank moved {ranks:.2g} over the last 10x of iterations"
    return _drifting(it[window], np.log10(np.maximum(e[window], 1e-30)), r[window], stop)


def _drift(it: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """(|change of x|, iterations it took) between the last quarter of the window's points and the quarter
    before it: the local pace at the end of the window."""
    k = max(1, len(x) // 4)
    return (
        abs(float(np.mean(x[-k:]) - np.mean(x[-2 * k : -k]))),
        float(np.mean(it[-k:]) - np.mean(it[-2 * k : -k])),
    )


def _drifting(it: np.ndarray, log_err: np.ndarray, rank: np.ndarray, stop: int) -> str:
    """Condition (4): the window's drift carried on to :data:`PLATEAU_HORIZON`."""
    d_err, span = _drift(it, log_err)
    d_rank, _ = _drift(it, rank)
    factor = max(1.0, (PLATEAU_HORIZON - stop) / max(span, 1.0))
    if d_err * factor > PLATEAU_LOG10_ERR:
        return f"test error drifting: {d_err * factor:.2g} decades by {PLATEAU_HORIZON:,} iterations at this pace"
    if d_rank * factor > PLATEAU_RANK:
        return (
            f"effective rank drifting: {d_rank * factor:.2g} by {PLATEAU_HORIZON:,} iterations at this pace"
        )
    return ""


def plateaued(
    iterations: np.ndarray, data_term: np.ndarray, test_error: np.ndarray, effective_rank: np.ndarray
) -> np.ndarray:
    """Which runs of a batch have plateaued at the last logged point: ``[B]`` bool from ``[T]`` iterations
    and ``[B, T]`` logged values (the trainer's ``stop: plateau``)."""
    stop = int(iterations[-1])
    return np.array(
        [
            still_moving(iterations, d, e, r, stop) == ""
            for d, e, r in zip(data_term, test_error, effective_rank, strict=True)
        ],
        dtype=bool,
    )
