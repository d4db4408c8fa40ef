"""What "the code" of each step of the workflow is, and a hash of it.

A *step* is a kind of job (:data:`STEPS`: data, train, baseline, movielens, table, figure, comparison,
claims, table2; not to be confused with an experiment's ``kind`` in the config).  A job's code is the
package source it runs: the modules its entry scripts (``workflow/scripts/*.py``) import, followed through
every ``import`` they contain (module level and inside functions; not under ``if TYPE_CHECKING:``), plus
the data files it reads (``claims.yaml``, the paper's printed numbers, the builtin R OptSpace) and the
scripts themselves.  Each file is normalised before hashing, so that only a change of what runs counts:

* Python: parsed with :mod:`ast`, docstrings and other bare string statements dropped, written back with
  :func:`ast.unparse` (comments and formatting vanish with the parse);
* YAML: loaded and dumped as canonical JSON (comments and layout vanish);
* R: full-line comments, blank lines and trailing blanks dropped.

Two kinds of module are never part of a job's code: this one (it labels results, it computes none) and
the planner (:mod:`matcomp.plan`), whose decisions reach every job as settings that are hashed into the
job's path anyway; a job's script therefore never imports the planner.

Jobs whose results are cached under a settings hash (data, train, baseline, movielens) put the code hash
into that hash: changed code gives new paths, and results made by older code stay where they are.  Their
code also covers the jobs upstream of them (a training job's hash covers the data-generation code), so an
edit of ``data.py`` renews everything downstream.  Aggregates with fixed paths (tables, figures, claims,
Table 2) carry their code hash as a Snakemake ``params`` entry and are rebuilt when it changes.

The hash is of the source as the running Python's :func:`ast.unparse` writes it; the workflow's conda
environments pin the same Python minor version (3.11) as the development setup.
"""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # src/matcomp
SCRIPTS_DIR = PACKAGE_DIR.parents[1] / "workflow" / "scripts"
#: modules that are never part of a job's code (see the module docstring)
NOT_CODE = ("matcomp.store.codehash", "matcomp.plan")
HASH_LEN = 10


@dataclass(frozen=True)
class Step:
    """One step: its entry scripts, the package modules those scripts import, the data files its code reads
    (globs relative to the package), the steps whose outputs it consumes, and the modules its entries import
    only inside functions this step never calls (``tests/test_codehash.py`` runs the job and checks that it
    loads none of them)."""

    scripts: tuple[str, ...]
    entries: tuple[str, ...]
    data_files: tuple[str, ...] = ()
    upstream: tuple[str, ...] = ()
    not_reached: tuple[str, ...] = ()


STEPS: dict[str, Step] = {
    "data": Step(("make_data.py",), ("matcomp.store.checkout", "matcomp.jobs.data")),
    "train": Step(
        ("train.py", "train_pack.py"),
        ("matcomp.store.checkout", "matcomp.jobs.train", "matcomp.training.placement"),
        upstream=("data",),
    ),
    # the solvers are imported by name from the registry (matcomp.baselines.run): every module there counts
    "baseline": Step(
        ("baseline.py",),
        ("matcomp.store.checkout", "matcomp.jobs.baseline"),
        ("R/*.R", "baselines/*.py"),
        ("data",),
    ),
    "movielens": Step(
        ("movielens_run.py",),
        ("matcomp.store.checkout", "matcomp.jobs.movielens", "matcomp.training.placement"),
    ),
    "table": Step(("make_table.py",), ("matcomp.store.checkout", "matcomp.report.tables")),
    "figure": Step(("make_figure.py",), ("matcomp.store.checkout", "matcomp.report.figures")),
    "comparison": Step(("make_comparison.py",), ("matcomp.store.checkout", "matcomp.report.comparison")),
    "claims": Step(
        ("check_claims.py",), ("matcomp.store.checkout", "matcomp.report.check"), ("report/*.yaml",)
    ),
    "robustness": Step(("make_robustness.py",), ("matcomp.store.checkout", "matcomp.report.robustness")),
    "table2": Step(
        ("make_table2.py",),
        ("matcomp.store.checkout", "matcomp.report.table2"),
        ("report/paper_tables.yaml",),
    ),
}


# ---------------------------------------------------------------- normalising one file


def strip_docstrings(tree: ast.AST) -> ast.AST:
    """Drop every statement that is a bare string (docstrings, string "comments"); empty bodies get ``pass``."""
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
            if not isinstance(body, list) or not body or not isinstance(body[0], ast.stmt):
                continue
            kept = [
                s
                for s in body
                if not (
                    isinstance(s, ast.Expr)
                    and isinstance(s.value, ast.Constant)
                    and isinstance(s.value.value, str)
                )
            ]
            if not kept and name == "body":
                kept = [ast.Pass()]
            setattr(node, name, kept)
    return tree


def normalized_source(path: Path) -> str:
    """The part of a file that decides what runs (see the module docstring)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        return ast.unparse(strip_docstrings(ast.parse(text, filename=str(path))))
    if path.suffix in (".yaml", ".yml"):
        import yaml

        return json.dumps(yaml.safe_load(text), sort_keys=True, ensure_ascii=False)
    lines = (line.rstrip() for line in text.splitlines())
    return "\n".join(line for line in lines if line and not line.lstrip().startswith("#"))


@lru_cache(maxsize=512)
def _digest(path: Path, mtime_ns: int, size: int) -> str:
    return hashlib.sha1(normalized_source(path).encode()).hexdigest()


def file_digest(path: Path) -> str:
    """SHA-1 of a file's normalised source (cached while the file is unchanged)."""
    st = path.stat()
    return _digest(path, st.st_mtime_ns, st.st_size)


