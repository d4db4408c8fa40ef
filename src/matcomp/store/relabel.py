"""Give cached results the names of today's code when the code changed only in where its modules live (or
in names given to its constants).

A result's name holds its code hash (:mod:`.codehash`), and the hash holds each file's path: moving a module
into a package renames every result, though nothing that runs changed.  ``matcomp relabel --from REV``
proves, file by file, that the data and training code of today differs from REV's only by moves and by
names given to constants: every file of REV's code is matched to one of today's whose statements are the
same once imports are set aside and each named constant is read as its value (:func:`fold_constants`: a
literal spelled once as ``ROOT = "results"`` and used as ``ROOT + "/data"`` reads as ``"results/data"``; a
message that names a moved module names it as today), whose constants keep their values, and whose imports
bind the same names to the same (moved) modules and objects; a data file is the same; a file that is new
today may only be an empty package ``__init__``.  Then each cached ground truth and training result made
by REV's code is written again under today's name, its arrays unchanged, its records naming today's code and
keeping where it came from (``relabelled``: the old name, the old hashes, REV).  A ground truth is also made
again by today's code and must equal the cached one.  The old files are left where they are (``matcomp
clean --stale`` lists them).  Baseline and MovieLens results are not relabelled: their jobs take seconds
to minutes, so the workflow simply makes them again.

The module is not part of any job's code (it labels results, it computes none).
"""

from __future__ import annotations

import ast
import builtins
import datetime as dt
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data import ProblemError
from . import codehash, paths, results

STEPS = ("data", "train")
"""The steps whose results are relabelled (the others are cheap to make again)."""
WHY = (
    "the code differed only in where its modules live and in names given to its constants "
    "(matcomp.store.relabel checked every file)"
)


class RelabelError(RuntimeError):
    """The code changed in more than where its modules live, or a result does not match its record."""


# ---------------------------------------------------------------- the code of a revision


def code_at(rev: str, checkout: Path) -> tuple[dict[str, dict[str, Any]], tempfile.TemporaryDirectory]:
    """Per step of :data:`STEPS`: REV's code hash and files (label -> path in a temporary copy of REV's
    ``src`` and ``workflow/scripts``, kept alive by the returned directory), as REV's own codehash says."""
    tmp = tempfile.TemporaryDirectory(prefix="matcomp-relabel-")
    archive = subprocess.run(
        ["git", "-C", str(checkout), "archive", "--format=tar", rev, "src", "workflow/scripts"],
        capture_output=True,
    )
    if archive.returncode != 0:
        tmp.cleanup()
        raise RelabelError(f"git cannot read revision {rev!r}: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tmp.name, filter="data")
    probe = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(Path(tmp.name) / 'src')!r})\n"
        "try:\n    from matcomp.store import codehash\nexcept ImportError:\n    from matcomp import codehash\n"
        f"steps = {list(STEPS)!r}\n"
        "print(json.dumps({s: {'hash': codehash.code_hash(s), 'files': {k: str(v) for k, v in "
        "codehash.code_files(s).items()}, 'where': codehash.__file__} for s in steps}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp.name)
    if proc.returncode != 0:
        tmp.cleanup()
        raise RelabelError(f"revision {rev}'s codehash did not run: {proc.stderr.strip()[-2000:]}")
    info = json.loads(proc.stdout.splitlines()[-1])
    if any(not v["where"].startswith(tmp.name) for v in info.values()):
        tmp.cleanup()
        raise RelabelError(
            "the probe imported today's package instead of the revision's (an editable install?)"
        )
    return info, tmp


def today() -> dict[str, dict[str, Any]]:
    """The same for the code of this checkout."""
    return {s: {"hash": codehash.code_hash(s), "files": {k: str(v) for k, v in codehash.code_files(s).items()}}
            for s in STEPS}  # fmt: skip


# ---------------------------------------------------------------- constants given a name


_CONSTANT_TYPES = (str, int, float, bool, type(None))


