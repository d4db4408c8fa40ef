"""Relabelling cached results after a code change that only moved modules (matcomp.store.relabel): the proof
that the code only moved, and results rewritten under today's names with their numbers unchanged."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from matcomp.data import load_problem
from matcomp.jobs.data import make_data
from matcomp.jobs.train import train_job
from matcomp.plan.jobs import TrainJob, data_path
from matcomp.store import relabel as rl
from matcomp.store.codehash import code_hash, code_info
from matcomp.store.results import read, read_result

ROOT = Path(__file__).resolve().parents[1]

OLD = {
    "matcomp/__init__.py": "",
    "matcomp/util.py": '"""Helpers."""\n\ndef double(x):\n    return 2 * x\n',
    "matcomp/core.py": (
        '"""Core."""\nfrom .util import double\nimport matcomp.util\n\n'
        'def run(x):\n    if x < 0:\n        raise ValueError("see matcomp.util.double")\n'
        "    return double(x) + matcomp.util.double(1)\n"
    ),
}
MOVED = {  # util moved into a package, imports rewritten (and re-sorted), a message naming it follows it
    "matcomp/__init__.py": "",
    "matcomp/tools/__init__.py": '"""The tools."""\n',
    "matcomp/tools/util.py": '"""Helpers, moved."""\n\ndef double(x):\n    return 2 * x\n',
    "matcomp/core.py": (
        '"""Core."""\nimport matcomp.tools.util\nfrom .tools.util import double\n\n'
        'def run(x):\n    if x < 0:\n        raise ValueError("see matcomp.tools.util.double")\n'
        "    return double(x) + matcomp.tools.util.double(1)\n"
    ),
}


def _tree(root: Path, files: dict[str, str]) -> dict[str, str]:
    for label, text in files.items():
        (root / label).parent.mkdir(parents=True, exist_ok=True)
        (root / label).write_text(text)
    return {label: str(root / label) for label in files}


def _check(tmp: Path, new_files: dict[str, str]) -> dict[str, str]:
    old, new = _tree(tmp / "old", OLD), _tree(tmp / "new", new_files)
    moved = rl.module_moves(rl.package_files(tmp / "old"), rl.package_files(tmp / "new"))
    return rl.moves_only(old, new, moved)


def test_a_pure_move_is_recognised(tmp_path: Path) -> None:
    pairs = _check(tmp_path, MOVED)
    assert (
        pairs["matcomp/util.py"] == "matcomp/tools/util.py" and pairs["matcomp/core.py"] == "matcomp/core.py"
    )


@pytest.mark.parametrize(
    ("label", "edit", "named"),
    [
        ("matcomp/tools/util.py", lambda t: t.replace("2 * x", "3 * x"), "changed, not moved"),
        ("matcomp/core.py", lambda t: t.replace("see matcomp", "look at matcomp"), "statements"),
        ("matcomp/core.py", lambda t: t.replace("import double", "import double as run"), "imports bind"),
        ("matcomp/tools/__init__.py", lambda t: t + "X = 1\n", "only an empty package __init__ may be new"),
    ],
)
def test_anything_but_a_move_is_refused_and_named(tmp_path: Path, label: str, edit, named: str) -> None:
    """A changed constant, a changed message, an import that binds another name, a new module with code:
    each is a change of what runs (or says), and the refusal names the file."""
    files = {**MOVED, label: edit(MOVED[label])}
    with pytest.raises(rl.RelabelError, match=named) as err:
        _check(tmp_path, files)
    assert label.split("/")[-1] in str(err.value)


PATHS_OLD = {
    "matcomp/__init__.py": "",
    "matcomp/paths.py": (
        'DATA = "results/data/{m}.npz"\nKINDS = ("results", "logs")\n\n'
        "def log_of(r):\n    return f\"logs/{r.removeprefix('results/')}\"\n"
    ),
    "matcomp/core.py": "from .paths import DATA\n\ndef where(m):\n    return DATA.format(m=m)\n",
}
PATHS_NAMED = {  # the roots given a name and used by it: what runs is the same
    **PATHS_OLD,
    "matcomp/paths.py": (
        'ROOT = "results"\nLOGS: str = "logs"\nDATA = ROOT + "/data/{m}.npz"\nKINDS = (ROOT, LOGS)\n\n'
        "def log_of(r):\n    return f\"{LOGS}/{r.removeprefix(ROOT + '/')}\"\n"
    ),
}


def _check_paths(tmp: Path, new_files: dict[str, str]) -> dict[str, str]:
    old, new = _tree(tmp / "old", PATHS_OLD), _tree(tmp / "new", new_files)
    return rl.moves_only(
        old, new, rl.module_moves(rl.package_files(tmp / "old"), rl.package_files(tmp / "new"))
    )


def test_a_literal_given_a_name_is_recognised_as_the_same_code(tmp_path: Path) -> None:
    assert _check_paths(tmp_path, PATHS_NAMED)["matcomp/paths.py"] == "matcomp/paths.py"


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (
            lambda t: t.replace('ROOT = "results"', 'ROOT = "out"'),
            "constant DATA is gone or has another value",
        ),
        (lambda t: t.replace("KINDS = (ROOT, LOGS)", "KINDS = (LOGS, ROOT)"), "constant KINDS"),
        (lambda t: t + "\ndef move():\n    global ROOT\n    ROOT = 'out'\n", "statements"),
        (lambda t: t.replace("ROOT", "len"), "new constant len may bind a name used elsewhere"),
        (lambda t: t.replace("ROOT + '/'", "'results'"), "statements"),
    ],
)
def test_a_named_constant_that_changes_what_runs_is_refused(tmp_path: Path, edit, named: str) -> None:
    """Another value, another order, a name rebound elsewhere (then it is no constant: its uses differ), a
    name that shadows a builtin, a use that folds to another string: each is refused, naming the file."""
    files = {**PATHS_NAMED, "matcomp/paths.py": edit(PATHS_NAMED["matcomp/paths.py"])}
    with pytest.raises(rl.RelabelError, match=named) as err:
        _check_paths(tmp_path, files)
    assert "paths.py" in str(err.value)


@pytest.mark.parametrize(
    ("new", "same"),
    [
        ('REASONS = ("a", "b")\nA, B = range(len(REASONS))\n', True),
        ('REASONS = ("a", "b", "c")\nA, B = range(len(REASONS))\n', False),  # 3 != 2: another statement
        ('REASONS = ("a", "b")\nA, B = range(len(REASONS))\n\ndef len(x):\n    return 2\n', False),
    ],
)
def test_len_of_a_named_constant_is_read_as_its_value(tmp_path: Path, new: str, same: bool) -> None:
    """``range(len(REASONS))`` is ``range(2)`` while ``len`` is the builtin; not when the module rebinds it."""
    old, now = (rl.fold_constants(ast.parse(s))[0] for s in ("A, B = range(2)\n", new))
    assert (ast.unparse(old.body[0]) == ast.unparse(now.body[0])) is same


def test_the_workflows_roots_are_named_constants_that_fold_to_the_literals() -> None:
    """store/paths.py names its roots once; read as the proof reads it, every path is a plain string."""
    source = (ROOT / "src/matcomp/store/paths.py").read_text()
    tree, constants = rl.fold_constants(ast.parse(source))
    named = dict(constants)
    assert named["RESULTS"] == "'results': " and named["TRAIN_RESULT"].startswith("'results/cells/")
    assert "RESULTS" not in ast.unparse(tree)  # every use read as its value


def _result(root: Path) -> str:
    """A tiny training result under ``root`` made by today's code, at the path the planner gives it."""
    data = {"m": 12, "n": 10, "normalize": True, "code": code_hash("data")}
    train = (("dtype", "float64"), ("init", "end_to_end"), ("init_std", 1e-3), ("log", "every:10"), ("lr", 1e-2),
             ("max_iters", 30), ("reduction", "sum"), ("spectral", "auto"), ("tol", 1e-7), ("width", None))  # fmt: skip
    job = TrainJob("adam", "ratio", 0.05, 2, 60, train, tuple(sorted(data.items())), (0, 1), (1, 2),
                   code=code_hash("train"))  # fmt: skip
    files = []
    for seed in job.seeds:
        path = root / data_path(data, job.rank, job.n_obs, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        make_data({**{k: v for k, v in data.items() if k != "code"}, "rank": 2, "n_obs": 60, "seed": seed,
                   "code": code_info("data")}, str(path))  # fmt: skip
        files.append(str(path))
    (root / job.path).parent.mkdir(parents=True, exist_ok=True)
    train_job(job.params(), files, str(root / job.path), device="cpu")
    return job.path


def test_a_result_and_its_ground_truth_are_rewritten_under_the_new_names(tmp_path: Path) -> None:
    """Relabelled from today's hashes to made-up ones: the new files name the new code and where they came
    from, read back with every check, hold the same numbers, and name themselves as the planner would."""
    rel = _result(tmp_path)
    today = rl.today()
    new = {
        s: {"hash": h, "files": [f"matcomp/moved/{s}.py"]}
        for s, h in (("data", "d" * 10), ("train", "e" * 10))
    }
    codes = rl.Codes("f" * 40, today, new)
    data = sorted((tmp_path / "results/data").glob("*.npz"))
    made = [rl.relabel_data(tmp_path, f.relative_to(tmp_path).as_posix(), codes) for f in data]
    assert all(m is not None and m.endswith(f"_{'d' * 10}.npz") for m in made)
    problem = load_problem(tmp_path / made[0])
    assert (
        problem.settings["code"] == "d" * 10
        and problem.settings["relabelled"][0]["from"] == data[0].relative_to(tmp_path).as_posix()
    )
    np.testing.assert_array_equal(problem.w_star, load_problem(data[0]).w_star)

    moved = rl.relabel_cells(tmp_path, rel, codes)
    assert moved is not None and moved != rel
    old, now = read_result(tmp_path / rel), read_result(tmp_path / moved)
    assert now.doc["job"]["path"] == moved and now.doc["job"]["code"]["hash"] == "e" * 10
    assert now.doc["job"]["data"]["code"] == "d" * 10
    assert now.doc["relabelled"][0]["from"] == rel and now.doc["relabelled"][0]["code"]["train"] == code_hash(
        "train"
    )
    assert now.doc["cells"][0]["runs"][0]["data"]["code"] == "d" * 10
    assert old.arrays.keys() == now.arrays.keys()
    for key in old.arrays:
        np.testing.assert_array_equal(old.arrays[key], now.arrays[key])
    assert [c["runs"] for c in read(tmp_path / rel)["cells"]][0][0]["test_error"] == now.doc["cells"][0][
        "runs"
    ][0]["test_error"]
    # the name is the planner's for the same settings under the new code
    job = now.doc["job"]
    planned = TrainJob(job["optimizer"], job["penalty"], job["lam"], job["rank"], job["n_obs"],
                       tuple(sorted(job["train"].items())), tuple(sorted(job["data"].items())), tuple(job["seeds"]),
                       tuple(job["depths"]), code="e" * 10, placement=job["placement"])  # fmt: skip
    assert planned.path == moved
    # a second pass writes nothing: the relabelled file is never overwritten
    before = (tmp_path / moved).read_bytes()
    assert rl.relabel_cells(tmp_path, rel, codes) is None and (tmp_path / moved).read_bytes() == before


def test_a_result_whose_name_its_settings_do_not_give_is_refused(tmp_path: Path) -> None:
    rel = _result(tmp_path)
    doc = json.loads((tmp_path / rel).read_text())
    doc["job"]["lam"] = 0.5  # not in the settings hash: the name still checks
    doc["job"]["train"]["lr"] = 0.5  # in it: the name no longer matches its settings
    (tmp_path / rel).write_text(json.dumps(doc))
    codes = rl.Codes("f" * 40, rl.today(), {s: {"hash": "a" * 10, "files": []} for s in rl.STEPS})
    with pytest.raises(rl.RelabelError, match="its settings do not give its name"):
        rl.relabel_cells(tmp_path, rel, codes)


def test_relabelling_from_this_checkouts_head_proves_and_writes_nothing_when_the_code_is_the_same(
    tmp_path: Path,
) -> None:
    """The proof runs on the real package against HEAD's: where today's data and training code is HEAD's,
    every file pairs with itself and nothing is relabelled.  (In a checkout with edits to that code the
    proof may refuse them: that is its job; the test then says so.)"""
    try:
        done, skipped = rl.relabel(tmp_path, "HEAD", ROOT)
    except rl.RelabelError as err:
        pytest.skip(f"this checkout's training code differs from HEAD's beyond moves: {err}")
    assert done == [] or all(new.startswith("results/") for _, new in done)
    assert skipped == []


def test_an_unknown_revision_is_named(tmp_path: Path) -> None:
    with pytest.raises(rl.RelabelError, match="no-such-rev"):
        rl.relabel(tmp_path, "no-such-rev", ROOT)
