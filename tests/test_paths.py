"""Every output path has one owner (matcomp.store.paths): the rules spell none of their own, every cached result
lies in a folder `matcomp clean --stale` looks through, and a result's trajectory, log and benchmark follow
from its path."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from matcomp.movielens.terms import MODELS
from matcomp.store import paths
from matcomp.store.codehash import strip_docstrings
from matcomp.store.results import trajectory_path

ROOT = Path(__file__).resolve().parents[1]


def test_the_rules_spell_no_output_path_of_their_own() -> None:
    literal = re.compile(r"""["'](results|figures|logs|benchmarks/logs)/""")
    found = [
        f"{f.name}:{n}: {line.strip()}"
        for f in sorted([*(ROOT / "workflow/rules").glob("*.smk"), ROOT / "Snakefile"])
        for n, line in enumerate(f.read_text().splitlines(), 1)
        if literal.search(line)
    ]
    assert not found, found


def test_the_output_roots_are_spelled_once() -> None:
    """Moving results/ (or figures/, logs/) is one edit in matcomp.store.paths: no other module of the
    package or script spells a root in a string its code uses (docstrings and comments may)."""
    root = re.compile(r"(?<![\w/.-])(results|figures|logs|benchmarks/logs)/")
    found = []
    for f in sorted([*(ROOT / "src/matcomp").rglob("*.py"), *(ROOT / "workflow/scripts").glob("*.py")]):
        if f.name == "paths.py" and f.parent.name == "store":
            continue
        for node in ast.walk(strip_docstrings(ast.parse(f.read_text()))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and root.search(node.value):
                found.append(f"{f.relative_to(ROOT)}:{node.lineno}: {node.value[:80]!r}")
    assert not found, found
    assert {paths.RESULTS, paths.FIGURES, paths.LOGS, paths.BENCHMARK_LOGS} == set(paths.OUTPUT_ROOTS)
    for name in ("DATA_FILE", "TRAIN_RESULT", "BASELINE_RESULT", "PACK_FOLDER", "MOVIELENS_RESULT", "TABLE",
                 "R_LIBRARY", "REPORT", "CLAIMS", "READINGS", "EFFECTIVE_CONFIG"):  # fmt: skip
        assert getattr(paths, name).startswith(f"{paths.RESULTS}/"), name


def test_every_cached_result_lies_where_clean_stale_looks() -> None:
    patterns = [
        paths.DATA_FILE,
        paths.TRAIN_RESULT,
        paths.BASELINE_RESULT,
        paths.PACK_FOLDER,
        paths.MOVIELENS_RESULT,
    ]
    for pattern in patterns:
        folder = pattern.removeprefix("results/").split("/{")[0].split("/")[0]
        assert any(c == folder or c.startswith(f"{folder}/") for c in paths.CACHED), pattern
    assert {f"movielens/{m}" for m in paths.MOVIELENS_MODELS} <= set(paths.CACHED)
    assert paths.MOVIELENS_MODELS == MODELS  # spelled twice: importing it would put it in every step's code


def test_a_results_trajectory_log_and_benchmark_follow_from_its_path() -> None:
    result = "results/cells/r5_o2000/adam/ratio/lam0.05_0123456789.json"
    assert (
        paths.trajectory_of(result) == "results/cells/r5_o2000/adam/ratio/lam0.05_0123456789.trajectory.npz"
    )
    assert str(trajectory_path(result)) == paths.trajectory_of(result)
    assert paths.log_of(result) == "logs/cells/r5_o2000/adam/ratio/lam0.05_0123456789.log"
    assert paths.log_of(result, ".tsv") == "benchmarks/logs/cells/r5_o2000/adam/ratio/lam0.05_0123456789.tsv"
    assert paths.log_of(paths.figure("fig1@mean")) == "logs/figures/fig1@mean.log"
    assert paths.log_of(paths.EFFECTIVE_CONFIG) == "logs/config.effective.log"
    assert {Path(p).parts[0] for p in (paths.table("x"), paths.figure("x"), paths.REPORT)} <= {
        Path(r).parts[0] for r in paths.OUTPUT_ROOTS
    }
