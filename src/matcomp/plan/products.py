"""What the workflow makes from a synthetic experiment's cells, by the experiment's kind: one registry.

The targets of a full run (``all_targets`` in ``common.smk``) and what the planning checks look for
(:mod:`.orphans`, :mod:`.disk`) come from here; ``tests/test_workflow.py`` checks that the rules make
exactly these, and that every synthetic kind has an entry.
"""

from __future__ import annotations

from ..store import paths

PRODUCTS: dict[str, tuple[str, ...]] = {
    "table": (paths.table("{name}", "csv"), paths.table("{name}", "md"), paths.table("{name}", "tex")),
    "dynamics": (paths.figure("{name}", "pdf"), paths.figure("{name}", "png"), paths.table("{name}", "csv")),
    "baselines": (paths.figure("{name}", "pdf"), paths.figure("{name}", "png"), paths.table("{name}", "csv"),
                  paths.table("{name}_summary")),
}  # fmt: skip
"""Kind -> the files made for an experiment ``{name}`` of that kind."""


def products(name: str, kind: str | None = None) -> list[str]:
    """The files the workflow makes for experiment ``name`` of ``kind`` (every kind's, without one)."""
    kinds = [kind] if kind else list(PRODUCTS)
    return list(dict.fromkeys(p.format(name=name) for k in kinds for p in PRODUCTS[k]))
