"""The classic baselines of Fig. 4/5, each through its own library, as a registry (:data:`BASELINES`).

- ``cp``: minimum nuclear norm completion in CVXPY, solver SCS (:mod:`matcomp.baselines.cvx`);
- ``si``: fancyimpute's SoftImpute with library defaults (:mod:`matcomp.baselines.softimpute`);
- ``opt``: OptSpace in R through rpy2 as the paper ran it: CRAN's ROptSpace, or matcomp's twin of its
  steps (``implementation`` "auto", "roptspace", "builtin-cran"; :mod:`matcomp.baselines.optspace`);
- ``opt_published``: OptSpace as published (geodesic steps, Armijo search), matcomp's R port
  (implementation "builtin-published" always), drawn beside ``opt`` because the two differ.

A new baseline is a solver module with ``complete(w_obs, mask=None, **options) -> (w_hat, info)`` over a
matrix with NaN at the unobserved entries, and one entry here: the rules, the planner and its checks, the
figures and the claims read everything else from it.  This module imports no solver and no library, so
the planner and the report read the registry for free; :mod:`matcomp.baselines.run` runs a method.
"""

from __future__ import annotations

from dataclasses import dataclass

PUBLISHED = "builtin-published"


@dataclass(frozen=True)
class Method:
    """A baseline method, everything the planner, the workflow, the figures and the claims need of it: a new
    baseline is one function and one entry of :data:`BASELINES` (``tests/test_labels.py`` checks the rest)."""

    solver: str
    """The module under :mod:`matcomp.baselines` whose ``complete(w_obs, mask, **options)`` runs it (imported
    by :mod:`matcomp.baselines.run` only: the registry imports no solver, so the report reads it for free)."""
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
    takes_implementation: bool = False
    """Takes an ``implementation`` option, checked while planning by its solver's ``check_implementation``."""
    in_paper: bool = True
    """One of the paper's methods (claims over "all other methods" mean these)."""


PUBLISHED_LABEL = "OPT (published)"
BASELINES: dict[str, Method] = {
    "cp": Method("cvx", "CP", "minimum nuclear norm", color="#029e73"),
    "si": Method("softimpute", "SI", "SoftImpute", color="#ca9161"),
    "opt": Method("optspace", "OPT", "OptSpace", color="#de8f05", env="r.yaml", cran=True, true_rank=True,
                  implementation_key="optspace", takes_implementation=True),
    "opt_published": Method("optspace", PUBLISHED_LABEL, "OptSpace, the published algorithm", env="r.yaml",
                            true_rank=True, implementation=PUBLISHED, takes_implementation=True, in_paper=False),
}  # fmt: skip
"""Method name -> :class:`Method` (colours: the paper's green, brown and orange of seaborn's colorblind palette)."""


def check_method(method: str) -> Method:
    """The registry's entry; a ValueError naming the valid ones for an unknown method."""
    try:
        return BASELINES[method]
    except (KeyError, TypeError):
        raise ValueError(f"unknown baseline {method!r}; valid: {', '.join(BASELINES)}") from None


__all__ = ["BASELINES", "PUBLISHED", "Method", "check_method"]