def _is_constant(value: object) -> bool:
    if isinstance(value, tuple):
        return all(_is_constant(v) for v in value)
    return isinstance(value, _CONSTANT_TYPES)


def _bound_anywhere(tree: ast.Module) -> dict[str, int]:
    """How many times each name is bound anywhere in the module: assigned, deleted, a parameter, a def or
    class, an import, an ``except ... as``, a ``global``/``nonlocal`` or a match capture."""
    counts: dict[str, int] = {}

    def bind(name: str | None) -> None:
        if name:
            counts[name] = counts.get(name, 0) + 1

    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bind(node.id)
        elif isinstance(node, ast.arg):
            bind(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bind(node.name)
        elif isinstance(node, ast.alias):
            bind(node.asname or node.name.split(".")[0])
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)):
            bind(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            for name in node.names:
                bind(name)
    return counts


class _Fold(ast.NodeTransformer):
    """Replace each named constant by its value, then fold what became constant: an f-string part, ``+``
    or ``len`` of constants, a tuple of constants (so that ``A + "/x"`` and ``"a/x"`` read the same)."""

    def __init__(self, known: dict[str, object], bound: dict[str, int]) -> None:
        self.known, self.bound = known, bound

    def visit_Call(self, node: ast.Call) -> ast.AST:
        """``len`` of a constant (``range(len(REASONS))`` reads as ``range(5)``) where ``len`` is the builtin."""
        self.generic_visit(node)
        if (isinstance(node.func, ast.Name) and node.func.id == "len" and "len" not in self.bound
                and len(node.args) == 1 and not node.keywords and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, (str, tuple))):  # fmt: skip
            return ast.copy_location(ast.Constant(len(node.args[0].value)), node)
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if isinstance(node.ctx, ast.Load) and node.id in self.known:
            return ast.copy_location(ast.Constant(self.known[node.id]), node)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        left, right = node.left, node.right
        if (
            isinstance(node.op, ast.Add)
            and isinstance(left, ast.Constant)
            and isinstance(right, ast.Constant)
        ):
            a, b = left.value, right.value
            if (isinstance(a, str) and isinstance(b, str)) or (isinstance(a, tuple) and isinstance(b, tuple)):
                return ast.copy_location(ast.Constant(a + b), node)
        return node

    def visit_Tuple(self, node: ast.Tuple) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load) and all(
            isinstance(e, ast.Constant) and _is_constant(e.value) for e in node.elts
        ):
            return ast.copy_location(ast.Constant(tuple(e.value for e in node.elts)), node)  # type: ignore[attr-defined]
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        self.generic_visit(node)
        parts: list[ast.expr] = []
        for part in node.values:
            if (isinstance(part, ast.FormattedValue) and part.conversion == -1 and part.format_spec is None
                    and isinstance(part.value, ast.Constant) and isinstance(part.value.value, str)):  # fmt: skip
                part = ast.Constant(part.value.value)
            if parts and isinstance(part, ast.Constant) and isinstance(parts[-1], ast.Constant):
                parts[-1] = ast.Constant(parts[-1].value + part.value)
            else:
                parts.append(part)
        if all(isinstance(p, ast.Constant) for p in parts):
            return ast.copy_location(ast.Constant("".join(p.value for p in parts)), node)  # type: ignore[attr-defined]
        return ast.copy_location(ast.JoinedStr(parts), node)


