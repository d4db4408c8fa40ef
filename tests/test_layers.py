"""Layers one way (issue 28): planning imports neither the report nor the trainer, the report and the jobs
import no planner, and no module of the package imports itself through others (every import that can run,
at module level or inside a function, as :mod:`matcomp.store.codehash` follows them)."""

from __future__ import annotations

import graphlib
import pkgutil

import pytest

import matcomp
from matcomp.store.codehash import imported_modules, module_file

MODULES = ["matcomp", *(m.name for m in pkgutil.walk_packages(matcomp.__path__, "matcomp."))]


def _imports(name: str) -> set[str]:
    """The package's modules ``name`` imports; a package's ``__init__`` counts only where it is imported for
    itself (``from matcomp import results``), not as the parent of a submodule it imports."""
    found = imported_modules(name, module_file(name)) - {name}
    parents = {m.rpartition(".")[0] for m in found}
    return {m for m in found if not (m in parents and module_file(m).name == "__init__.py")}


GRAPH = {m: _imports(m) for m in MODULES}


def _layer(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_the_package_imports_no_circle() -> None:
    try:
        order = list(graphlib.TopologicalSorter(GRAPH).static_order())
    except graphlib.CycleError as err:
        pytest.fail(f"an import circle: {' -> '.join(err.args[1])}")
    assert set(MODULES) <= set(order)


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [("plan", {"report", "jobs", "train", "models", "movielens.train", "movielens.models"}),
     ("report", {"plan", "jobs", "train"}), ("jobs", {"plan", "report"})],
)  # fmt: skip
def test_layers_import_one_way(layer: str, forbidden: set[str]) -> None:
    """Planning decides what runs: it checks names against their registries (penalties, optimizers, the
    OptSpace implementations) but imports neither the trainer nor the report; the report reads results; a
    job's code never contains the planner (:mod:`matcomp.store.codehash`)."""
    bad = [
        f"{m} -> {t}"
        for m in MODULES
        if _layer(m) == layer
        for t in GRAPH[m]
        if any(t == f"matcomp.{f}" or t.startswith(f"matcomp.{f}.") for f in forbidden)
    ]
    assert not bad, bad


def test_the_graph_sees_function_level_imports() -> None:
    """The check is not vacuous: a function-level import is an edge (the planner's config check imports
    the trainer's settings inside a function), and an added back edge is found as a circle."""
    assert "matcomp.training.settings" in GRAPH["matcomp.plan.config"]
    assert "matcomp.report.claims" in GRAPH["matcomp.report.check"]
    with pytest.raises(graphlib.CycleError):
        list(graphlib.TopologicalSorter({**GRAPH, "matcomp.labels": {"matcomp.report.check"}}).static_order())
