"""The suite and the workflow scripts use this checkout's package, and every name a script imports exists."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import matcomp

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "workflow" / "scripts").glob("*.py"))


def test_the_suite_imports_this_checkout() -> None:
    assert Path(matcomp.__file__).resolve().parent == ROOT / "src" / "matcomp"


def test_a_second_copy_on_the_path_does_not_win(tmp_path) -> None:
    """Another ``matcomp`` ahead on PYTHONPATH (a second clone installed, a stale copy): pytest still
    imports this checkout's (pyproject's ``pythonpath``)."""
    other = tmp_path / "matcomp"
    other.mkdir()
    (other / "__init__.py").write_text("raise ImportError('the other copy of matcomp was imported')\n")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "",
         f"{Path(__file__).relative_to(ROOT)}::test_the_suite_imports_this_checkout"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr


def _imports(script: Path) -> list[tuple[str, str]]:
    tree = ast.parse(script.read_text())
    return [
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("matcomp")
        for alias in node.names
    ]


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_every_name_a_script_imports_exists(script: Path) -> None:
    """``movielens_download.py`` once imported ``download_ml100k`` from ``matcomp.movielens``, whose
    ``__init__`` imports nothing: the download rule failed for every user without ``movielens_dir``."""
    for module, name in _imports(script):
        assert hasattr(importlib.import_module(module), name), f"{script.name}: from {module} import {name}"
