"""The paper's claims (``claims.yaml``), judged only on evidence: cells whose outcome is decided.

The package's modules, by concern: :mod:`.outcomes` (what a check yields, the numbers it reads),
:mod:`.decided` (when a cell is decided), :mod:`.checks` (the check types), :mod:`.verdicts` (outcomes to
verdicts, the claims file), :mod:`.markdown` (the report); what other modules use is re-exported here.

**Cells and when they are decided.**  A cell is a row of a results table (one optimizer × penalty × λ ×
depth × data setting over its seeds; a baseline at one n_obs; a Table 2 row).  It is *decided* when more
training could not change it under the paper's protocol: every seed stopped by the tolerance, diverged,
stopped on a plateau, or ran out of budget having plateaued (:mod:`matcomp.training.plateau`); or the cell ran the
paper's budget (``config.yaml`` read at scale ``paper``: 5·10⁵ iterations).  Baselines run to their own
solver's convergence and are decided.  A Table 2 row is decided when it ran the budget the project's
config sets at scale paper (the *configured* budget: the paper states none for the LNN).

**Checks** (each names the cells it reads by column filters):

* ``threshold``: ``metric op value`` for every selected cell (``quantifier: any``: for at least one);
* ``compare``: pairs of cells ``a``, ``b`` matched on ``match`` columns, ``ratio_at_least`` (a/b ≥ value)
  or ``log10_within`` (|log10 a − log10 b| ≤ value); two test errors ≤ ``ERR_FLOOR`` are the same (both
  recovered) for log10_within and for a ratio ≤ 1; ``success`` ({op, value}): a pair that both miss it is no
  evidence (sameness of failure); ``b_must`` ({op, value}): a pair whose ``b`` misses it fails;
  ``farther_from``: a is no nearer ``value`` than b by more than ``tol`` ("rank recovery at least as good");
  ``success: {…, alike: fails}``: a pair that both miss it fails (the sentence names them as succeeding);
  ``metric_a`` / ``metric_b`` read a different column on each side (the quoted RMSE of Table 2);
* ``spread``: per group of ``by`` columns, max/min of the metric over the selected cells ``at_most`` (or
  ``at_least``) value: "near simultaneous across depths";
* ``monotone``: along ``along`` (e.g. n_obs), each next value at most ``value`` × the previous one
  (``direction: rises``: at least); a censored count cannot be ordered and leaves its step open;
* ``agrees_with``: per group of ``by``, every cell is on the same side of ``metric op value`` as the group's
  ``reference`` cell: "no qualitative difference" across λ, learning rates or sample sizes;
* ``checkpoint_match``: Table 2's cells within ``tol`` of the paper's RMSE under some checkpoint;
* ``either``: per cell of ``where`` (or pair of a compare), one of ``checks`` passes.

Each check yields one *outcome* per cell (or pair, group, step): passes or fails, decided or not.
Iteration counts (``iters_to_err_*``, ``iters_to_rank``, ``iters_to_sv*``) are intervals: an error level
counts once the error *stays* at or below it to the end of the run (a settled time, resolved to the logged
points), a seed that never got there counts as more than the iterations it ran (and at most never), and a
ratio of two counts passes only when its bounds make it certain, fails when they make it impossible, and is
undetermined otherwise (decided cells: *inconclusive*; else not reached).  **Seed by seed**: where a table
keeps each seed's values (``<metric>_seeds``, ``seeds``), a threshold holds for a cell only if it holds for
every seed ("4 of 5 seeds" otherwise), and a compare pairs the two cells' seeds (seed s of every cell shares
W* and Ω); a cell's own count is its slowest seed's.  A diverged seed's test error and rank count as +∞: it
fails every recovery and supports every "fails" statement.  **Untrained networks**: a pass that rests on a
cell whose network did not train (``trained`` False) is *uninformative*, and every claim is judged on its
untrained twin too (:mod:`.twin`): one the twin holds is uninformative, never held.  A value that is not
measured (NaN) leaves its outcome open; an iteration count a table gives without bounds is censored at the
iterations the cell ran ([max_iters, ∞]).

**Verdicts.**  A check is *held* when every outcome is decided and passes (``any``: one decided outcome
passes); *not held* when a decided outcome fails (``any``: every outcome decided and failing); *uninformative* when
only untrained cells would pass it; *not reached at this budget* when the outcomes it needs are undecided — then it *leans* held or not held by what the
undecided cells show now; *inconclusive* when decided cells cannot measure it; *not run* when its cells are
not in this run.  A claim takes the first of ``not held``, ``not reached``, ``not run``, ``uninformative``,
``inconclusive``, ``held`` among its checks.
"""

from __future__ import annotations

from .decided import decision
from .markdown import FOLD, to_markdown, verdict_counts
from .outcomes import NOT_REACHED, UNINFORMATIVE, select
from .verdicts import (
    DEFAULT_CLAIMS,
    SELECTIONS,
    evaluate,
    judge,
    load_claims,
    load_untested,
    members_of,
    prepare,
    with_decisions,
    with_paper_methods,
)

__all__ = [
    "DEFAULT_CLAIMS", "FOLD", "NOT_REACHED", "SELECTIONS", "UNINFORMATIVE", "decision", "evaluate", "judge",
    "load_claims", "load_untested", "members_of", "prepare", "select", "to_markdown", "verdict_counts",
    "with_decisions", "with_paper_methods",
]  # fmt: skip