def fold_constants(tree: ast.Module) -> tuple[ast.Module, tuple[tuple[str, str], ...]]:
    """The module with every *named constant* replaced by its value and its assignment taken out, and the
    constants themselves ((name, repr of the value and annotation), sorted).  A named constant is a
    module-level ``NAME = value`` (or ``NAME: T = value``) whose value folds to a string, number, None or
    tuple of those, built from literals and earlier named constants (``+``, f-strings, tuples), and whose
    name is bound nowhere else in the module.  So a literal given a name (``ROOT = "results"``, ``DATA =
    ROOT + "/data"``) reads as before, while a constant whose value changed, or a name rebound anywhere,
    still differs."""
    bound = _bound_anywhere(tree)
    known: dict[str, object] = {}
    named: list[tuple[str, str]] = []
    body: list[ast.stmt] = []
    for stmt in tree.body:
        target = None
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            target, annotation = stmt.targets[0].id, ""
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            target, annotation = stmt.target.id, ast.unparse(stmt.annotation)
        if target is not None and bound.get(target) == 1:
            value = _Fold(known, bound).visit(stmt.value)  # type: ignore[union-attr]
            if isinstance(value, ast.Constant) and _is_constant(value.value):
                known[target] = value.value
                named.append((target, f"{value.value!r}: {annotation}"))
                continue
        body.append(stmt)
    tree = ast.Module(body=body, type_ignores=tree.type_ignores)
    tree = ast.fix_missing_locations(_Fold(known, bound).visit(tree))
    return tree, tuple(sorted(named))


# ---------------------------------------------------------------- moves only?


def module_of(label: str) -> str:
    """``matcomp/store/io.py`` -> ``matcomp.store.io``; a package's ``__init__`` is the package; a script is
    named by its label (it imports absolutely)."""
    parts = label.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


@dataclass(frozen=True)
class Source:
    """One Python file: its statements with imports set aside and named constants folded in (``body``,
    :func:`fold_constants`), the same with every string blanked (``shape``: what pairs files across a move,
    whose messages may name the moved modules), its imports, each resolved to absolute module names, and
    its named constants."""

    label: str
    body: str
    shape: str
    imports: tuple[tuple[str, ...], ...]
    constants: tuple[tuple[str, str], ...] = ()

    @property
    def empty(self) -> bool:
        return self.body.strip() in ("", "pass") and not self.constants


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    base = ".".join(parts[: len(parts) - node.level + 1])
    return f"{base}.{node.module}" if node.module else base


class _Blank(ast.NodeTransformer):
    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        return ast.copy_location(ast.Constant(""), node) if isinstance(node.value, str) else node


def read_source(label: str, path: Path, modules: set[str]) -> Source:
    """``path`` as a :class:`Source`: docstrings dropped (as the code hash drops them), every import taken out
    of the body and listed as (kind, module, name, bound name).  The imports are compared as a set: a move
    rewrites them, and import sorting reorders and splits them (their order binds nothing else)."""
    tree = codehash.strip_docstrings(ast.parse(Path(path).read_text()))  # the hash's own rule
    tree, constants = fold_constants(tree)
    module, is_package = module_of(label), label.endswith("__init__.py")
    imports: list[tuple[str, ...]] = []

    class SetAside(ast.NodeTransformer):
        def visit_Import(self, node: ast.Import) -> None:
            imports.extend(("import", a.name, a.asname or a.name.split(".")[0]) for a in node.names)

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            base = _resolve(node, module, is_package)
            for a in node.names:
                full = f"{base}.{a.name}"
                kind = ("module", full) if full in modules else ("name", base)
                imports.append((*kind, a.name, a.asname or a.name))

    tree = SetAside().visit(tree)
    body = ast.unparse(tree)
    return Source(label, body, ast.unparse(_Blank().visit(tree)), tuple(sorted(imports)), constants)


def package_files(src: Path) -> dict[str, str]:
    """Label -> path of every module of the package under ``src`` (``src/matcomp``'s parent)."""
    return {p.relative_to(src).as_posix(): str(p) for p in sorted((src / "matcomp").rglob("*.py"))
            if "__pycache__" not in p.parts}  # fmt: skip


def _sources(files: dict[str, str]) -> dict[str, Source]:
    py = {k: v for k, v in files.items() if k.endswith(".py")}
    modules = {module_of(k) for k in py}
    return {k: read_source(k, Path(v), modules) for k, v in py.items()}