# ---------------------------------------------------------------- which modules a job runs


def module_file(name: str, package_dir: Path = PACKAGE_DIR) -> Path | None:
    """The source file of a ``matcomp`` module or package (None when there is none)."""
    parts = name.split(".")
    if parts[0] != package_dir.name:
        return None
    base = package_dir.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement that can run (anywhere but under ``if TYPE_CHECKING:``)."""
    found: list[ast.Import | ast.ImportFrom] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        children = ast.iter_child_nodes(node)
        if isinstance(node, ast.If) and _is_type_checking(node):
            children = iter(node.orelse)
        stack.extend(children)
    return found


def imported_modules(name: str, path: Path, package_dir: Path = PACKAGE_DIR) -> frozenset[str]:
    """The package's modules that module ``name`` (file ``path``) may import, with their parent packages."""
    st = path.stat()
    return _imported_modules(name, path, package_dir, st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=512)
def _imported_modules(name: str, path: Path, package_dir: Path, mtime_ns: int, size: int) -> frozenset[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
            continue
        base = package.split(".")
        base = base[: len(base) - node.level + 1] if node.level else []
        target = ".".join([*base, *([node.module] if node.module else [])])
        out.add(target)
        out.update(f"{target}.{alias.name}" for alias in node.names)  # `from pkg import submodule`
    with_parents = {".".join(m.split(".")[:i]) for m in out for i in range(1, m.count(".") + 2)}
    return frozenset(m for m in with_parents if module_file(m, package_dir) is not None)


def step_modules(step: str, package_dir: Path = PACKAGE_DIR) -> list[str]:
    """The package modules one step of job runs: its entries and everything they import, except
    :data:`NOT_CODE` and the step's ``not_reached`` modules."""
    steps = _with_upstream(step)
    todo = [m for k in steps for m in STEPS[k].entries]
    skip = {*NOT_CODE, *(m for k in steps for m in STEPS[k].not_reached)}
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or any(name == s or name.startswith(f"{s}.") for s in skip):
            continue
        path = module_file(name, package_dir)
        if path is None:
            raise ValueError(f"codehash: {step} job lists {name}, which is not a module of the package")
        seen.add(name)
        parents = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        todo.extend((imported_modules(name, path, package_dir) | parents) - seen)
    return sorted(seen)


def _with_upstream(step: str) -> list[str]:
    if step not in STEPS:
        raise ValueError(f"codehash: unknown step of job {step!r}; valid: {', '.join(STEPS)}")
    out = [step]
    for up in STEPS[step].upstream:
        out += [k for k in _with_upstream(up) if k not in out]
    return out


def code_files(
    step: str, package_dir: Path = PACKAGE_DIR, scripts_dir: Path = SCRIPTS_DIR
) -> dict[str, Path]:
    """Label (``matcomp/training/train.py``, ``workflow/scripts/train.py``) -> file, for one step and its upstream."""
    paths = [module_file(m, package_dir) for m in step_modules(step, package_dir)]
    for k in _with_upstream(step):
        paths += sorted(p for pattern in STEPS[k].data_files for p in package_dir.glob(pattern))
    files = {f"{package_dir.name}/{p.relative_to(package_dir).as_posix()}": p for p in paths if p}
    for k in _with_upstream(step):
        for name in STEPS[k].scripts:
            script = scripts_dir / name
            if script.is_file():
                files[f"workflow/scripts/{script.name}"] = script
    return dict(sorted(files.items()))


# ---------------------------------------------------------------- the hash


def code_info(step: str, package_dir: Path = PACKAGE_DIR, scripts_dir: Path = SCRIPTS_DIR) -> dict[str, Any]:
    """``{"step", "hash", "files"}``: what a result of this step records about the code that made it."""
    files = code_files(step, package_dir, scripts_dir)
    digest = hashlib.sha1()
    for label, path in files.items():
        digest.update(f"{label}\0{file_digest(path)}\n".encode())
    return {"step": step, "hash": digest.hexdigest()[:HASH_LEN], "files": list(files)}


def code_hash(step: str) -> str:
    """10 hex digits naming the code of one step of job (part of its results' paths or params)."""
    return code_info(step)["hash"]


class CodeChangedError(RuntimeError):
    """The package source differs from what Snakemake planned the job with."""


def verify(planned: dict[str, Any]) -> dict[str, Any]:
    """Check, at the start of a job, that its code is still what the workflow planned it with.

    A job's path names the code hash of the source Snakemake saw; an edit after that (while the workflow
    runs) would give a result whose name and record claim code that did not make it.  Returns ``planned``.
    """
    now = code_info(planned["step"])
    if now["hash"] != planned["hash"]:
        raise CodeChangedError(
            f"the package source of {planned['step']} jobs changed after Snakemake planned this job (code hash "
            f"{planned['hash']}, now {now['hash']}); rerun snakemake so that the job gets its new path"
        )
    return planned