def _pair(
    old: dict[str, Source], new: dict[str, Source], moved: dict[str, str] | None = None
) -> tuple[dict[str, str], dict[str, Source]]:
    """Each old file paired with today's file of the same shape (its moved modules' names as today's; the
    same label first, then the same file name); (the pairs, today's files left over)."""
    pairs, free = {}, dict(new)
    for label, src in sorted(old.items()):
        shape = _renamed_text(src.shape, moved or {})
        same = [k for k, s in free.items() if s.shape == shape]
        pick = label if label in same else next((k for k in same if Path(k).name == Path(label).name), None)
        if pick is not None:
            pairs[label] = pick
            del free[pick]
    return pairs, free


def module_moves(old_package: dict[str, str], new_package: dict[str, str]) -> dict[str, str]:
    """Old module name -> today's, for every module of the package that moved: paired by shape, then a
    module whose statements changed (one that is no job's code, such as this package's codehash, which
    finds the package from where it lives) by its file name where that name is left once on each side."""
    old, new = _sources(old_package), _sources(new_package)
    moved: dict[str, str] = {}
    for _ in range(3):  # a module that names a moved one pairs once that move is known
        pairs, free = _pair(old, new, moved)
        left = [k for k in old if k not in pairs]
        for label in left:
            name = Path(label).name
            mine = [k for k in left if Path(k).name == name]
            theirs = [k for k in free if Path(k).name == name]
            if len(mine) == 1 and len(theirs) == 1:
                pairs[label] = theirs[0]
        found = {module_of(a): module_of(b) for a, b in pairs.items() if module_of(a) != module_of(b)}
        if found == moved:
            break
        moved = found
    return moved


def _renamed_text(text: str, moved: dict[str, str]) -> str:
    """``text`` with each moved module's dotted name as today's (the messages that name a module)."""
    for old in sorted(moved, key=len, reverse=True):
        text = re.sub(rf"(?<![\w.]){re.escape(old)}(?![\w])", moved[old], text)
    return text


def _renamed(imp: tuple[str, ...], moved: dict[str, str]) -> tuple[str, ...]:
    """An import of REV's code with its modules' names as today's (``moved``: old module -> new)."""
    kind, target, *rest = imp
    for old in sorted(moved, key=len, reverse=True):
        if target == old or target.startswith(f"{old}."):
            target = moved[old] + target[len(old) :]
            break
    return (kind, target, *rest)


def _constant_problems(old: Source, new: Source, moved: dict[str, str], star: bool) -> list[str]:
    """Why ``new``'s named constants are not ``old``'s: every old one must keep its value (a message naming a
    moved module names it as today); a new one may only name a value that was spelled out before, so it
    must not shadow a builtin, and no module of the code may ``import *`` (which would bind it elsewhere)."""
    mine = {k: _renamed_text(v, moved) for k, v in old.constants}
    theirs = dict(new.constants)
    where = f"{old.label} -> {new.label}"
    problems = [
        f"{where}: its constant {k} is gone or has another value"
        for k, v in mine.items()
        if theirs.get(k) != v
    ]
    for k in sorted(theirs.keys() - mine.keys()):
        if k in dir(builtins) or star:
            problems.append(f"{where}: its new constant {k} may bind a name used elsewhere")
    return problems


def moves_only(old: dict[str, str], new: dict[str, str], moved: dict[str, str]) -> dict[str, str]:
    """``old`` -> ``new`` file pairing (labels -> paths) when the two sets of code files differ only by the
    modules ``moved`` (:func:`module_moves`): the same statements (a message naming a moved module names
    it as today), imports binding the same names to the same modules and objects, the same data files; a
    file new today may only be an empty package ``__init__``.  Else :class:`RelabelError` naming each file."""
    src_old, src_new = _sources(old), _sources(new)
    pairs, free = _pair(src_old, src_new, moved)
    problems = [f"{k}: no file of today's code has its statements (changed, not moved)" for k in src_old
                if k not in pairs]  # fmt: skip
    problems += [f"{k}: new in today's code (only an empty package __init__ may be new)" for k, s in free.items()
                 if not (k.endswith("__init__.py") and s.empty)]  # fmt: skip
    star = any(i[2] == "*" for s in src_new.values() for i in s.imports)  # an `import *` anywhere
    for a, b in pairs.items():
        if _renamed_text(src_old[a].body, moved) != src_new[b].body:
            problems.append(f"{a} -> {b}: its statements differ beyond the moved modules' names")
        if tuple(sorted(_renamed(i, moved) for i in src_old[a].imports)) != src_new[b].imports:
            problems.append(f"{a} -> {b}: its imports bind other names or modules")
        problems += _constant_problems(src_old[a], src_new[b], moved, star)
    others_new = {k: codehash.normalized_source(Path(v)) for k, v in new.items() if not k.endswith(".py")}
    for k, v in old.items():
        if k.endswith(".py"):
            continue
        text = codehash.normalized_source(Path(v))
        match = [n for n, t in others_new.items() if t == text]
        if match:
            pairs[k] = k if k in match else match[0]
        else:
            problems.append(f"{k}: no file of today's code has its content")
    if problems:
        raise RelabelError(
            "the code changed in more than where its modules live and the names of its constants:\n  "
            + "\n  ".join(problems)
        )
    return pairs


# ---------------------------------------------------------------- relabelling the files


@dataclass(frozen=True)
class Codes:
    """REV's and today's hash and file labels of the data and training code."""

    rev: str
    old: dict[str, dict[str, Any]]
    new: dict[str, dict[str, Any]]

    def mark(self, old_name: str) -> dict[str, Any]:
        return {"from": old_name, "code": {s: self.old[s]["hash"] for s in STEPS}, "rev": self.rev,
                "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "why": WHY}  # fmt: skip


def _renamed_path(path: str, old_hash: str, new_hash: str) -> str:
    stem = path.removesuffix(".json").removesuffix(".npz")
    if not stem.endswith(f"_{old_hash}"):
        raise RelabelError(f"{path}: its name does not end in the hash {old_hash}")
    return f"{stem[: -len(old_hash)]}{new_hash}{path[len(stem) :]}"


def relabel_data(root: Path, rel: str, codes: Codes) -> str | None:
    """The ground truth ``rel`` under today's data code's name (made again and compared first); its new
    name, or None when it was not made by REV's code."""
    from ..data import load_problem, make_problem  # noqa: PLC0415  (numpy only; kept beside its use)

    problem = load_problem(root / rel)
    if problem.settings.get("code") != codes.old["data"]["hash"]:
        return None
    new = _renamed_path(rel, codes.old["data"]["hash"], codes.new["data"]["hash"])
    if (root / new).exists():
        return None  # relabelled before: never overwritten
    s = problem.settings
    again = make_problem(s["m"], s["n"], s["rank"], s["n_obs"], s["seed"], s["normalize"])
    if not (np.array_equal(again.w_star, problem.w_star) and np.array_equal(again.mask, problem.mask)):
        raise RelabelError(f"{rel}: today's code makes another ground truth from its settings")
    settings = {**s, "code": codes.new["data"]["hash"], "code_files": list(codes.new["data"]["files"]),
                "relabelled": [*s.get("relabelled", []), codes.mark(rel)]}  # fmt: skip
    type(problem)(problem.w_star, problem.mask, settings).save(root / new)
    return new


def _job_hash(job: dict[str, Any]) -> str:
    """The planner's hash (:func:`matcomp.plan.jobs.train_hash`) of the settings a result records."""
    from ..plan.jobs import train_hash  # noqa: PLC0415  (the planner is no job's code: imported on use)

    return train_hash(job["train"], job["data"], job["seeds"], job["depths"], job["code"]["hash"],
                      job.get("placement", "cpu"))  # fmt: skip


def relabel_cells(root: Path, rel: str, codes: Codes) -> str | None:
    """The training result ``rel`` (and its trajectory) under today's name; its new name, or None when it
    was not made by REV's code."""
    res = results.read_result(root / rel)
    doc, job = res.doc, res.doc.get("job") or {}
    old_train, old_data = codes.old["train"]["hash"], codes.old["data"]["hash"]
    if (job.get("code") or {}).get("hash") != old_train or job["data"].get("code") != old_data:
        return None
    if not rel.endswith(f"_{_job_hash(job)}.json"):
        raise RelabelError(f"{rel}: its settings do not give its name (edited by hand?)")
    data = {**job["data"], "code": codes.new["data"]["hash"]}
    new_job = {**job, "data": data, "code": {**job["code"], "hash": codes.new["train"]["hash"],
                                            "files": list(codes.new["train"]["files"])}}  # fmt: skip
    new = rel.removesuffix(f"{_job_hash(job)}.json") + f"{_job_hash(new_job)}.json"
    if (root / new).exists():
        return None  # relabelled before: never overwritten
    new_job["path"] = new
    for cell in doc["cells"]:
        for run in cell["runs"]:
            run["data"] = {**run["data"], "code": codes.new["data"]["hash"],
                           "code_files": list(codes.new["data"]["files"])}  # fmt: skip
    out = {k: v for k, v in doc.items() if k != "trajectory"}
    out.update(job=new_job, relabelled=[*doc.get("relabelled", []), codes.mark(rel)])
    results.write(root / new, out, res.arrays if res.arrays else None)
    return new


def relabel(root: Path, rev: str, checkout: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """Relabel every ground truth and training result under ``root``/results made by REV's code (module
    docstring): ((old name, new name) of each, ground truths first; the files left alone as unreadable,
    each with why).  Nothing is written before the code is proved to differ only by moves, and nothing
    existing is overwritten."""
    commit = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--verify", f"{rev}^{{commit}}"],
                            capture_output=True, text=True)  # fmt: skip
    if commit.returncode != 0:
        raise RelabelError(f"git cannot find revision {rev!r} in {checkout}: {commit.stderr.strip()}")
    rev = commit.stdout.strip()
    old, tmp = code_at(rev, checkout)
    with tmp:
        codes = Codes(rev, {s: old[s] for s in STEPS}, today())
        moved = module_moves(
            package_files(Path(tmp.name) / "src"), package_files(codehash.PACKAGE_DIR.parent)
        )
        for step in STEPS:
            moves_only(old[step]["files"], codes.new[step]["files"], moved)
    done: list[tuple[str, str]] = []
    skipped: list[str] = []
    if all(codes.old[s]["hash"] == codes.new[s]["hash"] for s in STEPS):
        return done, skipped
    for rel, fn in [*((f, relabel_data) for f in _files(root, _above_fields(paths.DATA_FILE), ".npz")),
                    *((f, relabel_cells) for f in _files(root, _above_fields(paths.TRAIN_RESULT), ".json"))]:  # fmt: skip
        try:
            made = fn(root, rel, codes)
        except (results.ResultFileError, ProblemError) as err:
            skipped.append(f"{rel}: {err}")
            continue
        if made is not None:
            done.append((rel, made))
    return done, skipped


def _above_fields(pattern: str) -> str:
    """The folder of a path pattern above its first field: ``results/cells/r{rank}_…`` -> ``results/cells``."""
    return pattern.split("{", 1)[0].rsplit("/", 1)[0]


def _files(root: Path, folder: str, suffix: str) -> Iterable[str]:
    base = root / folder
    if not base.is_dir():
        return []
    return sorted(
        p.relative_to(root).as_posix()
        for p in base.rglob(f"*{suffix}")
        if not p.name.endswith(".trajectory.npz") and not p.name.startswith(".")
    )
